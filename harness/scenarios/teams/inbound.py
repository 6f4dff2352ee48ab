"""The call toward Teams: a plain-RTP caller on the PSTN side calls through the target
(dialled with the target's ``teams_direct_routing.to_teams`` URI) to a Teams-like callee:
ICE-full and controlling (`harness.endpoints.ice.IceAgent`), SDES-SRTP (the first
a=crypto line of the target's offer it can take, answered in that suite: see
`teams_crypto`; none: it refuses the offer with 488), rtcp-mux, one host candidate. The
callee answers 183 with its SDP, checks the target's candidate and nominates it (regular
nomination), before or after its 200 as the outcome asks, then both sides send a tone:
SRTP on the Teams leg toward the nominated pair, RTP on the PSTN leg. Optionally malformed
STUN first (DR-STUN-*) and DTMF during the 183 (DR-EM-3)."""

from __future__ import annotations

import asyncio
import secrets

from harness.endpoints.ice import IceAgent
from harness.endpoints.rtp import RtpEndpoint, StreamConfig
from harness.endpoints.sip import SipAgent
from harness.errors import TargetViolation
from harness.evidence.preconditions import EARLY_DIALOG
from harness.evidence.teams import DrPlan
from harness.ice.stun import (
    BindingCheck,
    binding_request,
    corrupt_fingerprint,
    corrupt_integrity,
    truncated,
    with_unknown_attribute,
)
from harness.lab import Lab
from harness.net import Address
from harness.scenarios.call import DRAIN_S, hang_up, parse_sdp_from, payloads_for
from harness.scenarios.teams.parties import (
    DrProgress,
    answer_200,
    key_srtp,
    sdes_refused,
    teams_crypto,
    tones_both_ways,
    two_parties,
)
from harness.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    CryptoAttribute,
    SessionDescription,
    make_answer,
    make_offer,
)
from harness.sdp.crypto import CryptoPick
from harness.sdp.reading import (
    RemoteIce,
    media_address,
    negotiated_codec,
    remote_ice,
    telephone_event_pt,
)
from harness.sip import Request, RequestReceived, ResponseReceived
from harness.sip.headers import new_tag

__all__ = ["to_teams_call"]

async def to_teams_call(plan: DrPlan, rec: DrProgress, *, lab: Lab, sip_target: Address) -> None:
    """Place the call `out` describes (PSTN side -> target -> Teams side)."""
    async with two_parties(plan, rec, lab, teams_calls=False) as p:
        await _flow(plan, rec, p.caller, p.callee, p.pstn_rtp, p.teams_rtp, p.ice, sip_target)


