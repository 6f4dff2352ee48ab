"""The ``load_run`` fixture and the side-by-side table of ``sbc-harness load``.

``await load_run(mode)`` runs `harness.load.runner.run_load` with the plan the
``--load-*`` options give, places the sampled calls through ``media_call`` (so
each has its full evidence in the report), attaches the run's figures, SIPp's
statistics and the capture, and keeps the result for the table printed at the
end of the session (and written to ``<results>/load/summary.{txt,json}``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol

import allure
import pytest

from harness.capture.mediapath import MediaPath
from harness.lab import Lab
from harness.load.runner import SAMPLE_CALLEE, SAMPLE_CALLER, LoadPlan, LoadResult, Sample, run_load
from harness.media.modes import MediaMode
from harness.media.stats import stream_stats
from harness.pytest_plugin.calls import PCAP_TYPE, CallRunner
from harness.pytest_plugin.options import HarnessConfig
from harness.scenarios.captured import plan_call
from harness.targets.base import Target

__all__ = ["LoadRun", "load_run", "plan_from", "pytest_terminal_summary"]

RESULTS_KEY = pytest.StashKey[list[LoadResult]]()
# What a sampled call's media path may be in each mode. Anchored with the same codec
# both ways may look like a proxy on the wire (MM-ANCHOR-1 asks only "via the target").
EXPECTED_PATH = {MediaMode.BYPASS: {MediaPath.BYPASS}, MediaMode.PROXY: {MediaPath.PROXY},
                 MediaMode.ANCHORED: {MediaPath.PROXY, MediaPath.ANCHORED}}


def plan_from(config: pytest.Config) -> LoadPlan:
    """The load plan the command line asks for; a bad value is a usage error."""
    try:
        return LoadPlan(
            rate=config.getoption("--load-rate"), calls=config.getoption("--load-calls"),
            hold_s=config.getoption("--load-hold"),
            max_concurrent=config.getoption("--load-max-concurrent"),
            media=not config.getoption("--load-no-media"),
            samples=config.getoption("--load-samples"),
            max_seconds=config.getoption("--load-max-seconds"))
    except ValueError as exc:
        raise pytest.UsageError(f"load plan: {exc}") from None


class LoadRun(Protocol):
    def __call__(self, mode: MediaMode) -> Awaitable[LoadResult]: ...


class LoadRunner:
    def __init__(self, runner: CallRunner, plan: LoadPlan) -> None:
        self.runner = runner
        self.plan = plan

    async def __call__(self, mode: MediaMode) -> LoadResult:
        runner = self.runner

        async def sample(n: int) -> Sample:
            label = f"{mode.value}: sampled call {n + 1}"
            plan = plan_call(runner.lab, runner.target, mode, label=label,
                             caller_host=SAMPLE_CALLER, callee_host=SAMPLE_CALLEE,
                             pcap=runner.pcap_for(label),
                             capture_only_hosts=True)  # not the load's thousands of packets
            out = await runner.place(plan, packets=25)
            want = EXPECTED_PATH[mode]
            got = out.path.verdict if out.path is not None else None
            problems = []
            if out.final_status != 200:
                problems.append(f"final response {out.final_status}")
            if got not in want:
                problems.append(f"media path {got.name if got else 'unknown'}, expected "
                                f"{' or '.join(sorted(w.name for w in want))}")
            for who, records in (("caller", out.caller_rtp), ("callee", out.callee_rtp)):
                got_rtp = [(r.time, r.packet) for r in records
                           if r.direction == "received" and r.packet is not None]
                if not got_rtp:
                    problems.append(f"the {who} received no media")
                elif (loss := stream_stats(got_rtp).loss_fraction) > 0.05:
                    problems.append(f"the {who} lost {loss:.0%} of its media")
            return Sample(f"{n + 1}", not problems, "; ".join(problems) or "ok")

        workdir = runner.config.results_dir / "load" / mode.value
        async with runner.watching():
            result = await run_load(runner.lab, runner.target, mode, self.plan, workdir,
                                    sample)
        runner.item.config.stash.setdefault(RESULTS_KEY, []).append(result)
        _attach(result)
        return result


def _attach(result: LoadResult) -> None:
    allure.attach(_table([result]), name=f"load, {result.mode.value}: figures",
                  attachment_type=allure.attachment_type.TEXT)
    csvs = sorted(result.pcap.parent.glob("uac_*.csv"))
    if csvs:
        allure.attach.file(str(csvs[-1]), name=f"load, {result.mode.value}: SIPp statistics "
                           "(caller)", attachment_type=allure.attachment_type.CSV)
    for n, data in enumerate(result.capture.malformed_examples, 1):
        allure.attach(data, name=f"load, {result.mode.value}: malformed SIP from the target "
                      f"({n} of {result.capture.malformed})",
                      attachment_type=allure.attachment_type.TEXT)
    if result.pcap.exists() and result.pcap.stat().st_size < 50_000_000:
        allure.attach.file(str(result.pcap), name=f"load, {result.mode.value}: capture (pcap)",
                           attachment_type=PCAP_TYPE, extension="pcap")


@pytest.fixture
def load_run(request: pytest.FixtureRequest, lab: Lab, target: Target,
             harness_config: HarnessConfig) -> LoadRun:
    return LoadRunner(CallRunner(lab, target, harness_config, request.node),
                      plan_from(request.config))


def _table(results: list[LoadResult]) -> str:
    rows = [r.row() for r in results]
    if not rows:
        return "(no load run)"
    keys = list(rows[0])
    width = max(len(v) for row in rows for v in row.values()) + 2
    lines = [f"{key:<26}" + "".join(f"{row.get(key, ''):<{width}}" for row in rows).rstrip()
             for key in keys]
    plan = results[0].plan
    head = (f"load: {plan.calls} calls per mode at {plan.rate:g} calls/s, {plan.hold_s:g} s "
            f"each, at most {plan.max_concurrent} at once, "
            f"{'RTP both ways' if plan.media else 'no media'}, "
            f"{plan.samples} sampled call(s) per mode\n(media: loss through the target, its "
            f"forwarding delay p50/p99 ms, RFC 3550 jitter ms)")
    return "\n".join([head, *lines])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    results = terminalreporter.config.stash.get(RESULTS_KEY, [])
    if not results:
        return
    text = _table(results)
    terminalreporter.write_sep("=", "load, side by side")
    terminalreporter.write_line(text)
    for r in results:
        for problem in r.problems + r.notes:
            terminalreporter.write_line(f"{r.mode.value}: {problem}")
    out = Path(terminalreporter.config.getoption("--results-dir")) / "load"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.txt").write_text(text + "\n")
    (out / "summary.json").write_text(json.dumps([
        {**r.row(), "problems": r.problems, "notes": r.notes,
         "cpu_s": r.cpu_s, "cpu_processes": r.cpu_processes, "wall_s": r.wall_s,
         "setup": r.capture.setup.__dict__,
         "media": [{**d.__dict__, "loss": d.loss} for d in r.capture.media]}
        for r in results], indent=2, default=str) + "\n")
    terminalreporter.write_line(f"load figures: {out / 'summary.txt'} and summary.json")
