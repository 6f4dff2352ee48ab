"""Receive statistics of one RTP stream: loss, duplicates, reordering, RFC 3550 jitter, pacing.

Pure functions over ``(arrival_time_s, RtpPacket)`` pairs in arrival order,
as a receiver or a capture sees them.

* Sequence numbers are extended across wrap-around (RFC 3550 A.1, without
  the probation logic): each one is placed in the 65,536-cycle nearest to the
  highest seen so far.
* ``lost = expected - unique received`` with ``expected = highest - first + 1``
  (so late packets are not lost, and duplicates do not hide loss).
* ``reordered`` counts packets that arrive after a higher sequence number.
* Jitter is RFC 3550 §6.4.1: ``J += (|D| - J) / 16`` over consecutive
  arrivals, with ``D`` the change in transit time in timestamp units.
* Inter-departure error compares the gaps between consecutive in-order
  packets with the gaps their RTP timestamps promise (the pacing error of the
  sender when the capture is taken next to it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.media.rtp import RtpPacket

__all__ = ["StreamStats", "percentile", "stream_stats", "stats_by_ssrc"]


@dataclass(frozen=True)
class StreamStats:
    """Statistics of one received stream. Times are seconds; `jitter` is in timestamp units."""

    ssrc: int | None
    count: int
    expected: int
    lost: int
    duplicates: int
    reordered: int
    jitter: float
    jitter_s: float
    max_jitter_s: float
    departure_error_p50_s: float
    departure_error_p99_s: float
    departure_error_max_s: float

    @property
    def loss_fraction(self) -> float:
        """Lost / expected (0.0 for an empty stream)."""
        return self.lost / self.expected if self.expected else 0.0


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def _ts_delta(a: int, b: int) -> int:
    """b - a for 32-bit RTP timestamps, as a signed difference."""
    d = (b - a) & 0xFFFFFFFF
    return d - (1 << 32) if d >= 1 << 31 else d


def stream_stats(
    packets: Sequence[tuple[float, RtpPacket]], clock_rate: int = 8000
) -> StreamStats:
    """Statistics of `packets` (one stream, in arrival order) at `clock_rate` Hz."""
    if clock_rate <= 0:
        raise ValueError(f"clock rate must be positive, got {clock_rate}")
    ssrc = packets[0][1].ssrc if packets else None
    seen: set[int] = set()
    duplicates = reordered = 0
    first_ext = highest = -1
    jitter = max_jitter = 0.0
    prev: tuple[float, RtpPacket] | None = None
    prev_in_order: tuple[float, RtpPacket] | None = None
    errors: list[float] = []
    for arrival, pkt in packets:
        if highest < 0:
            ext = pkt.sequence
            first_ext = highest = ext
        else:
            ext = (highest & ~0xFFFF) | pkt.sequence
            if ext - highest > 0x8000:
                ext -= 0x10000
            elif highest - ext > 0x8000:
                ext += 0x10000
        if ext in seen:
            duplicates += 1
            continue
        seen.add(ext)
        in_order = ext >= highest
        if not in_order:
            reordered += 1
        highest = max(highest, ext)
        first_ext = min(first_ext, ext)
        if prev is not None:
            transit_change = (arrival - prev[0]) * clock_rate - _ts_delta(
                prev[1].timestamp, pkt.timestamp
            )
            jitter += (abs(transit_change) - jitter) / 16.0
            max_jitter = max(max_jitter, jitter)
        prev = (arrival, pkt)
        if in_order:
            if prev_in_order is not None:
                promised = _ts_delta(prev_in_order[1].timestamp, pkt.timestamp) / clock_rate
                errors.append(abs((arrival - prev_in_order[0]) - promised))
            prev_in_order = (arrival, pkt)
    expected = highest - first_ext + 1 if seen else 0
    errors.sort()
    return StreamStats(
        ssrc=ssrc,
        count=len(seen) + duplicates,
        expected=expected,
        lost=max(0, expected - len(seen)),
        duplicates=duplicates,
        reordered=reordered,
        jitter=jitter,
        jitter_s=jitter / clock_rate,
        max_jitter_s=max_jitter / clock_rate,
        departure_error_p50_s=percentile(errors, 0.5) or 0.0,
        departure_error_p99_s=percentile(errors, 0.99) or 0.0,
        departure_error_max_s=errors[-1] if errors else 0.0,
    )


def stats_by_ssrc(
    packets: Iterable[tuple[float, RtpPacket]], clock_rate: int = 8000
) -> dict[int, StreamStats]:
    """`stream_stats` for each SSRC found in `packets` (in order of first appearance)."""
    groups: dict[int, list[tuple[float, RtpPacket]]] = {}
    for item in packets:
        groups.setdefault(item[1].ssrc, []).append(item)
    return {ssrc: stream_stats(items, clock_rate) for ssrc, items in groups.items()}
