"""The media-path classifier: did the target bypass, proxy or anchor the media of a call?

Pure function over a capture taken where every host's traffic is visible (the
lab bridge). Endpoints and the target are told apart by IP address, so each
needs its own address in the lab.

For a call between endpoints ``a`` and ``b`` the RTP flows are sorted into

* direct flows ``a -> b`` and ``b -> a`` (bypass),
* relay legs per direction: the inbound flows ``a -> target`` and the outbound
  flows ``target -> b`` (and the mirror for ``b -> a``),
* stray flows (any other RTP flow touching a, b or the target, including
  the path not chosen when media went both ways at once), and
* flows from unknown sources (neither an endpoint nor the target).

On a relayed direction every inbound packet is looked for on the outbound
leg: first by (SSRC, sequence number), which a relay and an SRTP<->RTP bridge
keep; then by payload bytes; and if neither finds anything (transcoding: new
SSRC, new payload) by order, the n-th packet in paired with the n-th packet
out, which is approximate and flagged ``matched_by="order"``. Forwarding
delay is the capture-time difference of matched pairs.

Verdict (RTP only; RTCP flows are listed but do not vote):

=============  ==================================================================
BYPASS         media both ways directly between a and b, none through the target
PROXY          both directions through the target, payload bytes and
               SSRC/sequence/timestamp/PT unchanged, in order
ANCHORED       both directions through the target, but payloads or headers
               changed (transcoding, SRTP<->RTP bridging, SSRC rewriting)
ASYMMETRIC     media both ways, one direction direct and the other relayed
ONE_WAY        media delivered in one direction only (direct or relayed)
NO_MEDIA       no media delivered in either direction
=============  ==================================================================

A direction counts as *relayed* only when both its inbound and its outbound
leg carry packets; a target that swallows media leaves the direction empty.
If media went both ways directly *and* both ways through the target, the path
with more packets wins and the other one is listed in `stray_flows`.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from harness.capture.classify import PacketKind
from harness.capture.flows import Flow, flows_of
from harness.capture.pcap import CapturedPacket
from harness.media.rtp import RtpPacket

__all__ = [
    "DelayStats",
    "DirectionReport",
    "Leg",
    "MatchCounts",
    "MediaPath",
    "MediaPathReport",
    "classify_media_path",
]


class MediaPath(enum.Enum):
    """The verdict about the path media took."""

    BYPASS = "bypass"
    PROXY = "proxy"
    ANCHORED = "anchored"
    ASYMMETRIC = "asymmetric"
    ONE_WAY = "one-way"
    NO_MEDIA = "no-media"

    @property
    def words(self) -> str:
        """The path as every finding names it: the verdict in capitals, what it means."""
        return f"{self.name.replace('_', '-')} ({_MEANING[self]})"


_MEANING = {
    MediaPath.BYPASS: "endpoint to endpoint, none through the target",
    MediaPath.PROXY: "relayed through the target, unchanged",
    MediaPath.ANCHORED: "relayed through the target, re-originated by it",
    MediaPath.ASYMMETRIC: "one direction endpoint to endpoint, the other relayed",
    MediaPath.ONE_WAY: "media in one direction only",
    MediaPath.NO_MEDIA: "no media either way",
}


@dataclass(frozen=True)
class DelayStats:
    """Forwarding delay (outbound capture time minus inbound capture time) of matched pairs.

    `jitter_s` is the mean absolute difference between consecutive delays
    (the delay variation a receiver would see from the relay alone).
    """

    count: int
    median_s: float
    p99_s: float
    max_s: float
    jitter_s: float
    min_s: float = 0.0
    mean_s: float = 0.0

    @classmethod
    def of(cls, delays: Sequence[float]) -> DelayStats | None:
        """Statistics of `delays` (seconds), or None if there are none."""
        if not delays:
            return None
        ordered = sorted(delays)
        n = len(ordered)
        p99 = ordered[max(0, math.ceil(0.99 * n) - 1)]
        jitter = (
            sum(abs(b - a) for a, b in zip(delays, delays[1:], strict=False)) / (n - 1)
            if n > 1
            else 0.0
        )
        return cls(
            count=n,
            median_s=statistics.median(ordered),
            p99_s=p99,
            max_s=ordered[-1],
            jitter_s=jitter,
            min_s=ordered[0],
            mean_s=statistics.fmean(ordered),
        )

    def __str__(self) -> str:
        return (
            f"n={self.count} median {self.median_s * 1e3:.3f} ms, p99 {self.p99_s * 1e3:.3f} ms, "
            f"max {self.max_s * 1e3:.3f} ms, jitter {self.jitter_s * 1e3:.3f} ms"
        )


@dataclass(frozen=True)
class MatchCounts:
    """How the inbound packets of one relayed direction were found on the outbound leg."""

    inbound: int = 0
    outbound: int = 0
    by_ssrc_seq: int = 0
    by_payload: int = 0
    by_order: int = 0
    unmatched_inbound: int = 0
    unmatched_outbound: int = 0

    @property
    def matched(self) -> int:
        """Pairs found by any method."""
        return self.by_ssrc_seq + self.by_payload + self.by_order


@dataclass(frozen=True)
class Leg:
    """The two halves of one relayed direction: endpoint -> target and target -> endpoint."""

    inbound: tuple[Flow, ...] = ()
    outbound: tuple[Flow, ...] = ()

    @property
    def complete(self) -> bool:
        """True if packets went in and came out."""
        return any(self.inbound) and any(self.outbound)


@dataclass(frozen=True)
class DirectionReport:
    """Everything found about one direction (``src -> dst``) of the call."""

    src: str
    dst: str
    direct: tuple[Flow, ...]
    leg: Leg
    matches: MatchCounts
    matched_by: str
    payload_identical: bool
    header_identical: bool
    forwarding_delay: DelayStats | None

    @property
    def key(self) -> str:
        """``"caller->callee1"``: the key of this direction in the report's mappings."""
        return f"{self.src}->{self.dst}"

    @property
    def direct_packets(self) -> int:
        """RTP packets sent straight from src to dst."""
        return sum(len(f) for f in self.direct)


