"""Gaps in the capture: frames the reader could not read (IPv6, IP fragments, frames cut
by the snap length, ...) are never judged, so a check that would conclude that nothing
went to or from an address must not conclude it when such frames involve that address:
it reports BROKEN (the evidence cannot decide) with the frames named."""

from __future__ import annotations

from collections.abc import Iterable

from harness.capture.pcap import unread_involving
from harness.conformance.findings import Finding, broken
from harness.evidence.call import CallOutcome, CaptureEvidence

__all__ = ["endpoint_addresses", "unread_gap"]


def unread_gap(evidence: CaptureEvidence, addresses: Iterable[str], claim: str
               ) -> Finding | None:
    """A BROKEN finding when unread frames of `evidence` involve one of `addresses`, saying
    which `claim` ("nothing went to or from the target") the capture cannot back."""
    frames = unread_involving(evidence.unread, addresses)
    if not frames:
        return None
    return broken(f"{len(frames)} captured frame(s) involving {', '.join(sorted(addresses))} "
                  f"could not be read, so the capture cannot show that {claim}",
                  [f.describe() for f in frames[:20]]
                  + ([f"... and {len(frames) - 20} more"] if len(frames) > 20 else []))


def endpoint_addresses(call: CallOutcome) -> set[str]:
    """The addresses of a call's two media endpoints on the lab."""
    return {call.hosts[h] for h in (call.caller_media_host or call.caller, call.callee)
            if h in call.hosts}
