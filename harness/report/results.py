"""A run's Allure results read back: one `CaseResult` per conformance case.

The pytest plugin labels every case (``requirement``, ``verdict``, ``tag`` =
media mode, ``feature`` = area) and writes ``environment.properties``; this
module reads those files, never the pytest session, so a report can be made
for any run directory, also one copied from another machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.conformance.case import REQUIREMENT_VERDICT_LABEL, VERDICT_LABEL, Verdict
from harness.errors import HarnessError

__all__ = ["CaseResult", "RunResults", "parse_verdict", "read_run"]

MODES = ("bypass", "proxy", "anchored")


@dataclass(frozen=True)
class CaseResult:
    name: str  # the case title with its requirement ids
    full_name: str  # module.function
    status: str  # Allure status: passed, failed, broken, skipped
    verdict: Verdict  # the graded verdict (its label: OK, FAILED, KNOWN DEVIATION, ...)
    requirements: tuple[str, ...]
    mode: str | None
    message: str = ""
    uuid: str = ""
    # A FAILED case's verdict on those of its requirements where it differs: its failure
    # is counted at another requirement (an unmet precondition another judges: INCONCLUSIVE
    # here; a call it left behind, counted at ROB-3: what the case judged here).
    judged: tuple[tuple[str, Verdict], ...] = ()

    def verdict_for(self, requirement: str) -> Verdict:
        """The case's verdict on one of its requirements."""
        return dict(self.judged).get(requirement, self.verdict)


@dataclass
class RunResults:
    path: Path  # the run directory (with allure-results/)
    cases: list[CaseResult] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    target: dict[str, object] = field(default_factory=dict)  # target.json: the declaration


def _allure_dir(run: Path) -> Path:
    for candidate in (run / "allure-results", run):
        if candidate.is_dir() and any(candidate.glob("*-result.json")):
            return candidate
    raise HarnessError(f"{run}: no Allure results here (expected {run / 'allure-results'} "
                       "with *-result.json files; run 'sbc-harness run --results DIR' first)")


def parse_verdict(label: str) -> Verdict:
    """The verdict a label names; a label this harness does not know is BROKEN (an
    unknown verdict is never a pass)."""
    try:
        return Verdict(label)
    except ValueError:
        return Verdict.BROKEN


_BY_STATUS = {"passed": Verdict.OK, "failed": Verdict.FAILED, "broken": Verdict.BROKEN}


def _verdict(status: str, labels: dict[str, list[str]], message: str) -> Verdict:
    given = labels.get(VERDICT_LABEL, [])
    if given:
        return parse_verdict(given[-1])
    # Results from before the verdict label was graded: derive it from the status.
    if status == "skipped":
        for verdict in (Verdict.INCONCLUSIVE, Verdict.KNOWN_DEVIATION, Verdict.UNSUPPORTED):
            if verdict.value in message:
                return verdict
        return Verdict.SKIPPED
    return _BY_STATUS.get(status, Verdict.BROKEN)


def _judged(values: list[str]) -> tuple[tuple[str, Verdict], ...]:
    """``RID=VERDICT`` labels as pairs (one without ``=`` is ignored: not ours)."""
    return tuple((rid, parse_verdict(v)) for rid, sep, v in (x.partition("=") for x in values)
                 if sep)


def read_run(run: Path) -> RunResults:
    """Read `run`/allure-results (or `run` itself if it holds the result files)."""
    allure_dir = _allure_dir(run)
    out = RunResults(run if allure_dir != run else run.parent)
    for path in sorted(allure_dir.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HarnessError(f"{path}: not a readable Allure result ({exc})") from None
        labels: dict[str, list[str]] = {}
        for label in data.get("labels", []):
            labels.setdefault(str(label.get("name")), []).append(str(label.get("value")))
        requirements = tuple(labels.get("requirement", []))
        if not requirements:
            continue  # not a conformance case
        message = str((data.get("statusDetails") or {}).get("message") or "")
        status = str(data.get("status", "unknown"))
        mode = next((t for t in labels.get("tag", []) if t in MODES), None)
        out.cases.append(CaseResult(
            name=str(data.get("name", "")), full_name=str(data.get("fullName", "")),
            status=status, verdict=_verdict(status, labels, message),
            requirements=requirements, mode=mode, message=message.strip(),
            uuid=str(data.get("uuid", "")),
            judged=_judged(labels.get(REQUIREMENT_VERDICT_LABEL, [])),
        ))
    env = allure_dir / "environment.properties"
    if env.is_file():
        for line in env.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out.environment[key.strip()] = value.strip()
    declared = out.path / "target.json"
    if declared.is_file():
        out.target = json.loads(declared.read_text(encoding="utf-8"))
    return out
