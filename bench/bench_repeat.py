"""Repeatability of the default profile: the whole run N times in a row must give identical
verdicts, case by case (issue 8: no flaky case).

Runs the README's command (`sbc-harness run --no-report`) `--runs` times (default 20), each
into a results folder of its own, reads every case's graded verdict (OK, INFORMATIONAL,
KNOWN DEVIATION, UNSUPPORTED, FAILED, BROKEN: the Allure "verdict" label) and prints the
runs done, cases per run, wall time per run, how many runs gave the first run's verdicts,
and every case whose verdict changed (the verdicts seen and in which runs). Exits 1 if a
case flipped, 2 if a run judged nothing. Arguments after `--` go to pytest (e.g. `-- -k
proxy`). The pcaps of runs identical to the first are deleted as it goes (the Allure
results keep their evidence); `--keep-pcaps` keeps them.
Run as root: .venv/bin/python bench/bench_repeat.py [--runs 20] [-- PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from harness.paths import PROJECT_ROOT

MISSING = "(no result)"


def verdicts(results: Path) -> dict[str, str]:
    """Case -> graded verdict, from the run's Allure results. A case is named by its test
    function and parameters (``test_media_modes#test_proxy_relays``, ``...[value]``)."""
    found: dict[str, list[str]] = {}
    for path in sorted((results / "allure-results").glob("*-result.json")):
        data = json.loads(path.read_text())
        case = data.get("fullName", data.get("name", path.name)).removeprefix("suites.")
        params = [str(p.get("value")) for p in data.get("parameters", [])]
        if params:
            case += f"[{', '.join(params)}]"
        labels = [lab["value"] for lab in data.get("labels", []) if lab["name"] == "verdict"]
        # One label per phase that gave one (the call, or a setup/teardown that did not
        # pass); none for a test that is not a conformance case: its Allure status.
        for verdict in labels or [str(data.get("status", "unknown")).upper()]:
            if verdict not in found.setdefault(case, []):
                found[case].append(verdict)
    return {case: " + ".join(seen) for case, seen in found.items()}


def _runs_text(runs: list[int]) -> str:
    """[1, 2, 3, 5] -> "runs 1-3, 5"; [4] -> "run 4"."""
    spans: list[list[int]] = []
    for n in runs:
        if spans and n == spans[-1][-1] + 1:
            spans[-1].append(n)
        else:
            spans.append([n])
    text = ", ".join(f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans)
    return f"run{'s' if len(runs) > 1 else ''} {text}"


def main(runs: int, root: Path, target: str | None, keep_pcaps: bool,
         pytest_args: list[str]) -> int:
    root.mkdir(parents=True, exist_ok=True)
    print(f"{runs} runs of sbc-harness run --no-report {shlex.join(pytest_args)}".rstrip()
          + f"; results in {root}", flush=True)
    walls: list[float] = []
    seen: list[dict[str, str]] = []
    codes: list[int] = []
    for n in range(1, runs + 1):
        results = root / f"run{n:02d}"
        cmd = [sys.executable, "-m", "harness.cli", "run", "--no-report", "--results",
               str(results)]
        if target is not None:
            cmd += ["--target", target]
        results.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with (results / "run.log").open("w") as log:
            proc = subprocess.run([*cmd, *pytest_args], cwd=PROJECT_ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, check=False)
        walls.append(time.perf_counter() - t0)
        codes.append(proc.returncode)
        seen.append(verdicts(results))
        same = seen[-1] == seen[0]
        counts = ", ".join(f"{c} {v}" for v, c in sorted(Counter(seen[-1].values()).items()))
        print(f"run {n:2d}/{runs}: {len(seen[-1])} cases, {walls[-1]:6.1f} s, exit "
              f"{proc.returncode}, {'same verdicts as run 1' if same else 'VERDICTS DIFFER'}"
              f" ({counts})", flush=True)
        if same and n > 1 and not keep_pcaps:
            shutil.rmtree(results / "pcaps", ignore_errors=True)
    return summarize(seen, walls, codes)


def summarize(seen: list[dict[str, str]], walls: list[float], codes: list[int]) -> int:
    """Print the figures of the runs' verdicts (`seen`, in run order); the exit status."""
    cases = sorted(set().union(*seen))
    flipped = {case: [run.get(case, MISSING) for run in seen] for case in cases}
    flipped = {case: vs for case, vs in flipped.items() if len(set(vs)) > 1}
    identical = sum(run == seen[0] for run in seen)
    print()
    print(f"runs done            {len(seen)} (exit codes: "
          f"{', '.join(f'{c} x{k}' for c, k in sorted(Counter(codes).items()))})")
    sizes: dict[int, list[int]] = {}
    for n, run in enumerate(seen, 1):
        sizes.setdefault(len(run), []).append(n)
    per_run = (str(next(iter(sizes))) if len(sizes) == 1 else
               "; ".join(f"{size} in {_runs_text(ns)}" for size, ns in sizes.items()))
    print(f"cases per run        {per_run}  ({len(cases)} distinct)")
    print(f"wall time per run    median {statistics.median(walls):.1f} s   "
          f"max {max(walls):.1f} s")
    print(f"identical to run 1   {identical} of {len(seen)} runs")
    print(f"flipped cases        {len(flipped) or 'none'}")
    for case, vs in flipped.items():
        by_verdict: dict[str, list[int]] = {}
        for n, verdict in enumerate(vs, 1):
            by_verdict.setdefault(verdict, []).append(n)
        print(f"  {case}")
        for verdict, where in by_verdict.items():
            print(f"      {verdict:16} {_runs_text(where)}")
    if flipped:
        return 1
    if not cases:
        print("no run judged any case: see run.log in the results folders", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    pytest_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, pytest_args = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        usage="%(prog)s [--runs N] [--results DIR] [--target T] [--keep-pcaps] "
              "[-- PYTEST ARGS]",
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--results", type=Path, default=None,
                        help="folder for run01/, run02/, ... (default: a new temporary folder)")
    parser.add_argument("--target", default=None, help="passed to sbc-harness run")
    parser.add_argument("--keep-pcaps", action="store_true",
                        help="keep the pcaps of runs whose verdicts equal run 1's")
    args = parser.parse_args(argv)
    root = args.results or Path(tempfile.mkdtemp(prefix="sbc-bench-repeat-"))
    sys.exit(main(args.runs, root, args.target, args.keep_pcaps, pytest_args))
