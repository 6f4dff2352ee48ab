"""A Teams Direct Routing call (DR-*, seed 003): what it is to be (`DrPlan`) and what it
left behind (`DrOutcome`: the SDP each side sent and received, every STUN message and
check of the Teams-like endpoint, the RTP of both sides, and per forked device or per
candidate what it saw), all frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.capture.pcap import CapturedPacket, UnreadFrame
from harness.evidence.records import Address, CheckResult, RtpRecord, SipRecord, StunRecord
from harness.sdp import SessionDescription
from harness.sdp.reading import RemoteIce
from harness.sip.headers import new_tag

__all__ = ["DrOutcome", "DrPlan", "Nomination", "TeamsDevice", "TeamsDevicePlan", "TeamsPath"]

Nomination = Literal["before-200", "after-200"]


@dataclass(frozen=True, kw_only=True)
class TeamsDevicePlan:
    """One Teams device a call toward Teams is forked to."""

    host: str
    port: int = 5060
    to_tag: str = field(default_factory=new_tag)


@dataclass(frozen=True, kw_only=True)
class TeamsDevice(TeamsDevicePlan):
    """One forked Teams device, as it acted and as it saw the call."""

    reached: bool = False
    offer: SessionDescription | None = None
    answer: SessionDescription | None = None
    checks: tuple[CheckResult, ...] = ()
    stun: tuple[StunRecord, ...] = ()
    nominated: Address | None = None
    nominated_at: float | None = None
    answered: bool = False
    cancelled: bool = False
    rtp: tuple[RtpRecord, ...] = ()


@dataclass(frozen=True)
class TeamsPath:
    """One candidate of a Teams endpoint with several (DR-EM-2/4): where it was, its
    priority, and what its socket sent and received."""

    label: str
    address: Address
    priority: int
    default: bool = False  # the c=/m= address of the offer
    rtp: tuple[RtpRecord, ...] = ()
    checks: tuple[CheckResult, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DrPlan:
    """A Teams Direct Routing call as it is to be: which way, how the Teams side
    nominates, what it varies (each knob a field), and where the capture goes."""

    request_uri: str
    nomination: Nomination = "before-200"
    caller: str = "caller"  # the PSTN side toward Teams; the Teams side from Teams
    callee: str = "callee1"  # the Teams side toward Teams; the PSTN side from Teams
    pstn_tone_hz: float = 700.0  # what the PSTN side sends
    teams_tone_hz: float = 1300.0  # what the Teams side sends
    packets_each_way: int = 15
    direction: Literal["to-teams", "from-teams"] = "to-teams"
    video: bool = False  # from Teams: offer an m=video section too (DR-SDP-1)
    reinvite: bool = False  # from Teams: a re-INVITE with a=remote-candidates after media
    stun_probes: bool = False  # malformed STUN and an unknown attribute before the checks
    devices: tuple[TeamsDevicePlan, ...] = ()  # forked: the Teams devices
    answering_device: int = 0  # forked: which of them answers 200
    early_dtmf: str = ""  # to Teams: digits the PSTN side sends as RFC 4733 before the 200
    several_crypto: bool = False  # to Teams: answer with two crypto lines, the first with MKI
    early_paths: bool = False  # from Teams: two candidates, early media before and after
    early_media_device: int = -1  # forked: this device streams early media before nominating
    hosts: Mapping[str, str] = field(default_factory=dict)  # name -> address
    target_addresses: frozenset[str] = frozenset()
    pcap: Path | None = None


@dataclass(frozen=True, kw_only=True)
class DrOutcome(DrPlan):
    """The plan, and what the Teams call left behind."""

    devices: tuple[TeamsDevice, ...] = ()
    sip: tuple[SipRecord, ...] = ()
    packets: tuple[CapturedPacket, ...] = ()
    unread: tuple[UnreadFrame, ...] = ()
    ladder: str = ""
    notes: tuple[str, ...] = ()
    offer_to_pstn_side: SessionDescription | None = None  # what the caller sent
    offer_to_teams: SessionDescription | None = None  # the target's offer, as Teams got it
    answer_from_teams: SessionDescription | None = None  # what Teams sent (183 and 200)
    answer_to_pstn_side: SessionDescription | None = None  # the target's answer to the caller
    final_status: int | None = None
    ok_sent_at: float | None = None  # when Teams sent its 200
    remote: RemoteIce | None = None  # the target's ICE as Teams saw it
    checks: tuple[CheckResult, ...] = ()
    stun: tuple[StunRecord, ...] = ()
    nominated: Address | None = None
    nominated_at: float | None = None
    teams_offer: SessionDescription | None = None  # from Teams: the Teams side's offer
    teams_got_183: SessionDescription | None = None  # from Teams: the target's 183 SDP
    teams_got_200: SessionDescription | None = None  # from Teams: the target's 200 SDP
    checks_after_200: int = 0  # checks the Teams side sent after the 200 arrived
    reinvite_offer: SessionDescription | None = None
    reinvite_answer: SessionDescription | None = None  # the target's answer, as Teams got it
    reinvite_status: int | None = None
    media_after_reinvite: float | None = None  # when the media phase after it began
    paths: tuple[TeamsPath, ...] = ()  # early_paths: the two candidates
    marks: Mapping[str, float] = field(default_factory=dict)  # early media: when steps ended
    dtmf_sent: tuple[tuple[str, int], ...] = ()
    probes: tuple[tuple[str, bytes], ...] = ()  # (what, transaction id)
    unknown_attribute_check: CheckResult | None = None
    teams_address: Address | None = None  # the Teams endpoint's candidate
    pstn_rtp: tuple[RtpRecord, ...] = ()
    teams_rtp: tuple[RtpRecord, ...] = ()
    media_start: float | None = None
