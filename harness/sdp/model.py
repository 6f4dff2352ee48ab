"""The SDP session model (RFC 8866): parse, edit, serialise byte-exact.

A body is a list of lines. Every line becomes an object that renders itself
(``Origin``, ``Connection``, ``Bandwidth``, ``Timing``, ``Attribute``, the
m-line of a ``MediaDescription``, and ``RawLine`` for everything else,
including unknown line types and blank lines). A parsed object remembers its
original text, its line ending and a snapshot of its fields; while the
fields still equal the snapshot it renders the original text, so a parsed
body serialises back exactly, whatever its spacing or line endings.

Each section (the session part and each media section) remembers the order
in which its line objects were found. When serialising, the objects still
present keep that order; objects added since are placed after their
neighbour in RFC order (``v o s i u e p c b t r z k a`` for the session,
``m i c b k a`` for media), unknown line types last. So editing the public
fields and lists (``sd.media[0].port = 4000``, ``md.attributes.append(...)``,
``sd.connection = None``) is all it takes to change the body.

Lines that are out of place (a second ``c=`` in a section, ``t=`` after an
``m=`` line, ...) are kept as ``RawLine`` in ``other_lines``, in place. Only
what makes a body unusable raises ``SdpParseError``: a line not of the form
``<letter>=<value>`` (blank lines are kept), no leading ``v=``, no ``o=`` or
``s=``, and malformed ``o=``, ``c=``, ``b=``, ``t=``, ``m=`` lines. Attribute
values are parsed lazily by the helpers, which raise ``SdpParseError`` with
the attribute's line number.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field

from .attributes import (
    DIRECTION_NAMES,
    STATIC_PAYLOAD_TYPES,
    Candidate,
    Direction,
    RtcpAttribute,
    RtpMap,
)
from .crypto import CryptoAttribute
from .errors import SdpParseError
from .lines import (
    MEDIA_ORDER,
    SESSION_ORDER,
    Attribute,
    Bandwidth,
    Connection,
    Line,
    Origin,
    RawLine,
    Timing,
    Version,
    arrange,
    number,
)

__all__ = [
    "Attribute",
    "Bandwidth",
    "Candidate",
    "Connection",
    "CryptoAttribute",
    "Direction",
    "MediaDescription",
    "Origin",
    "RawLine",
    "RtcpAttribute",
    "RtpMap",
    "SdpParseError",
    "SessionDescription",
    "Timing",
    "effective_address",
    "effective_connection",
    "effective_direction",
]

class _Section:
    """What the session part and a media section share: c=, b=, a= and other lines."""

    connection: Connection | None
    bandwidths: list[Bandwidth]
    attributes: list[Attribute]
    other_lines: list[RawLine]
    _layout: list[Line]

    def get_attributes(self, name: str) -> list[Attribute]:
        """Every attribute called ``name``, in order."""
        return [a for a in self.attributes if a.name == name]

    def get_attribute(self, name: str) -> Attribute | None:
        """The first attribute called ``name``, or None."""
        return next((a for a in self.attributes if a.name == name), None)

    def has_attribute(self, name: str) -> bool:
        """True when at least one attribute is called ``name``."""
        return any(a.name == name for a in self.attributes)

    def add_attribute(self, name: str | Attribute, value: str | None = None) -> Attribute:
        """Append an attribute (a name and value, or an ``Attribute``) and return it."""
        attr = name if isinstance(name, Attribute) else Attribute(name, value)
        self.attributes.append(attr)
        return attr

    def remove_attributes(self, name: str) -> int:
        """Remove every attribute called ``name``; return how many were removed."""
        before = len(self.attributes)
        self.attributes[:] = [a for a in self.attributes if a.name != name]
        return before - len(self.attributes)

    def _value(self, name: str) -> str | None:
        attr = self.get_attribute(name)
        return None if attr is None else attr.value

    @property
    def explicit_direction(self) -> Direction | None:
        """The direction attribute written in this section, or None."""
        attr = next((a for a in self.attributes if a.name in DIRECTION_NAMES), None)
        return None if attr is None else Direction(attr.name)

    def set_direction(self, direction: Direction | str | None) -> None:
        """Replace this section's direction attribute (None removes it)."""
        self.attributes[:] = [a for a in self.attributes if a.name not in DIRECTION_NAMES]
        if direction is not None:
            self.attributes.append(Attribute(Direction(direction).value))

    @property
    def ice_ufrag(self) -> str | None:
        """``a=ice-ufrag`` of this section."""
        return self._value("ice-ufrag")

    @property
    def ice_pwd(self) -> str | None:
        """``a=ice-pwd`` of this section."""
        return self._value("ice-pwd")

    def _section_lines(self) -> list[Line]:
        lines: list[Line] = []
        if self.connection is not None:
            lines.append(self.connection)
        lines += self.bandwidths
        lines += self.attributes
        lines += self.other_lines
        return lines


