"""Findings: what a check concluded, with the evidence that backs it.

Checks are small pure functions returning one `Finding`; a case passes its
findings to `require`, which raises `TargetViolation` naming every failed
requirement with its evidence. Passing findings are kept too: the plugin
attaches all of them, so a verdict of OK shows *why* it is OK.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.conformance.case import Verdict
from harness.errors import TargetViolation


@dataclass(frozen=True)
class Finding:
    requirement: str
    verdict: Verdict
    summary: str
    evidence: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        lines = [f"[{self.verdict.value}] {self.requirement}: {self.summary}"]
        lines += [f"    {e}" for e in self.evidence]
        return "\n".join(lines)


def ok(requirement: str, summary: str, evidence: Sequence[str] = ()) -> Finding:
    return Finding(requirement, Verdict.OK, summary, tuple(evidence))


def failed(requirement: str, summary: str, evidence: Sequence[str] = ()) -> Finding:
    return Finding(requirement, Verdict.FAILED, summary, tuple(evidence))


def informational(requirement: str, summary: str, evidence: Sequence[str] = ()) -> Finding:
    return Finding(requirement, Verdict.INFORMATIONAL, summary, tuple(evidence))


# Findings of the case being run, for the plugin to attach (set by `require`).
LAST_FINDINGS: list[Finding] = []


def require(*findings: Finding) -> list[Finding]:
    """Raise TargetViolation if any finding FAILED; return them all otherwise."""
    LAST_FINDINGS[:] = findings
    bad = [f for f in findings if f.verdict is Verdict.FAILED]
    if bad:
        raise TargetViolation("\n".join(str(f) for f in bad))
    return list(findings)
