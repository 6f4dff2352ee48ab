"""Render a capture as SVG: a SIP ladder (`ladder_svg`) and a media-path diagram (`media_svg`).

The SVG is hand-written text, like the pcap reader is hand-written bytes:
byte-level control over what ends up in a report, no dependencies (no
plotting library, no browser), and deterministic output, so that tests can
compare documents byte for byte. All text that reaches the document is
XML-escaped and stripped of characters XML 1.0 cannot carry (SIP start lines
and header values hold ``<``, ``>``, ``&`` and quotes); non-ASCII characters
become character references, so the document is pure ASCII whatever encoding
it is later written with. No element ids are used: several diagrams can be
inlined in one HTML page. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from harness.capture.classify import PacketKind, classify
from harness.capture.flows import flows_of
from harness.capture.ladder import sip_summary_line
from harness.capture.pcap import CapturedPacket
from harness.media.legs import LegStats

__all__ = ["ladder_svg", "legs_svg", "media_svg"]

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
_MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace"
_INK, _MUTED, _LINE, _BG = "#1d1d1f", "#6e6e73", "#b0b0b8", "#ffffff"
_REQUEST, _RESPONSE, _WARN = "#1f5fbf", "#2e7d32", "#c62828"
_DIRECT, _VIA_TARGET = "#d35400", "#1f5fbf"
_HALO = 'paint-order="stroke" stroke="#ffffff" stroke-width="3" stroke-linejoin="round"'
_MONO_CHAR = 7.3  # width of a 12 px monospace character
_SANS_CHAR = 6.8  # generous average width of a 12 px sans-serif character
_MAX_LABEL = 90  # characters of an arrow label
_MAX_TOOLTIP = 512  # characters of a start line in a tooltip
_MAX_PORT_PAIRS = 3
_STATUS = re.compile(r"[1-9]\d\d(?:\s|$)")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DIGITS = re.compile(r"(\d+)")

Point = tuple[float, float]


# --- SVG text helpers -----------------------------------------------------------------------


def _esc(text: str) -> str:
    """Escape for XML text and attribute values; non-ASCII becomes character references."""
    text = _NOT_XML.sub("\ufffd", text)
    text = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))
    return "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in text)


def _n(value: float) -> str:
    """A coordinate with at most one decimal, the same text for the same value."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _text(x: float, y: float, text: str, *, size: float = 12, anchor: str = "start",
          fill: str = _INK, weight: str = "", mono: bool = False, halo: bool = False,
          cls: str = "") -> str:
    attrs = [f'x="{_n(x)}" y="{_n(y)}"']
    if cls:
        attrs.append(f'class="{cls}"')
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if size != 12:
        attrs.append(f'font-size="{_n(size)}"')
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if mono:
        attrs.append(f'font-family="{_MONO}"')
    attrs.append(f'fill="{fill}"')
    if halo:
        attrs.append(_HALO)
    return f"<text {' '.join(attrs)}>{_esc(text)}</text>"


def _head(tip: Point, unit: Point, color: str) -> str:
    """An arrowhead polygon with its tip at `tip`, pointing along the unit vector `unit`."""
    (tx, ty), (ux, uy) = tip, unit
    bx, by = tx - 9 * ux, ty - 9 * uy
    pts = [(tx, ty), (bx - 4.5 * uy, by + 4.5 * ux), (bx + 4.5 * uy, by - 4.5 * ux)]
    return f'<polygon points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in pts)}" fill="{color}"/>'


def _document(width: float, height: float, title: str, body: list[str]) -> str:
    w, h = _n(math.ceil(width)), _n(math.ceil(height))
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="{_FONT}" font-size="12">',
        f"<title>{_esc(title)}</title>",
        f'<rect width="{w}" height="{h}" fill="{_BG}"/>',
        _text(16, 28, title, size=16, weight="600", cls="title"),
        *body,
        "</svg>",
    ]) + "\n"


def _placeholder(title: str, message: str, extra: list[str] | None = None) -> str:
    body = list(extra or [])
    y = 58 + 26 * len(body)
    body.append(_text(16, y, message, fill=_MUTED, cls="empty"))
    width = 32 + max(len(title) * 9.5, len(message) * _SANS_CHAR, 240)
    return _document(width, y + 24, title, body)


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key putting ``callee2`` before ``callee10``."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in _DIGITS.split(text))