@dataclass(frozen=True)
class MediaPathReport:
    """The verdict and its evidence. Per-direction mappings are keyed ``"a->b"`` and ``"b->a"``
    with the endpoint names (see `ab` and `ba`)."""

    verdict: MediaPath
    a: str
    b: str
    directions: Mapping[str, DirectionReport]
    direct_flows: tuple[Flow, ...]
    stray_flows: tuple[Flow, ...]
    rtcp_flows: tuple[Flow, ...]
    unknown_source_flows: tuple[Flow, ...]
    evidence: list[str] = field(default_factory=list)

    @property
    def ab(self) -> str:
        """Key of the a -> b direction."""
        return f"{self.a}->{self.b}"

    @property
    def ba(self) -> str:
        """Key of the b -> a direction."""
        return f"{self.b}->{self.a}"

    @property
    def legs(self) -> dict[str, Leg]:
        """Relay legs (inbound and outbound flows) per direction."""
        return {k: d.leg for k, d in self.directions.items()}

    @property
    def matches(self) -> dict[str, MatchCounts]:
        """Packet-matching counts per direction."""
        return {k: d.matches for k, d in self.directions.items()}

    @property
    def matched_by(self) -> dict[str, str]:
        """Main matching method per direction: ssrc_seq, payload, order or none."""
        return {k: d.matched_by for k, d in self.directions.items()}

    @property
    def payload_identical(self) -> dict[str, bool]:
        """Per direction: relayed payloads byte-identical and in order."""
        return {k: d.payload_identical for k, d in self.directions.items()}

    @property
    def header_identical(self) -> dict[str, bool]:
        """Per direction: relayed SSRC, sequence, timestamp and PT unchanged."""
        return {k: d.header_identical for k, d in self.directions.items()}

    @property
    def forwarding_delay(self) -> dict[str, DelayStats | None]:
        """Forwarding delay per direction (None if nothing relayed or matched)."""
        return {k: d.forwarding_delay for k, d in self.directions.items()}

    @property
    def unknown_source_packets(self) -> int:
        """RTP packets from addresses that are neither an endpoint nor the target."""
        return sum(len(f) for f in self.unknown_source_flows)

    def summary(self) -> str:
        """A readable multi-line account: verdict, per-direction findings, evidence."""
        lines = [f"media path {self.a} <-> {self.b}: {self.verdict.words}"]
        for key, d in self.directions.items():
            m = d.matches
            if d.leg.complete:
                lines.append(
                    f"  {key}: relayed, {m.inbound} in / {m.outbound} out, matched {m.matched} "
                    f"by {d.matched_by} (ssrc/seq {m.by_ssrc_seq}, payload {m.by_payload}, "
                    f"order {m.by_order}), payload identical {d.payload_identical}, "
                    f"header identical {d.header_identical}"
                )
                if d.forwarding_delay is not None:
                    lines.append(f"    forwarding delay {d.forwarding_delay}")
            elif d.direct:
                lines.append(f"  {key}: direct, {d.direct_packets} packets")
            else:
                lines.append(f"  {key}: no media delivered")
        lines.extend(f"  {e}" for e in self.evidence)
        return "\n".join(lines)


