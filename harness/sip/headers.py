"""Structured SIP header values: URIs, name-addrs, Via, CSeq; identifier generators.

Each value type has ``parse(text)`` (raising :class:`SipParseError` on bad input)
and ``__str__``. ``str(X.parse(s)) == s`` holds for the usual spellings (no
stray whitespace); byte-exact round trip of whole messages does not depend on it,
because :mod:`harness.sip.message` keeps the raw header lines.

Grammar notes (RFC 3261 §25.1), the places parsers usually get wrong:

* a URI in ``name-addr`` form (``<...>``) owns its ``;params``; in ``addr-spec``
  form (no angle brackets) every ``;param`` after the URI belongs to the header
  (``From: sip:a@b;tag=1`` has the *header* parameter ``tag``);
* quoted strings may contain ``,`` ``;`` ``<`` and backslash escapes;
* list headers split on commas that are outside quotes and angle brackets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from harness.sip.errors import SipParseError

__all__ = [
    "MAGIC_COOKIE",
    "CSeq",
    "NameAddr",
    "SipUri",
    "Via",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_params",
    "split_header_values",
]

MAGIC_COOKIE = "z9hG4bK"
"""RFC 3261 §8.1.1.7: every branch created by a 3261 element starts with this."""

RandomBytes = Callable[[int], bytes]

_TOKEN_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?")
_IPV6_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]")


def is_token(text: str) -> bool:
    """True if ``text`` is a non-empty RFC 3261 ``token``."""
    return bool(text) and all(c in _TOKEN_CHARS for c in text)


def _plain_display_word(word: str) -> bool:
    # RFC 3261 wants tokens here; UTF-8 letters are accepted too, as real UAs
    # send them unquoted and proxies pass them through.
    return bool(word) and all(c in _TOKEN_CHARS or ord(c) > 127 for c in word)


# --------------------------------------------------------------------------- splitting


def _scan_top_level(text: str, separator: str) -> list[str]:
    """Split ``text`` on ``separator`` where it is outside quotes and ``<...>``.

    A backslash inside a quoted string escapes the next character. An
    unterminated quote or bracket runs to the end (the caller's parser will
    then report the malformed piece).
    """
    parts: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    i = 0
    while i < len(text):
        c = text[i]
        if in_quotes:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes = True
        elif c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == separator and not in_angle:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def split_header_values(value: str) -> list[str]:
    """Split a list header value (``Via``, ``Route``, ``Contact``...) into its elements.

    Commas inside quoted strings, inside ``<...>`` and escaped ones are kept.
    Elements are stripped; empty elements (``a,,b``) are dropped.
    """
    return [p.strip() for p in _scan_top_level(value, ",") if p.strip()]


def parse_params(text: str) -> dict[str, str | None]:
    """Parse ``;a=1;b;c="x;y"`` (leading ``;`` optional) into an ordered dict.

    Flag parameters map to ``None``; values are kept as written (quotes included).
    """
    params: dict[str, str | None] = {}
    pieces = _scan_top_level(text, ";")
    if pieces and not pieces[0].strip():
        pieces = pieces[1:]
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not name or not is_token(name):
            raise SipParseError(f"bad parameter {piece.strip()!r}")
        params[name] = value.strip() if eq else None
    return params


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _get_param(params: dict[str, str | None], name: str) -> tuple[bool, str | None]:
    lname = name.lower()
    for k, v in params.items():
        if k.lower() == lname:
            return True, v
    return False, None


# --------------------------------------------------------------------------- host:port


def parse_hostport(text: str) -> tuple[str, int | None]:
    """Parse ``host[:port]`` (IPv6 references in brackets); validate both."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"unterminated IPv6 reference in {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if not _IPV6_RE.fullmatch(host):
            raise SipParseError(f"bad IPv6 reference {host!r}")
        if rest and not rest.startswith(":"):
            raise SipParseError(f"junk after host in {text!r}")
        port_text: str | None = rest[1:] if rest else None
    else:
        host, colon, port_part = text.partition(":")
        host = host.strip()
        port_text = port_part.strip() if colon else None
        if not _HOSTNAME_RE.fullmatch(host):
            raise SipParseError(f"bad host {host!r}")
    port: int | None = None
    if port_text is not None:
        port_text = port_text.strip()
        if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
            raise SipParseError(f"bad port {port_text!r}")
        port = int(port_text)
    return host, port


def _format_hostport(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


# --------------------------------------------------------------------------- SipUri


@dataclass
class SipUri:
    """A SIP or SIPS URI (RFC 3261 §19.1); other schemes are kept loosely.

    ``sip:user:password@host:port;uri-params?headers``. ``params`` and
    ``headers`` keep the order (and the spelling) they were written in; flag
    parameters such as ``lr`` map to ``None``.
    """

    host: str
    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a URI; raise :class:`SipParseError` if it is malformed."""
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        if not colon or not _SCHEME_RE.fullmatch(scheme):
            raise SipParseError(f"bad URI {text!r}: no scheme")
        if not rest:
            raise SipParseError(f"bad URI {text!r}: nothing after the scheme")
        if any(c.isspace() for c in rest):
            raise SipParseError(f"bad URI {text!r}: contains whitespace")
        qmark = rest.find("?")
        at = rest.find("@", 0, qmark if qmark >= 0 else len(rest))
        user: str | None = None
        password: str | None = None
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
            if not user:
                raise SipParseError(f"bad URI {text!r}: empty user part")
        rest, qmark_sep, header_text = rest.partition("?")
        hostport, _, param_text = rest.partition(";")
        sip_like = scheme.lower() in ("sip", "sips")
        port: int | None
        if sip_like:
            host, port = parse_hostport(hostport)
        else:
            # tel:, urn: ... carry no host; keep the opaque part in ``host``.
            if not hostport:
                raise SipParseError(f"bad URI {text!r}: empty")
            host, port = hostport, None
        try:
            params = parse_params(param_text) if param_text else {}
        except SipParseError as exc:
            raise SipParseError(f"bad URI {text!r}: {exc.reason}") from None
        headers: dict[str, str] = {}
        if qmark_sep:
            for item in header_text.split("&"):
                hname, _, hvalue = item.partition("=")
                if not hname:
                    raise SipParseError(f"bad URI {text!r}: empty URI header")
                headers[hname] = hvalue
        return cls(host, scheme, user, password, port, params, headers)

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user
            if self.password is not None:
                userinfo += f":{self.password}"
            userinfo += "@"
        text = f"{self.scheme}:{userinfo}{_format_hostport(self.host, self.port)}"
        text += _format_params(self.params)
        if self.headers:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.headers.items())
        return text

    def param(self, name: str) -> str | None:
        """Value of a URI parameter (case-insensitive name); ``None`` if absent or a flag."""
        return _get_param(self.params, name)[1]

    def has_param(self, name: str) -> bool:
        """True if the parameter is present (with or without a value)."""
        return _get_param(self.params, name)[0]

    @property
    def lr(self) -> bool:
        """True for a loose-routing URI (``;lr``, RFC 3261 §16.12.1)."""
        return self.has_param("lr")

    @property
    def secure(self) -> bool:
        """True for a ``sips:`` URI."""
        return self.scheme.lower() == "sips"

    def address(self, default_port: int | None = None) -> tuple[str, int]:
        """``(host, port)`` to send to: ``maddr`` wins, the port defaults to 5060/5061."""
        host = self.param("maddr") or self.host
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if self.port is not None:
            return host, self.port
        if default_port is not None:
            return host, default_port
        return host, 5061 if self.secure else 5060


# --------------------------------------------------------------------------- NameAddr


def _parse_quoted(text: str) -> tuple[str, str]:
    """``text`` starts with a quote: return (decoded string, rest after the closing quote)."""
    out: list[str] = []
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), text[i + 1 :]
        out.append(c)
        i += 1
    raise SipParseError(f"unterminated quoted string in {text!r}")


@dataclass
class NameAddr:
    """``"Display" <uri>;params`` as in From, To, Contact, Route, Record-Route.

    ``display_name`` is decoded (no quotes, no escapes); ``quoted`` says whether
    it is written in quotes; ``angle`` says whether the URI is in ``<...>``
    (it always is when there is a display name or the URI has parameters).
    """

    uri: SipUri
    display_name: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    quoted: bool = True
    angle: bool = True

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse a ``name-addr`` or ``addr-spec`` with header parameters."""
        text = text.strip()
        if not text:
            raise SipParseError("empty address")
        display: str | None = None
        quoted = False
        if text.startswith('"'):
            display, rest = _parse_quoted(text)
            quoted = True
            rest = rest.lstrip()
            if not rest.startswith("<"):
                raise SipParseError(f"bad address {text!r}: display name without <uri>")
        else:
            lt = text.find("<")
            if lt >= 0:
                display = text[:lt].strip() or None
                if display is not None and not all(
                    _plain_display_word(w) for w in display.split()
                ):
                    raise SipParseError(f"bad address {text!r}: display name must be quoted")
                rest = text[lt:]
            else:
                rest = text
        if rest.startswith("<"):
            gt = rest.find(">")
            if gt < 0:
                raise SipParseError(f"bad address {text!r}: missing '>'")
            uri = SipUri.parse(rest[1:gt])
            param_text = rest[gt + 1 :].strip()
            if param_text and not param_text.startswith(";"):
                raise SipParseError(f"bad address {text!r}: junk after '>'")
            angle = True
        else:
            uri_text, _, tail = rest.partition(";")
            uri = SipUri.parse(uri_text)
            param_text = tail and ";" + tail
            angle = False
        try:
            params = parse_params(param_text) if param_text else {}
        except SipParseError as exc:
            raise SipParseError(f"bad address {text!r}: {exc.reason}") from None
        return cls(uri, display, params, quoted, angle)

    def __str__(self) -> str:
        text = ""
        if self.display_name is not None:
            words = self.display_name.split()
            if self.quoted or not words or not all(_plain_display_word(w) for w in words):
                escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
                text = f'"{escaped}" '
            else:
                text = f"{self.display_name} "
        angle = self.angle or bool(text) or bool(self.uri.params) or bool(self.uri.headers)
        text += f"<{self.uri}>" if angle else str(self.uri)
        return text + _format_params(self.params)

    def param(self, name: str) -> str | None:
        """Value of a header parameter (case-insensitive name)."""
        return _get_param(self.params, name)[1]

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (RFC 3261 §19.3), or ``None``."""
        return self.param("tag")

    def with_tag(self, tag: str | None) -> NameAddr:
        """A copy with ``tag`` set (or removed when ``None``)."""
        params = {k: v for k, v in self.params.items() if k.lower() != "tag"}
        if tag is not None:
            params["tag"] = tag
        return replace(self, uri=replace(self.uri), params=params)


# --------------------------------------------------------------------------- Via

_VIA_RE = re.compile(
    r"\s*([A-Za-z0-9.!%*_+`'~\-]+)\s*/\s*([A-Za-z0-9.!%*_+`'~\-]+)\s*/\s*"
    r"([A-Za-z0-9.!%*_+`'~\-]+)\s+(.*)",
    re.DOTALL,
)


@dataclass
class Via:
    """One Via element: ``SIP/2.0/UDP host:port;branch=...;received=...;rport``."""

    host: str
    port: int | None = None
    transport: str = "UDP"
    params: dict[str, str | None] = field(default_factory=dict)
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one Via element (not a comma-separated list)."""
        m = _VIA_RE.fullmatch(text)
        if m is None:
            raise SipParseError(f"bad Via {text.strip()!r}")
        name, version, transport, rest = m.groups()
        sent_by, _, param_text = rest.partition(";")
        host, port = parse_hostport(sent_by)
        try:
            params = parse_params(param_text) if param_text else {}
        except SipParseError as exc:
            raise SipParseError(f"bad Via {text.strip()!r}: {exc.reason}") from None
        return cls(host, port, transport, params, f"{name}/{version}")

    def __str__(self) -> str:
        return (
            f"{self.protocol}/{self.transport} {_format_hostport(self.host, self.port)}"
            f"{_format_params(self.params)}"
        )

    def param(self, name: str) -> str | None:
        """Value of a Via parameter (case-insensitive name)."""
        return _get_param(self.params, name)[1]

    @property
    def branch(self) -> str | None:
        """The ``branch`` parameter."""
        return self.param("branch")

    @property
    def received(self) -> str | None:
        """The ``received`` parameter (RFC 3261 §18.2.1)."""
        return self.param("received")

    @property
    def rport(self) -> int | None:
        """The ``rport`` value filled in by a server (RFC 3581); ``None`` if absent or empty."""
        value = self.param("rport")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def rport_requested(self) -> bool:
        """True if the ``rport`` parameter is present at all."""
        return _get_param(self.params, "rport")[0]

    @property
    def sent_by(self) -> tuple[str, int]:
        """``(host, port)`` of sent-by, port defaulting to 5060 (5061 for TLS)."""
        default = 5061 if self.transport.upper() == "TLS" else 5060
        return self.host, self.port if self.port is not None else default

    @property
    def rfc3261_branch(self) -> bool:
        """True if the branch carries the RFC 3261 magic cookie."""
        return (self.branch or "").startswith(MAGIC_COOKIE)


# --------------------------------------------------------------------------- CSeq

_CSEQ_RE = re.compile(r"\s*([0-9]{1,10})\s+([A-Za-z0-9.!%*_+`'~\-]+)\s*")


@dataclass(frozen=True)
class CSeq:
    """``CSeq: 314159 INVITE``."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse a CSeq value; the number must be below 2**31 (RFC 3261 §8.1.1.5)."""
        m = _CSEQ_RE.fullmatch(text)
        if m is None:
            raise SipParseError(f"bad CSeq {text.strip()!r}")
        seq = int(m.group(1))
        if seq >= 2**31:
            raise SipParseError(f"CSeq number {seq} is not below 2**31")
        return cls(seq, m.group(2))

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


# --------------------------------------------------------------------------- generators


def _hex(rand: RandomBytes | None, n: int) -> str:
    return (rand or os.urandom)(n).hex()


def new_branch(rand: RandomBytes | None = None) -> str:
    """A fresh Via branch: the magic cookie plus 64 random bits."""
    return MAGIC_COOKIE + _hex(rand, 8)


def new_tag(rand: RandomBytes | None = None) -> str:
    """A fresh From/To tag (RFC 3261 §19.3: at least 32 random bits; we use 64)."""
    return _hex(rand, 8)


def new_call_id(host: str | None = None, rand: RandomBytes | None = None) -> str:
    """A fresh Call-ID, ``<random>@host`` when a host is given."""
    ident = _hex(rand, 12)
    return f"{ident}@{host}" if host else ident
