"""SIP messages on the wire: parse, serialise byte-exact, build valid by default.

``parse_message(data)`` turns one datagram into a :class:`Request` or
:class:`Response`; ``bytes(msg)`` gives the same bytes back (header names keep
their spelling and compact forms, folded lines and odd whitespace are kept in
each header's raw form; a header changed through :class:`Headers` is written
canonically). Anything that does not follow RFC 3261 §7 / §25 strictly raises
:class:`SipParseError` naming the line: LF-only line endings are reported, not
repaired.

Builders (:func:`build_request`, :func:`build_response`) produce valid
messages; negative cases change the result afterwards through ``headers``
(``bytes(msg)`` writes what is there, it never recomputes Content-Length).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.sip.errors import SipParseError
from harness.sip.headers import CSeq, NameAddr, SipUri, Via, is_token, split_header_values

__all__ = [
    "HEADER_TABLE",
    "REASON_PHRASES",
    "HeaderSpec",
    "Headers",
    "Message",
    "Request",
    "Response",
    "SipParseError",
    "build_request",
    "build_response",
    "canonical_name",
    "parse_message",
]


@dataclass(frozen=True)
class HeaderSpec:
    """One row of the header table."""

    name: str
    """Canonical spelling."""
    compact: str | None
    """RFC 3261 §7.3.3 compact form (and later RFCs'), if any."""
    multi: bool
    """True if several values may share one line, comma-separated (§7.3.1)."""


# Headers whose values contain commas that do *not* separate values (dates,
# authentication challenges, free text) are deliberately multi=False.
HEADER_TABLE: tuple[HeaderSpec, ...] = (
    HeaderSpec("Via", "v", True),
    HeaderSpec("From", "f", False),
    HeaderSpec("To", "t", False),
    HeaderSpec("Call-ID", "i", False),
    HeaderSpec("CSeq", None, False),
    HeaderSpec("Contact", "m", True),
    HeaderSpec("Content-Type", "c", False),
    HeaderSpec("Content-Length", "l", False),
    HeaderSpec("Content-Encoding", "e", True),
    HeaderSpec("Content-Disposition", None, False),
    HeaderSpec("Content-Language", None, True),
    HeaderSpec("Route", None, True),
    HeaderSpec("Record-Route", None, True),
    HeaderSpec("Max-Forwards", None, False),
    HeaderSpec("Supported", "k", True),
    HeaderSpec("Unsupported", None, True),
    HeaderSpec("Require", None, True),
    HeaderSpec("Proxy-Require", None, True),
    HeaderSpec("Subject", "s", False),
    HeaderSpec("Allow", None, True),
    HeaderSpec("Allow-Events", "u", True),
    HeaderSpec("Event", "o", False),
    HeaderSpec("Refer-To", "r", False),
    HeaderSpec("Referred-By", "b", False),
    HeaderSpec("Session-Expires", "x", False),
    HeaderSpec("Min-SE", None, False),
    HeaderSpec("Accept", None, True),
    HeaderSpec("Accept-Encoding", None, True),
    HeaderSpec("Accept-Language", None, True),
    HeaderSpec("Accept-Contact", "a", True),
    HeaderSpec("Reject-Contact", "j", True),
    HeaderSpec("Request-Disposition", "d", True),
    HeaderSpec("Alert-Info", None, True),
    HeaderSpec("Call-Info", None, True),
    HeaderSpec("Error-Info", None, True),
    HeaderSpec("In-Reply-To", None, True),
    HeaderSpec("User-Agent", None, False),
    HeaderSpec("Server", None, False),
    HeaderSpec("Reason", None, True),
    HeaderSpec("Expires", None, False),
    HeaderSpec("Min-Expires", None, False),
    HeaderSpec("Date", None, False),
    HeaderSpec("Timestamp", None, False),
    HeaderSpec("Retry-After", None, False),
    HeaderSpec("Warning", None, True),
    HeaderSpec("Organization", None, False),
    HeaderSpec("Priority", None, False),
    HeaderSpec("MIME-Version", None, False),
    HeaderSpec("Path", None, True),
    HeaderSpec("Service-Route", None, True),
    HeaderSpec("P-Asserted-Identity", None, True),
    HeaderSpec("P-Preferred-Identity", None, True),
    HeaderSpec("Privacy", None, True),
    HeaderSpec("RSeq", None, False),
    HeaderSpec("RAck", None, False),
    HeaderSpec("Replaces", None, False),
    HeaderSpec("Subscription-State", None, False),
    HeaderSpec("Identity", "y", False),
    HeaderSpec("Authorization", None, False),
    HeaderSpec("Proxy-Authorization", None, False),
    HeaderSpec("WWW-Authenticate", None, False),
    HeaderSpec("Proxy-Authenticate", None, False),
    HeaderSpec("Authentication-Info", None, False),
)

_SPEC_BY_KEY: dict[str, HeaderSpec] = {}
for _spec in HEADER_TABLE:
    _SPEC_BY_KEY[_spec.name.lower()] = _spec
    if _spec.compact:
        _SPEC_BY_KEY[_spec.compact] = _spec


def _key(name: str) -> str:
    """Comparison key: case-insensitive, compact forms folded into full names."""
    lname = name.strip().lower()
    spec = _SPEC_BY_KEY.get(lname)
    return spec.name.lower() if spec else lname


def canonical_name(name: str) -> str:
    """``"v"`` -> ``"Via"``, ``"call-id"`` -> ``"Call-ID"``; unknown names unchanged."""
    spec = _SPEC_BY_KEY.get(name.strip().lower())
    return spec.name if spec else name


def _is_multi(name: str) -> bool:
    spec = _SPEC_BY_KEY.get(name.strip().lower())
    return spec.multi if spec else False


REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


# --------------------------------------------------------------------------- Headers


@dataclass
class _Field:
    name: str
    value: str
    raw: str | None = None  # the line(s) as received, without the final CRLF

    def render(self) -> str:
        return self.raw if self.raw is not None else f"{self.name}: {self.value}"


class Headers:
    """Ordered multi-dict of header fields, preserving spelling and order.

    Look-ups are case-insensitive and treat compact forms as their full names
    (``get("Via")`` finds ``v:``). Fields read from the wire keep their raw
    form for byte-exact serialisation; fields added here are written as
    ``Name: value``.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[_Field] = [_Field(n, v) for n, v in items]

    def _append_raw(self, name: str, value: str, raw: str) -> None:
        self._fields.append(_Field(name, value, raw))

    def add(self, name: str, value: str) -> None:
        """Append a field."""
        self._fields.append(_Field(name, value))

    def insert(self, index: int, name: str, value: str) -> None:
        """Insert a field at position ``index`` among all fields (0 = first)."""
        self._fields.insert(index, _Field(name, value))

    def set(self, name: str, value: str) -> None:
        """Replace every field called ``name`` by one, at the place of the first."""
        key = _key(name)
        for i, f in enumerate(self._fields):
            if _key(f.name) == key:
                self._fields[i] = _Field(name, value)
                self._fields[i + 1 :] = [g for g in self._fields[i + 1 :] if _key(g.name) != key]
                return
        self.add(name, value)

    def remove(self, name: str) -> None:
        """Remove every field called ``name`` (no error if there is none)."""
        key = _key(name)
        self._fields = [f for f in self._fields if _key(f.name) != key]

    def get_lines(self, name: str) -> list[str]:
        """Values of every field called ``name``, one per header line, not split."""
        key = _key(name)
        return [f.value for f in self._fields if _key(f.name) == key]

    def get_all(self, name: str) -> list[str]:
        """All values of ``name``; list headers (Via, Route...) split on top-level commas."""
        if not _is_multi(name):
            return self.get_lines(name)
        values: list[str] = []
        for line in self.get_lines(name):
            values.extend(split_header_values(line))
        return values

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of ``name`` (first list element for list headers), or ``default``."""
        values = self.get_all(name)
        return values[0] if values else default

    def copy(self) -> Headers:
        """An independent copy (raw forms included)."""
        new = Headers()
        new._fields = [_Field(f.name, f.value, f.raw) for f in self._fields]
        return new

    def copy_field(self, other: Headers, name: str) -> None:
        """Append every ``name`` field of ``other`` to this one, raw form included."""
        key = _key(name)
        for f in other._fields:
            if _key(f.name) == key:
                self._fields.append(_Field(f.name, f.value, f.raw))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = _key(name)
        return any(_key(f.name) == key for f in self._fields)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((f.name, f.value) for f in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"

    def render(self) -> str:
        """All fields, each followed by CRLF."""
        return "".join(f.render() + "\r\n" for f in self._fields)


# --------------------------------------------------------------------------- messages


class _MessageBase:
    """Convenience accessors shared by requests and responses."""

    headers: Headers
    body: bytes

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    @property
    def call_id(self) -> str:
        """The Call-ID value."""
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        """The parsed CSeq."""
        return CSeq.parse(self._required("CSeq"))

    @property
    def vias(self) -> list[Via]:
        """Every Via element, top first."""
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        """The first Via element."""
        return Via.parse(self._required("Via"))

    @property
    def from_(self) -> NameAddr:
        """The parsed From header."""
        return NameAddr.parse(self._required("From"))

    @property
    def to(self) -> NameAddr:
        """The parsed To header."""
        return NameAddr.parse(self._required("To"))

    @property
    def contact(self) -> NameAddr | None:
        """The first Contact, or ``None`` (also for ``Contact: *``)."""
        value = self.headers.get("Contact")
        if value is None or value.strip() == "*":
            return None
        return NameAddr.parse(value)

    @property
    def record_routes(self) -> list[NameAddr]:
        """Record-Route elements in message order."""
        return [NameAddr.parse(v) for v in self.headers.get_all("Record-Route")]

    @property
    def routes(self) -> list[NameAddr]:
        """Route elements in message order."""
        return [NameAddr.parse(v) for v in self.headers.get_all("Route")]

    @property
    def content_type(self) -> str | None:
        """The Content-Type value as written, or ``None``."""
        return self.headers.get("Content-Type")

    def set_body(self, body: bytes, content_type: str | None = None) -> None:
        """Replace the body and keep Content-Length (and Content-Type if given) in step."""
        self.body = body
        if content_type is not None:
            self.headers.set("Content-Type", content_type)
        self.headers.set("Content-Length", str(len(body)))


@dataclass(eq=True)
class Request(_MessageBase):
    """A SIP request. ``bytes(req)`` serialises it exactly as the fields say."""

    method: str
    uri: str
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"

    def __bytes__(self) -> bytes:
        start = f"{self.method} {self.uri} {self.version}\r\n"
        return (start + self.headers.render() + "\r\n").encode("utf-8") + self.body


@dataclass(eq=True)
class Response(_MessageBase):
    """A SIP response. ``bytes(resp)`` serialises it exactly as the fields say."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"

    def __bytes__(self) -> bytes:
        start = f"{self.version} {self.status} {self.reason}\r\n"
        return (start + self.headers.render() + "\r\n").encode("utf-8") + self.body


Message = Request | Response

# --------------------------------------------------------------------------- parsing

_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+")
_REQUEST_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")
_SINGLE = ("From", "To", "Call-ID", "CSeq", "Content-Length", "Max-Forwards")


def parse_message(data: bytes) -> Request | Response:
    """Parse one SIP message (one UDP datagram).

    Raises :class:`SipParseError` (with the 1-based line) when the bytes are
    not a well-formed SIP message; never any other exception for bytes input.
    The body is exactly Content-Length bytes (extra bytes of the datagram are
    discarded, RFC 3261 §18.3); without Content-Length it is the rest.
    """
    data = bytes(data)

    def fail(reason: str, line: int | None = None) -> SipParseError:
        return SipParseError(reason, line=line, data=data)

    end = data.find(b"\r\n\r\n")
    if end < 0:
        if b"\n\n" in data or (b"\n" in data and b"\r\n" not in data):
            raise fail("lines end in LF only; SIP needs CRLF", 1)
        raise fail("no empty line (CRLF CRLF) after the headers")
    head, rest = data[:end], data[end + 4 :]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail("header section is not UTF-8", head[: exc.start].count(b"\n") + 1) from None
    lines = text.split("\r\n")
    for number, line in enumerate(lines, 1):
        if "\n" in line or "\r" in line:
            raise fail("bare LF or CR inside a line; SIP needs CRLF", number)

    message = _parse_start_line(lines[0], fail)
    headers = message.headers
    line_of: list[int] = []  # line number of each field, for error reports
    for number, line in enumerate(lines[1:], 2):
        if line[:1] in (" ", "\t"):
            # Folded continuation line (§7.3.1): part of the previous field.
            if not headers._fields:
                raise fail("continuation line before any header", number)
            last = headers._fields[-1]
            last.raw = f"{last.raw}\r\n{line}"
            last.value = f"{last.value} {line.strip()}".strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise fail(f"header line without a colon: {line[:40]!r}", number)
        stripped = name.rstrip(" \t")
        if not is_token(stripped):
            raise fail(f"bad header name {name!r}", number)
        headers._append_raw(stripped, value.strip(" \t"), line)
        line_of.append(number)

    _check_headers(message, line_of, fail)

    length_text = headers.get("Content-Length")
    if length_text is not None:
        length = int(length_text)
        if length > len(rest):
            raise fail(
                f"Content-Length {length} is larger than the body ({len(rest)} bytes)",
                _line_of(headers, line_of, "Content-Length"),
            )
        message.body = rest[:length]
    else:
        message.body = rest
    return message


def _parse_start_line(line: str, fail: _Fail) -> Request | Response:
    if not line:
        raise fail("empty start line", 1)
    if line.startswith("SIP/"):
        parts = line.split(" ", 2)
        if len(parts) < 3:
            raise fail(f"bad status line {line!r}: expected 'SIP/2.0 code reason'", 1)
        version, code, reason = parts
        if not _VERSION_RE.fullmatch(version):
            raise fail(f"bad SIP version {version!r}", 1)
        if not (len(code) == 3 and code.isascii() and code.isdigit()):
            raise fail(f"status code {code!r} is not three digits", 1)
        if not 100 <= int(code) <= 699:
            raise fail(f"status code {code} is outside 100-699", 1)
        return Response(int(code), reason, Headers(), version=version)
    parts = line.split(" ")
    if len(parts) != 3:
        raise fail(f"bad request line {line!r}: expected 'METHOD uri SIP/2.0'", 1)
    method, uri, version = parts
    if not is_token(method):
        raise fail(f"bad method {method!r}", 1)
    if not _REQUEST_URI_RE.fullmatch(uri):
        raise fail(f"bad Request-URI {uri!r}", 1)
    if not _VERSION_RE.fullmatch(version):
        raise fail(f"bad SIP version {version!r}", 1)
    return Request(method, uri, Headers(), version=version)


class _Fail(Protocol):
    """Type of the local ``fail`` helper in :func:`parse_message`."""

    def __call__(self, reason: str, line: int | None = None) -> SipParseError: ...


def _line_of(headers: Headers, line_of: list[int], name: str) -> int | None:
    key = _key(name)
    for f, number in zip(headers._fields, line_of, strict=True):
        if _key(f.name) == key:
            return number
    return None


def _check_headers(message: Request | Response, line_of: list[int], fail: _Fail) -> None:
    """Mandatory headers present, single ones single, and the ones we rely on parse."""
    headers = message.headers
    for name in _MANDATORY:
        if name not in headers:
            raise fail(f"missing mandatory header {name}")
    for name in _SINGLE:
        if len(headers.get_lines(name)) > 1:
            number = [n for f, n in zip(headers._fields, line_of, strict=True)
                      if _key(f.name) == _key(name)][1]
            raise fail(f"more than one {name} header", number)
    for f, number in zip(headers._fields, line_of, strict=True):
        key = _key(f.name)
        try:
            if key == "via":
                for v in split_header_values(f.value):
                    Via.parse(v)
                if not split_header_values(f.value):
                    raise SipParseError("empty Via")
            elif key == "cseq":
                cseq = CSeq.parse(f.value)
                if isinstance(message, Request) and cseq.method != message.method:
                    raise SipParseError(
                        f"CSeq method {cseq.method} does not match request method "
                        f"{message.method}"
                    )
            elif key in ("from", "to"):
                NameAddr.parse(f.value)
            elif key in ("route", "record-route"):
                for v in split_header_values(f.value):
                    NameAddr.parse(v)
            elif key == "contact":
                if f.value.strip() != "*":
                    for v in split_header_values(f.value):
                        NameAddr.parse(v)
            elif key == "call-id":
                if not f.value or any(c.isspace() for c in f.value):
                    raise SipParseError(f"bad Call-ID {f.value!r}")
            elif key in ("content-length", "max-forwards"):
                if not (f.value.isascii() and f.value.isdigit()):
                    raise SipParseError(f"{canonical_name(f.name)} {f.value!r} is not a number")
        except SipParseError as exc:
            raise fail(exc.reason, number) from None


# --------------------------------------------------------------------------- builders


def _addr(value: NameAddr | SipUri | str) -> str:
    if isinstance(value, SipUri):
        return f"<{value}>"
    return str(value)


def build_request(
    method: str,
    uri: str | SipUri,
    *,
    via: Via | str,
    from_: NameAddr | str,
    to: NameAddr | str,
    call_id: str,
    cseq: int | CSeq,
    contact: NameAddr | SipUri | str | None = None,
    route: Sequence[NameAddr | SipUri | str] = (),
    max_forwards: int | None = 70,
    body: bytes = b"",
    content_type: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> Request:
    """Build a valid request (§8.1.1); Content-Length is computed from ``body``.

    ``max_forwards=None`` leaves Max-Forwards out (a deliberate fault).
    Header order: Via, Max-Forwards, Route, From, To, Call-ID, CSeq, Contact,
    ``extra`` in order, Content-Type, Content-Length.
    """
    if not is_token(method):
        raise ValueError(f"bad method {method!r}")
    SipUri.parse(str(uri))
    if body and content_type is None:
        raise ValueError("a request with a body needs a content_type")
    seq = cseq if isinstance(cseq, CSeq) else CSeq(cseq, method)
    headers = Headers()
    headers.add("Via", str(via))
    if max_forwards is not None:
        headers.add("Max-Forwards", str(max_forwards))
    for r in route:
        headers.add("Route", _addr(r))
    headers.add("From", str(from_))
    headers.add("To", str(to))
    headers.add("Call-ID", call_id)
    headers.add("CSeq", str(seq))
    if contact is not None:
        headers.add("Contact", _addr(contact))
    for name, value in extra:
        headers.add(name, value)
    if content_type is not None:
        headers.add("Content-Type", content_type)
    headers.add("Content-Length", str(len(body)))
    return Request(method, str(uri), headers, body)


def build_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    contact: NameAddr | SipUri | str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> Response:
    """Build a response to ``request`` (§8.2.6).

    Copies every Via (in order, raw), From, To, Call-ID and CSeq; adds
    ``to_tag`` to To unless To already has a tag; copies Record-Route into
    101-299 responses (§12.1.1) and Timestamp into 100 (§8.2.6.1). The
    reason phrase defaults from :data:`REASON_PHRASES`.
    """
    if not 100 <= status <= 699:
        raise ValueError(f"status {status} outside 100-699")
    if body and content_type is None:
        raise ValueError("a response with a body needs a content_type")
    if reason is None:
        reason = REASON_PHRASES.get(status, _CLASS_REASONS[status // 100])
    src = request.headers
    headers = Headers()
    headers.copy_field(src, "Via")
    if 100 < status < 300:
        headers.copy_field(src, "Record-Route")
    headers.copy_field(src, "From")
    to = request.to
    if to_tag is not None and to.tag is None:
        to_name = next((n for n, _ in src if _key(n) == "to"), "To")
        headers.add(to_name, str(to.with_tag(to_tag)))
    else:
        headers.copy_field(src, "To")
    headers.copy_field(src, "Call-ID")
    headers.copy_field(src, "CSeq")
    if status == 100:
        headers.copy_field(src, "Timestamp")
    if contact is not None:
        headers.add("Contact", _addr(contact))
    for name, value in extra:
        headers.add(name, value)
    if content_type is not None:
        headers.add("Content-Type", content_type)
    headers.add("Content-Length", str(len(body)))
    return Response(status, reason, headers, body, request.version)


_CLASS_REASONS = {1: "Trying", 2: "OK", 3: "Redirect", 4: "Client Error",
                  5: "Server Error", 6: "Global Failure"}
