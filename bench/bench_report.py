"""Speed of the report: Allure 3 HTML, the requirement matrix and its global attachment, for
a full run of every suite against the default target (budget: <= 10 s).

Runs the suites once with the README's command (--no-report), then makes the report from
those results `--rounds` times and prints the median; or pass --results DIR to time the
report of an existing run. Run as root: .venv/bin/python bench/bench_report.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.paths import PROJECT_ROOT
from harness.report.build import make_report


def main(rounds: int, results: Path | None) -> None:
    if results is None:
        results = Path(tempfile.mkdtemp(prefix="sbc-bench-report-"))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "harness.cli", "run", "--no-report", "--results",
                        str(results)], cwd=PROJECT_ROOT, capture_output=True, check=False)
        print(f"suites run (not timed here)   {time.perf_counter() - t0:6.2f} s")
    cases = len(list((results / "allure-results").glob("*-result.json")))
    attachments = len(list((results / "allure-results").glob("*-attachment*")))
    times, allure_only = [], []
    for i in range(rounds):
        t0 = time.perf_counter()
        made = make_report(results, results / f"report-bench{i}")
        times.append(time.perf_counter() - t0)
        allure_only.append(made.allure.seconds)
    print(f"run: {cases} cases, {attachments} attachments")
    print(f"report (matrix + Allure 3)    median {statistics.median(times):6.2f} s   "
          f"max {max(times):6.2f} s   (n={rounds}; Allure generate alone: median "
          f"{statistics.median(allure_only):.2f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    main(args.rounds, args.results)