class _Roles:
    def __init__(self, endpoints: Mapping[str, str], targets: Collection[str]) -> None:
        self.by_ip: dict[str, str] = {}
        for name, ip in endpoints.items():
            self.by_ip.setdefault(ip, name)
        self.targets = frozenset(targets)

    def name(self, ip: str) -> str:
        if ip in self.targets:
            return "target"
        return self.by_ip.get(ip, "unknown")

    def known(self, ip: str) -> bool:
        return ip in self.targets or ip in self.by_ip

    def describe(self, flow: Flow) -> str:
        s, d = flow.src, flow.dst
        return (
            f"{self.name(s[0])} {s[0]}:{s[1]} -> {self.name(d[0])} {d[0]}:{d[1]}: {flow.counts()}"
        )


def classify_media_path(
    packets: Sequence[CapturedPacket],
    *,
    endpoints: Mapping[str, str],
    target_addresses: Collection[str],
    a: str,
    b: str,
) -> MediaPathReport:
    """Judge the media path between endpoints `a` and `b` from captured `packets`.

    `endpoints` maps endpoint names to IP addresses, `target_addresses` are the
    target's IPs. Raise `ValueError` if `a` or `b` is unknown or shares an
    address with the target or with each other (a harness set-up error).
    """
    for name in (a, b):
        if name not in endpoints:
            raise ValueError(f"endpoint {name!r} not in endpoints {sorted(endpoints)}")
    ip_a, ip_b = endpoints[a], endpoints[b]
    targets = frozenset(target_addresses)
    if ip_a == ip_b or ip_a in targets or ip_b in targets:
        raise ValueError(
            f"endpoints {a} ({ip_a}) and {b} ({ip_b}) need distinct addresses, "
            f"not the target's {sorted(targets)}"
        )
    roles = _Roles(endpoints, targets)
    all_flows = flows_of(packets, {PacketKind.RTP, PacketKind.RTCP})
    rtp = [f for f in all_flows if f.kind is PacketKind.RTP]
    rtcp = tuple(f for f in all_flows if f.kind is PacketKind.RTCP)

    def pick(src_ips: Collection[str], dst_ips: Collection[str]) -> tuple[Flow, ...]:
        return tuple(f for f in rtp if f.src[0] in src_ips and f.dst[0] in dst_ips)

    direct = {(a, b): pick({ip_a}, {ip_b}), (b, a): pick({ip_b}, {ip_a})}
    legs = {
        (a, b): Leg(pick({ip_a}, targets), pick(targets, {ip_b})),
        (b, a): Leg(pick({ip_b}, targets), pick(targets, {ip_a})),
    }
    direct_count = sum(len(f) for fs in direct.values() for f in fs)
    relay_count = sum(len(f) for lg in legs.values() for f in lg.inbound + lg.outbound)
    direct_both = all(direct.values())
    relayed_both = all(lg.complete for lg in legs.values())

    evidence: list[str] = []
    use_direct = {k: bool(direct[k]) for k in direct}
    use_relay = {k: legs[k].complete for k in legs}
    if direct_both and relayed_both:
        prefer_direct = direct_count >= relay_count
        evidence.append(
            f"media went both ways directly ({direct_count} packets) and through the target "
            f"({relay_count} packets); judged the {'direct' if prefer_direct else 'relayed'} path"
        )
        use_direct = dict.fromkeys(direct, prefer_direct)
        use_relay = dict.fromkeys(legs, not prefer_direct)
    elif relayed_both:
        use_direct = dict.fromkeys(direct, False)
    elif direct_both:
        use_relay = dict.fromkeys(legs, False)
    else:
        for k in direct:
            if use_direct[k] and use_relay[k]:  # one direction both ways: keep the bigger
                relayed = sum(len(f) for f in legs[k].inbound + legs[k].outbound)
                keep_direct = sum(len(f) for f in direct[k]) >= relayed
                use_direct[k], use_relay[k] = keep_direct, not keep_direct

    reports: dict[str, DirectionReport] = {}
    used: set[int] = set()
    for key in ((a, b), (b, a)):
        d_flows = direct[key] if use_direct[key] else ()
        # A half leg (in but not out, or out but not in) stays as evidence unless the
        # direction is judged direct.
        half = not legs[key].complete and not use_direct[key]
        leg = legs[key] if use_relay[key] or half else Leg()
        used.update(id(f) for f in d_flows + leg.inbound + leg.outbound)
        reports[f"{key[0]}->{key[1]}"] = _direction(key[0], key[1], d_flows, leg)

    unknown = tuple(f for f in rtp if not roles.known(f.src[0]))
    involved = {ip_a, ip_b} | targets
    stray = tuple(
        f
        for f in rtp
        if id(f) not in used and roles.known(f.src[0])
        and (f.src[0] in involved or f.dst[0] in involved)
    )
    verdict = _verdict(reports[f"{a}->{b}"], reports[f"{b}->{a}"])

    for f in rtp:
        if id(f) in used:
            evidence.append(roles.describe(f))
    for f in stray:
        evidence.append("stray: " + roles.describe(f))
    for f in unknown:
        evidence.append("unknown source: " + roles.describe(f))
    for f in rtcp:
        evidence.append("rtcp: " + roles.describe(f))
    for key_s, rep in reports.items():
        if rep.leg.inbound and not rep.leg.outbound:
            evidence.append(f"{key_s}: the target received media but sent none on")
        if rep.leg.outbound and not rep.leg.inbound:
            evidence.append(f"{key_s}: the target sent media with none received from the sender")

    return MediaPathReport(
        verdict=verdict,
        a=a,
        b=b,
        directions=reports,
        direct_flows=direct[(a, b)] + direct[(b, a)],
        stray_flows=stray,
        rtcp_flows=rtcp,
        unknown_source_flows=unknown,
        evidence=evidence,
    )


