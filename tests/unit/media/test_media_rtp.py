"""RTP / RTCP header codec."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.media.rtp import (
    RtcpPacket,
    RtpPacket,
    RtpParseError,
    looks_like_rtcp,
    looks_like_rtp,
)


def test_round_trip_plain() -> None:
    pkt = RtpPacket(payload_type=0, sequence=65535, timestamp=0xFFFFFFFF, ssrc=0x1234ABCD,
                    payload=b"\xff" * 160, marker=True)
    data = bytes(pkt)
    assert data[:2] == b"\x80\x80" and len(data) == 172
    assert RtpPacket.parse(data) == pkt


def test_round_trip_csrc_extension_padding() -> None:
    pkt = RtpPacket(payload_type=101, sequence=7, timestamp=8, ssrc=9, payload=b"\x01\x02\x03",
                    csrc=[1, 2], extension=True, extension_profile=0xBEDE,
                    extension_header=b"\x10\xaa\x00\x00", padding=True, padding_size=5)
    data = bytes(pkt)
    assert data[0] == 0x80 | 0x20 | 0x10 | 2 and data[-1] == 5
    assert RtpPacket.parse(data) == pkt


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x00", "too short"),
        (b"\x40" + bytes(11), "version 1"),
        (b"\x83" + bytes(11) + bytes(8), "CSRC"),
        (b"\x90" + bytes(11) + b"\x00\x00\x00\x05", "overruns"),
        (b"\x90" + bytes(11) + b"\x00", "extension header"),
        (b"\xa0" + bytes(11) + b"\x00\x09", "padding count"),
        (b"\xa0" + bytes(11) + b"\x00\x00", "padding count"),
        (b"\xa0" + bytes(11), "padding bit"),
    ],
)
def test_parse_errors(data: bytes, message: str) -> None:
    with pytest.raises(RtpParseError, match=message):
        RtpPacket.parse(data)


def test_looks_like() -> None:
    assert looks_like_rtp(bytes(RtpPacket(payload_type=8)))
    assert not looks_like_rtp(bytes(RtpPacket(payload_type=72)))
    assert not looks_like_rtp(b"\x80\x00\x00")
    rtcp = bytes(RtcpPacket(packet_type=200, count=0, ssrc=0xCAFE, length_words=6))
    assert len(rtcp) == 28 and looks_like_rtcp(rtcp) and not looks_like_rtp(rtcp)
    parsed = RtcpPacket.parse(rtcp)
    assert (parsed.packet_type, parsed.ssrc, parsed.length_words) == (200, 0xCAFE, 6)
    assert not looks_like_rtcp(bytes(RtpPacket()))
    with pytest.raises(RtpParseError):
        RtcpPacket.parse(b"\x80\x00" + bytes(6))
    with pytest.raises(RtpParseError):
        RtcpPacket.parse(b"\x80\xc8")


_packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
    extension=st.booleans(),
    extension_profile=st.integers(0, 0xFFFF),
    extension_header=st.binary(max_size=16).map(lambda b: b[: len(b) // 4 * 4]),
)


@given(_packets, st.integers(0, 20))
def test_round_trip_property(pkt: RtpPacket, pad: int) -> None:
    if not pkt.extension:
        pkt.extension_profile, pkt.extension_header = 0, b""
    if pad:
        pkt.padding, pkt.padding_size = True, pad
    assert RtpPacket.parse(bytes(pkt)) == pkt


@given(st.binary(max_size=80))
@example(b"\xa0" + bytes(11) + b"\x01\x02")  # padding content 01 comes back as 00
def test_parse_garbage_raises_only_parse_error(data: bytes) -> None:
    try:
        pkt = RtpPacket.parse(data)
    except RtpParseError:
        return
    # byte-exact but for the padding's content, which bytes() writes as zeros
    pad = pkt.padding_size
    assert len(bytes(pkt)) == len(data) and bytes(pkt)[: len(data) - pad] == data[: len(data) - pad]
