"""Re-INVITEs in an established call: hold, resume, codec and address changes, no SDP.

`run_reinvites` is the step runner `basic_call` calls after the first media
phase: for each `Reinvite` of the outcome, the caller sends a re-INVITE in
the confirmed dialog (through the target's Record-Route), the callee answers
as an honest user agent would (RFC 3264 §8: the same o= session, version + 1;
the direction mirrored, §6.1), and then a media phase runs in which each
side sends only if the SDP it holds lets it, to the address that SDP names,
in the codec it negotiated. The `Phase` each step appends is what the
SIP-REINV and MM-BYPASS-3 checks read.

An agent acts on what it *received*: a target that rewrites a direction,
keeps an old address or answers with the old SDP changes what the agents
do, and the wire shows it.
"""

from __future__ import annotations

import dataclasses

from harness.endpoints.rtp import RtpEndpoint
from harness.errors import TargetViolation
from harness.evidence.call import Phase, Reinvite
from harness.media.srtp import SrtpSession
from harness.scenarios.call import SRTP_SUITE, LiveCall, media_phase, parse_sdp_from
from harness.sdp import (
    PCMA,
    PCMU,
    Codec,
    CryptoAttribute,
    Direction,
    SessionDescription,
    make_answer,
    make_offer,
    next_version,
)
from harness.sdp.reading import media_address, negotiated_codec, sends
from harness.sip import AckReceived, RequestReceived, ResponseReceived

__all__ = ["run_reinvites"]

_DIRECTION = {
    Reinvite.HOLD: Direction.SENDONLY,
    Reinvite.INACTIVE: Direction.INACTIVE,
    Reinvite.RESUME: Direction.SENDRECV,
}


def _continuing(previous: SessionDescription | None, sd: SessionDescription) -> None:
    """Give `sd` the o= line of `previous` with the version moved on (RFC 3264 §8)."""
    if previous is not None:
        sd.origin = next_version(previous).origin


def _key(rtp: RtpEndpoint, mine: SessionDescription, theirs: SessionDescription) -> None:
    """Key SRTP both ways from the a=crypto lines of the two SDPs (plain RTP: no key)."""
    if not mine.media or not mine.media[0].proto.upper().endswith("SAVP"):
        return
    own = next((c for c in mine.media[0].crypto() if c.suite == SRTP_SUITE), None)
    peer = next((c for c in theirs.media[0].crypto() if c.suite == SRTP_SUITE), None)
    if own is not None:
        rtp.tx_srtp = SrtpSession(own.suite, own.key_params[0].key_salt, "outbound")
    if peer is not None:
        rtp.rx_srtp = SrtpSession(peer.suite, peer.key_params[0].key_salt, "inbound")


def _other_codec(current: Codec | None) -> Codec:
    return PCMA if current is not None and current.encoding.upper() == "PCMU" else PCMU


async def run_reinvites(live: LiveCall, packets: int) -> None:
    """Each re-INVITE of the outcome in turn, each followed by a media phase."""
    for step in live.plan.reinvites:
        if step is Reinvite.OFFERLESS:
            phase = await _offerless(live)
        else:
            phase = await _reoffer(live, step)
        live.progress.phases.append(phase)
        await media_phase(live, phase, packets)


def _previous(live: LiveCall) -> Phase:
    return live.progress.phases[-1]


def _carry_over(previous: Phase, step: Reinvite) -> Phase:
    """A new phase that starts as the old one was (what holds if the re-INVITE fails)."""
    return Phase(
        step, None, previous.caller_sdp_sent, previous.callee_sdp_received,
        previous.callee_sdp_sent, previous.caller_sdp_received, previous.caller_port,
        previous.callee_port, previous.caller_sends, previous.callee_sends,
        previous.caller_codec, previous.callee_codec,
    )


async def _send_reinvite(live: LiveCall, body: SessionDescription | None) -> int:
    caller = live.caller
    assert live.dialog is not None
    request = caller.endpoint.send_in_dialog(
        live.dialog, "INVITE", caller.now, body=bytes(body) if body is not None else b"",
        content_type="application/sdp" if body is not None else None,
    )
    caller.pump()
    return request.cseq.seq