def _legend(x: float, y: float, items: list[tuple[str, str, str]]) -> list[str]:
    """Line swatches with labels: (colour, dash pattern or "", label)."""
    out = []
    for color, dash, label in items:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 22)}" y2="{_n(y - 4)}" '
                   f'stroke="{color}" stroke-width="2.5"{dashed}/>')
        out.append(_text(x + 28, y, label, size=11, fill=_MUTED, cls="legend"))
        x += 40 + len(label) * 6.2
    return out


# --- SIP ladder -----------------------------------------------------------------------------


def ladder_svg(packets: Iterable[CapturedPacket], names: Mapping[str, str], *,
               title: str = "SIP ladder") -> str:
    """A SIP sequence diagram: one lane per host, one arrow per SIP packet in capture order.

    `names` maps IP addresses to lane names (``caller``, ``shim``, ``target``,
    ``callee1``, ...); an address not in it gets an ``ip:port`` lane. Lanes are
    ordered caller, shim, target, the other names (natural order), then unknown
    addresses in order of appearance. Each arrow carries the `sip_summary_line`
    label and the time since the first SIP packet; its tooltip has the frame
    number and the whole start line.
    """
    sip = [p for p in packets if classify(p.payload) is PacketKind.SIP]
    if not sip:
        return _placeholder(title, "(no SIP packets)")

    def lane(addr: tuple[str, int]) -> str:
        return names.get(addr[0], f"{addr[0]}:{addr[1]}")

    named = {names[a[0]] for p in sip for a in (p.src, p.dst) if a[0] in names}
    seen = list(dict.fromkeys(lane(a) for p in sip for a in (p.src, p.dst)))
    fixed = {"caller": 0, "shim": 1, "target": 2}

    def rank(name: str) -> tuple[int, tuple[tuple[int, int, str], ...], int]:
        if name in named:
            return fixed.get(name, 3), _natural(name), 0
        return 4, (), seen.index(name)

    lanes = sorted(seen, key=rank)
    t0 = sip[0].ts
    rows = []
    for p in sip:
        summary = sip_summary_line(p.payload)
        status = _STATUS.match(summary)
        kind = "request" if status is None else "error" if summary[0] in "456" else "response"
        rows.append((p, f"{(p.ts - t0) * 1e3:.3f} ms", _clip(summary, _MAX_LABEL), kind))

    label_w = max(len(r[2]) for r in rows) * _MONO_CHAR
    name_w = max(len(name) for name in lanes) * _SANS_CHAR
    gap = max(170.0, name_w + 30, min(label_w + 30, 360.0))
    left = 24 + max(len(r[1]) for r in rows) * 6.7
    edge = max(70.0, name_w / 2 + 24)  # from the time column to the first lane, last lane to edge
    xs = {name: left + edge + i * gap for i, name in enumerate(lanes)}
    width = max(left + 2 * edge + (len(lanes) - 1) * gap, left + label_w + 20, 430.0)
    for p, _, label, _ in rows:
        if lane(p.src) == lane(p.dst):  # loop labels run to the right of their lane
            width = max(width, xs[lane(p.src)] + 48 + len(label) * _MONO_CHAR)
    box_top, first = 62.0, 124.0
    bottom = first + (len(rows) - 1) * 34 + 22
    colors = {"request": _REQUEST, "response": _RESPONSE, "error": _WARN}
    body = _legend(16, 48, [(_REQUEST, "", "request"), (_RESPONSE, "", "response"),
                            (_WARN, "", "4xx-6xx response")])
    for name in lanes:
        x, w = xs[name], max(len(name) * _SANS_CHAR + 20, 80.0)
        body.append(f'<line x1="{_n(x)}" y1="{_n(box_top + 26)}" x2="{_n(x)}" y2="{_n(bottom)}" '
                    f'stroke="{_LINE}" stroke-width="1" stroke-dasharray="4 3"/>')
        body.append(f'<rect x="{_n(x - w / 2)}" y="{_n(box_top)}" width="{_n(w)}" height="26" '
                    f'rx="4" fill="#f2f2f5" stroke="{_LINE}"/>')
        body.append(_text(x, box_top + 17.5, name, anchor="middle", weight="600", cls="lane"))
    for i, (p, when, label, kind) in enumerate(rows):
        y, color, src, dst = first + i * 34, colors[kind], lane(p.src), lane(p.dst)
        first_line = p.payload.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
        tip = (f"frame {p.index}  +{when}  {src} ({p.src[0]}:{p.src[1]}) \u2192 {dst} "
               f"({p.dst[0]}:{p.dst[1]})\n{_clip(first_line, _MAX_TOOLTIP)}")
        body.append(f'<g class="msg {kind}">')
        body.append(f"<title>{_esc(tip)}</title>")
        body.append(_text(left - 12, y + 4, when, size=11, anchor="end", fill=_MUTED, mono=True,
                          cls="time"))
        x1, x2 = xs[src], xs[dst]
        if src == dst:
            body.append(f'<path d="M{_n(x1)} {_n(y - 7)}h30v14h-21" fill="none" '
                        f'stroke="{color}" stroke-width="1.6"/>')
            body.append(_head((x1 + 1, y + 7), (-1.0, 0.0), color))
            body.append(_text(x1 + 40, y + 4, label, fill=color, mono=True, halo=True,
                              cls="label"))
        else:
            d = 1.0 if x2 > x1 else -1.0
            body.append(f'<line x1="{_n(x1)}" y1="{_n(y)}" x2="{_n(x2 - 8 * d)}" y2="{_n(y)}" '
                        f'stroke="{color}" stroke-width="1.6"/>')
            body.append(_head((x2, y), (d, 0.0), color))
            w = len(label) * _MONO_CHAR
            cx = min(max((x1 + x2) / 2, left + w / 2), width - 10 - w / 2)
            body.append(_text(cx, y - 6, label, anchor="middle", fill=color, mono=True,
                              halo=True, cls="label"))
        body.append("</g>")
    return _document(width, bottom + 14, title, body)


