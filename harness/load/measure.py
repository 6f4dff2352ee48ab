"""What a load run did, from the capture and from the kernel's accounting.

- **Setup time** per call: first INVITE the caller sent to the target to the
  first 2xx to it the target sent back, both as seen on the lab bridge (SIPp
  rounds its own figures to 4 ms; LAB-NOTES).
- **Media** per direction: for each call, the stream into the target and the
  stream out of it are found from the SDP in the captured signalling (the port
  the target gave each side), and their packets matched by SSRC and sequence
  number. That gives loss through the target, its forwarding delay and the
  RFC 3550 jitter of what it sent on. Packets that reach the target after the
  call's BYE are not counted as lost (the session is gone; the sender had not
  stopped yet). A bypassed call's media never reaches the
  target; its packets are counted as direct.
- **CPU** of the target: the time every thread of every process in the target's
  network namespace spent on a CPU, from ``/proc/<pid>/task/*/schedstat``
  (per-process accounting; LAB-NOTES found machine-wide idle unreliable here).
"""

from __future__ import annotations

import os
import struct
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from harness.capture.pcap import CapturedPacket
from harness.media.legs import leg_stats
from harness.media.rtp import looks_like_rtp
from harness.media.stats import percentile
from harness.sdp.errors import SdpParseError
from harness.sdp.model import SessionDescription, effective_connection
from harness.sip.errors import SipParseError
from harness.sip.message import Request, Response, parse_message

Address = tuple[str, int]


@dataclass
class _Call:
    invite_at: float | None = None
    answered_at: float | None = None
    final: int | None = None
    bye_at: float | None = None  # the first BYE reaching the target ends the media counted
    # media addresses from the SDP: what each side offered/answered, and the target's
    # address given to each side
    caller_media: Address | None = None
    callee_media: Address | None = None
    target_for_callee: Address | None = None
    target_for_caller: Address | None = None


@dataclass(frozen=True)
class SetupTimes:
    calls: int
    answered: int
    failed: dict[int, int]          # final status -> count, for non-2xx finals
    unanswered: int                 # INVITEs with no final response in the capture
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    rate: float | None              # INVITEs per second, first to last, on the wire
    peak_concurrent: int            # most calls between their 200 and their BYE at once


@dataclass(frozen=True)
class MediaDirection:
    name: str
    streams: int
    sent: int            # packets into the target (or sent, when direct)
    delivered: int       # packets the target sent on (or arrived, when direct)
    direct: int          # packets that went endpoint to endpoint
    direct_calls: int    # calls whose SDP sent this direction endpoint to endpoint
    delay_p50_ms: float | None
    delay_p99_ms: float | None
    jitter_ms_median: float | None

    @property
    def loss(self) -> float:
        return 1 - self.delivered / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class LoadCapture:
    setup: SetupTimes
    media: tuple[MediaDirection, ...]
    malformed: int                         # SIP datagrams that did not parse
    malformed_examples: list[bytes] = field(default_factory=list)


def _sdp_address(message: Request | Response) -> Address | None:
    if not message.body:
        return None
    try:
        sd = SessionDescription.parse(message.body)
    except SdpParseError:
        return None
    if not sd.media:
        return None
    conn = effective_connection(sd, 0)
    return (conn.address, sd.media[0].port) if conn is not None else None


def _rtp_key(payload: bytes) -> tuple[int, int]:
    seq, = struct.unpack_from("!H", payload, 2)
    ssrc, = struct.unpack_from("!I", payload, 8)
    return ssrc, seq


def analyse_load(packets: Iterable[CapturedPacket], *, caller: str, callee: str,
                 targets: frozenset[str]) -> LoadCapture:
    """The load calls between hosts `caller` and `callee` through the target (`targets`:
    its addresses), from a capture on the bridge."""
    calls: dict[str, _Call] = defaultdict(_Call)
    flows: dict[tuple[Address, Address], list[tuple[float, tuple[int, int]]]] = defaultdict(list)
    malformed: list[bytes] = []
    for p in packets:
        data = p.payload
        if looks_like_rtp(data) and len(data) >= 12:
            flows[(p.src, p.dst)].append((p.ts, _rtp_key(data)))
            continue
        if not (data[:8].isascii() and data[:1].isalpha()):
            continue
        try:
            msg = parse_message(data)
        except SipParseError:
            if p.src[0] in targets:
                malformed.append(data)
            continue
        call_id = msg.headers.get("Call-ID")
        if call_id is None:
            continue
        c = calls[call_id]
        from_caller = p.src[0] == caller and p.dst[0] in targets
        to_caller = p.src[0] in targets and p.dst[0] == caller
        if isinstance(msg, Request):
            if msg.method == "BYE" and p.dst[0] in targets:
                c.bye_at = p.ts if c.bye_at is None else min(c.bye_at, p.ts)
            if msg.method != "INVITE":
                continue
            if from_caller:
                c.invite_at = p.ts if c.invite_at is None else min(c.invite_at, p.ts)
                c.caller_media = _sdp_address(msg) or c.caller_media
            elif p.dst[0] == callee:
                c.target_for_callee = _sdp_address(msg) or c.target_for_callee
            continue
        if "INVITE" not in (msg.headers.get("CSeq") or ""):
            continue
        if to_caller and msg.status >= 200:
            if c.final is None:
                c.final = msg.status
                if msg.status < 300:
                    c.answered_at = p.ts
            if msg.status < 300:
                c.target_for_caller = _sdp_address(msg) or c.target_for_caller
        elif p.src[0] == callee and msg.status < 300 and msg.status >= 200:
            c.callee_media = _sdp_address(msg) or c.callee_media
    ours = {k: c for k, c in calls.items() if c.invite_at is not None}
    return LoadCapture(_setup(ours), _media(ours, flows, targets), len(malformed),
                       malformed[:3])