async def _callee_gets_reinvite(live: LiveCall, seq: int) -> RequestReceived:
    return await live.callee.wait_for(
        RequestReceived, f"the re-INVITE (CSeq {seq}) relayed by the target",
        where=lambda e: e.request.method == "INVITE" and e.request.to.tag is not None,
    )


async def _caller_gets_final(live: LiveCall, seq: int, phase: Phase
                             ) -> tuple[ResponseReceived | None, Phase]:
    """The final response to re-INVITE `seq` (None if not 2xx), and `phase` with its
    status."""
    final = await live.caller.wait_for(
        ResponseReceived, f"the final response to the re-INVITE (CSeq {seq})",
        where=lambda e: e.request.method == "INVITE" and e.request.cseq.seq == seq
        and e.response.status >= 200,
    )
    phase = dataclasses.replace(phase, status=final.response.status)
    if phase.accepted:
        return final, phase
    live.progress.notes.append(f"re-INVITE {seq} ({phase.name}) was answered "
                               f"{final.response.status} {final.response.reason}")
    return None, phase


async def _reoffer(live: LiveCall, step: Reinvite) -> Phase:
    """The caller re-offers (a new direction, codec or port); the callee answers in the 200."""
    plan, caller, callee = live.plan, live.caller, live.callee
    phase = _carry_over(_previous(live), step)
    caller_rtp, callee_rtp = live.caller_rtp, live.callee_rtp
    if step is Reinvite.ADDRESS:
        caller_rtp = await live.new_endpoint("caller")
        callee_rtp = await live.new_endpoint("callee")
    crypto = (live.caller_sdp.media[0].crypto()
              if live.caller_sdp is not None and live.caller_sdp.media else [])
    codecs: tuple[Codec, ...] = plan.caller_side.codecs or (PCMU, PCMA)
    if step is Reinvite.CODEC:
        codecs = (_other_codec(phase.caller_codec),)
    offer = make_offer(caller.address, caller_rtp.port, codecs, crypto=list(crypto),
                       direction=_DIRECTION.get(step, Direction.SENDRECV))
    _continuing(live.caller_sdp, offer)
    phase = dataclasses.replace(phase, caller_sdp_sent=offer)
    seq = await _send_reinvite(live, offer)

    got = await _callee_gets_reinvite(live, seq)
    offer_in = parse_sdp_from(got.request.body, plan.callee, f"offer in re-INVITE {seq}")
    phase = dataclasses.replace(phase, callee_sdp_received=offer_in)
    answer = make_answer(offer_in, callee.address, callee_rtp.port,
                         plan.callee_side.codecs or (PCMU, PCMA))
    _continuing(live.callee_sdp, answer)
    if negotiated_codec(answer) is None:
        callee.endpoint.respond(got.request, 488, callee.now)
        callee.pump()
    else:
        callee.endpoint.respond(got.request, 200, callee.now, body=bytes(answer),
                                content_type="application/sdp")
        callee.pump()

    final, phase = await _caller_gets_final(live, seq, phase)
    if final is None:
        return phase
    assert live.dialog is not None
    caller.endpoint.send_ack(live.dialog, seq, caller.now)
    caller.pump()
    answer_in = parse_sdp_from(final.response.body, plan.caller, f"answer to re-INVITE {seq}")
    # The exchange succeeded: both sides now hold the new SDPs and act on them.
    phase = dataclasses.replace(phase, callee_sdp_sent=answer, caller_sdp_received=answer_in)
    live.caller_sdp, live.callee_sdp = offer, answer
    live.caller_rtp, live.callee_rtp = caller_rtp, callee_rtp
    return _settle(live, phase, caller_holds=(offer, answer_in), callee_holds=(answer, offer_in))


