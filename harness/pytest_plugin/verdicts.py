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
from typing import Protocol

import pytest

from harness.conformance.case import CASE_ATTR, Case, Verdict
from harness.conformance.findings import Finding, violation

__all__ = ["FINDINGS_KEY", "Judge", "case_of", "graded_by_findings", "judge"]

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
        if problem is not None:
            raise problem

    return judge
