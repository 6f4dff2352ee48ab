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
import dataclasses
import hashlib
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from harness.endpoints.rtp import PayloadSource, RtpEndpoint, StreamConfig
from harness.endpoints.sip import SipAgent, leave_nothing_up
from harness.errors import HarnessError, TargetViolation
from harness.evidence.call import CallOutcome, CallPlan, CaptureRead, Phase, media_path
from harness.evidence.preconditions import ANSWERED, EARLY_DIALOG
from harness.evidence.recording import keep
from harness.evidence.records import RtpRecord, SipRecord, fields_of
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
    make_answer,
    make_offer,
)
from harness.sdp.reading import media_address, negotiated_codec, telephone_event_pt
from harness.sip import (
    Dialog,
    DialogConfirmed,
    Request,
    RequestReceived,
    Response,
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


@dataclass
class CallProgress:
    """What a call has left behind so far: the scenario's working record, filled while
    the call runs (also when it ends early, so the evidence of a call that went wrong is
    kept); `observe` turns it with the plan into the frozen `CallOutcome`."""

    sip: list[SipRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    early_answer_received: SessionDescription | None = None
    provisionals: list[int] = field(default_factory=list)
    final_status: int | None = None
    final_reason: str = ""
    offer_sent: SessionDescription | None = None
    offer_received: SessionDescription | None = None
    answer_sent: SessionDescription | None = None
    answer_received: SessionDescription | None = None
    caller_codec: Codec | None = None
    callee_codec: Codec | None = None
    dtmf_sent: list[tuple[str, int]] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    caller_rtp: list[RtpRecord] = field(default_factory=list)
    callee_rtp: list[RtpRecord] = field(default_factory=list)

    @property
    def established(self) -> bool:
        return self.final_status is not None and 200 <= self.final_status < 300

    def observe(self, plan: CallPlan, capture: CaptureRead | None = None) -> CallOutcome:
        """The frozen outcome of the call `plan` described, with what its capture showed
        (None: the call went wrong before its capture could be read)."""
        read = capture or CaptureRead()
        outcome = CallOutcome(
            **fields_of(plan), sip=tuple(self.sip), packets=read.packets, unread=read.unread,
            ladder=read.ladder, notes=tuple(self.notes),
            early_answer_received=self.early_answer_received,
            provisionals=tuple(self.provisionals), final_status=self.final_status,
            final_reason=self.final_reason, offer_sent=self.offer_sent,
            offer_received=self.offer_received, answer_sent=self.answer_sent,
            answer_received=self.answer_received, caller_codec=self.caller_codec,
            callee_codec=self.callee_codec, dtmf_sent=tuple(self.dtmf_sent),
            phases=tuple(self.phases), caller_rtp=tuple(self.caller_rtp),
            callee_rtp=tuple(self.callee_rtp),
            path=media_path(plan, read.packets) if capture is not None else None,
        )
        keep(outcome)
        return outcome


@dataclass
class LiveCall:
    """A call in progress: its plan and progress, the agents, the media endpoints in use
    and the SDP each side holds. `basic_call` builds it; the re-INVITE steps
    (`harness.scenarios.reinvite`) move it on."""

    plan: CallPlan
    progress: CallProgress
    caller: SipAgent
    callee: SipAgent
    caller_rtp: RtpEndpoint
    callee_rtp: RtpEndpoint
    stack: AsyncExitStack
    caller_endpoints: list[RtpEndpoint] = field(default_factory=list)
    callee_endpoints: list[RtpEndpoint] = field(default_factory=list)
    dialog: Dialog | None = None  # the caller's, once confirmed
    caller_stream: StreamConfig | None = None
    callee_stream: StreamConfig | None = None
    caller_sdp: SessionDescription | None = None  # the last SDP each side sent
    callee_sdp: SessionDescription | None = None

    async def new_endpoint(self, side: str) -> RtpEndpoint:
        """Open another RTP port for ``caller`` or ``callee`` (it stays open to the end)."""
        agent = self.caller if side == "caller" else self.callee
        rtp = RtpEndpoint(agent.name, agent.netns, agent.address)
        await rtp.open()
        self.stack.callback(rtp.close)
        (self.caller_endpoints if side == "caller" else self.callee_endpoints).append(rtp)
        return rtp


async def open_all(stack: AsyncExitStack, *things: SipAgent | RtpEndpoint,
                   notes: list[str] | None = None) -> None:
    """Open each endpoint in turn; each is closed when `stack` unwinds, after the SIP agents
    among them have ended whatever call they left open (`leave_nothing_up`, which says
    in `notes` what it had to end)."""
    for thing in things:
        await thing.open()
        stack.callback(thing.close)
    agents = [t for t in things if isinstance(t, SipAgent)]
    stack.push_async_callback(leave_nothing_up, agents, notes)


def endpoints_on(lab: Lab, host: str, port: int = 5060) -> tuple[SipAgent, RtpEndpoint]:
    """A SIP user agent on `port` and an RTP endpoint on a lab host (not open yet)."""
    return (SipAgent(host, lab.netns(host), lab.address(host), port),
            RtpEndpoint(host, lab.netns(host), lab.address(host)))


AfterMedia = Callable[[LiveCall, int], Awaitable[None]]
"""What to do between the first media phase and the BYE (the re-INVITE steps)."""


EARLY_ANSWER_S = 0.05  # between a callee's 183 with SDP and its 200


async def basic_call(
    plan: CallPlan, rec: CallProgress, *, lab: Lab, sip_target: Address, packets: int = 10,
    then: AfterMedia | None = None, callee_contact: Address | None = None,
) -> None:
    """Place one call as `plan` describes and record in `rec` what happened.

    `then` runs after the first media phase (and DTMF), before the BYE;
    `callee_contact`: the address the callee puts in its Contact (a relay in front
    of it, so that in-dialog requests pass the relay too)."""
    if plan.reinvites and then is None:
        raise HarnessError("the call asks for re-INVITEs but no step runner was given")
    caller_address = lab.address(plan.caller)
    callee_address = lab.address(plan.callee)
    async with AsyncExitStack() as stack:
        # Runs last: asyncio closes a datagram socket on the next loop turn, so yield once
        # and the ports are free again when the call returns.
        stack.push_async_callback(asyncio.sleep, 0)
        caller = SipAgent(plan.caller, lab.netns(plan.caller), caller_address,
                          plan.caller_port)
        callee = SipAgent(plan.callee, lab.netns(plan.callee), callee_address,
                          plan.callee_port, contact=callee_contact)
        media_host = plan.caller_media_host or plan.caller
        caller_rtp = RtpEndpoint(media_host, lab.netns(media_host), lab.address(media_host))
        callee_rtp = RtpEndpoint(plan.callee, lab.netns(plan.callee), callee_address)
        await open_all(stack, caller, callee, caller_rtp, callee_rtp, notes=rec.notes)
        live = LiveCall(plan, rec, caller, callee, caller_rtp, callee_rtp, stack,
                        [caller_rtp], [callee_rtp])

        def collect() -> None:
            rec.sip = sorted(caller.records + callee.records, key=lambda r: r.time)
            rec.caller_rtp = sorted(
                (r for e in live.caller_endpoints for r in e.records), key=lambda r: r.time)
            rec.callee_rtp = sorted(
                (r for e in live.callee_endpoints for r in e.records), key=lambda r: r.time)

        stack.callback(collect)
        if not await _establish(live, sip_target):
            return
        await media_phase(live, rec.phases[0], packets)
        if plan.caller_side.dtmf:
            await _send_dtmf(live)
        if then is not None:
            await then(live, packets)
        await _hang_up(live)


async def _establish(live: LiveCall, sip_target: Address) -> bool:
    """INVITE with an offer, 180, 200 with the answer, ACK; False when it was refused."""
    plan, rec, caller, callee = live.plan, live.progress, live.caller, live.callee
    caller_rtp, callee_rtp = live.caller_rtp, live.callee_rtp
    caller_codecs = plan.caller_side.codecs or (PCMU, PCMA)
    callee_codecs = plan.callee_side.codecs or (PCMU, PCMA)

    # -- the offer ------------------------------------------------------------------
    crypto: list[CryptoAttribute] = []
    if plan.caller_side.srtp:
        crypto = [CryptoAttribute.generate(1, SRTP_SUITE)]
        caller_rtp.tx_srtp = SrtpSession(SRTP_SUITE, crypto[0].key_params[0].key_salt, "outbound")
    offer = make_offer(
        caller_rtp.address, caller_rtp.port, caller_codecs, crypto=crypto,
        extra_attributes=[Attribute(n, v) for n, v in plan.caller_side.attributes],
    )
    rec.offer_sent = live.caller_sdp = offer
    invite = caller.endpoint.create_invite(
        plan.request_uri, body=bytes(offer), content_type="application/sdp"
    )
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()

    # -- the callee answers the offer as it arrived ---------------------------------
    got = await _invite_or_refusal(caller, callee, plan.request_uri)
    if isinstance(got, ResponseReceived):  # the target itself refused the call
        rec.final_status = got.response.status
        rec.final_reason = got.response.reason
        rec.provisionals = _provisionals(caller)
        rec.notes.append(f"the target refused the call itself: {got.response.status} "
                             f"{got.response.reason}; the callee never saw an INVITE")
        return False
    request = got.request
    offer_in = parse_sdp_from(request.body, plan.callee, "offer in the INVITE")
    rec.offer_received = offer_in
    to_tag = new_tag()
    answer = _callee_answer(plan, rec, offer_in, callee, callee_rtp, callee_codecs)
    if answer is None:
        callee.endpoint.respond(request, 488, callee.now, to_tag=to_tag)
        callee.pump()
    else:
        rec.answer_sent = live.callee_sdp = answer
        if plan.callee_side.early_answer:
            callee.endpoint.respond(request, 183, callee.now, to_tag=to_tag, body=bytes(answer),
                                    content_type="application/sdp")
            callee.pump()
            # A gateway answers some time after its 183; sent back to back, the two could
            # overtake each other in the target's parallel workers.
            await asyncio.sleep(EARLY_ANSWER_S)
        else:
            callee.endpoint.respond(request, 180, callee.now, to_tag=to_tag)
        callee.endpoint.respond(request, 200, callee.now, to_tag=to_tag, body=bytes(answer),
                                content_type="application/sdp")
        callee.pump()

    # -- the caller gets its final response ------------------------------------------
    try:
        final = await caller.wait_for(
            ResponseReceived, "a final response to the INVITE",
            timeout=plan.final_timeout or 2.0,
            where=lambda e: e.request.method == "INVITE" and e.response.status >= 200,
            precondition=ANSWERED if plan.final_timeout is None else None,
        )
    except TargetViolation:
        if plan.final_timeout is None:
            raise
        rec.provisionals = _provisionals(caller)
        rec.notes.append(f"no final response within {plan.final_timeout:.1f} s "
                             f"(provisional responses: {rec.provisionals or 'none'}); "
                             "the caller CANCELs")
        caller.endpoint.cancel(invite, caller.now)
        caller.pump()
        return False
    rec.provisionals = _provisionals(caller)
    rec.final_status = final.response.status
    rec.final_reason = final.response.reason
    if plan.callee_side.early_answer and answer is not None:
        early = await caller.wait_for(
            ResponseReceived, "the 183 with the callee's early answer", timeout=0.5,
            where=lambda e: e.request.method == "INVITE" and e.response.status == 183,
            precondition=EARLY_DIALOG)
        rec.early_answer_received = parse_sdp_from(early.response.body, plan.caller,
                                                       "answer in the 183")
    if not rec.established:
        rec.notes.append(
            f"the callee's SDP policy: codecs {[c.encoding for c in callee_codecs]}, "
            f"SRTP {'accepted' if plan.callee_side.srtp else 'refused'}"
        )
        return False
    confirmed = await caller.wait_for(DialogConfirmed, "the dialog confirmed by the 200",
                                      precondition=ANSWERED)
    live.dialog = confirmed.dialog
    caller.endpoint.send_ack(live.dialog, invite.cseq.seq, caller.now)
    caller.pump()
    answer_in = parse_sdp_from(final.response.body, plan.caller, "answer in the 200")
    rec.answer_received = answer_in
    codec = negotiated_codec(answer_in)
    if codec is None or not answer_in.media:
        raise TargetViolation(f"{plan.caller}: the 200's SDP accepts no codec",
                              evidence=final.response.body)
    rec.caller_codec = codec
    caller_rtp.remote = media_address(answer_in)
    if plan.caller_side.srtp:
        key = _srtp_key(answer_in.media[0].crypto())
        if key is not None:
            caller_rtp.rx_srtp = SrtpSession(key.suite, key.key_params[0].key_salt, "inbound")
        else:
            rec.notes.append("the answer to the caller's SRTP offer has no usable a=crypto")
    callee_codec = rec.callee_codec
    assert callee_codec is not None  # set by _callee_answer whenever the callee said 200
    live.caller_stream = StreamConfig(codec.payload_type)
    live.callee_stream = StreamConfig(callee_codec.payload_type)
    rec.phases.append(Phase(
        None, rec.final_status, offer, offer_in, answer, answer_in,
        caller_rtp.port, callee_rtp.port, True, True, codec, callee_codec,
    ))
    return True


async def _invite_or_refusal(caller: SipAgent, callee: SipAgent, dialled: str
                             ) -> RequestReceived | ResponseReceived:
    """The INVITE relayed to the callee, or the target's own final failure response to the
    caller, whichever comes first (neither within 2 s: TargetViolation)."""
    invite = asyncio.create_task(callee.wait_for(
        RequestReceived, "the INVITE relayed by the target", routed_by=dialled,
        where=lambda e: e.request.method == "INVITE"))
    refusal = asyncio.create_task(caller.wait_for(
        ResponseReceived, "a refusal by the target",
        where=lambda e: e.request.method == "INVITE" and e.response.status >= 300))
    done, pending = await asyncio.wait({invite, refusal}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if refusal in done and refusal.exception() is None:
        return refusal.result()
    return invite.result() if invite in done else await invite


def _provisionals(caller: SipAgent) -> list[int]:
    """The 1xx responses to the INVITE the caller has received so far (left unclaimed)."""
    return [e.response.status for e in caller.pending(ResponseReceived)
            if e.request.method == "INVITE" and e.response.status < 200]


async def media_phase(live: LiveCall, phase: Phase, packets: int) -> Phase:
    """Each side that may send (per `phase`, one of the call's phases) sends `packets` of
    its tone; then a drain. The phase is given its media window in the call's record."""
    plan, phases = live.plan, live.progress.phases
    index = next(i for i, p in enumerate(phases) if p is phase)
    assert live.caller_stream is not None and live.callee_stream is not None
    sends = []
    for may, rtp, stream, codec, hz, seed in (
        (phase.caller_sends, live.caller_rtp, live.caller_stream, phase.caller_codec,
         plan.caller_tone_hz, "caller"),
        (phase.callee_sends, live.callee_rtp, live.callee_stream, phase.callee_codec,
         plan.callee_tone_hz, "callee"),
    ):
        if may and codec is not None and rtp.remote is not None:
            stream.payload_type = codec.payload_type
            sends.append(rtp.send_stream(stream, payloads_for(codec, hz, seed), packets))
    phases[index] = phase = dataclasses.replace(phase, start=live.caller.now)
    await asyncio.gather(*sends)
    await asyncio.sleep(DRAIN_S)
    phases[index] = phase = dataclasses.replace(phase, end=live.caller.now)
    return phase


async def _send_dtmf(live: LiveCall) -> None:
    plan, rec = live.plan, live.progress
    assert live.caller_stream is not None
    event_pt = telephone_event_pt(rec.answer_received)
    if event_pt is None:
        rec.notes.append("the answer to the caller negotiated no telephone-event")
        return
    rec.dtmf_sent = await live.caller_rtp.send_dtmf(
        live.caller_stream, plan.caller_side.dtmf, event_pt
    )
    await asyncio.sleep(DRAIN_S)


async def final_and_ack(
    caller: SipAgent, invite: Request, *, timeout: float = 2.0,
) -> tuple[Response, Dialog | None]:
    """The final response to `invite` and, for a 2xx, its confirmed dialog, ACKed."""
    final = await caller.wait_for(ResponseReceived, "the final response to the INVITE",
                                  timeout=timeout, where=lambda e: e.request.method == "INVITE"
                                  and e.request.cseq.seq == invite.cseq.seq
                                  and e.response.status >= 200)
    if not 200 <= final.response.status < 300:
        return final.response, None
    confirmed = await caller.wait_for(DialogConfirmed, "the dialog confirmed by the 200")
    caller.endpoint.send_ack(confirmed.dialog, invite.cseq.seq, caller.now)
    caller.pump()
    return final.response, confirmed.dialog


async def _hang_up(live: LiveCall) -> None:
    assert live.dialog is not None
    await hang_up(live.caller, live.callee, live.dialog)


async def hang_up(caller: SipAgent, callee: SipAgent, dialog: Dialog) -> None:
    """The caller's BYE in `dialog`, the callee's 200 to it, and that 200 back."""
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
    plan: CallPlan, rec: CallProgress, offer: SessionDescription, callee: SipAgent,
    callee_rtp: RtpEndpoint, codecs: tuple[Codec, ...],
) -> SessionDescription | None:
    """The callee's answer, with its media endpoint set up; None means 488."""
    if not offer.media:
        return None
    offered_srtp = offer.media[0].proto.upper().endswith("SAVP")
    if offered_srtp and not plan.callee_side.srtp:
        return None
    answer = make_answer(offer, callee.address, callee_rtp.port, codecs)
    codec = negotiated_codec(answer)
    if codec is None:
        return None
    for name, value in plan.callee_side.attributes:
        answer.media[0].add_attribute(name, value)
    rec.callee_codec = codec
    callee_rtp.remote = media_address(offer)
    if offered_srtp:
        mine = _srtp_key(answer.media[0].crypto())
        theirs = _srtp_key(offer.media[0].crypto(), mine.tag if mine else None)
        if mine is None or theirs is None:
            return None
        callee_rtp.tx_srtp = SrtpSession(mine.suite, mine.key_params[0].key_salt, "outbound")
        callee_rtp.rx_srtp = SrtpSession(theirs.suite, theirs.key_params[0].key_salt, "inbound")
    return answer
