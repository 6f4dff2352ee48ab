"""What the check for calls left behind costs per case (D35), against the default target.

Starts the lab and the default target and times, `--rounds` times each: a plain SIP OPTIONS
round trip (the baseline), one reading of rtpengine's ng ``list`` (the default target's
declared ``[call_state]``; a case takes two: before and after), one reading through a
command run in the target's namespace (``nsenter``, as a ``kamcmd``-style source would be;
the command here is ``cat /proc/loadavg``), the probe of a target without a declaration
after a passing case (OPTIONS, answered) and after one that did not pass (OPTIONS and a
guard call). Prints ms per probe (median, p90) and what each choice adds to a default
run of `--cases` cases of which `--not-passing` did not pass.
Run as root: .venv/bin/python bench/leftover_probe.py [--rounds 50] [--cases 83]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from common import default_target

from harness.pytest_plugin.leftovers import probe_target, read_held
from harness.targets.ready import sip_options_ping
from harness.targets.spec import CallState


async def timed(probe: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    """Milliseconds per call of `probe`, `rounds` times (after one warm-up)."""
    await probe()
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        await probe()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def row(name: str, ms: list[float], per_case: float, cases: int) -> str:
    p90 = statistics.quantiles(ms, n=10)[-1] if len(ms) >= 2 else ms[0]
    return (f"{name:<44} {statistics.median(ms):8.2f} {p90:8.2f}   x{per_case:<4g}"
            f" {statistics.median(ms) * per_case * cases / 1000:8.2f} s")


async def main(rounds: int, cases: int, not_passing: int) -> None:
    async with default_target() as (lab, target):
        ng = target.loaded.spec.call_state
        command = CallState(command=["cat", "/proc/loadavg"], pattern=r"(\d+)")
        options = await timed(lambda: sip_options_ping(target.control_netns,
                                                       target.sip_address), rounds)
        ng_read = await timed(lambda: read_held(target, ng), rounds)
        cmd_read = await timed(lambda: read_held(target, command), rounds)
        passed = await timed(lambda: probe_target(target, lab, guard=False), rounds)
        guarded = await timed(lambda: probe_target(target, lab, guard=True),
                              max(3, rounds // 5))
        result = await probe_target(target, lab, guard=True)
    share = not_passing / cases
    print(f"{'probe':<44} {'median':>8} {'p90':>8}   per case  over {cases} cases")
    print(f"{'':<44} {'ms':>8} {'ms':>8}")
    print(row("SIP OPTIONS round trip (baseline)", options, 1, cases))
    print(row("ng 'list' reading (declared: default)", ng_read, 2, cases))
    print(row("command reading via nsenter (declared)", cmd_read, 2, cases))
    print(row("probe, after a passing case: OPTIONS", passed, 1, cases))
    print(row("probe, after a case not passing: + guard", guarded, share, cases))
    print(f"\nguard call: {result.guard}")
    print(f"(a case that left a call also waits out its grace, 1 s by default; "
          f"{not_passing} of {cases} cases did not pass in the default run)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--cases", type=int, default=83)
    parser.add_argument("--not-passing", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.cases, args.not_passing))
