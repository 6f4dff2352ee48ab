"""The call from Teams: the caller is the ICE-full, controlling Teams side offering SDES
(_80 and _32), rtcp-mux and optionally m=video; the PSTN callee answers 183, then 200;
optionally a re-INVITE with a=remote-candidates after media (DR-REINV-1)."""

from __future__ import annotations

from typing import NamedTuple

from harness.endpoints.ice import IceAgent
from harness.endpoints.rtp import RtpEndpoint
from harness.endpoints.sip import SipAgent
from harness.evidence.preconditions import EARLY_DIALOG
from harness.evidence.teams import DrPlan
from harness.lab import Lab
from harness.net import Address
from harness.scenarios.call import SRTP_SUITE, hang_up, parse_sdp_from
from harness.scenarios.teams.parties import (
    H264,
    DrProgress,
    answer_200,
    key_srtp,
    tones_both_ways,
    two_parties,
)
from harness.sdp import (
    PCMA,
    PCMU,
    Codec,
    CryptoAttribute,
    SessionDescription,
    make_answer,
    make_offer,
    next_version,
)
from harness.sdp.crypto import answered_crypto
from harness.sdp.offer_answer import make_media
from harness.sdp.reading import media_address, negotiated_codec, remote_ice
from harness.sip import Dialog, Request, RequestReceived, ResponseReceived
from harness.sip.headers import new_tag

__all__ = ["Opened", "from_teams_call", "teams_gets_200", "teams_offer", "teams_srtp", "until_183"]

async def from_teams_call(plan: DrPlan, rec: DrProgress, *, lab: Lab, sip_target: Address) -> None:
    """The Teams side calls out: the caller is ICE-full and controlling with SDES (both
    AES_CM_128_HMAC_SHA1_80 and _32 offered, rtcp-mux, optionally m=video); the PSTN
    callee answers 183 with SDP, then 200. The Teams caller checks and nominates the
    target's candidate from the 183 (before the 200) and sends no check after it."""
    async with two_parties(plan, rec, lab, teams_calls=True) as p:
        await _outbound(plan, rec, p.caller, p.callee, p.teams_rtp, p.pstn_rtp, p.ice, sip_target)


def teams_offer(plan: DrPlan, rec: DrProgress, ice: IceAgent, port: int, *siblings: IceAgent
                ) -> SessionDescription:
    """The Teams side's offer: SDES _80 and _32, rtcp-mux, `ice`'s candidate and its
    siblings', m=audio on `port` (the default candidate), m=video too if asked."""
    # As in the seed's "SDES only offer to SBC": _32 under tag 0 first, then _80, each
    # with the lifetime |2^31.
    crypto = [CryptoAttribute.generate(0, "AES_CM_128_HMAC_SHA1_32", lifetime="2^31"),
              CryptoAttribute.generate(1, SRTP_SUITE, lifetime="2^31")]
    video = [make_media("video", port + 2, (H264,), proto="RTP/SAVP",
                        crypto=[CryptoAttribute.generate(1, SRTP_SUITE)], ptime=None)]
    offer = make_offer(ice.address[0], port, (PCMU, PCMA), crypto=crypto,
                       extra_media=video if plan.video else ())
    for name, value in ice.sdp_attributes(*siblings):
        offer.media[0].add_attribute(name, value)
    return offer


async def _outbound(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, callee: SipAgent, teams_rtp: RtpEndpoint,
    pstn_rtp: RtpEndpoint, ice: IceAgent, sip_target: Address,
) -> None:
    offer = teams_offer(plan, rec, ice, teams_rtp.port)
    opened = await until_183(plan, rec, caller, callee, pstn_rtp, offer, sip_target)
    if opened is None:
        return
    answer, pstn_codec = opened.answer, opened.pstn_codec
    remote = rec.remote
    if remote is not None and remote.candidates:
        await ice.nominate(remote, remote.candidates[0])
    else:
        rec.notes.append("the target's 183 has no usable ICE candidate: no checks")
    answered = await teams_gets_200(plan, rec, caller, callee, opened)
    if answered is None:
        return
    dialog, sdp_200 = answered
    answered_at = caller.now
    teams_srtp(teams_rtp, offer, sdp_200)
    teams_codec = negotiated_codec(sdp_200)
    if teams_codec is None or remote is None or not remote.candidates:
        rec.notes.append("no codec or no candidate in the target's 200: no media")
        return
    teams_rtp.remote = ice.nominated or remote.candidates[0]
    rec.media_start = caller.now
    await tones_both_ways(plan, (teams_rtp, teams_codec), (pstn_rtp, pstn_codec))
    rec.checks_after_200 = sum(1 for c in ice.checks if c.sent_at >= answered_at)
    if plan.reinvite and ice.nominated is not None:
        await _remote_candidates_reinvite(plan, rec, caller, callee, dialog, offer, answer,
                                          (teams_rtp, teams_codec), (pstn_rtp, pstn_codec),
                                          ice.nominated)
    await hang_up(caller, callee, dialog)


class Opened(NamedTuple):
    """A call from Teams up to the target's 183: what the rest of the flow goes on with."""

    invite: Request  # the Teams side's
    request: Request  # the INVITE as the PSTN side got it
    answer: SessionDescription  # the PSTN side's (183 and 200)
    to_tag: str
    pstn_codec: Codec