# --- media path -----------------------------------------------------------------------------


def _box_exit(center: Point, toward: Point, half_w: float, half_h: float) -> Point:
    """Where the ray from `center` toward `toward` leaves a box of the given half sizes."""
    dx, dy = toward[0] - center[0], toward[1] - center[1]
    scale = min(half_w / abs(dx) if dx else math.inf, half_h / abs(dy) if dy else math.inf)
    return center[0] + dx * scale, center[1] + dy * scale


def _unit(dx: float, dy: float) -> Point:
    length = math.hypot(dx, dy) or 1.0
    return dx / length, dy / length


def media_svg(packets: Iterable[CapturedPacket], names: Mapping[str, str],
              target_addresses: Collection[str], *, verdict: str | None = None,
              title: str = "Media path") -> str:
    """Who sent RTP and RTCP to whom: one arrow per (source IP, destination IP, kind).

    Caller-side hosts are drawn on the left, the target (`target_addresses`)
    in the middle, callee-side hosts (names starting with ``callee``) on the
    right; an unnamed host goes left if it only talks to the caller, right if
    it only talks to callees, else in the middle under the target. Arrows
    between two non-target hosts are "direct", arrows touching the target
    "via target"; RTCP arrows are dashed. `verdict` (e.g. ``"PROXY"``) is shown
    in the header.
    """
    targets = frozenset(target_addresses)
    header = [] if verdict is None else [
        _text(16, 56, f"verdict: {verdict}", size=15, weight="700", cls="verdict")]
    edges: dict[tuple[str, str, PacketKind], dict[tuple[int, int], int]] = {}
    for flow in flows_of(packets, {PacketKind.RTP, PacketKind.RTCP}):
        ports = edges.setdefault((flow.src[0], flow.dst[0], flow.kind), {})
        pair = (flow.src[1], flow.dst[1])
        ports[pair] = ports.get(pair, 0) + len(flow)
    if not edges:
        return _placeholder(title, "(no media packets)", header)
    edges = dict(sorted(edges.items(), key=lambda e: (_natural(e[0][0]), _natural(e[0][1]),
                                                      e[0][2] is not PacketKind.RTP)))

    def side_by_name(ip: str) -> int | None:
        if ip in targets:
            return 1
        name = names.get(ip, "")
        return 0 if name == "caller" else 2 if name.startswith("callee") else None

    hosts = list(dict.fromkeys(ip for s, d, _ in edges for ip in (s, d)))
    column: dict[str, int] = {}
    for ip in hosts:
        side = side_by_name(ip)
        if side is None:
            peers = {side_by_name(d if s == ip else s) for s, d, _ in edges if ip in (s, d)}
            sides = {p for p in peers if p in (0, 2)}
            side = sides.pop() if len(sides) == 1 else 1
        column[ip] = side
    used = sorted(set(column.values()))
    ordered = {c: sorted((ip for ip in hosts if column[ip] == c),
                         key=lambda ip: (ip not in targets and names.get(ip) != "caller",
                                         _natural(names.get(ip, "~")), _natural(ip)))
               for c in used}

    def label_of(key: tuple[str, str, PacketKind], ports: dict[tuple[int, int], int]) -> str:
        count = sum(ports.values())
        pairs = [f"{sp}\u2192{dp}" for sp, dp in ports][:_MAX_PORT_PAIRS]
        more = f" +{len(ports) - len(pairs)} more" if len(ports) > len(pairs) else ""
        return f"{key[2].name} {count} pkt{'s' if count != 1 else ''}  {', '.join(pairs)}{more}"

    labels = {key: label_of(key, ports) for key, ports in edges.items()}
    box_w, box_h = 170.0, 46.0
    spacing = min(max(300.0, box_w + 24 + max(map(len, labels.values())) * _SANS_CHAR), 560.0)
    # Bow (mid-curve displacement) per edge: parallel edges one apart, long jumps around
    # whatever sits between their ends, opposite directions on opposite sides.
    slot: dict[tuple[str, str], int] = {}
    bows: dict[tuple[str, str, PacketKind], float] = {}
    rank = {ip: (used.index(column[ip]), ordered[column[ip]].index(ip)) for ip in hosts}
    for key in edges:
        s, d = key[0], key[1]
        k = slot[(s, d)] = slot.get((s, d), -1) + 1
        # Loops count as far: their label then clears a long edge passing over the box.
        far = s == d or max(abs(rank[s][0] - rank[d][0]), abs(rank[s][1] - rank[d][1])) > 1
        bows[key] = (62.0 if far else 20.0) + 30.0 * k
    pad = max(bows.values()) + 30
    if any(s == d for s, d, _ in edges):  # loops rise above their box
        pad = max(pad, box_h / 2 + 0.75 * pad + 24)
    row_h = max(130.0, 2 * pad)
    rows = max(len(v) for v in ordered.values())
    top = 80.0 if verdict is None else 104.0
    centers: dict[str, Point] = {}
    for ci, c in enumerate(used):  # rows top-aligned: caller, target and callee1 on one line
        for ri, ip in enumerate(ordered[c]):
            centers[ip] = (24 + box_w / 2 + ci * spacing, top + pad + ri * row_h)
    width = max(48 + box_w + (len(used) - 1) * spacing, 560.0, 40 + len(title) * 9.5)
    height = top + 2 * pad + (rows - 1) * row_h + 40

    body, low, high = ["<g>"], 8.0, width - 8  # low/high: horizontal extent of the labels
    for ip in hosts:
        (x, y), name = centers[ip], names.get(ip, "target" if ip in targets else "unknown")
        fill = "#eaf1fb" if ip in targets else "#f4f4f6" if ip in names else "#ffffff"
        dash = "" if ip in names or ip in targets else ' stroke-dasharray="4 3"'
        body.append(f'<g class="node"><rect x="{_n(x - box_w / 2)}" y="{_n(y - box_h / 2)}" '
                    f'width="{_n(box_w)}" height="{_n(box_h)}" rx="6" fill="{fill}" '
                    f'stroke="#8e8e96"{dash}/>')
        body.append(_text(x, y - 4, name, size=13, anchor="middle", weight="600", cls="host"))
        body.append(_text(x, y + 13, ip, size=11, anchor="middle", fill=_MUTED, cls="ip"))
        body.append("</g>")
    for key, ports in edges.items():
        s, d, kind = key
        via = s in targets or d in targets
        color, cls = (_VIA_TARGET, "via-target") if via else (_DIRECT, "direct")
        dash = ' stroke-dasharray="7 4"' if kind is PacketKind.RTCP else ""
        stroke = f'stroke="{color}" stroke-width="{2 if kind is PacketKind.RTP else 1.5}"{dash}'
        tip_lines = [f"{kind.name} {names.get(s, s)} {s} \u2192 {names.get(d, d)} {d}: "
                     f"{sum(ports.values())} packets"]
        tip_lines += [f"  {s}:{sp} \u2192 {d}:{dp}  {n} packets" for (sp, dp), n in ports.items()]
        body.append(f'<g class="edge {cls} {kind.value}">')
        body.append(f"<title>{_esc(chr(10).join(tip_lines))}</title>")
        (x1, y1), (x2, y2), bow = centers[s], centers[d], bows[key]
        if s == d:  # a host sending to itself: a loop over its box
            lift, top_y = bow + 30, y1 - box_h / 2
            body.append(f'<path d="M{_n(x1 - 24)} {_n(top_y)}C{_n(x1 - 44)} {_n(top_y - lift)} '
                        f'{_n(x1 + 44)} {_n(top_y - lift)} {_n(x1 + 26)} {_n(top_y - 8)}" '
                        f'fill="none" {stroke}/>')
            body.append(_head((x1 + 24, top_y), _unit(-0.4, 1.0), color))
            label_at, anchor = (x1, top_y - 0.75 * lift - 6), "middle"
        else:
            ux, uy = _unit(x2 - x1, y2 - y1)
            nx, ny = uy, -ux  # left of the direction of travel (y grows downward)
            ctrl = ((x1 + x2) / 2 + 2 * bow * nx, (y1 + y2) / 2 + 2 * bow * ny)
            start = _box_exit((x1, y1), ctrl, box_w / 2 + 4, box_h / 2 + 4)
            end = _box_exit((x2, y2), ctrl, box_w / 2 + 4, box_h / 2 + 4)
            tx, ty = _unit(end[0] - ctrl[0], end[1] - ctrl[1])
            stop = (end[0] - 8 * tx, end[1] - 8 * ty)
            body.append(f'<path d="M{_n(start[0])} {_n(start[1])}Q{_n(ctrl[0])} {_n(ctrl[1])} '
                        f'{_n(stop[0])} {_n(stop[1])}" fill="none" {stroke}/>')
            body.append(_head(end, (tx, ty), color))
            mid = ((start[0] + 2 * ctrl[0] + end[0]) / 4, (start[1] + 2 * ctrl[1] + end[1]) / 4)
            if abs(nx) > 0.7:  # a vertical edge: label beside it
                anchor = "start" if nx > 0 else "end"
                label_at = (mid[0] + 8 * nx, mid[1] + 4)
            else:
                anchor = "middle"
                label_at = (mid[0] + 8 * nx, mid[1] + (-7.0 if ny <= 0 else 15.0))
        w = len(labels[key]) * 6.6
        x0 = label_at[0] - {"start": 0.0, "middle": w / 2, "end": w}[anchor]
        low, high = min(low, x0), max(high, x0 + w)
        body.append(_text(*label_at, labels[key], size=11.5, anchor=anchor, fill=color,
                          halo=True, cls="label"))
        body.append("</g>")
    if low < 8:  # a label sticks out on the left: move the drawing right
        body[0] = f'<g transform="translate({_n(8 - low)} 0)">'
    body.append("</g>")
    width = high + 8 + (8 - low)
    legend = [(_DIRECT, "", "direct (endpoint to endpoint)"), (_VIA_TARGET, "", "via target"),
              (_MUTED, "7 4", "RTCP (dashed)")]
    body = header + body + _legend(16, height - 16, legend)
    return _document(width, height, title, body)


