"""The call from Teams with two Teams candidates and early media (DR-EM-2, DR-EM-4; seed
003, "outbound call to SBC": the SBC may stream early media to the highest-priority
candidate on which it got checks, and must move to the nominated one).

The Teams caller offers two host candidates on two ports: a *default* one (named by c=
and m=, with a low priority, as a relay candidate would be) and a *preferred* one with
the highest priority. On the target's 183 it checks the default candidate first, then
the preferred one, without nominating. The PSTN callee then streams early media (phase
"before nomination"): it should reach the preferred candidate. The Teams side then
nominates (regular nomination: USE-CANDIDATE on a pair it checked) the candidate that
got *less* of that early media (on a tie, the preferred one): the controlling agent may
pick any valid pair, and this pick makes the move visible whatever the target did
before. The PSTN callee streams again ("after nomination"): now it should reach the
nominated candidate. Then the 200, media both ways on the nominated pair, BYE. The Teams
side stays silent until the 200, so where the target sends is its own choice, not
latching to a source.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from harness.endpoints.ice import IceAgent
from harness.endpoints.rtp import RtpEndpoint, StreamConfig
from harness.endpoints.sip import SipAgent
from harness.evidence.teams import DrPlan, TeamsPath
from harness.lab import Lab
from harness.net import Address
from harness.scenarios.call import DRAIN_S, hang_up, payloads_for
from harness.scenarios.teams.outbound import teams_gets_200, teams_offer, teams_srtp, until_183
from harness.scenarios.teams.parties import DrProgress, tones_both_ways, two_parties
from harness.sdp.reading import negotiated_codec

__all__ = ["DEFAULT_PREFERENCE", "early_paths_call"]

DEFAULT_PREFERENCE = 10000  # the default candidate's local preference (the other: 65535)


async def early_paths_call(plan: DrPlan, rec: DrProgress, *, lab: Lab, sip_target: Address) -> None:
    """Place `out` as described in the module docstring; `rec.paths` gets both candidates
    ("preferred", "default") and `rec.marks` when each step ended."""
    async with two_parties(plan, rec, lab, teams_calls=True) as p, AsyncExitStack() as stack:
        default_rtp = RtpEndpoint(f"{plan.caller} (default candidate)", lab.netns(plan.caller),
                                  lab.address(plan.caller))
        await default_rtp.open()
        stack.callback(default_rtp.close)
        default = IceAgent(default_rtp, local_preference=DEFAULT_PREFERENCE, sibling=p.ice)

        def collect() -> None:
            rec.paths = [
                TeamsPath(label, ice.address, ice.priority, label == "default",
                          tuple(rtp.records), tuple(ice.checks))
                for label, rtp, ice in (("preferred", p.teams_rtp, p.ice),
                                        ("default", default_rtp, default))]

        stack.callback(collect)
        await _flow(plan, rec, p.caller, p.callee, p.pstn_rtp, (p.teams_rtp, p.ice),
                    (default_rtp, default), sip_target)


async def _flow(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, callee: SipAgent, pstn_rtp: RtpEndpoint,
    preferred: tuple[RtpEndpoint, IceAgent], default: tuple[RtpEndpoint, IceAgent],
    sip_target: Address,
) -> None:
    loop = asyncio.get_running_loop()
    offer = teams_offer(plan, rec, preferred[1], default[0].port, default[1])
    opened = await until_183(plan, rec, caller, callee, pstn_rtp, offer, sip_target)
    if opened is None:
        return
    pstn_codec = opened.pstn_codec
    sdp_183, remote = rec.teams_got_183, rec.remote
    assert sdp_183 is not None
    for rtp, _ in (preferred, default):
        teams_srtp(rtp, offer, sdp_183)  # early media arrives before the 200
    stream = StreamConfig(pstn_codec.payload_type)
    tone = payloads_for(pstn_codec, plan.pstn_tone_hz, "pstn")
    if remote is None or not remote.candidates:
        rec.notes.append("the target's 183 has no usable ICE candidate: no checks")
    else:
        candidate = remote.candidates[0]
        await default[1].check(remote, candidate)
        await preferred[1].check(remote, candidate)
        rec.marks["checked"] = loop.time()
        await pstn_rtp.send_stream(stream, tone, plan.packets_each_way)
        await asyncio.sleep(DRAIN_S)
        early_got = [sum(1 for r in rtp.records if r.direction == "received")
                     for rtp, _ in (preferred, default)]
        chosen = default if early_got[1] < early_got[0] else preferred
        await chosen[1].check(remote, candidate, use_candidate=True)
        rec.nominated, rec.nominated_at = chosen[1].nominated, chosen[1].nominated_at
        rec.marks["nominated"] = loop.time()
        await pstn_rtp.send_stream(stream, tone, plan.packets_each_way)
        await asyncio.sleep(DRAIN_S)
    rec.marks["early media ended"] = loop.time()

    answered = await teams_gets_200(plan, rec, caller, callee, opened)
    if answered is None:
        return
    dialog, sdp_200 = answered
    teams_codec = negotiated_codec(sdp_200)
    rtp = next((rtp for rtp, ice in (preferred, default) if ice.nominated), default[0])
    if teams_codec is not None and remote is not None and remote.candidates:
        teams_srtp(rtp, offer, sdp_200)
        rtp.remote = remote.candidates[0]
        rec.media_start = caller.now
        await tones_both_ways(plan, (rtp, teams_codec), (pstn_rtp, pstn_codec),
                              pstn_stream=stream)
    await hang_up(caller, callee, dialog)
