"""The ``judge`` fixture: a case hands it its findings, and it keeps them for the report
and raises `TargetViolation` (failed) when one of them FAILED. A case that passes with a
NON-STRICT finding (a SHOULD missed) is graded NON-STRICT (`graded_by_findings`, read by
the report hook).

The findings of a case live in its item's stash (`FINDINGS_KEY`), never in a module
global, so the case that produced them is the one they are reported on. The requirement
IDs the failure names are the case's own (`@case`): checks name none.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Protocol

import pytest

from harness.conformance.case import CASE_ATTR, Case, Verdict
from harness.conformance.findings import Finding, violation
from harness.errors import TargetViolation
from harness.evidence.preconditions import PreconditionUnmet, RoutingMismatch
from harness.targets.spec import KnownDeviation

__all__ = ["COUNTED_AT_KEY", "DEVIATIONS_KEY", "FINDINGS_KEY", "INCONCLUSIVE_PREFIX",
           "JUDGED_KEY", "UNMET_KEY", "Declared", "Judge", "case_of", "graded_by_findings",
           "inconclusive_reason", "judge", "known_deviation", "pytest_runtest_call"]

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


#: How the skip reason of an INCONCLUSIVE case starts (what the report hook grades by).
INCONCLUSIVE_PREFIX = "INCONCLUSIVE"


def inconclusive_reason(meta: Case, unmet: PreconditionUnmet) -> str | None:
    """The words an INCONCLUSIVE case is reported with, when `unmet` is a precondition the
    case declares; None when it is not (the case judges it: FAILED)."""
    need = unmet.precondition
    if need not in meta.needs:
        return None
    return (f"{INCONCLUSIVE_PREFIX}: {', '.join(meta.requirements)} not observed: precondition "
            f"{need.key!r} did not hold ({need.holds_when}); the failure is counted at "
            f"{', '.join(need.counted_at)}. What happened: {unmet.detail}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A case that raised `PreconditionUnmet` for a precondition it declares is
    INCONCLUSIVE: skipped, with the precondition and what happened as the reason (JUnit
    and Allure show it as skipped with that message; docs/decisions.md D36). A call the
    target routed elsewhere (`RoutingMismatch`) is BROKEN, a wrong dial plan, unless the
    case judges where calls go (then FAILED)."""
    try:
        return (yield)
    except RoutingMismatch as mismatch:
        meta = case_of(item)
        if meta is not None and meta.judges_routing:
            raise TargetViolation(f"the call went astray: {mismatch}",
                                  evidence=mismatch.ladder or None) from mismatch
        raise
    except PreconditionUnmet as unmet:
        meta = case_of(item)
        reason = inconclusive_reason(meta, unmet) if meta is not None else None
        if reason is None:
            raise
        item.stash[UNMET_KEY] = unmet
        pytest.skip(reason)


#: Where the failure of a case is counted when not at all of its own requirements (a call
#: it left behind counts at ROB-3), and its verdicts on its own requirements then (by
#: default INCONCLUSIVE: not observed); written as labels by the report hook.
COUNTED_AT_KEY = pytest.StashKey[tuple[str, ...]]()
JUDGED_KEY = pytest.StashKey[dict[str, Verdict]]()

#: The unmet precondition of an INCONCLUSIVE case (its evidence is attached by the report).
UNMET_KEY = pytest.StashKey[PreconditionUnmet]()
