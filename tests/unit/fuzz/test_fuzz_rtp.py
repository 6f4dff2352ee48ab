"""Fuzzing the RTP, RTCP and RFC 4733 readers and what is built on them: any bytes parse or
raise `RtpParseError` / `DtmfParseError`; the classifier and the flow grouping never raise.
Seeds are the RTP and SRTP packets of a real call through rtpengine, and DTMF events."""

from __future__ import annotations

import struct

from fuzz_support import captured_payloads, fuzz_settings, mutated
from hypothesis import example, given
from hypothesis import strategies as st

from harness.capture.classify import PacketKind, classify
from harness.capture.flows import flows_of
from harness.capture.pcap import CapturedPacket
from harness.media.dtmf import DtmfEvent, DtmfParseError
from harness.media.rtp import RtcpPacket, RtpPacket, RtpParseError, looks_like_rtcp, looks_like_rtp

KINDS = frozenset(PacketKind)


def _dtmf_packets() -> list[bytes]:
    events = [DtmfEvent(5, end=end, volume=10, duration=160 * n) for n, end in
              ((1, False), (2, False), (3, True))]
    out = [bytes(RtpPacket(payload_type=101, sequence=n, timestamp=8000, ssrc=0x1234,
                           marker=n == 0, payload=bytes(ev)))
           for n, ev in enumerate(events)]
    # RFC 4733 §2.5.1.5 redundancy: several events in one payload
    out.append(bytes(RtpPacket(payload_type=101, payload=b"".join(map(bytes, events)))))
    return out


def _rtcp_packets() -> list[bytes]:
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, 0x1234, 1, 2, 3, 4, 5)
    rr = struct.pack("!BBHI", 0x81, 201, 7, 0x1234) + struct.pack("!IIIIII", 9, 8, 7, 6, 5, 4)
    sdes = struct.pack("!BBHI", 0x81, 202, 2, 0x1234) + b"\x01\x02ab\x00\x00\x00\x00"
    bye = struct.pack("!BBHI", 0x81, 203, 1, 0x1234)
    return [sr + sdes, rr + sdes, bye, bytes(RtcpPacket(205, 1, 0x42, 4, padding=True))]


def seeds() -> list[bytes]:
    padded = RtpPacket(payload_type=0, payload=b"\xd5" * 20, padding=True, padding_size=4,
                       csrc=[1, 2], extension=True, extension_profile=0xBEDE,
                       extension_header=b"\x10\xff\x00\x00")
    return [*captured_payloads(PacketKind.RTP), *_dtmf_packets(), *_rtcp_packets(),
            bytes(padded)]


def judge(data: bytes) -> None:
    looks_like_rtp(data), looks_like_rtcp(data), classify(data)  # noqa: B018
    try:
        pkt = RtpPacket.parse(data)
    except RtpParseError as exc:
        assert str(exc)
    else:
        assert pkt.version == 2 and len(pkt.csrc) <= 15
        again = bytes(pkt)
        # byte-exact but for the padding's content, which RFC 3550 §5.1 leaves unspecified
        # and `bytes()` writes as zeros
        pad = pkt.padding_size
        assert again[: len(again) - pad] == data[: len(data) - pad]
        assert again[len(again) - pad :] == bytes(max(0, pad - 1)) + data[len(data) - pad :][-1:]
        assert RtpPacket.parse(again) == pkt
        if pkt.payload_type == 101 or len(pkt.payload) % 4 == 0:
            try:
                events = DtmfEvent.parse_all(pkt.payload)
            except DtmfParseError:
                pass
            else:
                assert b"".join(map(bytes, events)) == pkt.payload
    try:
        rtcp = RtcpPacket.parse(data)
    except RtpParseError:
        pass
    else:
        assert 200 <= rtcp.packet_type <= 207 and RtcpPacket.parse(bytes(rtcp)) == rtcp


@fuzz_settings(500)
@given(st.binary(max_size=120) | st.binary(min_size=1, max_size=80).map(
    lambda b: bytes([0x80 | (b[0] & 0x3F)]) + b[1:]))
@example(b"\xa0" + bytes(11) + b"\x01\x02")  # padding content is not kept (see judge)
def test_any_bytes_parse_or_raise_rtp_parse_error(data: bytes) -> None:
    judge(data)


@fuzz_settings(500)
@given(mutated(seeds(), text=False))
def test_mutated_real_packets_parse_or_raise_rtp_parse_error(data: bytes) -> None:
    judge(data)


@fuzz_settings(300)
@given(st.binary(max_size=40))
def test_any_telephone_event_payload_parses_or_raises_dtmf_parse_error(data: bytes) -> None:
    for parse in (DtmfEvent.parse, DtmfEvent.parse_all):
        try:
            parsed = parse(data)
        except DtmfParseError:
            continue
        events = parsed if isinstance(parsed, list) else [parsed]
        assert b"".join(map(bytes, events)) == data[: 4 * len(events)]
        assert all(ev.digit is None or ev.event <= 15 for ev in events)


@fuzz_settings(300)
@given(st.lists(st.tuples(st.sampled_from([("198.18.0.1", 4000), ("198.18.0.2", 4002)]),
                          mutated(seeds(), text=False) | st.binary(max_size=30)),
                max_size=12))
def test_flows_of_any_datagrams_never_raise(items: list[tuple[tuple[str, int], bytes]]) -> None:
    packets = [CapturedPacket(n + 1, float(n), src, ("198.18.0.9", 5000), payload)
               for n, (src, payload) in enumerate(items)]
    for flow in flows_of(packets, KINDS):
        flow.describe(), flow.ssrcs, flow.payload_types, flow.rtp  # noqa: B018
        assert len(flow) >= 1 and flow.first_ts <= flow.last_ts
