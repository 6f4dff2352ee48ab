"""What a Teams Direct Routing call leaves behind (`DrOutcome`), and reading the ICE
parameters and SRTP keys out of its SDP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from harness.agents.call import DRAIN_S, SRTP_SUITE, final_and_ack, payloads_for
from harness.agents.media import RtpEndpoint, RtpRecord, StreamConfig
from harness.agents.outcome import CaptureEvidence
from harness.agents.sip_agent import SipAgent
from harness.ice.agent import CheckResult, IceAgent, RemoteIce, StunRecord
from harness.lab import Lab
from harness.net import Address
from harness.sdp import Codec, SdpParseError, SessionDescription
from harness.sip import Dialog, Request, Response
from harness.sip.headers import new_tag

__all__ = [
    "H264", "DrKnobs", "DrOutcome", "Nomination", "Parties", "TeamsDevice", "TeamsPath",
    "answer_200", "remote_ice", "srtp_key", "tones_both_ways", "two_parties",
]

Nomination = Literal["before-200", "after-200"]
H264 = Codec(96, "H264", 90000)


@dataclass
class TeamsDevice:
    """One forked Teams device, as it acted and as it saw the call."""

    host: str
    port: int = 5060
    to_tag: str = field(default_factory=new_tag)
    reached: bool = False
    offer: SessionDescription | None = None
    answer: SessionDescription | None = None
    checks: list[CheckResult] = field(default_factory=list)
    stun: list[StunRecord] = field(default_factory=list)
    nominated: Address | None = None
    nominated_at: float | None = None
    answered: bool = False
    cancelled: bool = False
    rtp: list[RtpRecord] = field(default_factory=list)


class DrKnobs(TypedDict, total=False):
    """What a case may vary in a Teams call besides the direction, the nomination and
    the number of devices: each is the `DrOutcome` field of that name."""

    stun_probes: bool
    video: bool
    reinvite: bool
    early_dtmf: str
    answering_device: int
    several_crypto: bool
    early_paths: bool
    early_media_device: int


@dataclass
class TeamsPath:
    """One candidate of a Teams endpoint with several (DR-EM-2/4): where it was, its
    priority, and what its socket sent and received."""

    label: str
    address: Address
    priority: int
    default: bool = False  # the c=/m= address of the offer
    rtp: list[RtpRecord] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)


@dataclass
class DrOutcome(CaptureEvidence):
    request_uri: str
    nomination: Nomination = "before-200"
    caller: str = "caller"  # the PSTN side toward Teams; the Teams side from Teams
    callee: str = "callee1"  # the Teams side toward Teams; the PSTN side from Teams
    pstn_tone_hz: float = 700.0  # what the PSTN side sends
    teams_tone_hz: float = 1300.0  # what the Teams side sends
    packets_each_way: int = 15
    offer_to_pstn_side: SessionDescription | None = None  # what the caller sent
    offer_to_teams: SessionDescription | None = None  # the target's offer, as Teams got it
    answer_from_teams: SessionDescription | None = None  # what Teams sent (183 and 200)
    answer_to_pstn_side: SessionDescription | None = None  # the target's answer to the caller
    final_status: int | None = None
    ok_sent_at: float | None = None  # when Teams sent its 200
    remote: RemoteIce | None = None  # the target's ICE as Teams saw it
    checks: list[CheckResult] = field(default_factory=list)
    stun: list[StunRecord] = field(default_factory=list)
    nominated: Address | None = None
    nominated_at: float | None = None
    direction: Literal["to-teams", "from-teams"] = "to-teams"
    video: bool = False  # from Teams: offer an m=video section too (DR-SDP-1)
    teams_offer: SessionDescription | None = None  # from Teams: the Teams side's offer
    teams_got_183: SessionDescription | None = None  # from Teams: the target's 183 SDP
    teams_got_200: SessionDescription | None = None  # from Teams: the target's 200 SDP
    checks_after_200: int = 0  # checks the Teams side sent after the 200 arrived
    reinvite: bool = False  # from Teams: a re-INVITE with a=remote-candidates after media
    reinvite_offer: SessionDescription | None = None
    reinvite_answer: SessionDescription | None = None  # the target's answer, as Teams got it
    reinvite_status: int | None = None
    media_after_reinvite: float | None = None  # when the media phase after it began
    stun_probes: bool = False  # malformed STUN and an unknown attribute before the checks
    devices: list[TeamsDevice] = field(default_factory=list)  # forked: the Teams devices
    answering_device: int = 0  # forked: which of them answers 200
    early_dtmf: str = ""  # to Teams: digits the PSTN side sends as RFC 4733 before the 200
    several_crypto: bool = False  # to Teams: answer with two crypto lines, the first with MKI
    early_paths: bool = False  # from Teams: two candidates, early media before and after
    early_media_device: int = -1  # forked: this device streams early media before nominating
    paths: list[TeamsPath] = field(default_factory=list)  # early_paths: the two candidates
    marks: dict[str, float] = field(default_factory=dict)  # early media: when each step ended
    dtmf_sent: list[tuple[str, int]] = field(default_factory=list)
    probes: list[tuple[str, bytes]] = field(default_factory=list)  # (what, transaction id)
    unknown_attribute_check: CheckResult | None = None
    teams_address: Address | None = None  # the Teams endpoint's candidate
    pstn_rtp: list[RtpRecord] = field(default_factory=list)
    teams_rtp: list[RtpRecord] = field(default_factory=list)
    media_start: float | None = None


def remote_ice(sd: SessionDescription) -> RemoteIce | None:
    """The ICE parameters of the first stream (media level, else session level)."""
    if not sd.media:
        return None
    md = sd.media[0]
    session_ufrag, session_pwd = sd.get_attribute("ice-ufrag"), sd.get_attribute("ice-pwd")
    ufrag = md.ice_ufrag or (session_ufrag.value if session_ufrag else None)
    pwd = md.ice_pwd or (session_pwd.value if session_pwd else None)
    if not ufrag or not pwd:
        return None
    try:
        candidates = tuple((c.ip, c.port) for c in md.candidates()
                           if c.component == 1 and c.transport.upper() == "UDP")
    except SdpParseError:
        candidates = ()
    lite = sd.has_attribute("ice-lite") or md.has_attribute("ice-lite")
    return RemoteIce(str(ufrag), str(pwd), candidates, lite)


def srtp_key(line_source: SessionDescription) -> bytes | None:
    if not line_source.media:
        return None
    for crypto in line_source.media[0].crypto():
        if crypto.suite == SRTP_SUITE:
            return crypto.key_params[0].key_salt
    return None


@dataclass(frozen=True)
class Parties:
    """The two user agents of a one-to-one Teams call, their media ports, the Teams ICE."""

    caller: SipAgent
    callee: SipAgent
    pstn_rtp: RtpEndpoint
    teams_rtp: RtpEndpoint
    ice: IceAgent


@asynccontextmanager
async def two_parties(out: DrOutcome, lab: Lab, *, teams_calls: bool) -> AsyncIterator[Parties]:
    """Open the caller and callee (SIP and RTP) on their lab hosts, the Teams side (the
    caller if `teams_calls`, else the callee) with an ICE agent on its media port; on the
    way out record everything they saw into `out` and close them."""
    async with AsyncExitStack() as stack:
        # Runs last: asyncio closes a datagram socket on the next loop turn.
        stack.push_async_callback(asyncio.sleep, 0)
        caller = SipAgent(out.caller, lab.netns(out.caller), lab.address(out.caller))
        callee = SipAgent(out.callee, lab.netns(out.callee), lab.address(out.callee))
        caller_rtp = RtpEndpoint(out.caller, lab.netns(out.caller), lab.address(out.caller))
        callee_rtp = RtpEndpoint(out.callee, lab.netns(out.callee), lab.address(out.callee))
        things: list[SipAgent | RtpEndpoint] = [caller, callee, caller_rtp, callee_rtp]
        for thing in things:
            await thing.open()
            stack.callback(thing.close)
        teams_rtp, pstn_rtp = (caller_rtp, callee_rtp) if teams_calls else (callee_rtp,
                                                                             caller_rtp)
        ice = IceAgent(teams_rtp)
        out.teams_address = ice.address

        def collect() -> None:
            out.sip = sorted(caller.records + callee.records, key=lambda r: r.time)
            out.pstn_rtp, out.teams_rtp = list(pstn_rtp.records), list(teams_rtp.records)
            out.checks, out.stun = list(ice.checks), list(ice.records)
            out.nominated, out.nominated_at = ice.nominated, ice.nominated_at

        stack.callback(collect)
        yield Parties(caller, callee, pstn_rtp, teams_rtp, ice)


async def answer_200(
    out: DrOutcome, caller: SipAgent, callee: SipAgent, invite: Request, request: Request,
    to_tag: str, answer: SessionDescription,
) -> tuple[Response, Dialog] | None:
    """The callee answers `request` 200 with `answer` (`out.ok_sent_at`); the caller gets the
    final response to `invite` (`out.final_status`) and ACKs a 2xx. None when not a 2xx."""
    callee.endpoint.respond(request, 200, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    out.ok_sent_at = callee.now
    callee.pump()
    final, dialog = await final_and_ack(caller, invite)
    out.final_status = final.status
    return None if dialog is None else (final, dialog)


async def tones_both_ways(
    out: DrOutcome, teams: tuple[RtpEndpoint, Codec], pstn: tuple[RtpEndpoint, Codec], *,
    pstn_stream: StreamConfig | None = None,
) -> None:
    """Each side sends `out.packets_each_way` packets of its tone to its endpoint's
    `remote` at once (a stream of its own, or `pstn_stream` going on), then a drain."""
    (teams_rtp, teams_codec), (pstn_rtp, pstn_codec) = teams, pstn
    await asyncio.gather(
        teams_rtp.send_stream(StreamConfig(teams_codec.payload_type),
                              payloads_for(teams_codec, out.teams_tone_hz, "teams"),
                              out.packets_each_way),
        pstn_rtp.send_stream(pstn_stream or StreamConfig(pstn_codec.payload_type),
                             payloads_for(pstn_codec, out.pstn_tone_hz, "pstn"),
                             out.packets_each_way),
    )
    await asyncio.sleep(DRAIN_S)
