"""Tell what a UDP payload carries: SIP, RTP, RTCP, STUN, DTLS or something else.

The first bytes are inspected by hand, following the demultiplexing rules of
RFC 7983 (first byte 0..3 STUN, 20..63 DTLS, 128..191 RTP/RTCP) and of
RFC 5761 §4 for RTP and RTCP on one port (RTCP packet types 200..207 sit
where RTP payload types 72..79 with the marker bit would be). SRTP and SRTCP
are indistinguishable from RTP and RTCP here, which is what we want: the
media-path classifier looks at headers, not at payloads. DTMF (RFC 4733) is
RTP.
"""

from __future__ import annotations

import enum
import re
import struct

__all__ = ["PacketKind", "classify", "STUN_MAGIC_COOKIE"]

STUN_MAGIC_COOKIE = 0x2112A442

_SIP_STATUS = b"SIP/2.0 "
# A request line starts with a method token and a space; every SIP method is
# upper case, which keeps random binary from looking like SIP.
_SIP_REQUEST = re.compile(rb"[A-Z][A-Z\-]{1,31} [!-~]")


class PacketKind(enum.Enum):
    """What a UDP payload is."""

    SIP = "sip"
    RTP = "rtp"
    RTCP = "rtcp"
    STUN = "stun"
    DTLS = "dtls"
    OTHER = "other"


def classify(payload: bytes) -> PacketKind:
    """Classify one UDP payload by its first bytes."""
    if len(payload) >= 20 and payload[0] < 4:
        (cookie,) = struct.unpack_from("!I", payload, 4)
        if cookie == STUN_MAGIC_COOKIE:
            return PacketKind.STUN
    if len(payload) >= 8 and payload[0] >> 6 == 2:
        if 200 <= payload[1] <= 207:
            return PacketKind.RTCP
        if len(payload) >= 12:
            return PacketKind.RTP
        return PacketKind.OTHER
    if payload.startswith(_SIP_STATUS) or _SIP_REQUEST.match(payload):
        return PacketKind.SIP
    if len(payload) >= 13 and 20 <= payload[0] <= 63 and payload[1] in (0xFE, 0x03):
        return PacketKind.DTLS  # DTLS 1.x record: content type, then version 0xfe.. (or 3 = TLS)
    return PacketKind.OTHER
