"""What the benchmark scripts share (they run as scripts: `python bench/<name>.py`)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from harness.lab import Lab, default_topology
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


@asynccontextmanager
async def default_target(run_dir: Path | None = None) -> AsyncIterator[tuple[Lab, Target]]:
    """A lab of the default topology with the default target running in it."""
    from harness.paths import PROJECT_ROOT
    from harness.targets.process import ProcessTarget
    from harness.targets.spec import load_target

    with Lab(default_topology()) as lab:
        target = ProcessTarget(load_target(PROJECT_ROOT / "peers" / "kamailio-rtpengine"), lab,
                               run_dir or Path(tempfile.mkdtemp(prefix="sbc-bench-")))
        await target.start()
        try:
            yield lab, target
        finally:
            await target.stop()
