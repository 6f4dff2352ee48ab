"""Bypass against media through the target, measured over an impaired WAN link (seeds 000
and 002: bypass "should improve the quality ... always important to measure").

A branch client calls the branch gateway (both behind the branch's WAN link) once in
bypass and once in anchored mode, with the link impaired. Bypassed, media stays inside
the branch; anchored, it goes to the target in the main site and back, crossing the WAN
twice in each direction. For each call every media leg is measured (`harness.media.legs`):
end to end for the bypassed call; endpoint to target and target to endpoint for the
anchored one, with the target's side timed by the capture on the main bridge (where
packets enter and leave the target), matched to the endpoints' own records by SSRC and
sequence number.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path

from harness.capture.classify import PacketKind, classify
from harness.evidence.call import CallOutcome
from harness.evidence.policy import CallQuality, Impairment
from harness.evidence.recording import keep
from harness.evidence.records import RtpRecord
from harness.lab import Lab
from harness.media.legs import LegStats, leg_stats, realtime_offset
from harness.media.modes import MediaMode
from harness.media.rtp import RtpPacket
from harness.scenarios.captured import captured_call, plan_call
from harness.targets.base import Target

__all__ = ["CallQuality", "Impairment", "measure_over_wan"]


Key = tuple[int, int]


def _times(records: Sequence[RtpRecord], direction: str) -> dict[Hashable, float]:
    return {(r.packet.ssrc, r.packet.sequence): r.time for r in records
            if r.direction == direction and r.packet is not None}


def _at_target(call: CallOutcome, offset: float, *, into: bool, host: str
               ) -> dict[Hashable, float]:
    """RTP between `host` and the target on the main bridge: capture time (on the agents'
    clock) by (SSRC, sequence); `into`: toward the target, else from it."""
    address = call.hosts[host]
    out: dict[Hashable, float] = {}
    for p in call.packets:
        src, dst = p.src[0], p.dst[0]
        wanted = ((src == address and dst in call.target_addresses) if into
                  else (src in call.target_addresses and dst == address))
        if not wanted or classify(p.payload) is not PacketKind.RTP:
            continue
        try:
            rtp = RtpPacket.parse(p.payload)
        except ValueError:
            continue
        out.setdefault((rtp.ssrc, rtp.sequence), p.ts - offset)
    return out


def _legs(call: CallOutcome, offset: float) -> list[LegStats]:
    a, b = call.caller, call.callee
    ends = ((a, b, call.caller_rtp, call.callee_rtp), (b, a, call.callee_rtp, call.caller_rtp))
    if call.mode is MediaMode.BYPASS:
        return [leg_stats(f"{x} -> {y}", _times(sx, "sent"), _times(ry, "received"))
                for x, y, sx, ry in ends]
    legs = []
    for x, y, sx, ry in ends:
        legs.append(leg_stats(f"{x} -> target", _times(sx, "sent"),
                              _at_target(call, offset, into=True, host=x)))
        legs.append(leg_stats(f"target -> {y}", _at_target(call, offset, into=False, host=y),
                              _times(ry, "received")))
    return legs


DEFAULT_IMPAIRMENT = Impairment()


async def measure_over_wan(lab: Lab, target: Target, pcap_dir: Path, *,
                           impairment: Impairment = DEFAULT_IMPAIRMENT, packets: int = 100,
                           site: str = "branch") -> list[CallQuality]:
    """Both calls with the WAN link of `site` impaired; the link is clean again after."""
    hosts = [h.name for s in lab.topology.sites if s.name == site for h in s.hosts]
    if len(hosts) < 2:
        raise ValueError(f"site {site!r} needs two hosts for a call inside it")
    results = []
    lab.impair(site, delay_ms=impairment.delay_ms, loss=impairment.loss,
               rate_kbit=impairment.rate_kbit, seed=impairment.seed)
    try:
        for mode in (MediaMode.BYPASS, MediaMode.ANCHORED):
            plan = plan_call(lab, target, mode, pcap=pcap_dir / f"wan-{mode.value}.pcap",
                             caller_host=hosts[0], callee_host=hosts[1],
                             label=f"{mode.value} over the impaired WAN")
            call = await captured_call(plan, lab, target, packets=packets)
            results.append(CallQuality(mode, call, tuple(_legs(call, realtime_offset()))))
    finally:
        lab.impair(site)
    keep(results)
    return results
