"""The line objects of an SDP body (RFC 8866 section 5), each rendering itself.

A parsed line remembers its text, its line ending and a snapshot of its
fields; while the fields still equal the snapshot it renders the original
text. ``arrange`` puts a section's lines in output order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .errors import SdpParseError

__all__ = [
    "Attribute",
    "Bandwidth",
    "Connection",
    "Line",
    "Origin",
    "RawLine",
    "Timing",
    "Version",
    "arrange",
    "number",
]

SESSION_ORDER = "vosiuepcbtrzka"
MEDIA_ORDER = "micbka"


def number(text: str, what: str, line: int, *, hi: int | None = None) -> int:
    """A decimal field, or SdpParseError naming ``what`` and the line."""
    if not text.isascii() or not text.isdigit() or len(text) > 40:
        raise SdpParseError(line, f"{what} is not a decimal number: {text!r}")
    value = int(text)
    if hi is not None and value > hi:
        raise SdpParseError(line, f"{what} {value} is out of range")
    return value


class Line:
    """A line of the body that renders itself; parsed ones remember their text."""

    TYPE = ""
    _raw: str | None = None
    _eol: str | None = None
    _snapshot: tuple[object, ...] | None = None
    lineno: int = 0

    def _state(self) -> tuple[object, ...]:
        raise NotImplementedError

    def _render_value(self) -> str:
        raise NotImplementedError

    def _parsed(self, raw: str, eol: str, lineno: int) -> None:
        self._raw, self._eol, self.lineno = raw, eol, lineno
        self._snapshot = self._state()

    @property
    def modified(self) -> bool:
        """True for a line built in code or edited since it was parsed."""
        return self._raw is None or self._state() != self._snapshot

    def render(self) -> str:
        """The line text without its line ending."""
        if self._raw is not None and not self.modified:
            return self._raw
        return f"{self.TYPE}={self._render_value()}"


@dataclass
class RawLine(Line):
    """A line kept as text: unknown types, blank lines, lines out of place.

    ``type`` is the letter before ``=`` ("" for a blank line).
    """

    type: str
    value: str

    def _state(self) -> tuple[object, ...]:
        return (self.type, self.value)

    def render(self) -> str:
        """The line text without its line ending."""
        if self._raw is not None and not self.modified:
            return self._raw
        return f"{self.type}={self.value}" if self.type else self.value


@dataclass
class Version(Line):
    """``v=0``."""

    TYPE = "v"
    value: int

    def _state(self) -> tuple[object, ...]:
        return (self.value,)

    def _render_value(self) -> str:
        return str(self.value)


@dataclass
class Origin(Line):
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>``."""

    TYPE = "o"
    username: str
    sess_id: int
    sess_version: int
    nettype: str
    addrtype: str
    address: str

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> Origin:
        """Parse the value of an ``o=`` line."""
        parts = value.split()
        if len(parts) != 6:
            raise SdpParseError(line, f"o= needs 6 fields, found {len(parts)}: {value!r}")
        return cls(
            parts[0],
            number(parts[1], "o= sess-id", line),
            number(parts[2], "o= sess-version", line),
            parts[3],
            parts[4],
            parts[5],
        )

    def _state(self) -> tuple[object, ...]:
        return (self.username, self.sess_id, self.sess_version, self.nettype,
                self.addrtype, self.address)

    def _render_value(self) -> str:
        return (f"{self.username} {self.sess_id} {self.sess_version} "
                f"{self.nettype} {self.addrtype} {self.address}")

    def __str__(self) -> str:
        return self._render_value()


