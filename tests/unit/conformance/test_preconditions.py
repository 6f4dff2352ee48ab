"""Preconditions as data: a case cannot need what it judges; every case of the suites
needs only known preconditions; `unless_met` and `wait_for` turn a missing step into
`PreconditionUnmet`, which a case judging that step still FAILS on (a TargetViolation)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from harness.conformance.case import CASE_ATTR, Case, case
from harness.errors import TargetViolation
from harness.evidence.preconditions import (
    ANSWERED,
    EARLY_DIALOG,
    PRECONDITIONS,
    PreconditionUnmet,
    unless_met,
)

SUITES = Path(__file__).resolve().parents[3] / "suites"


def test_a_case_cannot_need_what_it_judges() -> None:
    with pytest.raises(ValueError, match="SIP-EARLY-1 judges precondition 'early-dialog'"):
        case("SIP-EARLY-1", title="t", reference="r", expectation="e", needs=(EARLY_DIALOG,))
    with pytest.raises(ValueError, match="MM-PROXY-1 judges precondition 'answered'"):
        case("MM-PROXY-1", title="t", reference="r", expectation="e", needs=(ANSWERED,))


def test_unless_met_names_the_precondition_and_keeps_the_evidence() -> None:
    with pytest.raises(PreconditionUnmet) as raised, unless_met(EARLY_DIALOG):
        raise TargetViolation("caller: the 183 did not arrive", evidence=b"SIP/2.0 200 OK")
    assert raised.value.precondition is EARLY_DIALOG
    assert isinstance(raised.value, TargetViolation)  # undeclared: the case FAILS on it
    assert raised.value.evidence == b"SIP/2.0 200 OK"
    assert str(raised.value) == ("precondition 'early-dialog' not met: caller: the 183 did "
                                 "not arrive")
    with pytest.raises(PreconditionUnmet) as again, unless_met(ANSWERED):
        raise PreconditionUnmet(EARLY_DIALOG, "first")
    assert again.value.precondition is EARLY_DIALOG  # the first unmet one is the one named


def _suite_cases() -> list[Case]:
    found = []
    for path in sorted(SUITES.glob("test_*.py")):
        module = importlib.import_module(f"suites.{path.stem}")
        found += [meta for fn in vars(module).values()
                  if isinstance(meta := getattr(fn, CASE_ATTR, None), Case)]
    return found


def test_the_suites_declare_known_preconditions() -> None:
    cases = _suite_cases()
    assert len(cases) > 60
    for meta in cases:
        for need in meta.needs:
            assert PRECONDITIONS[need.key] is need, meta.title
    # Each precondition is judged somewhere: some case of the suites does not need it but
    # checks a requirement it is counted at.
    judged = {rid for meta in cases for rid in meta.requirements}
    for need in PRECONDITIONS.values():
        assert judged & set(need.counted_at), need.key
