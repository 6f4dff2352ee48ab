"""Semantic difference between two SDP bodies.

Compares what the SDP *means*, so a media proxy's harmless habits do not
show up: attribute order is ignored, a missing direction equals sendrecv
(with session-level defaulting), static payload types equal their explicit
rtpmap, fmtp parameter order is ignored. What a relay like rtpengine does
change (o= and c= addresses, ports, an added ``a=rtcp``) shows up as ORIGIN,
CONNECTION, PORT and RTCP; ``only_transport_changes`` says whether that is
all that changed.

Media sections are compared pairwise by index. Values that do not parse
are compared as text, so a diff never fails on a sloppy body.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from .attributes import DIRECTION_NAMES, Candidate, RtpMap
from .crypto import CryptoAttribute
from .errors import SdpParseError
from .lines import Attribute, Bandwidth, Connection, Line
from .model import (
    MediaDescription,
    SessionDescription,
    effective_connection,
    effective_direction,
)

__all__ = ["DiffField", "Difference", "diff_sdp", "only_transport_changes"]


class DiffField(Enum):
    """What kind of thing differs."""

    ORIGIN = "origin"
    CONNECTION = "connection"
    PORT = "port"
    RTCP = "rtcp"
    PROTO = "proto"
    CODECS = "codecs"
    PTIME = "ptime"
    DIRECTION = "direction"
    CRYPTO = "crypto"
    ICE = "ice"
    RTCP_MUX = "rtcp-mux"
    MEDIA = "media"
    BANDWIDTH = "bandwidth"
    OTHER_ATTRIBUTE = "attribute"
    OTHER_LINE = "line"


TRANSPORT_FIELDS = frozenset(
    {DiffField.ORIGIN, DiffField.CONNECTION, DiffField.PORT, DiffField.RTCP}
)

ICE_NAMES = frozenset(
    {"ice-ufrag", "ice-pwd", "ice-lite", "ice-options", "ice-mismatch", "ice-pacing",
     "candidate", "remote-candidates", "end-of-candidates"}
)
ICE_SESSION_NAMES = ICE_NAMES - {"candidate", "remote-candidates", "end-of-candidates"}
MEDIA_HANDLED = (
    frozenset({"rtpmap", "fmtp", "ptime", "crypto", "rtcp", "rtcp-mux", "rtcp-mux-only"})
    | DIRECTION_NAMES
    | ICE_NAMES
)
SESSION_HANDLED = DIRECTION_NAMES | ICE_NAMES


@dataclass(frozen=True)
class Difference:
    """One semantic difference; ``before``/``after`` None means absent."""

    field: DiffField
    scope: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        before = "(none)" if self.before is None else self.before
        after = "(none)" if self.after is None else self.after
        return f"{self.scope}: {self.field.value} {before} -> {after}"


def only_transport_changes(diffs: Iterable[Difference]) -> bool:
    """True when every difference is one a media proxy may make (origin, c=, port, rtcp)."""
    return all(d.field in TRANSPORT_FIELDS for d in diffs)


T = TypeVar("T")


def _safe(parse: Callable[[], T], fallback: T) -> T:
    try:
        return parse()
    except SdpParseError:
        return fallback


def _normalise(parse: Callable[[str], object], raw: str) -> str:
    """``str(parse(raw))``, or ``raw`` itself when it does not parse."""
    try:
        return str(parse(raw))
    except SdpParseError:
        return raw


def _attr_text(attr: Attribute) -> str:
    return f"a={attr.name}" if attr.value is None else f"a={attr.name}:{attr.value.strip()}"


# An item is (group, normalised key, display text); groups pair removals with additions.
_Item = tuple[str, str, str]


def _compare_items(
    out: list[Difference], field: DiffField, scope: str, a: list[_Item], b: list[_Item]
) -> None:
    """Multiset difference by key; a removal and an addition in one group pair up."""
    removed = _unmatched(a, b)
    added = _unmatched(b, a)
    for group, _, text in removed:
        partner = next((it for it in added if it[0] == group), None)
        if partner is not None:
            added.remove(partner)
        out.append(Difference(field, scope, text, None if partner is None else partner[2]))
    out += [Difference(field, scope, None, text) for _, _, text in added]


def _unmatched(mine: list[_Item], theirs: list[_Item]) -> list[_Item]:
    """Items of ``mine`` left over once each is matched with an equal key in ``theirs``."""
    available = Counter(key for _, key, _ in theirs)
    left: list[_Item] = []
    for item in mine:
        if available[item[1]] > 0:
            available[item[1]] -= 1
        else:
            left.append(item)
    return left


def _compare_value(
    out: list[Difference], field: DiffField, scope: str, a: str | None, b: str | None
) -> None:
    if a != b:
        out.append(Difference(field, scope, a, b))


def _attribute_items(attrs: Iterable[Attribute], skip: frozenset[str]) -> list[_Item]:
    return [(a.name, _attr_text(a), _attr_text(a)) for a in attrs if a.name not in skip]


def _bandwidth_items(bws: Iterable[Bandwidth]) -> list[_Item]:
    return [(b.bwtype, f"{b.bwtype}:{b.bandwidth}", f"b={b.bwtype}:{b.bandwidth}") for b in bws]


def _connection_text(conn: Connection | None, other: Connection | None) -> str | None:
    if conn is None:
        return None
    if other is not None and (conn.nettype, conn.addrtype) != (other.nettype, other.addrtype):
        return str(conn)
    return conn.address_with_suffix


def _fmtp_key(params: str) -> str:
    return ";".join(sorted(p.strip() for p in params.split(";") if p.strip()))


def _codec_items(md: MediaDescription) -> list[_Item]:
    no_rtpmaps: dict[str, RtpMap] = {}
    no_fmtps: dict[str, str] = {}
    rtpmaps = _safe(md.rtpmaps, no_rtpmaps)
    fmtps = _safe(md.fmtp, no_fmtps)
    items: list[_Item] = []
    for fmt in md.formats:
        rm = rtpmaps.get(fmt)
        params = fmtps.get(fmt)
        text = fmt if rm is None else f"{fmt} {rm.encoding}/{rm.clock_rate}"
        key = fmt if rm is None else f"{fmt} {rm.encoding.lower()}/{rm.clock_rate}"
        if rm is not None and rm.channels is not None:
            text += f"/{rm.channels}"
        if rm is not None and (rm.channels or 1) != 1:
            key += f"/{rm.channels}"
        if params:
            text += f" ({params})"
            key += f" {_fmtp_key(params)}"
        items.append((fmt, key, text))
    return items


def _crypto_items(md: MediaDescription) -> list[_Item]:
    items: list[_Item] = []
    for attr in md.get_attributes("crypto"):
        raw = " ".join((attr.value or "").split())
        parsed = _normalise(CryptoAttribute.parse, raw)
        items.append((raw.split(" ", 1)[0], parsed, f"a=crypto:{raw}"))
    return items


def _ice_items(sd: SessionDescription, md: MediaDescription) -> list[_Item]:
    items: list[_Item] = []
    for name in sorted(ICE_SESSION_NAMES):
        attrs = md.get_attributes(name) or sd.get_attributes(name)
        items += [(name, _attr_text(a), _attr_text(a)) for a in attrs]
    for attr in md.attributes:
        if attr.name == "candidate":
            raw = " ".join((attr.value or "").split())
            key = _normalise(Candidate.parse, raw)
            items.append((f"candidate {key}", key, f"a=candidate:{raw}"))
        elif attr.name in ("remote-candidates", "end-of-candidates"):
            items.append((attr.name, _attr_text(attr), _attr_text(attr)))
    return items


def _other_line_items(lines: Iterable[Line]) -> list[_Item]:
    items: list[_Item] = []
    for line in lines:
        text = line.render()
        if text:
            items.append((text[:1], text, text))
    return items


def _compare_media(
    out: list[Difference], a: SessionDescription, b: SessionDescription, index: int
) -> None:
    ma, mb = a.media[index], b.media[index]
    scope = f"media {index} {ma.kind}"
    _compare_value(out, DiffField.PORT, scope, _port_text(ma), _port_text(mb))
    _compare_value(out, DiffField.PROTO, scope, ma.proto, mb.proto)
    ca, cb = effective_connection(a, index), effective_connection(b, index)
    _compare_value(
        out, DiffField.CONNECTION, scope, _connection_text(ca, cb), _connection_text(cb, ca)
    )
    rtcp_a = _safe(lambda: None if ma.rtcp is None else str(ma.rtcp), ma._value("rtcp"))
    rtcp_b = _safe(lambda: None if mb.rtcp is None else str(mb.rtcp), mb._value("rtcp"))
    _compare_value(out, DiffField.RTCP, scope, rtcp_a, rtcp_b)
    _compare_items(out, DiffField.CODECS, scope, _codec_items(ma), _codec_items(mb))
    # RFC 3264 §5.1: the m= format order is the offerer's preference, so a
    # reordering is a change even when the set of codecs is the same.
    if ma.formats != mb.formats and sorted(ma.formats) == sorted(mb.formats):
        out.append(Difference(DiffField.CODECS, scope, "order " + " ".join(ma.formats),
                              "order " + " ".join(mb.formats)))
    ptime_a = _safe(lambda: None if ma.ptime is None else str(ma.ptime), ma._value("ptime"))
    ptime_b = _safe(lambda: None if mb.ptime is None else str(mb.ptime), mb._value("ptime"))
    _compare_value(out, DiffField.PTIME, scope, ptime_a, ptime_b)
    _compare_value(
        out,
        DiffField.DIRECTION,
        scope,
        effective_direction(a, index).value,
        effective_direction(b, index).value,
    )
    _compare_items(out, DiffField.CRYPTO, scope, _crypto_items(ma), _crypto_items(mb))
    _compare_items(out, DiffField.ICE, scope, _ice_items(a, ma), _ice_items(b, mb))
    mux = frozenset({"rtcp-mux", "rtcp-mux-only"})
    _compare_items(
        out,
        DiffField.RTCP_MUX,
        scope,
        [(x.name, x.name, f"a={x.name}") for x in ma.attributes if x.name in mux],
        [(x.name, x.name, f"a={x.name}") for x in mb.attributes if x.name in mux],
    )
    _compare_items(
        out, DiffField.BANDWIDTH, scope, _bandwidth_items(ma.bandwidths),
        _bandwidth_items(mb.bandwidths)
    )
    _compare_items(
        out,
        DiffField.OTHER_ATTRIBUTE,
        scope,
        _attribute_items(ma.attributes, MEDIA_HANDLED),
        _attribute_items(mb.attributes, MEDIA_HANDLED),
    )
    _compare_items(
        out, DiffField.OTHER_LINE, scope, _other_line_items(ma.other_lines),
        _other_line_items(mb.other_lines)
    )


def _port_text(md: MediaDescription) -> str:
    return str(md.port) if md.port_count is None else f"{md.port}/{md.port_count}"


def diff_sdp(a: SessionDescription, b: SessionDescription) -> list[Difference]:
    """Every semantic difference from ``a`` to ``b``, session first, then per media."""
    out: list[Difference] = []
    scope = "session"
    _compare_value(out, DiffField.ORIGIN, scope, str(a.origin), str(b.origin))
    if not a.media and not b.media:
        ca, cb = a.connection, b.connection
        _compare_value(
            out, DiffField.CONNECTION, scope, _connection_text(ca, cb), _connection_text(cb, ca)
        )
    _compare_value(out, DiffField.OTHER_LINE, scope, f"v={a.version}", f"v={b.version}")
    _compare_value(
        out, DiffField.OTHER_LINE, scope, f"s={a.session_name}", f"s={b.session_name}"
    )
    _compare_items(
        out,
        DiffField.OTHER_LINE,
        scope,
        _other_line_items([*a.times, *a.other_lines]),
        _other_line_items([*b.times, *b.other_lines]),
    )
    _compare_items(
        out, DiffField.BANDWIDTH, scope, _bandwidth_items(a.bandwidths),
        _bandwidth_items(b.bandwidths)
    )
    _compare_items(
        out,
        DiffField.OTHER_ATTRIBUTE,
        scope,
        _attribute_items(a.attributes, SESSION_HANDLED),
        _attribute_items(b.attributes, SESSION_HANDLED),
    )
    kinds_a = [md.kind for md in a.media]
    kinds_b = [md.kind for md in b.media]
    if kinds_a != kinds_b:
        out.append(Difference(DiffField.MEDIA, scope, " ".join(kinds_a), " ".join(kinds_b)))
    for index in range(min(len(a.media), len(b.media))):
        if a.media[index].kind == b.media[index].kind:
            _compare_media(out, a, b, index)
    return out
