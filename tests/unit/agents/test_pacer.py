"""The RTP pacer: steps at their deadlines in order, errors handed to the sender, the
garbage collector held off only while streams are paced."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import pytest

from harness.endpoints.rtp import _pacer


async def test_steps_run_at_their_deadlines_in_order_and_gc_is_held_off_meanwhile() -> None:
    loop = asyncio.get_running_loop()
    pacer = _pacer(loop)
    seen: list[tuple[str, int, float, bool]] = []
    start = loop.time() + 0.01

    def step(name: str) -> Callable[[int], None]:
        return lambda n: seen.append((name, n, loop.time(), gc.isenabled()))

    assert gc.isenabled()
    await asyncio.gather(pacer.repeat(start, 0.005, 4, step("a")),
                         pacer.repeat(start, 0.005, 4, step("b")))
    assert gc.isenabled()
    assert [(name, n) for name, n, _, _ in seen] == [
        (name, n) for n in range(4) for name in ("a", "b")]  # fixed order within a tick
    for _name, n, at, gc_on in seen:
        assert at >= start + n * 0.005 - 0.0002 and not gc_on


async def test_a_failing_step_ends_its_stream_with_the_error_and_gc_comes_back() -> None:
    loop = asyncio.get_running_loop()

    def boom(n: int) -> None:
        if n == 1:
            raise OSError("network is unreachable")

    with pytest.raises(OSError, match="unreachable"):
        await _pacer(loop).repeat(loop.time(), 0.002, 5, boom)
    assert gc.isenabled()


async def test_a_cancelled_sender_stops_its_stream() -> None:
    loop = asyncio.get_running_loop()
    steps: list[int] = []
    fut = _pacer(loop).repeat(loop.time(), 0.002, 1000, steps.append)
    await asyncio.sleep(0.02)
    fut.cancel()
    await asyncio.sleep(0.02)
    done = len(steps)
    await asyncio.sleep(0.02)
    assert 0 < done == len(steps) < 1000 and gc.isenabled()


async def test_gc_left_off_by_someone_else_stays_off() -> None:
    loop = asyncio.get_running_loop()
    gc.disable()
    try:
        await _pacer(loop).repeat(loop.time(), 0.001, 2, lambda n: None)
        assert not gc.isenabled()
    finally:
        gc.enable()
