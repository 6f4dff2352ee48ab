"""What the benchmark scripts share (they run as scripts: `python bench/<name>.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.targets.base import Target


async def start_stop_times(
    make_target: Callable[[int], Target], rounds: int
) -> tuple[list[float], list[float]]:
    """Start each of `rounds` fresh targets and stop it again: (start-to-ready, stop) seconds."""
    starts, stops = [], []
    for i in range(rounds):
        target = make_target(i)
        t0 = time.perf_counter()
        await target.start()
        t1 = time.perf_counter()
        await target.stop()
        starts.append(t1 - t0)
        stops.append(time.perf_counter() - t1)
    return starts, stops
