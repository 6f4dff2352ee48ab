"""The ``judge`` fixture: a case hands it its findings, and it keeps them for the report
and raises `TargetViolation` (failed) when one of them FAILED. A case that passes with a
NON-STRICT finding (a SHOULD missed) is graded NON-STRICT (`graded_by_findings`, read by
the report hook).

The findings of a case live in its item's stash (`FINDINGS_KEY`), never in a module
global, so the case that produced them is the one they are reported on. The requirement
IDs the failure names are the case's own (`@case`): checks name none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pytest

from harness.conformance.case import CASE_ATTR, Case, Verdict
from harness.conformance.findings import Finding, violation
from harness.errors import TargetViolation
from harness.targets.spec import KnownDeviation

__all__ = ["DEVIATIONS_KEY", "FINDINGS_KEY", "Declared", "Judge", "case_of", "graded_by_findings",
           "judge", "known_deviation"]

FINDINGS_KEY = pytest.StashKey[list[Finding]]()


def case_of(item: pytest.Item) -> Case | None:
    """The `@case` data of a test item (None: not a conformance case)."""
    fn = getattr(item, "function", None)
    meta = getattr(fn, CASE_ATTR, None)
    return meta if isinstance(meta, Case) else None


def graded_by_findings(findings: Sequence[Finding]) -> Verdict | None:
    """The verdict a case that passed takes from its findings: NON-STRICT when one of them
    is and none FAILED; None (graded by its outcome alone) otherwise."""
    verdicts = {f.verdict for f in findings}
    if Verdict.NON_STRICT in verdicts and Verdict.FAILED not in verdicts:
        return Verdict.NON_STRICT
    return None


@dataclass(frozen=True)
class Declared:
    """A known deviation the target file declares for a case, with the words a case it
    covers is reported with."""

    deviation: KnownDeviation
    reason: str


#: The known deviations that may cover a case (set at collection).
DEVIATIONS_KEY = pytest.StashKey[tuple[Declared, ...]]()


def known_deviation(findings: Sequence[Finding], declared: Sequence[Declared],
                    problem: TargetViolation) -> TargetViolation:
    """A case failed: when every failed finding is one a declared deviation names, the
    case is that known deviation (pytest's xfail, graded KNOWN DEVIATION); otherwise it
    FAILED, and the violation says which findings no declaration names."""
    failures = [f"{f.check}: {f.summary}" for f in findings if f.verdict is Verdict.FAILED]
    if not declared:
        return problem
    named = [d for d in declared if any(d.deviation.expects(text) for text in failures)]
    unnamed = [text for text in failures
               if not any(d.deviation.expects(text) for d in declared)]
    if not unnamed:  # the reason carries the failure itself: the evidence of the deviation
        pytest.xfail("\n".join([*(d.reason for d in named), str(problem)]))
    return TargetViolation(
        f"{problem}\nNot the known deviation(s) declared for this case "
        f"({', '.join(d.deviation.requirement for d in declared)}): no declaration names "
        f"{len(unnamed)} of these failed finding(s)", evidence=problem.evidence)


class Judge(Protocol):
    def __call__(self, *findings: Finding) -> None: ...


@pytest.fixture
def judge(request: pytest.FixtureRequest) -> Judge:
    """Judge the case by its findings: every one is kept for the report; one that FAILED
    fails the case (naming the case's requirements)."""
    item = request.node
    meta = case_of(item)
    requirements = meta.requirements if meta is not None else ()

    def judge(*findings: Finding) -> None:
        item.stash.setdefault(FINDINGS_KEY, []).extend(findings)
        problem = violation(findings, requirements)
        if isinstance(problem, TargetViolation):
            problem = known_deviation(findings, item.stash.get(DEVIATIONS_KEY, ()), problem)
        if problem is not None:
            raise problem

    return judge
