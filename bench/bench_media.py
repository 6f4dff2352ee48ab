"""Speed of the media-mode machinery, measured on this machine.

Prints, with medians over repeated runs:
- lab up and lab down (namespaces + bridge + veths for 4 hosts),
- default target start to ready (rtpengine ng ping + Kamailio OPTIONS) and stop,
- one media-mode case end to end with the target running: capture started and
  confirmed, INVITE/200/ACK, 10 RTP packets each way, BYE, capture stopped,
  pcap read, media path classified, the case's checks (budget: median <= 1.0 s),
- the same with the lab brought up and down around it (cold),
- a forked call: 3 callees, 1 s of early media, 200, CANCELs, BYE, checks
  (budget: <= 3 s),
- a call with all six re-INVITE steps (hold, inactive, resume, codec, address,
  offerless), a media phase of 10 packets each way after each, and the checks,
- every suite through the README's command (budget: <= 20 s for the media modes).

Run as root from the project: .venv/bin/python bench/bench_media.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from common import start_stop_times

from harness.conformance import fork_checks as fc
from harness.conformance import media_checks as mc
from harness.conformance import reinvite_checks as rc
from harness.conformance.findings import Finding, violation
from harness.evidence.call import Reinvite
from harness.lab import Lab, cleanup_leftovers, default_topology
from harness.media.modes import MediaMode
from harness.paths import DEFAULT_TARGET, PROJECT_ROOT
from harness.scenarios.captured import captured_call, captured_fork, plan_call, plan_fork
from harness.targets.process import ProcessTarget
from harness.targets.spec import load_target


def fmt(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"median {statistics.median(samples) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms   "
            f"max {max(samples) * 1000:7.1f} ms   (n={len(samples)})")


def _require(*findings: Finding) -> None:
    """A benchmarked case must still pass: a FAILED finding ends the benchmark."""
    problem = violation(findings, ())
    if problem is not None:
        raise problem


async def one_case(lab: Lab, target: ProcessTarget, mode: MediaMode, pcap: Path) -> float:
    start = time.perf_counter()
    call = await captured_call(plan_call(lab, target, mode, pcap=pcap), lab, target, packets=10)
    check = mc.bypass_media_path if mode is MediaMode.BYPASS else mc.payloads_unchanged
    _require(mc.call_established(call), check(call))
    return time.perf_counter() - start


async def one_fork(lab: Lab, target: ProcessTarget, mode: MediaMode, pcap: Path) -> float:
    start = time.perf_counter()
    out = await captured_fork(plan_fork(lab, target, mode, pcap=pcap), lab, target)
    for check in (fc.early_dialogs_distinct, fc.others_ended, fc.early_media_separated):
        check(out)
    return time.perf_counter() - start


async def one_reinvite(lab: Lab, target: ProcessTarget, mode: MediaMode, pcap: Path) -> float:
    start = time.perf_counter()
    out = await captured_call(plan_call(lab, target, mode, pcap=pcap, reinvites=tuple(Reinvite)),
                              lab, target, packets=10)
    _require(rc.hold_resume(out), rc.media_changed(out), rc.offerless_reinvite(out))
    return time.perf_counter() - start


async def main(rounds: int) -> None:
    cleanup_leftovers()
    loaded = load_target(DEFAULT_TARGET)
    scratch = Path(tempfile.mkdtemp(prefix="sbc-bench-"))

    ups, downs = [], []
    for _ in range(rounds):
        lab = Lab(default_topology())
        t0 = time.perf_counter()
        lab.up()
        t1 = time.perf_counter()
        lab.down()
        ups.append(t1 - t0)
        downs.append(time.perf_counter() - t1)
    print(f"lab up                       {fmt(ups)}")
    print(f"lab down                     {fmt(downs)}")

    with Lab(default_topology()) as lab:
        starts, stops = await start_stop_times(
            lambda i: ProcessTarget(loaded, lab, scratch / f"start{i}"), max(3, rounds // 4))
    print(f"target start to ready        {fmt(starts)}")
    print(f"target stop                  {fmt(stops)}")

    with Lab(default_topology()) as lab:
        target = ProcessTarget(loaded, lab, scratch / "warm")
        await target.start()
        try:
            for mode in (MediaMode.BYPASS, MediaMode.PROXY, MediaMode.ANCHORED):
                times = [await one_case(lab, target, mode, scratch / f"{mode.value}{i}.pcap")
                         for i in range(rounds)]
                print(f"one case, warm ({mode.value:8})  {fmt(times)}")
            for mode in (MediaMode.BYPASS, MediaMode.PROXY):
                times = [await one_fork(lab, target, mode, scratch / f"fork{mode.value}{i}.pcap")
                         for i in range(max(3, rounds // 4))]
                print(f"fork 3x1 s early ({mode.value:6})   {fmt(times)}")
            for mode in (MediaMode.BYPASS, MediaMode.PROXY, MediaMode.ANCHORED):
                times = [await one_reinvite(lab, target, mode,
                                            scratch / f"reinvite{mode.value}{i}.pcap")
                         for i in range(max(3, rounds // 4))]
                print(f"6 re-INVITEs ({mode.value:8})    {fmt(times)}")
        finally:
            await target.stop()

    cold = []
    for i in range(max(3, rounds // 4)):
        t0 = time.perf_counter()
        with Lab(default_topology()) as lab:
            target = ProcessTarget(loaded, lab, scratch / f"cold{i}")
            await target.start()
            try:
                await one_case(lab, target, MediaMode.PROXY, scratch / f"cold{i}.pcap")
            finally:
                await target.stop()
        cold.append(time.perf_counter() - t0)
    print(f"one case, cold (lab+target)  {fmt(cold)}")

    results = scratch / "suite"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--results", str(results)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    print(f"all suites                   pytest {float(suite.get('time', 0)):.2f} s "
          f"({suite.get('tests')} cases, {suite.get('failures')} failed), whole command "
          f"{wall:.2f} s, exit {proc.returncode}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