@dataclass(eq=False)
class MediaDescription(Line, _Section):
    """One media section: the ``m=`` line and the lines up to the next ``m=``.

    ``formats`` are the format tokens of the m-line (payload type numbers for
    RTP). ``port_count`` is the ``/<number of ports>`` suffix, usually None.
    """

    TYPE = "m"
    kind: str
    port: int
    proto: str
    formats: list[str] = field(default_factory=list)
    port_count: int | None = None
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    other_lines: list[RawLine] = field(default_factory=list)
    _layout: list[Line] = field(default_factory=list, init=False, repr=False)

    @classmethod
    def parse_mline(cls, value: str, *, line: int = 0) -> MediaDescription:
        """A media section with nothing but the m-line (value after ``m=``)."""
        parts = value.split()
        if len(parts) < 3:
            raise SdpParseError(line, f"m= needs '<media> <port> <proto> <fmt>...': {value!r}")
        port_text, slash, count_text = parts[1].partition("/")
        port = number(port_text, "m= port", line, hi=65535)
        count = number(count_text, "m= port count", line) if slash else None
        return cls(parts[0], port, parts[2], parts[3:], count)

    def _state(self) -> tuple[object, ...]:
        return (self.kind, self.port, self.port_count, self.proto, tuple(self.formats))

    def _render_value(self) -> str:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        return " ".join([self.kind, port, self.proto, *self.formats])

    @property
    def mline(self) -> str:
        """The m-line text (``m=audio 4000 RTP/AVP 0 8``)."""
        return self.render()

    @property
    def is_rtp(self) -> bool:
        """True for RTP transport protocols (RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, ...)."""
        return "RTP/" in self.proto.upper()

    @property
    def rejected(self) -> bool:
        """A media section with port 0 (RFC 3264 section 6)."""
        return self.port == 0

    def rtpmaps(self) -> dict[str, RtpMap]:
        """Format -> RtpMap, in m-line order; static payload types fill missing rtpmaps."""
        explicit: dict[str, RtpMap] = {}
        for attr in self.get_attributes("rtpmap"):
            rm = RtpMap.parse(attr.value or "", line=attr.lineno)
            explicit.setdefault(str(rm.payload_type), rm)
        result: dict[str, RtpMap] = {}
        for fmt in self.formats:
            if fmt in explicit:
                result[fmt] = explicit[fmt]
            elif self.is_rtp and fmt.isascii() and fmt.isdigit() and len(fmt) < 4:
                static = STATIC_PAYLOAD_TYPES.get(int(fmt))
                if static is not None:
                    result[fmt] = static
        return result

    def fmtp(self) -> dict[str, str]:
        """Format -> its ``a=fmtp`` parameter string (first one wins)."""
        result: dict[str, str] = {}
        for attr in self.get_attributes("fmtp"):
            parts = (attr.value or "").split(None, 1)
            if not parts:
                raise SdpParseError(attr.lineno, "fmtp without a format")
            result.setdefault(parts[0], parts[1].strip() if len(parts) == 2 else "")
        return result

    @property
    def direction(self) -> Direction:
        """Media-level direction, sendrecv when absent (see ``effective_direction``)."""
        return self.explicit_direction or Direction.SENDRECV

    @direction.setter
    def direction(self, value: Direction | str) -> None:
        self.set_direction(value)

    @property
    def ptime(self) -> int | None:
        """``a=ptime`` in milliseconds (a fractional value is rounded down)."""
        attr = self.get_attribute("ptime")
        if attr is None:
            return None
        text = (attr.value or "").strip()
        whole, _, frac = text.partition(".")
        if not (frac == "" or (frac.isascii() and frac.isdigit())):
            raise SdpParseError(attr.lineno, f"ptime is not a number: {text!r}")
        return number(whole, "ptime", attr.lineno)

    @property
    def rtcp(self) -> RtcpAttribute | None:
        """``a=rtcp`` (RFC 3605) or None."""
        attr = self.get_attribute("rtcp")
        return None if attr is None else RtcpAttribute.parse(attr.value or "", line=attr.lineno)

    def crypto(self) -> list[CryptoAttribute]:
        """Every ``a=crypto`` line, parsed (RFC 4568)."""
        return [
            CryptoAttribute.parse(a.value or "", line=a.lineno)
            for a in self.get_attributes("crypto")
        ]

    def candidates(self) -> list[Candidate]:
        """Every ``a=candidate`` line, parsed (RFC 8839)."""
        return [
            Candidate.parse(a.value or "", line=a.lineno) for a in self.get_attributes("candidate")
        ]

    @property
    def rtcp_mux(self) -> bool:
        """True when ``a=rtcp-mux`` is present (RFC 5761)."""
        return self.has_attribute("rtcp-mux")

    def lines(self) -> list[Line]:
        """The line objects of this section in output order (m-line first)."""
        return [self, *arrange(self._layout, self._section_lines(), MEDIA_ORDER[1:])]

    def __repr__(self) -> str:
        return f"MediaDescription({self.mline!r})"


