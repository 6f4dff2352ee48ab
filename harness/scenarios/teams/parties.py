"""The parts every Teams Direct Routing call shares: what a case may vary (`DrKnobs`),
the call's working record (`DrProgress`, made the frozen `DrOutcome` at the end), the two
parties and their media, the 200 and the tones both ways, and the SDES line the Teams side
takes and the SRTP it keys with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TypedDict

from harness.endpoints.ice import IceAgent
from harness.endpoints.rtp import RtpEndpoint, StreamConfig
from harness.endpoints.sip import SipAgent
from harness.evidence.call import CaptureRead
from harness.evidence.preconditions import TEAMS_SDES, PreconditionUnmet
from harness.evidence.recording import keep
from harness.evidence.records import (
    Address,
    CheckResult,
    RtpRecord,
    SipRecord,
    StunRecord,
    fields_of,
    frozen_fields,
)
from harness.evidence.teams import DrOutcome, DrPlan, TeamsDevice, TeamsPath
from harness.lab import Lab
from harness.media.srtp import SRTP_SUITES, SrtpSession
from harness.scenarios.call import (
    DRAIN_S,
    endpoints_on,
    final_and_ack,
    open_all,
    payloads_for,
)
from harness.sdp import Codec, CryptoAttribute, SessionDescription
from harness.sdp.crypto import CryptoPick, pick_crypto
from harness.sdp.reading import RemoteIce
from harness.sip import Dialog, Request, Response

__all__ = [
    "H264", "DeviceProgress", "DrKnobs", "DrProgress", "Parties", "answer_200", "key_srtp",
    "sdes_refused", "teams_crypto", "tones_both_ways", "two_parties",
]

H264 = Codec(96, "H264", 90000)


class DrKnobs(TypedDict, total=False):
    """What a case may vary in a Teams call besides the direction, the nomination and
    the number of devices: each is the `DrPlan` field of that name."""

    stun_probes: bool
    video: bool
    reinvite: bool
    early_dtmf: str
    answering_device: int
    several_crypto: bool
    early_paths: bool
    early_media_device: int


@dataclass
class DeviceProgress:
    """What one forked Teams device did and saw so far."""

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


@dataclass
class DrProgress:
    """What a Teams call has left behind so far: the scenario's working record, filled
    while the call runs (also when it ends early); `observe` makes the frozen
    `DrOutcome`."""

    devices: list[DeviceProgress] = field(default_factory=list)
    sip: list[SipRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    offer_to_pstn_side: SessionDescription | None = None
    offer_to_teams: SessionDescription | None = None
    answer_from_teams: SessionDescription | None = None
    answer_to_pstn_side: SessionDescription | None = None
    final_status: int | None = None
    ok_sent_at: float | None = None
    remote: RemoteIce | None = None
    checks: list[CheckResult] = field(default_factory=list)
    stun: list[StunRecord] = field(default_factory=list)
    nominated: Address | None = None
    nominated_at: float | None = None
    teams_offer: SessionDescription | None = None
    teams_got_183: SessionDescription | None = None
    teams_got_200: SessionDescription | None = None
    checks_after_200: int = 0
    reinvite_offer: SessionDescription | None = None
    reinvite_answer: SessionDescription | None = None
    reinvite_status: int | None = None
    media_after_reinvite: float | None = None
    paths: list[TeamsPath] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    dtmf_sent: list[tuple[str, int]] = field(default_factory=list)
    probes: list[tuple[str, bytes]] = field(default_factory=list)
    unknown_attribute_check: CheckResult | None = None
    teams_address: Address | None = None
    pstn_rtp: list[RtpRecord] = field(default_factory=list)
    teams_rtp: list[RtpRecord] = field(default_factory=list)
    media_start: float | None = None

    @classmethod
    def of(cls, plan: DrPlan) -> DrProgress:
        return cls([DeviceProgress() for _ in plan.devices])

    def observe(self, plan: DrPlan, capture: CaptureRead | None = None) -> DrOutcome:
        """The frozen outcome of the call `plan` described, with what its capture showed
        (None: the call went wrong before its capture could be read)."""
        read = capture or CaptureRead()
        devices = tuple(TeamsDevice(**fields_of(d), **frozen_fields(seen))
                        for d, seen in zip(plan.devices, self.devices, strict=True))
        values = frozen_fields(self) | {"devices": devices, "marks": dict(self.marks)}
        outcome = DrOutcome(**(fields_of(plan) | values), packets=read.packets,
                            unread=read.unread, ladder=read.ladder)
        keep(outcome)
        return outcome


def teams_crypto(offer: SessionDescription) -> CryptoPick:
    """The target's a=crypto line (of the first m-line) the Teams side takes: the first
    whose suite `harness.media.srtp` runs, with one key of the right length and no session
    parameter that turns encryption or authentication off or that it does not understand
    (`harness.sdp.crypto.refusal`); with the lines passed over and why."""
    lines = offer.media[0].crypto() if offer.media else []
    return pick_crypto(lines, SRTP_SUITES)


def sdes_refused(pick: CryptoPick) -> PreconditionUnmet:
    """What the Teams side raises after refusing the offer with 488: no line of it could
    be taken, each named with why (the case judging DR-SRTP-1 counts it)."""
    return PreconditionUnmet(TEAMS_SDES, "the Teams side refused the offer with 488: "
                             + pick.reason)


def key_srtp(rtp: RtpEndpoint, *, mine: CryptoAttribute, theirs: CryptoAttribute) -> None:
    """Key `rtp` for one SDES exchange: send with `mine` (our line: its key, and its MKI
    in every packet if it has one), receive with `theirs` (the peer's key and MKI). Both
    lines are of one suite: an answer takes the offered line's suite under its tag.
    `ValueError` (and `rtp` left as it was) for a suite `harness.media.srtp` does not run
    or a key of the wrong length."""
    ours, peers = mine.key_params[0], theirs.key_params[0]
    tx = SrtpSession(mine.suite, ours.key_salt, "outbound", mki=ours.mki_bytes)
    rx = SrtpSession(theirs.suite, peers.key_salt, "inbound", mki=peers.mki_bytes)
    rtp.tx_srtp, rtp.rx_srtp = tx, rx


@dataclass(frozen=True)
class Parties:
    """The two user agents of a one-to-one Teams call, their media ports, the Teams ICE."""

    caller: SipAgent
    callee: SipAgent
    pstn_rtp: RtpEndpoint
    teams_rtp: RtpEndpoint
    ice: IceAgent


@asynccontextmanager
async def two_parties(plan: DrPlan, rec: DrProgress, lab: Lab, *, teams_calls: bool
                      ) -> AsyncIterator[Parties]:
    """Open the caller and callee (SIP and RTP) on their lab hosts, the Teams side (the
    caller if `teams_calls`, else the callee) with an ICE agent on its media port; on the
    way out record everything they saw into `rec` and close them."""
    async with AsyncExitStack() as stack:
        # Runs last: asyncio closes a datagram socket on the next loop turn.
        stack.push_async_callback(asyncio.sleep, 0)
        caller, caller_rtp = endpoints_on(lab, plan.caller)
        callee, callee_rtp = endpoints_on(lab, plan.callee)
        await open_all(stack, caller, callee, caller_rtp, callee_rtp, notes=rec.notes)
        teams_rtp, pstn_rtp = (caller_rtp, callee_rtp) if teams_calls else (callee_rtp,
                                                                             caller_rtp)
        ice = IceAgent(teams_rtp)
        rec.teams_address = ice.address

        def collect() -> None:
            rec.sip = sorted(caller.records + callee.records, key=lambda r: r.time)
            rec.pstn_rtp, rec.teams_rtp = list(pstn_rtp.records), list(teams_rtp.records)
            rec.checks, rec.stun = list(ice.checks), list(ice.records)
            rec.nominated, rec.nominated_at = ice.nominated, ice.nominated_at

        stack.callback(collect)
        yield Parties(caller, callee, pstn_rtp, teams_rtp, ice)


async def answer_200(
    rec: DrProgress, caller: SipAgent, callee: SipAgent, invite: Request, request: Request,
    to_tag: str, answer: SessionDescription,
) -> tuple[Response, Dialog] | None:
    """The callee answers `request` 200 with `answer` (`rec.ok_sent_at`); the caller gets the
    final response to `invite` (`rec.final_status`) and ACKs a 2xx. None when not a 2xx."""
    callee.endpoint.respond(request, 200, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    rec.ok_sent_at = callee.now
    callee.pump()
    final, dialog = await final_and_ack(caller, invite)
    rec.final_status = final.status
    return None if dialog is None else (final, dialog)


async def tones_both_ways(
    plan: DrPlan, teams: tuple[RtpEndpoint, Codec], pstn: tuple[RtpEndpoint, Codec], *,
    pstn_stream: StreamConfig | None = None,
) -> None:
    """Each side sends `plan.packets_each_way` packets of its tone to its endpoint's
    `remote` at once (a stream of its own, or `pstn_stream` going on), then a drain."""
    (teams_rtp, teams_codec), (pstn_rtp, pstn_codec) = teams, pstn
    await asyncio.gather(
        teams_rtp.send_stream(StreamConfig(teams_codec.payload_type),
                              payloads_for(teams_codec, plan.teams_tone_hz, "teams"),
                              plan.packets_each_way),
        pstn_rtp.send_stream(pstn_stream or StreamConfig(pstn_codec.payload_type),
                             payloads_for(pstn_codec, plan.pstn_tone_hz, "pstn"),
                             plan.packets_each_way),
    )
    await asyncio.sleep(DRAIN_S)