async def _offerless(live: LiveCall) -> Phase:
    """A re-INVITE without SDP: the callee offers in the 200 from a new port, the caller
    answers in the ACK (RFC 3261 §14.1, RFC 3264 §4)."""
    plan, caller, callee = live.plan, live.caller, live.callee
    phase = _carry_over(_previous(live), Reinvite.OFFERLESS)
    callee_rtp = await live.new_endpoint("callee")
    seq = await _send_reinvite(live, None)

    got = await _callee_gets_reinvite(live, seq)
    if got.request.body:
        raise TargetViolation(
            f"{plan.callee}: the target added a body to a re-INVITE sent without SDP",
            evidence=bytes(got.request),
        )
    crypto: list[CryptoAttribute] = []
    if plan.callee_side.srtp and live.callee_sdp is not None:
        crypto = list(live.callee_sdp.media[0].crypto())
    offer = make_offer(callee.address, callee_rtp.port,
                       plan.callee_side.codecs or (PCMU, PCMA), crypto=crypto)
    _continuing(live.callee_sdp, offer)
    phase = dataclasses.replace(phase, callee_sdp_sent=offer)
    callee.endpoint.respond(got.request, 200, callee.now, body=bytes(offer),
                            content_type="application/sdp")
    callee.pump()

    final, phase = await _caller_gets_final(live, seq, phase)
    if final is None:
        return phase
    if not final.response.body:
        raise TargetViolation(
            f"{plan.caller}: the 200 to a re-INVITE without SDP carries no offer",
            evidence=bytes(final.response),
        )
    offer_in = parse_sdp_from(final.response.body, plan.caller, f"offer in the 200 ({seq})")
    phase = dataclasses.replace(phase, caller_sdp_received=offer_in)
    answer = make_answer(offer_in, caller.address, live.caller_rtp.port,
                         plan.caller_side.codecs or (PCMU, PCMA))
    _continuing(live.caller_sdp, answer)
    phase = dataclasses.replace(phase, caller_sdp_sent=answer)
    assert live.dialog is not None
    caller.endpoint.send_ack(live.dialog, seq, caller.now, body=bytes(answer),
                             content_type="application/sdp")
    caller.pump()

    ack = await callee.wait_for(AckReceived, f"the ACK (with the answer) to re-INVITE {seq}",
                                where=lambda e: e.request.cseq.seq == seq)
    if not ack.request.body:
        raise TargetViolation(
            f"{plan.callee}: the ACK for the offer in the 200 arrived without the answer",
            evidence=bytes(ack.request),
        )
    answer_in = parse_sdp_from(ack.request.body, plan.callee, f"answer in the ACK ({seq})")
    phase = dataclasses.replace(phase, callee_sdp_received=answer_in)
    live.caller_sdp, live.callee_sdp = answer, offer
    live.callee_rtp = callee_rtp
    return _settle(live, phase, caller_holds=(answer, offer_in), callee_holds=(offer, answer_in))


def _settle(
    live: LiveCall, phase: Phase, *,
    caller_holds: tuple[SessionDescription, SessionDescription],
    callee_holds: tuple[SessionDescription, SessionDescription],
) -> Phase:
    """Point each side's media at what it now holds: (its own SDP, the peer's as received);
    `phase` with the port, codec and sending each side then has.

    Both sides negotiate the codec the *answer* picks, as each side sees the answer.
    """
    for rtp, (mine, theirs), side in (
        (live.caller_rtp, caller_holds, "caller"), (live.callee_rtp, callee_holds, "callee"),
    ):
        rtp.remote = media_address(theirs)
        _key(rtp, mine, theirs)
        offerer = (side == "caller") == (phase.step is not Reinvite.OFFERLESS)
        codec = negotiated_codec(theirs if offerer else mine)
        may = sends(mine, theirs)
        if side == "caller":
            phase = dataclasses.replace(phase, caller_port=rtp.port, caller_codec=codec,
                                        caller_sends=may)
        else:
            phase = dataclasses.replace(phase, callee_port=rtp.port, callee_codec=codec,
                                        callee_sends=may)
    return phase
