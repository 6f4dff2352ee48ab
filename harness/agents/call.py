"""The basic captured call: INVITE with SDP, 180, 200, ACK, media both ways, BYE.

The caller and the callee are `SipAgent`s on their lab hosts with an
`RtpEndpoint` each. The callee answers the offer *as it received it*
(RFC 3264 offer/answer with its own codecs and SRTP policy; 488 when nothing
fits), both sides send a paced tone (G.711) or opaque payloads (any other
codec) toward the address the SDP they received names, then the caller hangs
up. Everything lands in the `CallOutcome` the checks read.
"""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import AsyncExitStack

from harness.agents.media import PayloadSource, RtpEndpoint, StreamConfig
from harness.agents.outcome import CallOutcome
from harness.agents.sip_agent import SipAgent
from harness.errors import TargetViolation
from harness.lab import Lab
from harness.media import g711
from harness.media.srtp import SrtpSession
from harness.net import Address
from harness.sdp import (
    PCMA,
    PCMU,
    Attribute,
    Codec,
    CryptoAttribute,
    SdpParseError,
    SessionDescription,
    effective_address,
    make_answer,
    make_offer,
)
from harness.sip import (
    DialogConfirmed,
    RequestReceived,
    ResponseReceived,
)
from harness.sip.headers import new_tag

SRTP_SUITE = "AES_CM_128_HMAC_SHA1_80"
DRAIN_S = 0.06  # time for the last packets to cross the target after the last send


def parse_sdp_from(body: bytes, who: str, what: str) -> SessionDescription:
    try:
        return SessionDescription.parse(body)
    except SdpParseError as exc:
        raise TargetViolation(f"{who} received a malformed SDP {what}: {exc}",
                              evidence=body) from None


def negotiated_codec(sd: SessionDescription) -> Codec | None:
    """The first codec of the first audio stream that can carry a call."""
    if not sd.media or sd.media[0].port == 0:
        return None
    maps = sd.media[0].rtpmaps()
    for fmt in sd.media[0].formats:
        rtpmap = maps.get(fmt)
        if rtpmap is None:
            continue
        codec = Codec(rtpmap.payload_type, rtpmap.encoding, rtpmap.clock_rate, rtpmap.channels)
        if not codec.auxiliary:
            return codec
    return None


def telephone_event_pt(sd: SessionDescription | None) -> int | None:
    """The payload type of telephone-event/8000 in the first stream, if negotiated."""
    if sd is None or not sd.media:
        return None
    for rtpmap in sd.media[0].rtpmaps().values():
        if rtpmap.encoding.lower() == "telephone-event" and rtpmap.clock_rate == 8000:
            return rtpmap.payload_type
    return None


def media_address(sd: SessionDescription) -> Address:
    return effective_address(sd, 0), sd.media[0].port


def payloads_for(codec: Codec, tone_hz: float, seed: str) -> PayloadSource:
    """A continuous tone for G.711; for any other codec, opaque bytes unique per packet."""
    if codec.encoding.upper() in ("PCMU", "PCMA"):
        samples_per_packet = codec.clock_rate // 50

        def tone(n: int) -> bytes:
            pcm = g711.tone(tone_hz, samples_per_packet, start=n * samples_per_packet)
            return g711.encode(codec.encoding, pcm)

        return tone

    def opaque(n: int) -> bytes:
        return hashlib.sha256(f"{seed}:{n}".encode()).digest() * 5  # 160 bytes

    return opaque


def _srtp_key(crypto: list[CryptoAttribute], tag: int | None = None) -> CryptoAttribute | None:
    for line in crypto:
        if (tag is None or line.tag == tag) and line.suite == SRTP_SUITE:
            return line
    return None


async def basic_call(
    outcome: CallOutcome, *, lab: Lab, sip_target: Address, packets: int = 10
) -> None:
    """Place one call as `outcome` describes and fill in what happened."""
    caller_address = lab.address(outcome.caller)
    callee_address = lab.address(outcome.callee)
    async with AsyncExitStack() as stack:
        # Runs last: asyncio closes a datagram socket on the next loop turn, so yield once
        # and the ports are free again when the call returns.
        stack.push_async_callback(asyncio.sleep, 0)
        caller = SipAgent(outcome.caller, lab.netns(outcome.caller), caller_address)
        callee = SipAgent(outcome.callee, lab.netns(outcome.callee), callee_address)
        caller_rtp = RtpEndpoint(outcome.caller, lab.netns(outcome.caller), caller_address)
        callee_rtp = RtpEndpoint(outcome.callee, lab.netns(outcome.callee), callee_address)
        for thing in (caller, callee, caller_rtp, callee_rtp):
            await thing.open()
            stack.callback(thing.close)

        def collect() -> None:
            outcome.sip = sorted(caller.records + callee.records, key=lambda r: r.time)
            outcome.caller_rtp = list(caller_rtp.records)
            outcome.callee_rtp = list(callee_rtp.records)

        stack.callback(collect)
        await _flow(outcome, caller, callee, caller_rtp, callee_rtp, sip_target, packets)


