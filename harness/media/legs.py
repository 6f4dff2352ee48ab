"""Quality of one media leg from send and arrival times of the same packets: loss, one-way
delay and RFC 3550 interarrival jitter.

A leg is any stretch with a clock at both ends: sender to receiver on a bypassed call,
sender to the target's interface (capture time) and target to receiver on a relayed one.
All times are seconds on one clock (the lab's hosts share the machine's clock; capture
times are converted with `realtime_offset`). Packets are matched by a key (SSRC and
sequence number), so a relay that keeps them, as a proxying one does, can be followed
across it.

Jitter is RFC 3550 §6.4.1 over the packets in arrival order: ``J += (|D| - J) / 16``
with ``D`` the change in transit time; here in milliseconds rather than timestamp
units, since the transit times are measured, not derived from RTP timestamps.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

__all__ = ["LegStats", "leg_stats", "realtime_offset"]


@dataclass(frozen=True)
class LegStats:
    name: str
    sent: int
    received: int
    delay_ms_median: float | None
    delay_ms_p95: float | None
    jitter_ms: float

    @property
    def loss(self) -> float:
        return 1 - self.received / self.sent if self.sent else 0.0

    def line(self) -> str:
        delay = ("-" if self.delay_ms_median is None else
                 f"{self.delay_ms_median:7.2f} ms (p95 {self.delay_ms_p95:.2f})")
        return (f"{self.name:<34} sent {self.sent:4}  received {self.received:4}  loss "
                f"{self.loss:6.1%}  one-way delay {delay}  jitter {self.jitter_ms:6.2f} ms")


def leg_stats(name: str, sent: Mapping[Hashable, float],
              arrived: Mapping[Hashable, float]) -> LegStats:
    """The leg from `sent` (key -> send time) to `arrived` (key -> arrival time)."""
    pairs = sorted((arrived[k], arrived[k] - sent[k]) for k in arrived if k in sent)
    delays = sorted(transit * 1000 for _, transit in pairs)
    jitter = 0.0
    for (_, before), (_, after) in zip(pairs, pairs[1:], strict=False):
        jitter += (abs(after - before) * 1000 - jitter) / 16
    p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))] if delays else None
    return LegStats(name, len(sent), len(pairs),
                    statistics.median(delays) if delays else None, p95, jitter)


def realtime_offset() -> float:
    """What to subtract from a wall-clock (capture) time to get the monotonic clock the
    agents record with; measured as the middle of two readings."""
    before = time.monotonic()
    wall = time.time()
    after = time.monotonic()
    return wall - (before + after) / 2
