"""Typed values of the SDP attributes the harness reads (RFC 8866, 3264, 3551, 3605, 8839).

Each class parses the *value* of one ``a=`` line (the text after ``name:``)
and renders it back with ``str()``. They are plain values: the SDP body keeps
the original attribute text, so a body still round-trips byte-exact even
when one of these renders a value in a canonical spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import SdpParseError

__all__ = [
    "Candidate",
    "Direction",
    "RtcpAttribute",
    "RtpMap",
    "STATIC_PAYLOAD_TYPES",
]


class Direction(StrEnum):
    """Media direction attribute (RFC 3264 section 5.1); compares equal to its string."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        """True when the side that wrote this direction sends media."""
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        """True when the side that wrote this direction receives media."""
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def from_flags(cls, sends: bool, receives: bool) -> Direction:
        """The direction for a (sends, receives) pair."""
        if sends and receives:
            return cls.SENDRECV
        if sends:
            return cls.SENDONLY
        if receives:
            return cls.RECVONLY
        return cls.INACTIVE

    def complement(self) -> Direction:
        """The direction an answerer mirrors (sendonly <-> recvonly, RFC 3264 section 6.1)."""
        return Direction.from_flags(self.receives, self.sends)

    def intersect(self, other: Direction) -> Direction:
        """What both directions allow (used to combine a wish with a complement)."""
        return Direction.from_flags(
            self.sends and other.sends, self.receives and other.receives
        )


DIRECTION_NAMES = frozenset(d.value for d in Direction)


def _int(text: str, what: str, line: int, *, lo: int = 0, hi: int | None = None) -> int:
    if not text.isascii() or not text.isdigit():
        raise SdpParseError(line, f"{what} is not a decimal number: {text!r}")
    if len(text) > 40:
        raise SdpParseError(line, f"{what} has too many digits")
    value = int(text)
    if value < lo or (hi is not None and value > hi):
        raise SdpParseError(line, f"{what} {value} is out of range")
    return value


@dataclass(frozen=True)
class RtpMap:
    """``a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]``."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> RtpMap:
        """Parse the value of an ``a=rtpmap`` attribute."""
        parts = value.split(None, 1)
        if len(parts) != 2:
            raise SdpParseError(line, f"rtpmap needs '<pt> <encoding>/<rate>': {value!r}")
        pt = _int(parts[0], "rtpmap payload type", line, hi=127)
        enc = parts[1].strip().split("/")
        if len(enc) not in (2, 3) or not enc[0]:
            raise SdpParseError(line, f"rtpmap encoding must be name/rate[/channels]: {value!r}")
        rate = _int(enc[1], "rtpmap clock rate", line, lo=1)
        channels = _int(enc[2], "rtpmap channels", line, lo=1) if len(enc) == 3 else None
        return cls(pt, enc[0], rate, channels)

    def __str__(self) -> str:
        text = f"{self.payload_type} {self.encoding}/{self.clock_rate}"
        return text if self.channels is None else f"{text}/{self.channels}"

    def same_codec(self, other: RtpMap) -> bool:
        """Same encoding (case-insensitive), clock rate and channel count (None = 1)."""
        return (
            self.encoding.lower() == other.encoding.lower()
            and self.clock_rate == other.clock_rate
            and (self.channels or 1) == (other.channels or 1)
        )


# RFC 3551 table 4 and 5: payload types with a static meaning.
STATIC_PAYLOAD_TYPES: dict[int, RtpMap] = {
    rm.payload_type: rm
    for rm in (
        RtpMap(0, "PCMU", 8000),
        RtpMap(3, "GSM", 8000),
        RtpMap(4, "G723", 8000),
        RtpMap(5, "DVI4", 8000),
        RtpMap(6, "DVI4", 16000),
        RtpMap(7, "LPC", 8000),
        RtpMap(8, "PCMA", 8000),
        RtpMap(9, "G722", 8000),
        RtpMap(10, "L16", 44100, 2),
        RtpMap(11, "L16", 44100),
        RtpMap(12, "QCELP", 8000),
        RtpMap(13, "CN", 8000),
        RtpMap(14, "MPA", 90000),
        RtpMap(15, "G728", 8000),
        RtpMap(16, "DVI4", 11025),
        RtpMap(17, "DVI4", 22050),
        RtpMap(18, "G729", 8000),
        RtpMap(25, "CelB", 90000),
        RtpMap(26, "JPEG", 90000),
        RtpMap(28, "nv", 90000),
        RtpMap(31, "H261", 90000),
        RtpMap(32, "MPV", 90000),
        RtpMap(33, "MP2T", 90000),
        RtpMap(34, "H263", 90000),
    )
}


@dataclass(frozen=True)
class RtcpAttribute:
    """``a=rtcp:<port> [<nettype> <addrtype> <address>]`` (RFC 3605)."""

    port: int
    nettype: str | None = None
    addrtype: str | None = None
    address: str | None = None

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> RtcpAttribute:
        """Parse the value of an ``a=rtcp`` attribute."""
        parts = value.split()
        if len(parts) not in (1, 4):
            raise SdpParseError(line, f"rtcp needs '<port> [IN IP4 <address>]': {value!r}")
        port = _int(parts[0], "rtcp port", line, hi=65535)
        if len(parts) == 1:
            return cls(port)
        return cls(port, parts[1], parts[2], parts[3])

    def __str__(self) -> str:
        if self.address is None:
            return str(self.port)
        return f"{self.port} {self.nettype} {self.addrtype} {self.address}"


@dataclass
class Candidate:
    """``a=candidate`` (RFC 8839 section 5.1).

    ``extensions`` holds every name/value pair after ``typ <type>`` in order,
    including ``raddr``/``rport``; see ``related_address``/``related_port``.
    """

    foundation: str
    component: int
    transport: str
    priority: int
    ip: str
    port: int
    type: str
    extensions: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> Candidate:
        """Parse a candidate value (a leading ``candidate:`` is accepted and dropped)."""
        text = value[len("candidate:"):] if value.startswith("candidate:") else value
        tokens = text.split()
        if len(tokens) < 8 or tokens[6] != "typ":
            raise SdpParseError(
                line,
                "candidate needs '<foundation> <component> <transport> <priority> "
                f"<address> <port> typ <type>': {value!r}",
            )
        extra = tokens[8:]
        if len(extra) % 2:
            raise SdpParseError(line, f"candidate extension without a value: {value!r}")
        return cls(
            foundation=tokens[0],
            component=_int(tokens[1], "candidate component", line, lo=1, hi=256),
            transport=tokens[2],
            priority=_int(tokens[3], "candidate priority", line, hi=2**32 - 1),
            ip=tokens[4],
            port=_int(tokens[5], "candidate port", line, hi=65535),
            type=tokens[7],
            extensions=list(zip(extra[::2], extra[1::2], strict=True)),
        )

    def __str__(self) -> str:
        head = (
            f"{self.foundation} {self.component} {self.transport} {self.priority} "
            f"{self.ip} {self.port} typ {self.type}"
        )
        return "".join([head, *(f" {k} {v}" for k, v in self.extensions)])

    def _extension(self, name: str) -> str | None:
        return next((v for k, v in self.extensions if k == name), None)

    @property
    def related_address(self) -> str | None:
        """The ``raddr`` extension, if present."""
        return self._extension("raddr")

    @property
    def related_port(self) -> int | None:
        """The ``rport`` extension as a number, if present and numeric."""
        value = self._extension("rport")
        return int(value) if value is not None and value.isdigit() else None
