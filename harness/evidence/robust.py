"""What the relay-port probes of one relayed call saw (ROB-2, ROB-3)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.evidence.call import CallOutcome
from harness.evidence.records import Address

__all__ = ["RelayProbe"]


@dataclass(frozen=True, kw_only=True)
class RelayProbe:
    """What the relay-port probes of one relayed call saw."""

    call: CallOutcome
    injected_from: str = ""
    injected_to: Address | None = None
    injected_ssrc: int = 0  # the SSRC the stranger's RTP carries
    injected_after_s: float = 0.0  # how long into the call it was sent
    injected: int = 0
    injected_received: int = 0  # packets with `injected_ssrc` at the call's endpoints
    garbage_sent: int = 0  # malformed STUN/RTP datagrams sent to the relay ports
    garbage_to: tuple[Address, ...] = ()
    garbage_relayed: tuple[str, ...] = ()  # names, seen leaving the target
    garbage_done_at: float = 0.0  # agents' clock
    caller_sent_after_garbage: int = 0
    callee_got_after_garbage: int = 0
    after_bye_sent: int = 0
    after_bye_received: int = 0
    notes: tuple[str, ...] = ()

