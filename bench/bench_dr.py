"""Speed of the Teams Direct Routing profile against the default target (budget: <= 60 s).

Runs every DR case through the README's command (`sbc-harness run -k test_dr`, no report)
and prints pytest's time for the cases (target start included) and the whole command's.
Run as root: .venv/bin/python bench/bench_dr.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.paths import PROJECT_ROOT


def main() -> None:
    results = Path(tempfile.mkdtemp(prefix="sbc-bench-dr-"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--no-report",
                           "--results", str(results), "-k", "test_dr"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    print(f"Teams DR profile: {suite.get('tests')} cases, {suite.get('failures')} failed, "
          f"{suite.get('errors')} errors; pytest {float(suite.get('time', 0)):.2f} s, whole "
          f"command {wall:.2f} s, exit {proc.returncode}")


if __name__ == "__main__":
    main()
