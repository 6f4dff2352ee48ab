"""RTP (RFC 3550 §5.1) and a minimal RTCP header view, parsed by hand with `struct`.

Byte-level control is the point: the harness must read exactly what the
target put on the wire (and build deliberately odd packets), so nothing here
hides fields behind a library. Malformed input raises `RtpParseError`, a
`ValueError`; wire input is never checked with `assert`.

RTP fixed header::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                           timestamp                           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           synchronization source (SSRC) identifier            |
    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    |            contributing source (CSRC) identifiers             |
    |                             ....                              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

With rtcp-mux (RFC 5761 §4) RTP and RTCP share a port; the second byte of an
RTCP packet is its packet type (200..207), which as "M bit + PT" would be the
RTP payload types 72..79 with the marker set. RFC 5761 reserves 64..95.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = [
    "RTCP_PACKET_TYPES",
    "RtcpPacket",
    "RtpPacket",
    "RtpParseError",
    "looks_like_rtcp",
    "looks_like_rtp",
]

_FIXED = struct.Struct("!BBHII")
_EXT_HEAD = struct.Struct("!HH")
_RTCP_HEAD = struct.Struct("!BBHI")

#: RTCP packet types: SR, RR, SDES, BYE, APP (RFC 3550), RTPFB, PSFB (RFC 4585), XR (RFC 3611).
RTCP_PACKET_TYPES = range(200, 208)


class RtpParseError(ValueError):
    """Bytes that do not form a valid RTP or RTCP packet."""


@dataclass
class RtpPacket:
    """One RTP packet.

    `extension_profile` and `extension` hold the header extension (the 16-bit
    profile-defined value and the extension body without its 4-byte head).
    `padding_size` is the number of padding bytes (including the count byte)
    when `padding` is set; `payload` never contains the padding.
    """

    payload_type: int = 0
    sequence: int = 0
    timestamp: int = 0
    ssrc: int = 0
    payload: bytes = b""
    marker: bool = False
    version: int = 2
    padding: bool = False
    extension: bool = False
    csrc: list[int] = field(default_factory=list)
    extension_profile: int = 0
    extension_header: bytes = b""
    padding_size: int = 0

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP packet; raise `RtpParseError` if it is malformed."""
        if len(data) < _FIXED.size:
            raise RtpParseError(f"RTP packet too short: {len(data)} bytes, need 12")
        b0, b1, seq, ts, ssrc = _FIXED.unpack_from(data, 0)
        version = b0 >> 6
        if version != 2:
            raise RtpParseError(f"RTP version {version}, expected 2")
        padding = bool(b0 & 0x20)
        extension = bool(b0 & 0x10)
        cc = b0 & 0x0F
        pos = _FIXED.size
        if len(data) < pos + 4 * cc:
            raise RtpParseError(f"RTP packet truncated in CSRC list ({cc} CSRCs)")
        csrc = list(struct.unpack_from(f"!{cc}I", data, pos))
        pos += 4 * cc
        ext_profile = 0
        ext_body = b""
        if extension:
            if len(data) < pos + _EXT_HEAD.size:
                raise RtpParseError("RTP packet truncated in extension header")
            ext_profile, ext_words = _EXT_HEAD.unpack_from(data, pos)
            pos += _EXT_HEAD.size
            end = pos + 4 * ext_words
            if len(data) < end:
                raise RtpParseError(f"RTP extension of {ext_words} words overruns the packet")
            ext_body = bytes(data[pos:end])
            pos = end
        end = len(data)
        pad_size = 0
        if padding:
            if end <= pos:
                raise RtpParseError("RTP padding bit set but no payload or padding")
            pad_size = data[-1]
            if pad_size == 0 or pad_size > end - pos:
                raise RtpParseError(f"RTP padding count {pad_size} invalid")
            end -= pad_size
        return cls(
            version=version,
            padding=padding,
            extension=extension,
            marker=bool(b1 & 0x80),
            payload_type=b1 & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            csrc=csrc,
            extension_profile=ext_profile,
            extension_header=ext_body,
            payload=bytes(data[pos:end]),
            padding_size=pad_size,
        )

    def __bytes__(self) -> bytes:
        """Serialise; fields are sent as given (a negative case may set odd values)."""
        if len(self.extension_header) % 4:
            raise ValueError("RTP extension body must be a multiple of 4 bytes")
        b0 = (
            (self.version & 0x03) << 6
            | (0x20 if self.padding else 0)
            | (0x10 if self.extension else 0)
            | (len(self.csrc) & 0x0F)
        )
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        out = bytearray(
            _FIXED.pack(b0, b1, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF,
                        self.ssrc & 0xFFFFFFFF)
        )
        for c in self.csrc[:15]:
            out += struct.pack("!I", c & 0xFFFFFFFF)
        if self.extension:
            out += _EXT_HEAD.pack(self.extension_profile & 0xFFFF, len(self.extension_header) // 4)
            out += self.extension_header
        out += self.payload
        if self.padding and self.padding_size > 0:
            out += bytes(self.padding_size - 1) + bytes([self.padding_size & 0xFF])
        return bytes(out)


def looks_like_rtp(data: bytes) -> bool:
    """True if `data` could be an RTP packet (version 2, >= 12 bytes, PT outside 72..95).

    The PT range 72..95 is reserved by RFC 5761 so that RTCP on a muxed port
    can be told apart. SRTP looks exactly like RTP here.
    """
    if len(data) < _FIXED.size or data[0] >> 6 != 2:
        return False
    return not 72 <= (data[1] & 0x7F) <= 95


def looks_like_rtcp(data: bytes) -> bool:
    """True if `data` starts like an RTCP packet (version 2, packet type 200..207, >= 8 bytes)."""
    return len(data) >= _RTCP_HEAD.size and data[0] >> 6 == 2 and data[1] in RTCP_PACKET_TYPES


@dataclass(frozen=True)
class RtcpPacket:
    """The header of the first RTCP packet of a compound packet (minimal view).

    `ssrc` is the sender's SSRC (the first word after the header in SR, RR,
    BYE, APP and the feedback messages; the first chunk's SSRC in SDES).
    `length_words` is the header's length field (32-bit words minus one).
    """

    packet_type: int
    count: int
    ssrc: int
    length_words: int
    padding: bool = False

    @classmethod
    def parse(cls, data: bytes) -> RtcpPacket:
        """Parse the first RTCP header of `data`; raise `RtpParseError` if malformed."""
        if len(data) < _RTCP_HEAD.size:
            raise RtpParseError(f"RTCP packet too short: {len(data)} bytes, need 8")
        b0, pt, length, ssrc = _RTCP_HEAD.unpack_from(data, 0)
        if b0 >> 6 != 2:
            raise RtpParseError(f"RTCP version {b0 >> 6}, expected 2")
        if pt not in RTCP_PACKET_TYPES:
            raise RtpParseError(f"RTCP packet type {pt} not in 200..207")
        return cls(packet_type=pt, count=b0 & 0x1F, ssrc=ssrc, length_words=length,
                   padding=bool(b0 & 0x20))

    def __bytes__(self) -> bytes:
        """Serialise the 8-byte header plus zero filler up to `length_words`."""
        b0 = 0x80 | (0x20 if self.padding else 0) | (self.count & 0x1F)
        head = _RTCP_HEAD.pack(b0, self.packet_type & 0xFF, self.length_words & 0xFFFF,
                               self.ssrc & 0xFFFFFFFF)
        return head + bytes(max(0, 4 * (self.length_words + 1) - len(head)))
