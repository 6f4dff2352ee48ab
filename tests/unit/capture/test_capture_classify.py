"""Payload classification and flow grouping."""

from __future__ import annotations

import struct

import pytest

from harness.capture.classify import PacketKind, classify
from harness.capture.flows import flows_of
from harness.capture.pcap import CapturedPacket
from harness.media.rtp import RtcpPacket, RtpPacket

STUN_BINDING = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, b"transaction!")


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"INVITE sip:bob@198.18.0.21 SIP/2.0\r\nVia: x\r\n\r\n", PacketKind.SIP),
        (b"SIP/2.0 183 Session Progress\r\n\r\n", PacketKind.SIP),
        (b"OPTIONS sip:x SIP/2.0\r\n", PacketKind.SIP),
        (STUN_BINDING, PacketKind.STUN),
        (bytes(RtpPacket(payload_type=0, payload=b"\xff" * 160)), PacketKind.RTP),
        (bytes(RtpPacket(payload_type=101, marker=True, payload=bytes(4))), PacketKind.RTP),
        (bytes(RtcpPacket(packet_type=201, count=0, ssrc=5, length_words=1)), PacketKind.RTCP),
        (bytes(RtcpPacket(packet_type=207, count=0, ssrc=5, length_words=1)), PacketKind.RTCP),
        (b"\x16\xfe\xfd" + bytes(20), PacketKind.DTLS),
        (b"\r\n\r\n", PacketKind.OTHER),
        (b"\x80\x00", PacketKind.OTHER),
        (b"", PacketKind.OTHER),
        (b"hello world", PacketKind.OTHER),
        (struct.pack("!HHI12s", 0x0001, 0, 0xDEADBEEF, bytes(12)), PacketKind.OTHER),
    ],
)
def test_classify(payload: bytes, kind: PacketKind) -> None:
    assert classify(payload) is kind


def test_flows_group_by_tuple_and_kind() -> None:
    a, b = ("198.18.0.10", 4000), ("198.18.0.2", 30000)
    rtp = [bytes(RtpPacket(payload_type=pt, sequence=i, ssrc=0xABC)) for i, pt in
           enumerate([0, 0, 101, 0])]
    rtcp = bytes(RtcpPacket(packet_type=200, count=0, ssrc=0xABC, length_words=6))
    pkts = [CapturedPacket(i + 1, 10.0 + i, a, b, p) for i, p in enumerate(rtp)]
    pkts += [CapturedPacket(9, 20.0, a, b, rtcp), CapturedPacket(10, 5.0, b, a, rtp[0]),
             CapturedPacket(11, 21.0, a, b, b"SIP/2.0 200 OK\r\n\r\n")]
    flows = flows_of(pkts)
    assert [(f.src, len(f)) for f in flows] == [(b, 1), (a, 4)]
    main = flows[1]
    assert main.payload_types == (0, 101) and main.ssrcs == (0xABC,)
    assert (main.first_ts, main.last_ts) == (10.0, 13.0)
    assert main.describe() == (
        "198.18.0.10:4000 -> 198.18.0.2:30000: 4 RTP, PT 0/101, SSRC 0x00000abc"
    )
    both = flows_of(pkts, {PacketKind.RTP, PacketKind.RTCP, PacketKind.SIP})
    kinds = sorted(f.kind.name for f in both)
    assert kinds == ["RTCP", "RTP", "RTP", "SIP"]
    assert next(f for f in both if f.kind is PacketKind.RTCP).ssrcs == (0xABC,)
