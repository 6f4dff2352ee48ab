"""Every check is shown, over recorded evidence, both passing and failing."""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path

from evidence_rows import Row

from harness.conformance.case import Verdict
from harness.conformance.findings import CHECKS

# Importing the check modules registers their checks.
for _module in ("dr_checks", "fork_checks", "media_checks", "policy_checks", "reinvite_checks",
                "robust_checks", "srtp_checks"):
    importlib.import_module(f"harness.conformance.{_module}")


def _rows() -> list[Row]:
    rows: list[Row] = []
    for path in sorted(Path(__file__).parent.glob("test_*_checks.py")):
        rows += importlib.import_module(path.stem).ROWS
    return rows


def test_every_check_has_a_passing_and_a_failing_row() -> None:
    seen: dict[str, set[Verdict]] = defaultdict(set)
    for row in _rows():
        name = f"{row.check.__module__.rsplit('.', 1)[-1]}.{row.check.__name__}"
        seen[name].add(row.verdict)
    passing = {Verdict.OK, Verdict.INFORMATIONAL}
    missing = [f"{name}: {'no passing row' if not seen[name] & passing else 'no failing row'}"
               for name in sorted(CHECKS)
               if not (seen[name] & passing and Verdict.FAILED in seen[name])]
    assert not missing, "checks not shown both ways over recorded evidence:\n" + "\n".join(missing)