# --- media-leg quality ----------------------------------------------------------------------


def legs_svg(rows: Sequence[tuple[str, LegStats]], *, title: str) -> str:
    """One bar chart per measure (one-way delay, loss, jitter) with a bar per leg; `rows`
    are (group, leg), e.g. ("bypass", branch1 -> branch2)."""
    if not rows:
        return _placeholder(title, "no leg was measured")
    label_w = 16 + max(len(f"{g}: {leg.name}") for g, leg in rows) * _SANS_CHAR
    bar_w, gap = 220.0, 24.0
    measures: list[tuple[str, Callable[[LegStats], float], Callable[[float], str]]] = [
        ("one-way delay (median)", lambda s: s.delay_ms_median or 0.0, lambda v: f"{v:.1f} ms"),
        ("loss", lambda s: s.loss * 100, lambda v: f"{v:.1f} %"),
        ("jitter (RFC 3550)", lambda s: s.jitter_ms, lambda v: f"{v:.2f} ms"),
    ]
    body: list[str] = []
    top = 56.0
    for i, (name, value, fmt) in enumerate(measures):
        x0 = label_w + i * (bar_w + gap)
        body.append(_text(x0, top, name, weight="600"))
        biggest = max((value(leg) for _, leg in rows), default=0.0) or 1.0
        for j, (group, leg) in enumerate(rows):
            y = top + 14 + j * 22
            if i == 0:
                body.append(_text(16, y + 11, f"{group}: {leg.name}", size=11))
            v = value(leg)
            w = bar_w * 0.75 * v / biggest
            color = _RESPONSE if group.startswith("bypass") else _VIA_TARGET
            body.append(f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(max(w, 1))}" height="14" '
                        f'fill="{color}"/>')
            body.append(_text(x0 + max(w, 1) + 4, y + 11, fmt(v), size=11, fill=_MUTED))
    height = top + 14 + len(rows) * 22 + 16
    return _document(label_w + 3 * (bar_w + gap), height, title, body)
