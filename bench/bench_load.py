"""Load figures of issue 8, each beside its anchor from the same run, against the default
target (Kamailio + rtpengine in the lab):

1. calls per second the harness's own agents complete (signalling only, bypass, 10 calls
   in flight) against what SIPp completes without a failure (ascending rates, bounded);
2. the target's forwarding delay (median/p99, from the bridge capture) and CPU per call
   in proxy mode at a low and at a high load of SIPp calls with RTP both ways.

Run as root: .venv/bin/python bench/bench_load.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from common import default_target

from harness.lab import Lab
from harness.load.runner import LoadPlan, LoadResult, run_load
from harness.media.modes import MediaMode
from harness.scenarios.call import CallProgress, basic_call
from harness.scenarios.captured import plan_call
from harness.targets.base import Target


async def harness_cps(lab: Lab, target: Target, seconds: float, parallel: int,
                      out: Path) -> tuple[float, int, int]:
    """(calls/s, completed, failed) of the harness's agents placing bypassed calls back to
    back, `parallel` at a time on their own SIP ports, for `seconds`."""
    done = failed = 0
    deadline = time.monotonic() + seconds

    async def worker(i: int) -> None:
        nonlocal done, failed
        n = 0
        while time.monotonic() < deadline:
            plan = plan_call(lab, target, MediaMode.BYPASS, pcap=out / f"h{i}-{n}.pcap",
                             caller_port=5100 + 2 * i, callee_port=5100 + 2 * i)
            call = CallProgress()
            try:
                await basic_call(plan, call, lab=lab, sip_target=target.sip_address, packets=0)
                ok = call.final_status == 200
            except Exception:  # noqa: BLE001 - a failed call is counted, not raised
                ok = False
            done += ok
            failed += not ok
            n += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(parallel)))
    return done / (time.monotonic() - t0), done, failed


async def sipp_cps(lab: Lab, target: Target, rates: list[int], seconds: float,
                   out: Path) -> list[tuple[int, LoadResult]]:
    runs = []
    for rate in rates:
        plan = LoadPlan(rate=rate, calls=int(rate * seconds), hold_s=0, media=False,
                        samples=0, max_concurrent=2000, max_seconds=seconds + 20)
        result = await run_load(lab, target, MediaMode.BYPASS, plan, out / f"sipp-{rate}")
        runs.append((rate, result))
        print(f"   SIPp at {rate:4} calls/s asked: {result.sipp.successful}/"
              f"{result.sipp.created} ok, {result.sipp.failed} failed, on the wire "
              f"{result.achieved_rate or 0:.0f} calls/s, setup p50/p99 "
              f"{result.capture.setup.p50_ms or 0:.2f}/{result.capture.setup.p99_ms or 0:.2f}"
              f" ms, target CPU {result.cpu_ms_per_call or 0:.2f} ms/call")
        if result.sipp.failed or result.problems:
            break
    return runs


def _delay_line(name: str, result: LoadResult) -> str:
    pps = sum(d.sent for d in result.capture.media) / max(result.wall_s, 1e-9)
    parts = [f"{d.name}: p50 {d.delay_p50_ms or 0:.3f} ms, p99 {d.delay_p99_ms or 0:.3f} ms, "
             f"loss {d.loss:.2%}" for d in result.capture.media]
    return (f"{name:5} load: {result.capture.setup.peak_concurrent:4} calls up at once, "
            f"~{pps:,.0f} RTP packets/s into the target; " + "; ".join(parts)
            + f"; target CPU {result.cpu_ms_per_call or 0:.2f} ms/call")


async def main(quick: bool) -> None:
    out = Path(tempfile.mkdtemp(prefix="sbc-bench-load-"))
    async with default_target(out / "run") as (lab, target):
        print("1. calls per second, signalling only, bypass mode")
        cps, done, failed = await harness_cps(lab, target, 3 if quick else 6, 10, out)
        print(f"   harness agents (10 in flight): {cps:.1f} calls/s ({done} ok, {failed} "
              "failed)")
        runs = await sipp_cps(lab, target, [100, 200] if quick else [100, 200, 400, 800, 1600],
                              3, out)
        clean = [(rate, r) for rate, r in runs if not r.sipp.failed and not r.problems]
        if clean:
            best = max(r.achieved_rate or 0 for _, r in clean)
            print(f"   SIPp's best clean rate here: {best:.0f} calls/s = {best / cps:.0f} x the "
                  "harness's agents")
        print("2. forwarding delay of the target in proxy mode, RTP both ways on every call")
        low = await run_load(lab, target, MediaMode.PROXY, LoadPlan(
            rate=5, calls=20 if quick else 40, hold_s=4, samples=0), out / "low")
        print("   " + _delay_line("low", low))
        high = await run_load(lab, target, MediaMode.PROXY, LoadPlan(
            rate=50, calls=100 if quick else 300, hold_s=4, samples=0, max_concurrent=400),
            out / "high")
        print("   " + _delay_line("high", high))
        for d_low, d_high in zip(low.capture.media, high.capture.media, strict=True):
            if d_low.delay_p99_ms and d_high.delay_p99_ms:
                print(f"   {d_low.name}: p99 at high load = "
                      f"{d_high.delay_p99_ms / d_low.delay_p99_ms:.1f} x p99 at low load")
        for name, r in (("low", low), ("high", high)):
            for p in r.problems + r.notes:
                print(f"   ({name}) {p}")
    print(f"(captures and SIPp files in {out})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs")
    asyncio.run(main(parser.parse_args().quick))