async def _flow(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, callee: SipAgent, caller_rtp: RtpEndpoint,
    teams_rtp: RtpEndpoint, ice: IceAgent, sip_target: Address,
) -> None:
    codecs = (PCMU, PCMA, TELEPHONE_EVENT) if plan.early_dtmf else (PCMU, PCMA)
    offer = make_offer(caller.address, caller_rtp.port, codecs)
    rec.offer_to_pstn_side = offer
    invite = caller.endpoint.create_invite(plan.request_uri, body=bytes(offer))
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()

    got = await callee.wait_for(RequestReceived, "the INVITE toward Teams",
                                where=lambda e: e.request.method == "INVITE",
                                routed_by=plan.request_uri)
    request = got.request
    offer_in = parse_sdp_from(request.body, plan.callee, "offer toward Teams")
    rec.offer_to_teams = offer_in
    remote = remote_ice(offer_in)
    rec.remote = remote
    pick = teams_crypto(offer_in)
    if pick.line is None:
        await _refuse_sdes(rec, caller, callee, request, pick)
        raise sdes_refused(pick)
    taken = pick.line
    answer = make_answer(offer_in, callee.address, teams_rtp.port, codecs,
                         crypto_choice=lambda _: CryptoAttribute.generate(taken.tag,
                                                                          taken.suite))
    for name, value in ice.sdp_attributes():
        if answer.media:
            answer.media[0].add_attribute(name, value)
    rec.answer_from_teams = answer
    codec = negotiated_codec(answer)
    to_tag = new_tag()
    if remote is None or not remote.candidates or codec is None:
        callee.endpoint.respond(request, 488, callee.now, to_tag=to_tag)
        callee.pump()
        rec.notes.append("the offer toward Teams had no usable ICE candidate or codec: 488")
        await caller.wait_for(ResponseReceived, "the final response",
                              where=lambda e: e.response.status >= 200)
        return
    if plan.several_crypto:
        _several_crypto_lines(answer)
    _key_teams_leg(rec, teams_rtp, pick, answer)
    callee.endpoint.respond(request, 183, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    callee.pump()
    candidate = remote.candidates[0]

    async def nominate() -> None:
        await ice.nominate(remote, candidate)

    if plan.stun_probes:
        await _probe(plan, rec, ice, remote, candidate)
    if plan.nomination == "before-200":
        await nominate()
    if plan.early_dtmf:
        await _early_dtmf_from_pstn(plan, rec, caller, caller_rtp)
    answered = await answer_200(rec, caller, callee, invite, request, to_tag, answer)
    if answered is None:
        return
    final, dialog = answered
    answer_in = parse_sdp_from(final.body, plan.caller, "answer in the 200")
    rec.answer_to_pstn_side = answer_in
    if plan.nomination == "after-200":
        await nominate()

    # -- media both ways: RTP on the PSTN leg, SRTP toward the nominated pair ------------
    caller_codec = negotiated_codec(answer_in)
    if caller_codec is None:
        raise TargetViolation("caller: the 200's SDP accepts no codec",
                              evidence=final.body)
    caller_rtp.remote = media_address(answer_in)
    teams_rtp.remote = ice.nominated or candidate
    rec.media_start = caller.now
    await tones_both_ways(plan, (teams_rtp, codec), (caller_rtp, caller_codec))
    await hang_up(caller, callee, dialog)


async def _refuse_sdes(rec: DrProgress, caller: SipAgent, callee: SipAgent,
                       request: Request, pick: CryptoPick) -> None:
    """No a=crypto line of the target's offer can be taken: the Teams side answers 488
    (a final response: the target ACKs it, and so does the caller's SIP core the 488 it
    relays), and the call ends there."""
    callee.endpoint.respond(request, 488, callee.now, to_tag=new_tag())
    callee.pump()
    rec.notes.append(f"the Teams side refused the offer toward Teams with 488: {pick.reason}")
    final = await caller.wait_for(ResponseReceived, "the final response to the INVITE",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status >= 200)
    rec.final_status = final.response.status


def _key_teams_leg(rec: DrProgress, rtp: RtpEndpoint, pick: CryptoPick,
                   answer: SessionDescription) -> None:
    """Key the Teams leg with the line taken from the target's offer (what the target
    sends with) and the answer's first line (what Teams sends with, MKI included)."""
    lines = answer.media[0].crypto() if answer.media else []
    if pick.line is None or not lines:
        rec.notes.append("the Teams answer carries no a=crypto line: the Teams leg is not "
                         "SRTP")
        return
    if pick.passed_over:
        rec.notes.append(f"the Teams side took a=crypto:{pick.line.tag} {pick.line.suite}; "
                         f"{pick.reason}")
    key_srtp(rtp, mine=lines[0], theirs=pick.line)


def _several_crypto_lines(answer: SessionDescription) -> None:
    """DR-SRTP-2, the answer of the seed's example: two lines of the answered suite
    (AES_CM_128_HMAC_SHA1_80 against the default target), the first (the offered tag, the
    key Teams sends with) with lifetime and MKI ``|2^31|1:1``, the second (a tag not
    offered) with another key. Left alone when the answer has no crypto line."""
    if not answer.media or not answer.media[0].crypto():
        return
    md = answer.media[0]
    chosen = md.crypto()[0]
    md.remove_attributes("crypto")
    first = CryptoAttribute.generate(chosen.tag, chosen.suite, lifetime="2^31", mki=1,
                                     mki_length=1)
    md.add_attribute("crypto", str(first))
    md.add_attribute("crypto", str(CryptoAttribute.generate(chosen.tag + 1, chosen.suite,
                                                            lifetime="2^31")))


async def _early_dtmf_from_pstn(plan: DrPlan, rec: DrProgress, caller: SipAgent,
                                rtp: RtpEndpoint) -> None:
    """DR-EM-3: during the 183 the PSTN side sends a little tone, then its digits as RFC 4733
    events, toward the address of the target's early answer."""
    early = await caller.wait_for(ResponseReceived, "the 183 with the target's early answer",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status == 183, precondition=EARLY_DIALOG)
    sdp = parse_sdp_from(early.response.body, plan.caller, "SDP of the 183")
    event_pt = telephone_event_pt(sdp)
    codec = negotiated_codec(sdp)
    if event_pt is None or codec is None or not sdp.media:
        rec.notes.append("the target's 183 negotiated no telephone-event: no early DTMF sent")
        return
    rtp.remote = media_address(sdp)
    stream = StreamConfig(codec.payload_type)
    await rtp.send_stream(stream, payloads_for(codec, plan.pstn_tone_hz, "pstn"), 5)
    rec.dtmf_sent = await rtp.send_dtmf(stream, plan.early_dtmf, event_pt)
    await asyncio.sleep(DRAIN_S)


async def _probe(
    plan: DrPlan, rec: DrProgress, ice: IceAgent, remote: RemoteIce, candidate: Address,
) -> None:
    """DR-STUN-1/2: garbage, a truncated check, checks with a wrong MESSAGE-INTEGRITY and a
    wrong FINGERPRINT on the target's media port, then a valid check that carries an unknown
    comprehension-optional attribute. What came back is judged from `ice.records`."""
    check = BindingCheck(ice.ufrag, remote.ufrag, remote.pwd, ice.priority, ice.tie_breaker)
    garbage = b"\x00\x01" + secrets.token_bytes(38)  # looks like STUN, is not
    probes = [
        ("garbage", garbage),
        ("truncated check", truncated(binding_request(check))),
        ("check with a wrong MESSAGE-INTEGRITY", corrupt_integrity(binding_request(check))),
        ("check with a wrong FINGERPRINT", corrupt_fingerprint(binding_request(check))),
    ]
    for what, data in probes:
        ice.send_raw(data, candidate, kind=f"probe: {what}")
        rec.probes.append((what, data[8:20]))
    await asyncio.sleep(0.2)  # time for any (wrong) answer to come back
    rec.unknown_attribute_check = await ice.check(remote, candidate,
                                                  request=with_unknown_attribute(check))