async def until_183(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, callee: SipAgent, pstn_rtp: RtpEndpoint,
    offer: SessionDescription, sip_target: Address,
) -> Opened | None:
    """The Teams side sends `offer`; the PSTN side answers 183 with SDP (its media aimed at
    the target's offer); the Teams side gets the target's 183 (`rec.teams_got_183`,
    `rec.remote`). None when the PSTN side could not accept a codec (it sent 488)."""
    rec.teams_offer = offer
    invite = caller.endpoint.create_invite(plan.request_uri, body=bytes(offer))
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()
    got = await callee.wait_for(RequestReceived, "the INVITE from Teams to the PSTN side",
                                where=lambda e: e.request.method == "INVITE",
                                routed_by=plan.request_uri)
    offer_in = parse_sdp_from(got.request.body, plan.callee, "offer to the PSTN side")
    rec.offer_to_pstn_side = offer_in
    answer = make_answer(offer_in, callee.address, pstn_rtp.port, (PCMU, PCMA))
    rec.answer_from_teams = answer  # here: the PSTN side's answer, before the target
    pstn_codec = negotiated_codec(answer)
    to_tag = new_tag()
    if pstn_codec is None:
        callee.endpoint.respond(got.request, 488, callee.now, to_tag=to_tag)
        callee.pump()
        rec.notes.append("the PSTN side accepted no codec of the target's offer: 488")
        return None
    pstn_rtp.remote = media_address(offer_in)
    callee.endpoint.respond(got.request, 183, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    callee.pump()
    early = await caller.wait_for(ResponseReceived, "the 183 with the target's answer",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status == 183, precondition=EARLY_DIALOG)
    sdp_183 = parse_sdp_from(early.response.body, plan.caller, "SDP of the 183")
    rec.teams_got_183 = sdp_183
    rec.remote = remote_ice(sdp_183)
    return Opened(invite, got.request, answer, to_tag, pstn_codec)


async def teams_gets_200(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, callee: SipAgent, opened: Opened,
) -> tuple[Dialog, SessionDescription] | None:
    """The PSTN side answers 200; the Teams side ACKs it and keeps its SDP
    (`rec.teams_got_200`). None when the final response was not a 2xx."""
    answered = await answer_200(rec, caller, callee, opened.invite, opened.request,
                                opened.to_tag, opened.answer)
    if answered is None:
        return None
    final, dialog = answered
    rec.teams_got_200 = parse_sdp_from(final.body, plan.caller, "SDP of the 200")
    return dialog, rec.teams_got_200


def teams_srtp(rtp: RtpEndpoint, offer: SessionDescription, answer: SessionDescription
               ) -> bool:
    """Key `rtp` for the line of the Teams `offer` that the target's `answer` took, named
    by the answer's tag (RFC 4568 §7.1.2): send with our key of that line, receive with
    the answer's key (and MKI) in its suite. False, and `rtp` left unkeyed, when the
    answer names no offered line or keys one the SRTP stack cannot run. A line that turns
    protection off is keyed all the same: what the target then sends is for the checks
    to judge (DR-SRTP-3 and the encryption check)."""
    offered = offer.media[0].crypto() if offer.media else []
    answered = answer.media[0].crypto() if answer.media else []
    pair = answered_crypto(offered, answered)
    if pair is None:
        return False
    ours, theirs = pair
    try:
        key_srtp(rtp, mine=ours, theirs=theirs)
    except ValueError:
        return False
    return True


async def _remote_candidates_reinvite(
    plan: DrPlan, rec: DrProgress, caller: SipAgent, callee: SipAgent, dialog: Dialog,
    offer: SessionDescription, pstn_answer: SessionDescription,
    teams: tuple[RtpEndpoint, Codec], pstn: tuple[RtpEndpoint, Codec], nominated: Address,
) -> None:
    """DR-REINV-1: the controlling Teams side re-offers with the same ICE credentials and
    a=remote-candidates naming the pair it nominated (RFC 8445 §9.1.1 / RFC 8839 §5.2);
    the target must answer without an ICE restart, and media goes on."""
    reoffer = next_version(offer)
    reoffer.media[0].add_attribute("remote-candidates", f"1 {nominated[0]} {nominated[1]}")
    rec.reinvite_offer = reoffer
    request = caller.endpoint.send_in_dialog(dialog, "INVITE", caller.now, body=bytes(reoffer),
                                             content_type="application/sdp")
    caller.pump()
    seq = request.cseq.seq
    got = await callee.wait_for(RequestReceived, "the re-INVITE from the Teams side",
                                where=lambda e: e.request.method == "INVITE"
                                and e.request.to.tag is not None)
    callee.endpoint.respond(got.request, 200, callee.now, body=bytes(next_version(pstn_answer)),
                            content_type="application/sdp")
    callee.pump()
    final = await caller.wait_for(ResponseReceived, f"the final response to re-INVITE {seq}",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.request.cseq.seq == seq and e.response.status >= 200)
    rec.reinvite_status = final.response.status
    if not 200 <= final.response.status < 300:
        return
    caller.endpoint.send_ack(dialog, seq, caller.now)
    caller.pump()
    rec.reinvite_answer = parse_sdp_from(final.response.body, plan.caller,
                                         f"answer to re-INVITE {seq}")
    rec.media_after_reinvite = caller.now
    await tones_both_ways(plan, teams, pstn)
