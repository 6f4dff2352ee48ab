"""Preconditions: what must have happened on the wire before a case can observe its own
requirement (ETSI TS 102 027's "inconc": the test purpose was not reached).

A case declares the preconditions it needs, as data next to its requirement IDs
(``@case(..., needs=(EARLY_DIALOG,))``). A scenario that finds one unmet (the 183 never
came, the call was never answered) raises `PreconditionUnmet` naming it. The plugin then
grades the case:

- INCONCLUSIVE, with the unmet precondition named, when the case declares it: the case's
  own requirement was never observed, so it is neither passed nor failed;
- FAILED otherwise: a case that does not declare a precondition is one that judges it
  (each precondition names the requirements whose cases count its failure).

So a target that sends no 183 fails SIP-EARLY-1 once, where the failure is counted, and
leaves the other cases that needed a 183 INCONCLUSIVE instead of failing them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from harness.errors import HarnessError, TargetViolation

__all__ = ["ANSWERED", "EARLY_DIALOG", "FORKED", "PRECONDITIONS", "TEAMS_SDES", "Precondition",
           "PreconditionUnmet", "RoutingMismatch", "unless_met"]


@dataclass(frozen=True)
class Precondition:
    """One precondition: its key (as written in the report), what must hold in words, and
    the requirements whose cases judge it (where its failure is counted)."""

    key: str
    holds_when: str
    counted_at: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.key} ({self.holds_when}; judged by {', '.join(self.counted_at)})"


ANSWERED = Precondition(
    "answered", "the INVITE reaches the callee through the target and its 200 reaches the "
    "caller, confirming the dialog", ("MM-BYPASS-1", "MM-PROXY-1", "MM-ANCHOR-1"))
EARLY_DIALOG = Precondition(
    "early-dialog", "a 183 with SDP reaches the caller before the 200", ("SIP-EARLY-1",))
FORKED = Precondition(
    "forked", "every callee the target forks to receives the INVITE", ("SIP-FORK-1",))
TEAMS_SDES = Precondition(
    "teams-sdes", "the target's offer toward Teams has an a=crypto line Teams can take: a "
    "suite it supports and no session parameter that turns encryption or authentication off",
    ("DR-SRTP-1",))

#: Every precondition by key.
PRECONDITIONS: MappingProxyType[str, Precondition] = MappingProxyType(
    {p.key: p for p in (ANSWERED, EARLY_DIALOG, FORKED, TEAMS_SDES)})


class PreconditionUnmet(TargetViolation):
    """The target did not bring the call to where the case could observe its requirement.

    A TargetViolation: a case that does not declare `precondition` (one that judges it)
    FAILS on it as on any other violation."""

    def __init__(self, precondition: Precondition, message: str, *,
                 evidence: bytes | str | None = None) -> None:
        super().__init__(f"precondition {precondition.key!r} not met: {message}",
                         evidence=evidence)
        self.precondition = precondition
        self.detail = message


@contextmanager
def unless_met(precondition: Precondition) -> Iterator[None]:
    """A violation raised inside the block (e.g. a response that did not arrive) means
    `precondition` did not hold: it is raised again as `PreconditionUnmet`, with the same
    words and evidence. One already naming a precondition passes unchanged."""
    try:
        yield
    except PreconditionUnmet:
        raise
    except TargetViolation as exc:
        raise PreconditionUnmet(precondition, str(exc), evidence=exc.evidence) from exc


class RoutingMismatch(HarnessError):
    """The INVITE the dial plan routes to an agent never reached it: the target sent it
    elsewhere, or nowhere. A wrong dial plan in the target file, not a violation of the
    case's requirement, so BROKEN with what to fix (issue 15), unless the case judges
    where calls go (``@case(..., judges_routing=True)``: FAILED).

    `sent_to` is filled in from the capture once it is read: where the target did send
    its INVITEs during the call ("host:port", or the lab host's name)."""

    def __init__(self, agent: str, expected: tuple[str, int], detail: str, *,
                 request_uri: str = "", sent_to: tuple[str, ...] | None = None,
                 ladder: str = "") -> None:
        self.agent, self.expected, self.detail = agent, expected, detail
        self.request_uri, self.sent_to, self.ladder = request_uri, sent_to, ladder
        super().__init__(self.words())

    def words(self) -> str:
        where = f"{self.agent} at {self.expected[0]}:{self.expected[1]}"
        if self.sent_to is None:
            went = "(the capture could not tell where the target sent it)"
        elif self.sent_to:
            went = f"the target sent the INVITE to {', '.join(self.sent_to)}, expected {where}"
        else:
            went = (f"the target sent no INVITE on at all, expected one to {where} (unless it "
                    "stopped routing calls altogether)")
        dialled = f" (the caller dialled {self.request_uri})" if self.request_uri else ""
        return (f"{went}: check the dial plan in the target file{dialled}, what each mode "
                f"and profile dials and where the target routes it. {self.detail}")

    def located(self, sent_to: tuple[str, ...], ladder: str) -> RoutingMismatch:
        """The same mismatch with where the INVITEs went, as the capture shows it."""
        return RoutingMismatch(self.agent, self.expected, self.detail,
                               request_uri=self.request_uri, sent_to=sent_to, ladder=ladder)