class SessionDescription(_Section):
    """A whole SDP body. ``str()``/``bytes()`` give it back exactly as parsed."""

    def __init__(
        self,
        origin: Origin,
        session_name: str = "-",
        *,
        version: int = 0,
        connection: Connection | None = None,
        bandwidths: Iterable[Bandwidth] = (),
        times: Iterable[Timing] | None = None,
        attributes: Iterable[Attribute] = (),
        media: Iterable[MediaDescription] = (),
        line_ending: str = "\r\n",
    ) -> None:
        self._version = Version(version)
        self.origin = origin
        self._name = RawLine("s", session_name)
        self.connection = connection
        self.bandwidths = list(bandwidths)
        self.times = [Timing()] if times is None else list(times)
        self.attributes = list(attributes)
        self.media = list(media)
        self.other_lines = []
        self.line_ending = line_ending
        self._layout = []

    @property
    def version(self) -> int:
        """The ``v=`` number (0)."""
        return self._version.value

    @version.setter
    def version(self, value: int) -> None:
        self._version.value = value

    @property
    def session_name(self) -> str:
        """The ``s=`` text."""
        return self._name.value

    @session_name.setter
    def session_name(self, value: str) -> None:
        self._name.value = value

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse an SDP body (bytes are UTF-8; undecodable bytes survive the round trip)."""
        text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
        return _parse(text)

    def lines(self) -> list[Line]:
        """Every line object in output order."""
        own: list[Line] = [self._version, self.origin, self._name]
        own += self._section_lines()
        own += self.times
        out = arrange(self._layout, own, SESSION_ORDER)
        for md in self.media:
            out += md.lines()
        return out

    def __str__(self) -> str:
        lines = self.lines()
        last = len(lines) - 1
        parts: list[str] = []
        for i, ln in enumerate(lines):
            eol = self.line_ending if ln._eol is None else ln._eol
            if eol == "" and i != last:
                eol = self.line_ending
            parts.append(ln.render() + eol)
        return "".join(parts)

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8", "surrogateescape")

    def __repr__(self) -> str:
        return f"SessionDescription(origin={str(self.origin)!r}, media={self.media!r})"

    def copy(self) -> SessionDescription:
        """A deep copy that still serialises like the original."""
        return copy.deepcopy(self)


def effective_connection(sd: SessionDescription, media_index: int = 0) -> Connection | None:
    """The media-level ``c=`` of a media section, else the session-level one."""
    md = sd.media[media_index]
    return md.connection if md.connection is not None else sd.connection


def effective_address(sd: SessionDescription, media_index: int = 0) -> str:
    """The address media for ``sd.media[media_index]`` goes to (media c=, else session c=)."""
    conn = effective_connection(sd, media_index)
    if conn is None:
        md = sd.media[media_index]
        raise SdpParseError(md.lineno, f"media {media_index} has no c= line (nor has the session)")
    return conn.address


def effective_direction(sd: SessionDescription, media_index: int = 0) -> Direction:
    """Media-level direction, else session-level, else sendrecv (RFC 3264 section 5.1)."""
    md = sd.media[media_index]
    return md.explicit_direction or sd.explicit_direction or Direction.SENDRECV


def _split_lines(text: str) -> list[tuple[str, str]]:
    """(content, line ending) pairs; the last line may have no ending."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        nl = text.find("\n", pos)
        if nl < 0:
            out.append((text[pos:], ""))
            break
        if nl > pos and text[nl - 1] == "\r":
            out.append((text[pos : nl - 1], "\r\n"))
        else:
            out.append((text[pos:nl], "\n"))
        pos = nl + 1
    return out


