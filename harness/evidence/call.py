"""A call through the target: what it is to be (`CallPlan`) and what it left behind
(`CallOutcome`), both frozen.

A scenario takes a `CallPlan` and returns a `CallOutcome`: the plan's fields, then the
SIP final answer, the SDP as each side sent and received it, each endpoint's record of
RTP, the media phases, and the capture with its media-path analysis. Checks are pure
functions of it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.capture.mediapath import MediaPathReport, classify_media_path
from harness.capture.pcap import CapturedPacket, UnreadFrame
from harness.evidence.records import RtpRecord, SipRecord
from harness.media.modes import MediaMode
from harness.sdp import Codec, SessionDescription


@dataclass(frozen=True)
class Side:
    """What one user agent offers or accepts, and the tone it sends."""

    codecs: tuple[Codec, ...] | None = None  # None: PCMU and PCMA
    srtp: bool = False  # caller: offer RTP/SAVP; callee: accept RTP/SAVP
    tone_hz: float | None = None  # None: the caller 700 Hz, the callee 1300 Hz
    # extra media-level attributes for its offer or answer, e.g. ("zrtp-hash", "1.10 ab..")
    attributes: tuple[tuple[str, str | None], ...] = ()
    dtmf: str = ""  # digits the side sends as RFC 4733 events after its tone
    early_answer: bool = False  # callee: answer 183 with its SDP before the 200 (not 180)


class Reinvite(enum.Enum):
    """One re-INVITE the caller sends after the first media phase (SIP-REINV-1..3)."""

    HOLD = "hold"
    """Offer ``a=sendonly``: the callee answers recvonly and falls silent."""
    INACTIVE = "inactive"
    """Offer ``a=inactive``: nobody sends."""
    RESUME = "resume"
    """Offer ``a=sendrecv`` again: media both ways."""
    CODEC = "codec"
    """Offer only the other G.711 codec (PCMA if the call uses PCMU, else PCMU)."""
    ADDRESS = "address"
    """Offer from a new RTP port; the callee answers from a new port of its own."""
    OFFERLESS = "offerless"
    """No SDP in the re-INVITE: the callee offers in the 200 (from a new port), the caller
    answers in the ACK."""


@dataclass(frozen=True)
class Phase:
    """One media phase of a call: after the initial INVITE (``step`` None) or a re-INVITE.

    The SDPs are the latest each side sent and received in the exchange that opened
    the phase; ports, codecs and whether a side sends are what the agents did after
    it, following the SDP they held (an agent obeys what it received, so a target that
    changes a direction or an address shows on the wire).
    """

    step: Reinvite | None
    status: int | None = None  # the final response to the (re-)INVITE
    caller_sdp_sent: SessionDescription | None = None
    callee_sdp_received: SessionDescription | None = None
    callee_sdp_sent: SessionDescription | None = None
    caller_sdp_received: SessionDescription | None = None
    caller_port: int = 0  # where each side listens for media in this phase
    callee_port: int = 0
    caller_sends: bool = True
    callee_sends: bool = True
    caller_codec: Codec | None = None  # what each side negotiated (sends and expects)
    callee_codec: Codec | None = None
    start: float = 0.0  # the media window on the agents' clock
    end: float = 0.0

    @property
    def name(self) -> str:
        return self.step.value if self.step is not None else "initial"

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, kw_only=True)
class CallPlan:
    """Who calls whom through which mode, as which user agents, and where the capture
    goes: fixed before the call, never changed by it."""

    mode: MediaMode
    label: str
    request_uri: str
    caller: str
    callee: str
    caller_side: Side = Side()
    callee_side: Side = Side()
    caller_tone_hz: float = 700.0
    callee_tone_hz: float = 1300.0
    reinvites: tuple[Reinvite, ...] = ()  # sent in order after the first media phase
    caller_port: int = 5060  # the SIP ports of the two agents (several calls on one host)
    # The caller's media on another host than its signalling: a mediation server that
    # signals for a client whose media goes straight to the target (SFB-4).
    caller_media_host: str | None = None
    callee_port: int = 5060
    # None: no final response within 2 s is a TargetViolation. A number: the caller waits
    # that long, then records no final response (`final_status` None), CANCELs and ends.
    final_timeout: float | None = None
    hosts: Mapping[str, str] = field(default_factory=dict)  # name -> address
    target_addresses: frozenset[str] = frozenset()
    pcap: Path | None = None
    # capture only traffic from or to `hosts` (a call sampled during a load run)
    capture_only_hosts: bool = False


@dataclass(frozen=True, kw_only=True)
class CallOutcome(CallPlan):
    """The plan, and what the call left behind."""

    sip: tuple[SipRecord, ...] = ()  # every SIP datagram either agent sent or received
    packets: tuple[CapturedPacket, ...] = ()
    # frames of the capture that are not IPv4/UDP (IPv6, fragments, ...): never judged,
    # so a check that would clear an address they involve cannot conclude (BROKEN)
    unread: tuple[UnreadFrame, ...] = ()
    ladder: str = ""
    notes: tuple[str, ...] = ()
    early_answer_received: SessionDescription | None = None  # the 183's SDP at the caller
    provisionals: tuple[int, ...] = ()  # 1xx statuses the caller got
    final_status: int | None = None
    final_reason: str = ""
    offer_sent: SessionDescription | None = None  # caller -> target
    offer_received: SessionDescription | None = None  # target -> callee
    answer_sent: SessionDescription | None = None  # callee -> target
    answer_received: SessionDescription | None = None  # target -> caller
    caller_codec: Codec | None = None  # what the caller ended up sending
    callee_codec: Codec | None = None  # what the callee ended up sending
    dtmf_sent: tuple[tuple[str, int], ...] = ()  # (digit, duration in timestamp units)
    phases: tuple[Phase, ...] = ()  # the first, then one per re-INVITE
    caller_rtp: tuple[RtpRecord, ...] = ()
    callee_rtp: tuple[RtpRecord, ...] = ()
    path: MediaPathReport | None = None

    @property
    def established(self) -> bool:
        return self.final_status is not None and 200 <= self.final_status < 300


@dataclass(frozen=True)
class CaptureRead:
    """What a call's capture showed: the datagrams read, the frames that could not be
    read, and the SIP ladder drawn from them."""

    packets: tuple[CapturedPacket, ...] = ()
    unread: tuple[UnreadFrame, ...] = ()
    ladder: str = ""


def media_path(call: CallPlan, packets: Sequence[CapturedPacket]) -> MediaPathReport:
    """The media path of `call` as its capture shows it, between the caller's media host
    and the callee (the target's addresses and the lab's hosts as the call named them)."""
    return classify_media_path(
        packets, endpoints=call.hosts, target_addresses=call.target_addresses,
        a=call.caller_media_host or call.caller, b=call.callee,
    )