def _verdict(ab: DirectionReport, ba: DirectionReport) -> MediaPath:
    ab_direct, ba_direct = bool(ab.direct), bool(ba.direct)
    ab_relay, ba_relay = ab.leg.complete, ba.leg.complete
    ab_any, ba_any = ab_direct or ab_relay, ba_direct or ba_relay
    if not ab_any and not ba_any:
        return MediaPath.NO_MEDIA
    if not (ab_any and ba_any):
        return MediaPath.ONE_WAY
    if ab_direct and ba_direct:
        return MediaPath.BYPASS
    if ab_relay and ba_relay:
        same = all(d.payload_identical and d.header_identical for d in (ab, ba))
        return MediaPath.PROXY if same else MediaPath.ANCHORED
    return MediaPath.ASYMMETRIC


def _direction(
    src: str, dst: str, direct: tuple[Flow, ...], leg: Leg
) -> DirectionReport:
    if not leg.complete:
        return DirectionReport(
            src, dst, direct, leg, MatchCounts(), "none", False, False, None
        )
    inbound = _merged(leg.inbound)
    outbound = _merged(leg.outbound)
    pairs, counts, method = _match(inbound, outbound)
    delays = [o[0].ts - i[0].ts for i, o in pairs]
    exact = pairs if method != "order" else []
    in_order = all(
        o2[0].index > o1[0].index for (_, o1), (_, o2) in zip(exact, exact[1:], strict=False)
    )
    payload_same = (
        bool(exact)
        and counts.unmatched_outbound == 0
        and in_order
        and all(i[1].payload == o[1].payload for i, o in exact)
    )
    header_same = bool(exact) and all(
        (i[1].ssrc, i[1].sequence, i[1].timestamp, i[1].payload_type)
        == (o[1].ssrc, o[1].sequence, o[1].timestamp, o[1].payload_type)
        for i, o in exact
    )
    return DirectionReport(
        src, dst, direct, leg, counts, method, payload_same, header_same, DelayStats.of(delays)
    )


