"""Fuzzing the capture reader on a real capture, as classic pcap and as pcapng (both byte
orders): truncated or damaged files parse or raise `CaptureError`, a capture cut short
reads (``strict=False``) as a prefix of the whole, and whatever is read can be grouped into
flows and every datagram handed to its protocol's parser, which raises only its own error."""

from __future__ import annotations

import struct

from fuzz_support import capture_bytes, captured_packets, fuzz_settings, mutated
from hypothesis import given
from hypothesis import strategies as st

from harness.capture.classify import PacketKind, classify
from harness.capture.flows import flows_of
from harness.capture.pcap import CaptureFile, parse_capture
from harness.errors import CaptureError
from harness.ice.stun import parse as parse_stun
from harness.media.rtp import RtcpPacket, RtpPacket, RtpParseError
from harness.sdp import SdpParseError, SessionDescription
from harness.sip import SipParseError, parse_message


def _block(order: str, btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


def _option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def as_pcapng(classic: bytes, order: str) -> bytes:
    """The frames of a classic little-endian pcap, rewritten as pcapng: SHB, an IDB with
    if_tsresol (microseconds) and if_tsoffset, one EPB per frame (the first with a
    comment), then a name-resolution block to skip and a Simple Packet Block."""
    shb = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    linktype = struct.unpack_from("<I", classic, 20)[0]
    idb = _block(order, 1, struct.pack(order + "HHI", linktype, 0, 262144)
                 + _option(order, 9, b"\x06") + _option(order, 14, struct.pack(order + "q", 0))
                 + _option(order, 0, b""))
    out = [shb, idb]
    pos = 24
    frames = []
    while pos < len(classic):
        sec, usec, incl, orig = struct.unpack_from("<IIII", classic, pos)
        frame = classic[pos + 16 : pos + 16 + incl]
        frames.append(frame)
        ticks = sec * 1_000_000 + usec
        options = _option(order, 1, b"frame one") + _option(order, 0, b"") if pos == 24 else b""
        out.append(_block(order, 6, struct.pack(order + "IIIII", 0, ticks >> 32,
                                                ticks & 0xFFFFFFFF, incl, orig)
                          + frame + bytes(-len(frame) % 4) + options))
        pos += 16 + incl
    out.append(_block(order, 4, _option(order, 1, b"\xc6\x12\x00\x02node") + bytes(4)))
    out.append(_block(order, 3, struct.pack(order + "I", len(frames[0])) + frames[0]))
    return b"".join(out)


CAPTURES = [capture_bytes(), as_pcapng(capture_bytes(), "<"), as_pcapng(capture_bytes(), ">")]
PAYLOADS = [p.payload for p in captured_packets()]


def test_the_capture_reads_the_same_in_every_container() -> None:
    for data in CAPTURES:
        result = parse_capture(data)
        assert [p.payload for p in result.packets][: len(PAYLOADS)] == PAYLOADS
        assert not result.skipped
    assert {k for p in PAYLOADS if (k := classify(p)) is not PacketKind.OTHER} == {
        PacketKind.SIP, PacketKind.STUN, PacketKind.RTP}


def dissect(result: CaptureFile) -> None:
    """What the checks do with a capture: flows, then each payload through its parser."""
    for flow in flows_of(result.packets, frozenset(PacketKind)):
        flow.describe()
    for packet in result.packets:
        kind = classify(packet.payload)
        try:
            if kind is PacketKind.SIP:
                message = parse_message(packet.payload)
                if message.body and (message.content_type or "").startswith("application/sdp"):
                    SessionDescription.parse(message.body)
            elif kind is PacketKind.RTP:
                RtpPacket.parse(packet.payload)
            elif kind is PacketKind.RTCP:
                RtcpPacket.parse(packet.payload)
            elif kind is PacketKind.STUN:
                parse_stun(packet.payload)
        except (SipParseError, SdpParseError, RtpParseError):
            pass


@fuzz_settings(300)
@given(st.sampled_from(range(len(CAPTURES))), st.integers(0, max(map(len, CAPTURES))))
def test_a_capture_cut_short_reads_as_a_prefix(which: int, cut: int) -> None:
    data = CAPTURES[which][:cut]
    try:
        lenient = parse_capture(data, strict=False)
    except CaptureError as exc:
        assert "offset" in str(exc)
        assert cut < 24 or which > 0  # a classic pcap fails only in its global header
        return
    full = parse_capture(CAPTURES[which]).packets
    assert lenient.packets == full[: len(lenient.packets)]
    try:
        strict = parse_capture(data)
    except CaptureError:
        assert lenient.skipped["truncated_tail"] == 1
    else:
        assert strict.packets == lenient.packets and not lenient.skipped["truncated_tail"]
    dissect(lenient)


@fuzz_settings(400)
@given(mutated(CAPTURES, text=False), st.booleans())
def test_a_damaged_capture_reads_or_raises_capture_error(data: bytes, strict: bool) -> None:
    try:
        result = parse_capture(data, "damaged.pcap", strict=strict)
    except CaptureError as exc:
        assert str(exc).startswith("damaged.pcap: offset ")
        return
    assert result.frames >= len(result.packets)
    dissect(result)
