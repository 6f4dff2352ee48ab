"""A conformance case is data: requirement IDs, a reference, an expectation, a graded verdict.

Model: Autobahn|Testsuite (id, description, expectation, graded verdicts)
and h2spec (ids tied to RFC sections). The suites declare cases with the
`case` decorator; the pytest plugin turns the metadata into markers and Allure
labels, and skips a case whose mode or feature the target does not claim.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from harness.evidence.preconditions import Precondition
from harness.media.modes import AnchoredFeature, MediaMode

F = TypeVar("F", bound=Callable[..., object])

REQUIREMENT_RE = re.compile(r"^[A-Z]+(-[A-Z]+)?-\d+$")


class Verdict(enum.Enum):
    """Graded verdicts beyond pass/fail: of a finding, of a case (the ``verdict`` label
    the plugin puts on its Allure result) and of a requirement in the matrix.

    The values are the labels as written to the Allure results and ``matrix.json``;
    compare members, and use ``.value`` only where a string is written or shown.
    """

    OK = "OK"
    NON_STRICT = "NON-STRICT"  # a SHOULD was missed; the case passes
    INFORMATIONAL = "INFORMATIONAL"  # a measurement, reported
    UNSUPPORTED = "UNSUPPORTED"  # the target does not claim the capability
    FAILED = "FAILED"  # the target violated the requirement
    INCONCLUSIVE = "INCONCLUSIVE"  # a precondition did not hold: the requirement unobserved
    BROKEN = "BROKEN"  # the harness or the lab broke: no verdict
    KNOWN_DEVIATION = "KNOWN DEVIATION"  # failed as the target file declares it does
    SKIPPED = "SKIPPED"  # skipped for another reason than UNSUPPORTED
    NOT_RUN = "NOT RUN"  # a requirement no case of the run checks (matrix only)


@dataclass(frozen=True)
class Case:
    """Metadata of one conformance case."""

    requirements: tuple[str, ...]
    title: str
    reference: str
    expectation: str
    mode: MediaMode | None = None
    features: tuple[AnchoredFeature, ...] = ()
    informational: bool = False
    forking: bool = False  # needs the target to declare how to fork ([forking])
    profile: str | None = None  # needs this table of the target file, e.g. "kazoo"
    links: tuple[str, ...] = field(default=())
    # What must hold before the case can observe its requirement (INCONCLUSIVE if not).
    needs: tuple[Precondition, ...] = ()
    # The target's log may show errors during this case (a robustness case provokes them).
    expects_target_errors: bool = False
    # Where the target sends the call is part of the requirement (a call admission policy
    # may reroute, a target must go on routing after malformed input): a call routed
    # elsewhere FAILS the case instead of breaking it as a wrong dial plan.
    judges_routing: bool = False

    def __post_init__(self) -> None:
        for rid in self.requirements:
            if not REQUIREMENT_RE.match(rid):
                raise ValueError(f"requirement id {rid!r} does not look like MM-PROXY-1")
        for need in self.needs:
            judged = set(need.counted_at) & set(self.requirements)
            if judged:
                raise ValueError(
                    f"a case of {', '.join(sorted(judged))} judges precondition {need.key!r}: "
                    "it cannot also need it")


CASE_ATTR = "__sbc_case__"
# allure-pytest reads a test's display name from this attribute after setup.
ALLURE_NAME_ATTR = "__allure_display_name__"
# The Allure label that carries a case's graded verdict (a `Verdict` value).
VERDICT_LABEL = "verdict"
# The Allure label giving a FAILED case's verdict on one of its requirements where it
# differs ("SIP-FORK-2=INCONCLUSIVE"): its failure is counted at another requirement (an
# unmet precondition that one judges, a call it left behind: ROB-3), which the case then
# also names. Absent: the case's verdict is its verdict on every requirement it names.
REQUIREMENT_VERDICT_LABEL = "requirement_verdict"


def case(
    *requirements: str,
    title: str,
    reference: str,
    expectation: str,
    mode: MediaMode | None = None,
    features: tuple[AnchoredFeature, ...] = (),
    informational: bool = False,
    forking: bool = False,
    teams_dr: bool = False,
    profile: str | None = None,
    needs: tuple[Precondition, ...] = (),
    expects_target_errors: bool = False,
    judges_routing: bool = False,
) -> Callable[[F], F]:
    """Declare a test function as a conformance case. `profile`: the target-file table the
    case needs (a target without it gets UNSUPPORTED); `teams_dr` is profile
    "teams_direct_routing"; `needs`: its preconditions (`harness.evidence.preconditions`);
    `expects_target_errors`: errors in the target's log during the case do not break it;
    `judges_routing`: a call the target routes elsewhere FAILS it (by default: BROKEN,
    the dial plan is wrong)."""
    if teams_dr:
        profile = "teams_direct_routing"
    meta = Case(tuple(requirements), title, reference, expectation, mode, features, informational,
                forking, profile, needs=tuple(needs),
                expects_target_errors=expects_target_errors, judges_routing=judges_routing)

    def wrap(fn: F) -> F:
        setattr(fn, CASE_ATTR, meta)
        setattr(fn, ALLURE_NAME_ATTR, f"{meta.title} [{', '.join(meta.requirements)}]")
        return fn

    return wrap
