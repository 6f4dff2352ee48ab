"""What the bypass-policy scenarios left behind: the calls of the admission-control
scenario by role (SFB-7), and bypass against anchored over the impaired WAN link."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.evidence.call import CallOutcome
from harness.media.legs import LegStats
from harness.media.modes import MediaMode

__all__ = ["CacOutcome", "CallQuality", "Impairment"]


@dataclass(frozen=True)
class CacOutcome:
    """The calls of the scenario, in the order they were placed, by role."""

    limit: int
    wan_held: tuple[CallOutcome, ...] = ()
    over_limit: CallOutcome | None = None
    bypass_while_full: CallOutcome | None = None
    bypass_held: tuple[CallOutcome, ...] = ()
    wan_while_bypass_held: CallOutcome | None = None
    pcap: Path | None = None

    @property
    def calls(self) -> list[CallOutcome]:
        return [c for c in (*self.wan_held, self.over_limit, self.bypass_while_full,
                            *self.bypass_held, self.wan_while_bypass_held) if c is not None]



@dataclass(frozen=True)
class Impairment:
    delay_ms: float = 40.0
    loss: float = 0.02
    rate_kbit: float = 0.0
    seed: int = 3

    def __str__(self) -> str:
        rate = f", {self.rate_kbit:g} kbit/s" if self.rate_kbit else ""
        return f"{self.delay_ms:g} ms one-way delay, {self.loss:.0%} loss{rate} per direction"


@dataclass(frozen=True)
class CallQuality:
    """One call over the impaired WAN link and each of its media legs measured."""

    mode: MediaMode
    call: CallOutcome
    legs: tuple[LegStats, ...] = ()