@dataclass
class Connection(Line):
    """``c=<nettype> <addrtype> <address>[/<ttl>][/<count>]``.

    For IP6 a single suffix is the count (there is no TTL), as RFC 8866 says.
    """

    TYPE = "c"
    nettype: str
    addrtype: str
    address: str
    ttl: int | None = None
    count: int | None = None

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> Connection:
        """Parse the value of a ``c=`` line."""
        parts = value.split()
        if len(parts) != 3:
            raise SdpParseError(line, f"c= needs 3 fields, found {len(parts)}: {value!r}")
        address, *suffix = parts[2].split("/")
        if not address or len(suffix) > 2:
            raise SdpParseError(line, f"c= address is malformed: {parts[2]!r}")
        numbers = [number(s, "c= ttl/count", line) for s in suffix]
        ttl: int | None = None
        count: int | None = None
        if len(numbers) == 2:
            ttl, count = numbers
        elif numbers and parts[1].upper() == "IP6":
            count = numbers[0]
        elif numbers:
            ttl = numbers[0]
        return cls(parts[0], parts[1], address, ttl, count)

    def _state(self) -> tuple[object, ...]:
        return (self.nettype, self.addrtype, self.address, self.ttl, self.count)

    def _render_value(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address_with_suffix}"

    @property
    def address_with_suffix(self) -> str:
        """The address field as written: ``224.2.1.1/127/3``."""
        text = self.address
        if self.ttl is not None:
            text += f"/{self.ttl}"
        if self.count is not None:
            text += f"/{self.count}"
        return text

    def __str__(self) -> str:
        return self._render_value()


@dataclass
class Bandwidth(Line):
    """``b=<bwtype>:<bandwidth>`` (kilobits per second for CT and AS)."""

    TYPE = "b"
    bwtype: str
    bandwidth: int

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> Bandwidth:
        """Parse the value of a ``b=`` line."""
        bwtype, sep, amount = value.partition(":")
        if not sep or not bwtype:
            raise SdpParseError(line, f"b= needs '<type>:<value>': {value!r}")
        return cls(bwtype, number(amount.strip(), "b= bandwidth", line))

    def _state(self) -> tuple[object, ...]:
        return (self.bwtype, self.bandwidth)

    def _render_value(self) -> str:
        return f"{self.bwtype}:{self.bandwidth}"

    def __str__(self) -> str:
        return self._render_value()


@dataclass
class Timing(Line):
    """``t=<start> <stop>`` (NTP seconds; ``0 0`` = unbounded)."""

    TYPE = "t"
    start: int = 0
    stop: int = 0

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> Timing:
        """Parse the value of a ``t=`` line."""
        parts = value.split()
        if len(parts) != 2:
            raise SdpParseError(line, f"t= needs '<start> <stop>': {value!r}")
        return cls(number(parts[0], "t= start", line), number(parts[1], "t= stop", line))

    def _state(self) -> tuple[object, ...]:
        return (self.start, self.stop)

    def _render_value(self) -> str:
        return f"{self.start} {self.stop}"


@dataclass
class Attribute(Line):
    """``a=<name>`` (``value`` None) or ``a=<name>:<value>``."""

    TYPE = "a"
    name: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str, *, line: int = 0) -> Attribute:
        """Parse the text after ``a=``."""
        name, sep, value = text.partition(":")
        if not name:
            raise SdpParseError(line, f"attribute without a name: {text!r}")
        return cls(name, value if sep else None)

    def _state(self) -> tuple[object, ...]:
        return (self.name, self.value)

    def _render_value(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"

    def __str__(self) -> str:
        return f"a={self._render_value()}"


def _rank(line: Line, order: str) -> int:
    kind = line.type if isinstance(line, RawLine) else line.TYPE
    index = order.find(kind) if kind else -1
    return index if index >= 0 else len(order)


def arrange(layout: list[Line], current: list[Line], order: str) -> list[Line]:
    """Lines still present keep their parsed order; new ones follow their RFC neighbour.

    ``current`` may hold the same object twice (appended twice): it is then
    emitted twice.
    """
    canonical = sorted(current, key=lambda ln: _rank(ln, order))
    present = {id(ln) for ln in canonical}
    out = [ln for ln in layout if id(ln) in present]
    unclaimed = Counter(id(ln) for ln in out)
    for i, ln in enumerate(canonical):
        if unclaimed[id(ln)] > 0:
            unclaimed[id(ln)] -= 1
            continue
        if i == 0:
            out.insert(0, ln)
        else:
            before = canonical[i - 1]
            at = max(k for k, other in enumerate(out) if other is before)
            out.insert(at + 1, ln)
    return out