async def _flow(
    outcome: CallOutcome, caller: SipAgent, callee: SipAgent,
    caller_rtp: RtpEndpoint, callee_rtp: RtpEndpoint, sip_target: Address, packets: int,
) -> None:
    caller_codecs = outcome.caller_side.codecs or (PCMU, PCMA)
    callee_codecs = outcome.callee_side.codecs or (PCMU, PCMA)

    # -- the offer ------------------------------------------------------------------
    crypto: list[CryptoAttribute] = []
    if outcome.caller_side.srtp:
        crypto = [CryptoAttribute.generate(1, SRTP_SUITE)]
        caller_rtp.tx_srtp = SrtpSession(SRTP_SUITE, crypto[0].key_params[0].key_salt, "outbound")
    offer = make_offer(
        caller.address, caller_rtp.port, caller_codecs, crypto=crypto,
        extra_attributes=[Attribute(n, v) for n, v in outcome.caller_side.attributes],
    )
    outcome.offer_sent = offer
    invite = caller.endpoint.create_invite(
        outcome.request_uri, body=bytes(offer), content_type="application/sdp"
    )
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()

    # -- the callee answers the offer as it arrived ---------------------------------
    got = await callee.wait_for(
        RequestReceived, "the INVITE relayed by the target",
        where=lambda e: e.request.method == "INVITE",
    )
    request = got.request
    offer_in = parse_sdp_from(request.body, outcome.callee, "offer in the INVITE")
    outcome.offer_received = offer_in
    to_tag = new_tag()
    answer = _callee_answer(outcome, offer_in, callee, callee_rtp, callee_codecs)
    if answer is None:
        callee.endpoint.respond(request, 488, callee.now, to_tag=to_tag)
        callee.pump()
    else:
        outcome.answer_sent = answer
        callee.endpoint.respond(request, 180, callee.now, to_tag=to_tag)
        callee.endpoint.respond(request, 200, callee.now, to_tag=to_tag, body=bytes(answer),
                                content_type="application/sdp")
        callee.pump()

    # -- the caller gets its final response ------------------------------------------
    final = await caller.wait_for(
        ResponseReceived, "a final response to the INVITE",
        where=lambda e: e.request.method == "INVITE" and e.response.status >= 200,
    )
    outcome.final_status = final.response.status
    outcome.final_reason = final.response.reason
    if not outcome.established:
        outcome.notes.append(
            f"the callee's SDP policy: codecs {[c.encoding for c in callee_codecs]}, "
            f"SRTP {'accepted' if outcome.callee_side.srtp else 'refused'}"
        )
        return
    confirmed = await caller.wait_for(DialogConfirmed, "the dialog confirmed by the 200")
    dialog = confirmed.dialog
    caller.endpoint.send_ack(dialog, invite.cseq.seq, caller.now)
    caller.pump()
    answer_in = parse_sdp_from(final.response.body, outcome.caller, "answer in the 200")
    outcome.answer_received = answer_in
    codec = negotiated_codec(answer_in)
    if codec is None or not answer_in.media:
        raise TargetViolation(f"{outcome.caller}: the 200's SDP accepts no codec",
                              evidence=final.response.body)
    outcome.caller_codec = codec
    caller_rtp.remote = media_address(answer_in)
    if outcome.caller_side.srtp:
        key = _srtp_key(answer_in.media[0].crypto())
        if key is not None:
            caller_rtp.rx_srtp = SrtpSession(key.suite, key.key_params[0].key_salt, "inbound")
        else:
            outcome.notes.append("the answer to the caller's SRTP offer has no usable a=crypto")

    # -- media both ways --------------------------------------------------------------
    callee_codec = outcome.callee_codec
    assert callee_codec is not None  # set by _callee_answer whenever the callee said 200
    caller_stream = StreamConfig(codec.payload_type)
    await asyncio.gather(
        caller_rtp.send_stream(
            caller_stream, payloads_for(codec, outcome.caller_tone_hz, "caller"), packets,
        ),
        callee_rtp.send_stream(
            StreamConfig(callee_codec.payload_type),
            payloads_for(callee_codec, outcome.callee_tone_hz, "callee"), packets,
        ),
    )
    if outcome.caller_side.dtmf:
        event_pt = telephone_event_pt(answer_in)
        if event_pt is None:
            outcome.notes.append("the answer to the caller negotiated no telephone-event")
        else:
            outcome.dtmf_sent = await caller_rtp.send_dtmf(
                caller_stream, outcome.caller_side.dtmf, event_pt
            )
    await asyncio.sleep(DRAIN_S)

    # -- hang up --------------------------------------------------------------------------
    caller.endpoint.send_in_dialog(dialog, "BYE", caller.now)
    caller.pump()
    bye = await callee.wait_for(
        RequestReceived, "the BYE relayed by the target", where=lambda e: e.request.method == "BYE"
    )
    callee.endpoint.respond(bye.request, 200, callee.now)
    callee.pump()
    await caller.wait_for(
        ResponseReceived, "the 200 to the BYE",
        where=lambda e: e.request.method == "BYE" and e.response.status >= 200,
    )


def _callee_answer(
    outcome: CallOutcome, offer: SessionDescription, callee: SipAgent,
    callee_rtp: RtpEndpoint, codecs: tuple[Codec, ...],
) -> SessionDescription | None:
    """The callee's answer, with its media endpoint set up; None means 488."""
    if not offer.media:
        return None
    offered_srtp = offer.media[0].proto.upper().endswith("SAVP")
    if offered_srtp and not outcome.callee_side.srtp:
        return None
    answer = make_answer(offer, callee.address, callee_rtp.port, codecs)
    codec = negotiated_codec(answer)
    if codec is None:
        return None
    for name, value in outcome.callee_side.attributes:
        answer.media[0].add_attribute(name, value)
    outcome.callee_codec = codec
    callee_rtp.remote = media_address(offer)
    if offered_srtp:
        mine = _srtp_key(answer.media[0].crypto())
        theirs = _srtp_key(offer.media[0].crypto(), mine.tag if mine else None)
        if mine is None or theirs is None:
            return None
        callee_rtp.tx_srtp = SrtpSession(mine.suite, mine.key_params[0].key_salt, "outbound")
        callee_rtp.rx_srtp = SrtpSession(theirs.suite, theirs.key_params[0].key_salt, "inbound")
    return answer