_Item = tuple[CapturedPacket, RtpPacket]


def _merged(flows: tuple[Flow, ...]) -> list[_Item]:
    items = [item for f in flows for item in f.rtp]
    items.sort(key=lambda it: (it[0].ts, it[0].index))
    return items


def _match(
    inbound: list[_Item], outbound: list[_Item]
) -> tuple[list[tuple[_Item, _Item]], MatchCounts, str]:
    """Pair inbound with outbound packets: by (SSRC, seq), then payload, else by order."""
    by_key: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_payload: dict[bytes, list[int]] = defaultdict(list)
    for idx, (_, rtp) in enumerate(outbound):
        by_key[(rtp.ssrc, rtp.sequence)].append(idx)
        by_payload[rtp.payload].append(idx)
    taken = [False] * len(outbound)
    pairs: list[tuple[_Item, _Item]] = []

    def first_free(candidates: list[int], cursor: list[int], ts: float) -> int | None:
        # Inbound items come in capture order, so an outbound packet that is taken, or
        # that left before this one arrived (1 ms slack for clock steps), is skipped
        # for good: the cursor only moves forward and the matching stays linear.
        pos = cursor[0]
        while pos < len(candidates) and (
            taken[candidates[pos]] or outbound[candidates[pos]][0].ts < ts - 1e-3
        ):
            pos += 1
        cursor[0] = pos
        return candidates[pos] if pos < len(candidates) else None

    key_cursors: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0])
    payload_cursors: dict[bytes, list[int]] = defaultdict(lambda: [0])
    pending: list[_Item] = []
    n_key = n_payload = 0
    for item in inbound:
        key = (item[1].ssrc, item[1].sequence)
        n = first_free(by_key.get(key, []), key_cursors[key], item[0].ts)
        if n is None:
            pending.append(item)
            continue
        taken[n] = True
        pairs.append((item, outbound[n]))
        n_key += 1
    for item in pending:
        payload = item[1].payload
        n = first_free(by_payload.get(payload, []), payload_cursors[payload], item[0].ts)
        if n is None:
            continue
        taken[n] = True
        pairs.append((item, outbound[n]))
        n_payload += 1
    n_order = 0
    if not pairs:
        pairs = list(zip(inbound, outbound, strict=False))
        n_order = len(pairs)
    pairs.sort(key=lambda p: (p[0][0].ts, p[0][0].index))
    matched = len(pairs)
    counts = MatchCounts(
        inbound=len(inbound),
        outbound=len(outbound),
        by_ssrc_seq=n_key,
        by_payload=n_payload,
        by_order=n_order,
        unmatched_inbound=len(inbound) - matched,
        unmatched_outbound=len(outbound) - matched,
    )
    if n_order:
        method = "order"
    elif not matched:
        method = "none"
    elif n_key >= n_payload:
        method = "ssrc_seq"
    else:
        method = "payload"
    return pairs, counts, method
