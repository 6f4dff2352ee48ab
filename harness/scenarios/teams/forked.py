"""The call toward Teams, forked to several Teams devices of one user (DR-ICE-6, seed 003
"converging for forking").

The PSTN caller's INVITE reaches the target, which forks it in parallel (the
target file's ``[forking]`` header names the extra branches) to N Teams-like
devices on callee1, callee2, ... Each device answers 183 with its own To-tag,
ICE credentials, candidate and SDES key, checks the target's candidate and
nominates it (a device that can take no a=crypto line of its offer refuses it with 488,
and the call ends there: see `teams_crypto`). When all have nominated (or a few seconds
have passed), the answering
device (the first unless told otherwise) answers 200 and the others get CANCEL.
Then the PSTN side and the answering device send a tone; the others stay silent
and record what still reaches them: after the 200, only the answering device's
pair may carry media.

With `early_media_device` set (DR-EM-1) the devices check but hold their
nomination: once all have checked, that device streams early media and, 60 ms
later, the PSTN caller streams toward the target's first 183; then the devices
nominate and the call goes on as above.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from harness.endpoints.ice import IceAgent
from harness.endpoints.rtp import RtpEndpoint, StreamConfig
from harness.endpoints.sip import SipAgent
from harness.errors import TargetViolation
from harness.evidence.preconditions import EARLY_DIALOG
from harness.evidence.teams import DrPlan
from harness.lab import Lab
from harness.net import Address
from harness.scenarios.call import (
    DRAIN_S,
    endpoints_on,
    final_and_ack,
    open_all,
    parse_sdp_from,
    payloads_for,
)
from harness.scenarios.forking import run_with_helpers
from harness.scenarios.teams.parties import DrProgress, key_srtp, sdes_refused, teams_crypto
from harness.sdp import PCMA, PCMU, CryptoAttribute, make_answer, make_offer
from harness.sdp.crypto import CryptoPick
from harness.sdp.reading import media_address, negotiated_codec, remote_ice
from harness.sip import CancelReceived, RequestReceived, ResponseReceived

__all__ = ["forked_to_teams_call"]

WAIT_S = 3.0


async def forked_to_teams_call(
    plan: DrPlan, rec: DrProgress, *, lab: Lab, sip_target: Address, fork_header: str,
) -> None:
    """Place `out` (its `devices` filled in by the caller of this function) as a forked
    call toward Teams; `rec.ok_sent_at` is when the answering device sent its 200."""
    async with AsyncExitStack() as stack:
        stack.push_async_callback(asyncio.sleep, 0)
        caller, caller_rtp = endpoints_on(lab, plan.caller)
        ends = [endpoints_on(lab, d.host, d.port) for d in plan.devices]
        agents, rtps = [a for a, _ in ends], [r for _, r in ends]
        await open_all(stack, caller, caller_rtp, *agents, *rtps, notes=rec.notes)
        ices = [IceAgent(rtp) for rtp in rtps]

        def collect() -> None:
            rec.sip = sorted(caller.records + [r for a in agents for r in a.records],
                             key=lambda r: r.time)
            rec.pstn_rtp = list(caller_rtp.records)
            for seen, rtp, ice in zip(rec.devices, rtps, ices, strict=True):
                seen.rtp, seen.checks, seen.stun = list(rtp.records), ice.checks, ice.records
                seen.nominated, seen.nominated_at = ice.nominated, ice.nominated_at
            answerer = rec.devices[plan.answering_device]
            rec.teams_rtp, rec.checks, rec.stun = answerer.rtp, answerer.checks, answerer.stun
            rec.nominated, rec.nominated_at = answerer.nominated, answerer.nominated_at

        stack.callback(collect)
        steps = _Steps(plan, rec)
        tasks = [asyncio.create_task(_device(plan, rec, i, a, r, ice, steps))
                 for i, (a, r, ice) in enumerate(zip(agents, rtps, ices, strict=True))]
        try:
            await run_with_helpers(
                _caller(plan, rec, caller, caller_rtp, rtps[plan.answering_device],
                        sip_target, fork_header, lab, steps), tasks)
        except TargetViolation as exc:
            # A device that refused the offer is why what came after it did not happen.
            if steps.refused:
                raise sdes_refused(steps.refused[0]) from exc
            raise
        if steps.refused:
            raise sdes_refused(steps.refused[0])


class _Steps:
    """What the devices and the caller wait for from each other."""

    def __init__(self, plan: DrPlan, rec: DrProgress) -> None:
        self.checked = [asyncio.Event() for _ in plan.devices]  # 183 sent, first check done
        self.nominated = [asyncio.Event() for _ in plan.devices]
        self.stream_now = asyncio.Event()  # every device has checked: early media begins
        self.early_done = asyncio.Event()  # the early-media phase is over: nominate
        self.answer_now = asyncio.Event()
        self.refused: list[CryptoPick] = []  # devices that took no a=crypto line: 488
        if plan.early_media_device < 0:
            self.early_done.set()


async def _device(
    plan: DrPlan, rec: DrProgress, index: int, agent: SipAgent, rtp: RtpEndpoint, ice: IceAgent,
    steps: _Steps,
) -> None:
    device, seen = plan.devices[index], rec.devices[index]
    checked, nominated = steps.checked[index], steps.nominated[index]
    try:
        got = await agent.wait_for(RequestReceived, "the forked INVITE", timeout=WAIT_S,
                                   where=lambda e: e.request.method == "INVITE")
    except TargetViolation:
        checked.set()
        nominated.set()
        return  # never reached: the check says so
    seen.reached = True
    offer = parse_sdp_from(got.request.body, device.host, "offer toward Teams")
    seen.offer = offer
    remote = remote_ice(offer)
    pick = teams_crypto(offer)
    if pick.line is None:
        agent.endpoint.respond(got.request, 488, agent.now, to_tag=device.to_tag)
        agent.pump()
        rec.notes.append(f"{device.host} refused the offer with 488: {pick.reason}")
        steps.refused.append(pick)
        checked.set()
        nominated.set()
        return
    taken = pick.line
    answer = make_answer(offer, agent.address, rtp.port, (PCMU, PCMA),
                         crypto_choice=lambda _: CryptoAttribute.generate(taken.tag,
                                                                          taken.suite))
    for name, value in ice.sdp_attributes():
        if answer.media:
            answer.media[0].add_attribute(name, value)
    seen.answer = answer
    lines = answer.media[0].crypto() if answer.media else []
    if lines:
        key_srtp(rtp, mine=lines[0], theirs=taken)
    agent.endpoint.respond(got.request, 183, agent.now, to_tag=device.to_tag,
                           body=bytes(answer), content_type="application/sdp")
    agent.pump()
    if remote is not None and remote.candidates:
        candidate = remote.candidates[0]
        await ice.check(remote, candidate)
        checked.set()
        if index == plan.early_media_device:
            await steps.stream_now.wait()
            rtp.remote = candidate
            codec = negotiated_codec(answer) or PCMU
            await rtp.send_stream(StreamConfig(codec.payload_type),
                                  payloads_for(codec, plan.teams_tone_hz, "teams"),
                                  plan.packets_each_way)
        await steps.early_done.wait()
        await ice.check(remote, candidate, use_candidate=True)
    checked.set()
    nominated.set()
    if index == plan.answering_device:
        await steps.answer_now.wait()
        agent.endpoint.respond(got.request, 200, agent.now, to_tag=device.to_tag,
                               body=bytes(answer), content_type="application/sdp")
        rec.ok_sent_at = agent.now
        agent.pump()
        seen.answered = True
        bye = await agent.wait_for(RequestReceived, "the BYE", timeout=WAIT_S + 5,
                                   where=lambda e: e.request.method == "BYE")
        agent.endpoint.respond(bye.request, 200, agent.now)
        agent.pump()
    else:
        try:
            await agent.wait_for(CancelReceived, "the CANCEL for this device", timeout=WAIT_S)
            seen.cancelled = True
        except TargetViolation as exc:
            rec.notes.append(f"{device.host}: {exc}")


async def _caller(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, caller_rtp: RtpEndpoint,
    answerer_rtp: RtpEndpoint, sip_target: Address, fork_header: str, lab: Lab, steps: _Steps,
) -> None:
    offer = make_offer(caller.address, caller_rtp.port, (PCMU, PCMA))
    rec.offer_to_pstn_side = offer
    user = plan.request_uri.split(":", 1)[1].split("@")[0]
    extra = [(fork_header, f"sip:{user}@{lab.address(d.host)}:{d.port}")
             for d in plan.devices[1:]]
    invite = caller.endpoint.create_invite(plan.request_uri, body=bytes(offer), extra=extra)
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()
    if plan.early_media_device >= 0:
        await _early_media(plan, rec, caller, caller_rtp, steps)
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in steps.nominated)), WAIT_S)
    except TimeoutError:
        rec.notes.append("not every device finished its checks within "
                         f"{WAIT_S:.0f} s; the answering device answers anyway")
    steps.answer_now.set()
    final, dialog = await final_and_ack(caller, invite, timeout=WAIT_S)
    rec.final_status = final.status
    if dialog is None:
        return
    answer_in = parse_sdp_from(final.body, plan.caller, "answer in the 200")
    rec.answer_to_pstn_side = answer_in
    codec = negotiated_codec(answer_in)
    answerer = rec.devices[plan.answering_device]
    caller_rtp.remote = media_address(answer_in)
    device_ice = answerer.offer and remote_ice(answerer.offer)
    answerer_rtp.remote = device_ice.candidates[0] if device_ice and device_ice.candidates \
        else None
    rec.media_start = caller.now
    sends = [caller_rtp.send_stream(StreamConfig((codec or PCMU).payload_type),
                                    payloads_for(codec or PCMU, plan.pstn_tone_hz, "pstn"),
                                    plan.packets_each_way)]
    device_codec = negotiated_codec(answerer.answer) if answerer.answer else None
    if answerer_rtp.remote is not None and device_codec is not None:
        sends.append(answerer_rtp.send_stream(
            StreamConfig(device_codec.payload_type),
            payloads_for(device_codec, plan.teams_tone_hz, "teams"), plan.packets_each_way))
    await asyncio.gather(*sends)
    await asyncio.sleep(DRAIN_S)
    caller.endpoint.send_in_dialog(dialog, "BYE", caller.now)
    caller.pump()
    await caller.wait_for(ResponseReceived, "the 200 to the BYE", timeout=WAIT_S,
                          where=lambda e: e.request.method == "BYE"
                          and e.response.status >= 200)


async def _early_media(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, caller_rtp: RtpEndpoint, steps: _Steps,
) -> None:
    """DR-EM-1: once every device has checked (none nominated), the early-media device
    streams; a few packets later the PSTN caller streams too, toward the target's first
    183: the target should send it to the device that streams. Then the devices nominate."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in steps.checked)), WAIT_S)
    except TimeoutError:
        rec.notes.append(f"not every device checked within {WAIT_S:.0f} s")
    rec.marks["early media"] = loop.time()
    steps.stream_now.set()
    early = await caller.wait_for(ResponseReceived, "a 183 from the target",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status == 183, precondition=EARLY_DIALOG)
    sdp = parse_sdp_from(early.response.body, plan.caller, "SDP of the target's 183")
    await asyncio.sleep(0.06)  # the device's stream has begun
    if sdp.media:
        caller_rtp.remote = media_address(sdp)
        codec = negotiated_codec(sdp) or PCMU
        await caller_rtp.send_stream(StreamConfig(codec.payload_type),
                                     payloads_for(codec, plan.pstn_tone_hz, "pstn"),
                                     plan.packets_each_way)
    else:
        rec.notes.append("no 183 with SDP reached the caller: it sent no early media")
    await asyncio.sleep(DRAIN_S)
    rec.marks["early media ended"] = loop.time()
    steps.early_done.set()
