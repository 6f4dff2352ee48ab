"""Findings: what a check concluded, with the evidence that backs it.

A check is a small pure function over evidence records, decorated with `check`, that
returns one `Finding`. A finding names the check that concluded it, never a
requirement: which requirement a check judges is said once, by the case that runs it
(its `@case` data). The case hands its findings to the plugin's ``judge`` fixture,
which keeps them all for the report (a verdict of OK shows *why* it is OK) and raises
`TargetViolation` when one of them FAILED (`violation`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ParamSpec

from harness.conformance.case import Verdict
from harness.errors import HarnessError, TargetViolation

__all__ = ["CHECKS", "Finding", "broken", "check", "failed", "informational", "non_strict", "ok",
           "violation"]

P = ParamSpec("P")


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    summary: str
    evidence: tuple[str, ...] = field(default=())
    check: str = ""  # the check function that concluded it (set by `check`)

    def __str__(self) -> str:
        lines = [f"[{self.verdict.value}] {self.check or 'check'}: {self.summary}"]
        lines += [f"    {e}" for e in self.evidence]
        return "\n".join(lines)


def ok(summary: str, evidence: Sequence[str] = ()) -> Finding:
    return Finding(Verdict.OK, summary, tuple(evidence))


def failed(summary: str, evidence: Sequence[str] = ()) -> Finding:
    return Finding(Verdict.FAILED, summary, tuple(evidence))


def informational(summary: str, evidence: Sequence[str] = ()) -> Finding:
    return Finding(Verdict.INFORMATIONAL, summary, tuple(evidence))


def non_strict(summary: str, evidence: Sequence[str] = ()) -> Finding:
    """A SHOULD the target missed: the case still passes, graded NON-STRICT (unless
    another of its findings FAILED)."""
    return Finding(Verdict.NON_STRICT, summary, tuple(evidence))


def broken(summary: str, evidence: Sequence[str] = ()) -> Finding:
    """The evidence cannot decide: e.g. frames the capture reader could not read involve
    the address a check would clear. The case is BROKEN (no verdict) unless another of
    its findings FAILED."""
    return Finding(Verdict.BROKEN, summary, tuple(evidence))


#: Every check, by its qualified name ("media_checks.relayed"): the unit tests make sure
#: each is shown both passing and failing over recorded evidence.
CHECKS: dict[str, Callable[..., Finding]] = {}


def check(fn: Callable[P, Finding]) -> Callable[P, Finding]:
    """Declare a check: its findings carry its name (also those it took over from a
    check it called: the name is that of the check the case ran)."""

    @functools.wraps(fn)
    def named(*args: P.args, **kwargs: P.kwargs) -> Finding:
        return dataclasses.replace(fn(*args, **kwargs), check=fn.__name__)

    CHECKS[f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"] = named
    return named


def violation(findings: Sequence[Finding], requirements: Sequence[str]
              ) -> TargetViolation | HarnessError | None:
    """What to raise for `findings` of a case judging `requirements`: a TargetViolation
    when one of them FAILED, else a HarnessError (BROKEN: no verdict) when one could not
    decide, else None."""
    for verdict, error in ((Verdict.FAILED, TargetViolation), (Verdict.BROKEN, HarnessError)):
        bad = [f for f in findings if f.verdict is verdict]
        if bad:
            head = f"{', '.join(requirements) or 'the case'} {verdict.value}:"
            return error("\n".join([head, *(str(f) for f in bad)]))
    return None