def _setup(calls: dict[str, _Call]) -> SetupTimes:
    times = sorted((c.answered_at - c.invite_at) * 1000 for c in calls.values()
                   if c.answered_at is not None and c.invite_at is not None)
    failed: dict[int, int] = defaultdict(int)
    for c in calls.values():
        if c.final is not None and c.final >= 300:
            failed[c.final] += 1
    invites = sorted(c.invite_at for c in calls.values() if c.invite_at is not None)
    rate = (len(invites) - 1) / (invites[-1] - invites[0]) if len(invites) > 1 and \
        invites[-1] > invites[0] else None
    events = sorted([(c.answered_at, 1) for c in calls.values() if c.answered_at is not None]
                    + [(c.bye_at, -1) for c in calls.values()
                       if c.bye_at is not None and c.answered_at is not None])
    up = peak = 0
    for _, step in events:
        up += step
        peak = max(peak, up)
    return SetupTimes(
        calls=len(calls), answered=len(times), failed=dict(failed),
        unanswered=sum(1 for c in calls.values() if c.final is None),
        p50_ms=percentile(times, 0.5), p90_ms=percentile(times, 0.9),
        p99_ms=percentile(times, 0.99), max_ms=times[-1] if times else None, rate=rate,
        peak_concurrent=peak)


def _media(calls: dict[str, _Call],
           flows: dict[tuple[Address, Address], list[tuple[float, tuple[int, int]]]],
           targets: frozenset[str]) -> tuple[MediaDirection, ...]:
    out = []
    for name, src_of, in_of, out_of, dst_of in (
        ("caller -> callee", "caller_media", "target_for_caller", "target_for_callee",
         "callee_media"),
        ("callee -> caller", "callee_media", "target_for_callee", "target_for_caller",
         "caller_media"),
    ):
        sent = delivered = streams = direct_calls = 0
        delays: list[float] = []
        jitters: list[float] = []
        for c in calls.values():
            src, into, outof, dst = (getattr(c, a) for a in (src_of, in_of, out_of, dst_of))
            if None in (src, into, outof, dst):
                continue
            if into[0] not in targets:
                direct_calls += 1
                continue
            ingress, egress = flows.get((src, into), []), flows.get((outof, dst), [])
            if c.bye_at is not None:  # what arrives after the BYE has nowhere to go
                ingress = [(t, k) for t, k in ingress if t < c.bye_at]
            if not ingress and not egress:
                continue
            streams += 1
            keyed_in: dict[Hashable, float] = {k: t for t, k in ingress}
            leg = leg_stats(name, keyed_in, {k: t for t, k in egress})
            sent += len(ingress)
            delivered += leg.received
            jitters.append(leg.jitter_ms)
            delays += [(t - keyed_in[k]) * 1000 for t, k in egress if k in keyed_in]
        # media that went endpoint to endpoint (bypass): a call's own two media addresses
        ends = {(getattr(c, src_of), getattr(c, dst_of)) for c in calls.values()}
        direct = sum(len(v) for pair, v in flows.items()
                     if pair in ends and pair[0][0] not in targets
                     and pair[1][0] not in targets)
        delays.sort()
        jitters.sort()
        out.append(MediaDirection(
            name, streams, sent, delivered, direct, direct_calls, percentile(delays, 0.5),
            percentile(delays, 0.99), percentile(jitters, 0.5)))
    return tuple(out)


# --- CPU of the target's processes ---------------------------------------------------

def _netns_inode(path: str) -> int:
    return os.stat(path if path.startswith("/") else f"/run/netns/{path}").st_ino


def _on_cpu_ns(pid: str) -> int:
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def netns_cpu_seconds(netns: str) -> tuple[float, int]:
    """CPU seconds used so far by the processes living in network namespace `netns`
    (a name under /run/netns or a path), and how many processes that was."""
    inode = _netns_inode(netns)
    total = count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino != inode:
                continue
        except OSError:
            continue
        total += _on_cpu_ns(pid)
        count += 1
    return total / 1e9, count
