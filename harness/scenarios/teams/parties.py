"""What a Teams Direct Routing call leaves behind (`DrOutcome`), and reading the ICE
parameters and SRTP keys out of its SDP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TypedDict

from harness.endpoints.ice import IceAgent
from harness.endpoints.rtp import RtpEndpoint, StreamConfig
from harness.endpoints.sip import SipAgent
from harness.evidence.teams import DrOutcome
from harness.lab import Lab
from harness.scenarios.call import DRAIN_S, SRTP_SUITE, final_and_ack, payloads_for
from harness.sdp import Codec, SessionDescription
from harness.sip import Dialog, Request, Response

__all__ = [
    "H264", "DrKnobs", "Parties", "answer_200", "srtp_key", "tones_both_ways", "two_parties",
]

H264 = Codec(96, "H264", 90000)


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
