"""Gaps in the capture: frames the reader could not read (IPv6, IP fragments, frames cut
by the snap length, ...) are never judged, so a check that would conclude that nothing
went to or from an address must not conclude it when such frames involve that address:
it reports BROKEN (the evidence cannot decide) with the frames named."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from harness.capture.pcap import UnreadFrame, unread_involving
from harness.conformance.findings import Finding, broken
from harness.evidence.call import CallPlan

__all__ = ["endpoint_addresses", "unread_gap"]


class Captured(Protocol):
    """Any record with the frames its capture could not read."""

    @property
    def unread(self) -> Sequence[UnreadFrame]: ...


def unread_gap(evidence: Captured, addresses: Iterable[str], claim: str, *,
               besides: Iterable[str] = ()) -> Finding | None:
    """A BROKEN finding when unread frames of `evidence` involve one of `addresses`, saying
    which `claim` ("nothing went to or from the target") the capture cannot back. Frames
    to or from one of `besides` are left out: for "nothing went endpoint to endpoint",
    a frame the target sent or received cannot be such media."""
    addresses, left_out = sorted(set(addresses)), set(besides)
    frames = [f for f in unread_involving(evidence.unread, addresses)
              if f.src not in left_out and f.dst not in left_out]
    if not frames:
        return None
    return broken(f"{len(frames)} captured frame(s) involving {', '.join(addresses)} "
                  f"could not be read, so the capture cannot show that {claim}",
                  [f.describe() for f in frames[:20]]
                  + ([f"... and {len(frames) - 20} more"] if len(frames) > 20 else []))


def endpoint_addresses(call: CallPlan) -> set[str]:
    """The addresses of a call's two media endpoints on the lab."""
    return {call.hosts[h] for h in (call.caller_media_host or call.caller, call.callee)
            if h in call.hosts}