def _parse(text: str) -> SessionDescription:
    rows = _split_lines(text)
    if not rows or not rows[0][0].startswith("v="):
        raise SdpParseError(1, "an SDP body must start with a v= line")
    version = Version(number(rows[0][0][2:].strip(), "v=", 1))
    version._parsed(rows[0][0], rows[0][1], 1)
    origin: Origin | None = None
    name: RawLine | None = None
    session: list[Line] = [version]
    conn: Connection | None = None
    bandwidths: list[Bandwidth] = []
    times: list[Timing] = []
    attributes: list[Attribute] = []
    others: list[RawLine] = []
    media: list[MediaDescription] = []
    current: MediaDescription | None = None

    for lineno, (content, eol) in enumerate(rows[1:], start=2):
        kind, value = content[:1], content[2:]
        if content and (content[1:2] != "=" or not (kind.isascii() and kind.isalpha())):
            raise SdpParseError(lineno, f"not a '<type>=<value>' line: {content[:60]!r}")
        if kind == "m":
            current = MediaDescription.parse_mline(value, line=lineno)
            current._parsed(content, eol, lineno)
            media.append(current)
            continue
        obj: Line
        if kind == "a":
            obj = Attribute.parse(value, line=lineno)
            (attributes if current is None else current.attributes).append(obj)
        elif kind == "b":
            obj = Bandwidth.parse(value, line=lineno)
            (bandwidths if current is None else current.bandwidths).append(obj)
        elif kind == "c" and current is None and conn is None:
            obj = conn = Connection.parse(value, line=lineno)
        elif kind == "c" and current is not None and current.connection is None:
            obj = current.connection = Connection.parse(value, line=lineno)
        elif kind == "o" and current is None and origin is None:
            obj = origin = Origin.parse(value, line=lineno)
        elif kind == "s" and current is None and name is None:
            obj = name = RawLine("s", value)
        elif kind == "t" and current is None:
            obj = Timing.parse(value, line=lineno)
            times.append(obj)
        else:  # unknown type, blank line, or a known type out of place
            obj = RawLine(kind, value)
            (others if current is None else current.other_lines).append(obj)
        obj._parsed(content, eol, lineno)
        (session if current is None else current._layout).append(obj)

    if origin is None:
        raise SdpParseError(1, "the session has no o= line")
    if name is None:
        raise SdpParseError(1, "the session has no s= line")
    sd = SessionDescription(
        origin,
        version=version.value,
        connection=conn,
        bandwidths=bandwidths,
        times=times,
        attributes=attributes,
        media=media,
        line_ending=rows[0][1] or "\r\n",
    )
    sd._version = version
    sd._name = name
    sd.other_lines = others
    sd._layout = session
    return sd
