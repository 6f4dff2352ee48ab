"""What a forked call with early media left behind (SIP-FORK-*, SIP-EARLY-1): each branch
as it acted and saw the call, and each early dialog as the caller saw it."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.evidence.call import CaptureEvidence
from harness.evidence.records import Address, RtpRecord
from harness.media.modes import MediaMode
from harness.sdp import SessionDescription
from harness.sip.headers import new_tag

__all__ = ["Branch", "EarlyDialog", "ForkOutcome"]


@dataclass
class Branch:
    """One forked callee, as it acted and as it saw the call."""

    host: str
    tone_hz: float
    streams_early: bool
    port: int = 5060  # several branches can share a host, each user agent on its own port
    to_tag: str = field(default_factory=new_tag)
    # "address:port" the target is told to fork to instead of the callee (a shim)
    dial: str | None = None
    reached: bool = False
    offer_received: SessionDescription | None = None
    sdp_sent: SessionDescription | None = None
    cancelled: bool = False
    answered: bool = False
    got_bye: bool = False
    rtp: list[RtpRecord] = field(default_factory=list)


@dataclass
class EarlyDialog:
    """An early dialog as the caller saw it: the first 18x with a new To-tag."""

    to_tag: str
    status: int
    time: float
    sdp: SessionDescription | None
    source: Address


@dataclass
class ForkOutcome(CaptureEvidence):
    mode: MediaMode
    request_uri: str
    fork_header: str
    branches: list[Branch]
    answerer: int  # index into branches
    early_to: int  # index of the branch whose early dialog the caller streams to
    early_media_s: float = 1.0
    after_answer_s: float = 0.2
    caller_tone_hz: float = 700.0
    dtmf: str = ""  # digits the caller sends as RFC 4733 events in the early dialog
    srtp: bool = False  # the caller offers SDES-SRTP; every callee answers with a key of its own
    dtmf_sent: list[tuple[str, int]] = field(default_factory=list)  # (digit, duration in ts)
    offer_sent: SessionDescription | None = None
    early_dialogs: list[EarlyDialog] = field(default_factory=list)
    final_status: int | None = None
    final_reason: str = ""
    final_to_tag: str | None = None
    answered_at: float | None = None  # when the caller got the 200 (loop clock)
    caller_rtp: list[RtpRecord] = field(default_factory=list)
    caller_ssrc: int | None = None
    bye_status: int | None = None
    target_alive_after: bool | None = None  # answered OPTIONS after the call (None: not asked)

    def dialog_of(self, branch: Branch) -> EarlyDialog | None:
        return next((d for d in self.early_dialogs if d.to_tag == branch.to_tag), None)

