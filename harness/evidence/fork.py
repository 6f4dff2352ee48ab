"""A forked call with early media (SIP-FORK-*, SIP-EARLY-1): what it is to be (`ForkPlan`,
its branches as `BranchPlan`s) and what it left behind (`ForkOutcome`: each branch as it
acted and saw the call, each early dialog as the caller saw it), all frozen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.capture.pcap import CapturedPacket, UnreadFrame
from harness.evidence.records import Address, RtpRecord, SipRecord
from harness.media.modes import MediaMode
from harness.sdp import SessionDescription
from harness.sip.headers import new_tag

__all__ = ["Branch", "BranchPlan", "EarlyDialog", "ForkOutcome", "ForkPlan", "dialog_of"]


@dataclass(frozen=True, kw_only=True)
class BranchPlan:
    """One forked callee as the call plans it."""

    host: str
    tone_hz: float
    streams_early: bool
    port: int = 5060  # several branches can share a host, each user agent on its own port
    to_tag: str = field(default_factory=new_tag)
    # "address:port" the target is told to fork to instead of the callee (a shim)
    dial: str | None = None


@dataclass(frozen=True, kw_only=True)
class Branch(BranchPlan):
    """One forked callee, as it acted and as it saw the call."""

    reached: bool = False
    offer_received: SessionDescription | None = None
    sdp_sent: SessionDescription | None = None
    cancelled: bool = False
    answered: bool = False
    got_bye: bool = False
    rtp: tuple[RtpRecord, ...] = ()


@dataclass(frozen=True)
class EarlyDialog:
    """An early dialog as the caller saw it: the first 18x with a new To-tag."""

    to_tag: str
    status: int
    time: float
    sdp: SessionDescription | None
    source: Address


@dataclass(frozen=True, kw_only=True)
class ForkPlan:
    """One caller, `branches` callees ringing in parallel behind the target (the target
    file's fork header names the extra ones), who answers, where the caller streams early
    media to, and where the capture goes."""

    mode: MediaMode
    request_uri: str
    fork_header: str
    branches: tuple[BranchPlan, ...]
    answerer: int  # index into branches
    early_to: int  # index of the branch whose early dialog the caller streams to
    early_media_s: float = 1.0
    after_answer_s: float = 0.2
    caller_tone_hz: float = 700.0
    dtmf: str = ""  # digits the caller sends as RFC 4733 events in the early dialog
    srtp: bool = False  # the caller offers SDES-SRTP; every callee answers with a key of its own
    hosts: Mapping[str, str] = field(default_factory=dict)  # name -> address
    target_addresses: frozenset[str] = frozenset()
    pcap: Path | None = None


@dataclass(frozen=True, kw_only=True)
class ForkOutcome(ForkPlan):
    """The plan, and what the forked call left behind."""

    branches: tuple[Branch, ...]
    sip: tuple[SipRecord, ...] = ()
    packets: tuple[CapturedPacket, ...] = ()
    unread: tuple[UnreadFrame, ...] = ()
    ladder: str = ""
    notes: tuple[str, ...] = ()
    dtmf_sent: tuple[tuple[str, int], ...] = ()  # (digit, duration in timestamp units)
    offer_sent: SessionDescription | None = None
    early_dialogs: tuple[EarlyDialog, ...] = ()
    final_status: int | None = None
    final_reason: str = ""
    final_to_tag: str | None = None
    answered_at: float | None = None  # when the caller got the 200 (loop clock)
    caller_rtp: tuple[RtpRecord, ...] = ()
    caller_ssrc: int | None = None
    bye_status: int | None = None
    target_alive_after: bool | None = None  # answered OPTIONS after the call (None: not asked)

    def dialog_of(self, branch: BranchPlan) -> EarlyDialog | None:
        return dialog_of(self.early_dialogs, branch)


def dialog_of(dialogs: Iterable[EarlyDialog], branch: BranchPlan) -> EarlyDialog | None:
    """The early dialog `branch`'s 18x made, among `dialogs` (None: none reached the
    caller)."""
    return next((d for d in dialogs if d.to_tag == branch.to_tag), None)
