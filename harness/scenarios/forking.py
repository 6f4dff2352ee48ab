"""A forked call with early media: one caller, N callees ringing in parallel behind the target.

The caller's INVITE names the first callee in its Request-URI and the others
in the target's fork header (the target file says which). Every callee that
the target reaches answers 183 with its own To-tag and SDP, and the ones told
to stream send early media (a tone of their own) at once. The caller records
each 18x with a new To-tag as an early dialog with its own SDP, streams its
early media toward one chosen early dialog, and after `early_media_s` the
answering callee sends 200; the target must CANCEL the others. Media goes on
for `after_answer_s` on the confirmed dialog, then the caller hangs up.

Timing is kept on the event loop's clock (the agents' records); the capture
is for where packets went.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from harness.endpoints.rtp import RtpEndpoint, StreamConfig
from harness.endpoints.sip import SipAgent
from harness.errors import TargetViolation
from harness.evidence.call import CaptureRead
from harness.evidence.fork import (
    Branch,
    BranchPlan,
    EarlyDialog,
    ForkOutcome,
    ForkPlan,
    dialog_of,
)
from harness.evidence.preconditions import EARLY_DIALOG, PreconditionUnmet
from harness.evidence.recording import keep
from harness.evidence.records import RtpRecord, SipRecord, fields_of, frozen_fields
from harness.lab import Lab
from harness.media.srtp import SrtpSession
from harness.net import Address
from harness.scenarios.call import SRTP_SUITE, endpoints_on, open_all, parse_sdp_from, payloads_for
from harness.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    CryptoAttribute,
    SessionDescription,
    make_answer,
    make_offer,
)
from harness.sdp.reading import media_address, negotiated_codec, telephone_event_pt
from harness.sip import CancelReceived, DialogConfirmed, RequestReceived, ResponseReceived

PTIME_S = 0.02
FORK_TONES = (900.0, 1100.0, 1500.0)  # each branch's early media is a tone of its own


@dataclass
class BranchProgress:
    """What one forked callee did and saw so far (made a frozen `Branch` at the end)."""

    reached: bool = False
    offer_received: SessionDescription | None = None
    sdp_sent: SessionDescription | None = None
    cancelled: bool = False
    answered: bool = False
    got_bye: bool = False
    rtp: list[RtpRecord] = field(default_factory=list)


@dataclass
class ForkProgress:
    """What a forked call has left behind so far: the scenario's working record, filled
    while it runs (also when it ends early); `observe` makes the frozen `ForkOutcome`."""

    branches: list[BranchProgress]
    sip: list[SipRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dtmf_sent: list[tuple[str, int]] = field(default_factory=list)
    offer_sent: SessionDescription | None = None
    early_dialogs: list[EarlyDialog] = field(default_factory=list)
    final_status: int | None = None
    final_reason: str = ""
    final_to_tag: str | None = None
    answered_at: float | None = None
    caller_rtp: list[RtpRecord] = field(default_factory=list)
    caller_ssrc: int | None = None
    bye_status: int | None = None
    target_alive_after: bool | None = None

    @classmethod
    def of(cls, plan: ForkPlan) -> ForkProgress:
        return cls([BranchProgress() for _ in plan.branches])

    def dialog_of(self, branch: BranchPlan) -> EarlyDialog | None:
        return dialog_of(self.early_dialogs, branch)

    def observe(self, plan: ForkPlan, capture: CaptureRead | None = None) -> ForkOutcome:
        """The frozen outcome of the forked call `plan` described, with what its capture
        showed (None: the call went wrong before its capture could be read)."""
        read = capture or CaptureRead()
        branches = tuple(Branch(**fields_of(b), **frozen_fields(seen))
                         for b, seen in zip(plan.branches, self.branches, strict=True))
        values = frozen_fields(self) | {"branches": branches}
        outcome = ForkOutcome(**(fields_of(plan) | values), packets=read.packets,
                              unread=read.unread, ladder=read.ladder)
        keep(outcome)
        return outcome



async def forked_call(plan: ForkPlan, rec: ForkProgress, *, lab: Lab, sip_target: Address
                      ) -> None:
    """Place the forked call `plan` describes and record in `rec` what happened."""
    async with AsyncExitStack() as stack:
        # Runs last: asyncio closes a datagram socket on the next loop turn, so yield once
        # and the ports are free again when the call returns.
        stack.push_async_callback(asyncio.sleep, 0)
        caller, caller_rtp = endpoints_on(lab, "caller")
        ends = [endpoints_on(lab, b.host, b.port) for b in plan.branches]
        agents, rtps = [a for a, _ in ends], [r for _, r in ends]
        await open_all(stack, caller, caller_rtp, *agents, *rtps, notes=rec.notes)

        def collect() -> None:
            records = caller.records + [r for a in agents for r in a.records]
            rec.sip = sorted(records, key=lambda r: r.time)
            rec.caller_rtp = list(caller_rtp.records)
            for seen, rtp in zip(rec.branches, rtps, strict=True):
                seen.rtp = list(rtp.records)

        stack.callback(collect)
        answer_now = asyncio.Event()
        tasks = [
            asyncio.create_task(_callee(plan, rec, b, seen, a, r, answer_now, i == plan.answerer))
            for i, (b, seen, a, r) in enumerate(
                zip(plan.branches, rec.branches, agents, rtps, strict=True))
        ]
        await run_with_helpers(_caller(plan, rec, caller, caller_rtp, sip_target, answer_now),
                               tasks)


async def run_with_helpers(main: Awaitable[None], helpers: list[asyncio.Task[None]]) -> None:
    """Await `main`; then stop the helper tasks (the callees) that are still running and
    re-raise the first TargetViolation one of them met (a malformed message from the
    target is evidence, not something to lose)."""
    try:
        await main
    finally:
        for task in helpers:
            if not task.done():
                task.cancel()
        results = await asyncio.gather(*helpers, return_exceptions=True)
    for result in results:
        if isinstance(result, TargetViolation):
            raise result


async def _callee(
    plan: ForkPlan, rec: ForkProgress, branch: BranchPlan, seen: BranchProgress,
    agent: SipAgent, rtp: RtpEndpoint, answer_now: asyncio.Event, answers: bool,
) -> None:
    wait = plan.early_media_s + 3.0
    try:
        got = await agent.wait_for(RequestReceived, "the forked INVITE", timeout=wait,
                                   where=lambda e: e.request.method == "INVITE")
    except TargetViolation:
        return  # not reached: the checks judge it from `reached`
    seen.reached = True
    invite = got.request
    offer = parse_sdp_from(invite.body, branch.host, "offer in the forked INVITE")
    seen.offer_received = offer
    answer = make_answer(offer, agent.address, rtp.port, _codecs(plan))
    codec = negotiated_codec(answer)
    if codec is None:
        agent.endpoint.respond(invite, 488, agent.now, to_tag=branch.to_tag)
        agent.pump()
        return
    seen.sdp_sent = answer
    rtp.remote = media_address(offer)
    if plan.srtp:
        _key_callee(rtp, offer, answer)
    agent.endpoint.respond(invite, 183, agent.now, to_tag=branch.to_tag, body=bytes(answer),
                           content_type="application/sdp")
    agent.pump()
    stream = StreamConfig(codec.payload_type)
    total = int((plan.early_media_s + plan.after_answer_s) / PTIME_S)
    sender = (asyncio.create_task(rtp.send_stream(
        stream, payloads_for(codec, branch.tone_hz, branch.host), total))
        if branch.streams_early else None)
    try:
        if answers:
            await answer_now.wait()
            agent.endpoint.respond(invite, 200, agent.now, to_tag=branch.to_tag,
                                   body=bytes(answer), content_type="application/sdp")
            agent.pump()
            seen.answered = True
            if sender is None:  # no early media: it talks once it has answered
                sender = asyncio.create_task(rtp.send_stream(
                    stream, payloads_for(codec, branch.tone_hz, branch.host),
                    int(plan.after_answer_s / PTIME_S)))
            bye = await agent.wait_for(RequestReceived, "the BYE", timeout=wait,
                                       where=lambda e: e.request.method == "BYE")
            seen.got_bye = True
            agent.endpoint.respond(bye.request, 200, agent.now)
            agent.pump()
        else:
            await agent.wait_for(CancelReceived, "the CANCEL for this branch", timeout=wait)
            seen.cancelled = True
    except TargetViolation as exc:
        rec.notes.append(f"{branch.host}: {exc}")
    finally:
        if sender is not None:
            sender.cancel()


async def _caller(
    plan: ForkPlan, rec: ForkProgress, caller: SipAgent, rtp: RtpEndpoint, sip_target: Address,
    answer_now: asyncio.Event,
) -> None:
    crypto = [CryptoAttribute.generate(1, SRTP_SUITE)] if plan.srtp else []
    offer = make_offer(caller.address, rtp.port, _codecs(plan), crypto=crypto)
    if crypto:
        rtp.tx_srtp = SrtpSession(SRTP_SUITE, crypto[0].key_params[0].key_salt, "outbound")
    rec.offer_sent = offer
    user = plan.request_uri.split(":", 1)[1].split("@")[0]
    extra = [(plan.fork_header, f"sip:{user}@{b.dial or f'{plan.hosts[b.host]}:{b.port}'}")
             for b in plan.branches[1:]]
    invite = caller.endpoint.create_invite(plan.request_uri, body=bytes(offer),
                                           content_type="application/sdp", extra=extra)
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()
    final: asyncio.Future[ResponseReceived] = asyncio.get_running_loop().create_future()
    collector = asyncio.create_task(_collect_responses(plan, rec, caller, rtp, final))
    try:
        # Wait for the early dialogs (all branches, or what came within 2 s).
        deadline = caller.now + 2.0
        while len(rec.early_dialogs) < len(plan.branches) and caller.now < deadline \
                and not final.done():
            await asyncio.sleep(0.01)
        _some_early_sdp(plan, rec)
        target_branch = plan.branches[plan.early_to]
        dialog = rec.dialog_of(target_branch)
        stream = StreamConfig(PCMU.payload_type)
        rec.caller_ssrc = stream.ssrc
        early_packets = int(plan.early_media_s / PTIME_S)
        if dialog is not None and dialog.sdp is not None and dialog.sdp.media:
            rtp.remote = media_address(dialog.sdp)
            await rtp.send_stream(stream, payloads_for(PCMU, plan.caller_tone_hz, "caller"),
                                  early_packets)
            if plan.dtmf:
                await _early_dtmf(plan, rec, rtp, stream, dialog.sdp)
        else:
            rec.notes.append(f"no early dialog with SDP for {target_branch.host}: the caller "
                             "sent no early media")
            await asyncio.sleep(plan.early_media_s)
        answer_now.set()
        got = await asyncio.wait_for(asyncio.shield(final), 3.0)
    except TimeoutError:
        raise TargetViolation("caller: no final response to the forked INVITE within 3 s "
                              "of the answer") from None
    finally:
        collector.cancel()
    rec.final_status, rec.final_reason = got.response.status, got.response.reason
    rec.final_to_tag = got.response.to.tag
    rec.answered_at = caller.now
    if not 200 <= got.response.status < 300:
        return
    confirmed = await caller.wait_for(DialogConfirmed, "the dialog confirmed by the 200")
    caller.endpoint.send_ack(confirmed.dialog, invite.cseq.seq, caller.now)
    caller.pump()
    answer_in = parse_sdp_from(got.response.body, "caller", "answer in the 200")
    if answer_in.media:
        rtp.remote = media_address(answer_in)
        if plan.srtp:
            _key_from(rtp, answer_in)
    await rtp.send_stream(stream, payloads_for(PCMU, plan.caller_tone_hz, "caller"),
                          int(plan.after_answer_s / PTIME_S))
    await asyncio.sleep(0.06)
    caller.endpoint.send_in_dialog(confirmed.dialog, "BYE", caller.now)
    caller.pump()
    ok = await caller.wait_for(
        ResponseReceived, "the 200 to the BYE",
        where=lambda e: e.request.method == "BYE" and e.response.status >= 200,
    )
    rec.bye_status = ok.response.status


def _some_early_sdp(plan: ForkPlan, rec: ForkProgress) -> None:
    """Every check of a forked call needs at least one early dialog with SDP: with none,
    the target let no early answer through (PreconditionUnmet, judged by SIP-EARLY-1)."""
    if any(d.sdp is not None for d in rec.early_dialogs):
        return
    seen = ", ".join(f"{d.status} (To-tag {d.to_tag})" for d in rec.early_dialogs) or "none"
    raise PreconditionUnmet(EARLY_DIALOG, (
        f"caller: no 18x with SDP from any of the {len(plan.branches)} forked callees within "
        f"2 s (18x seen: {seen})"))


def _codecs(plan: ForkPlan) -> tuple[Codec, ...]:
    """What the caller offers and every callee accepts: G.711, plus telephone-event for DTMF."""
    return (PCMU, PCMA, TELEPHONE_EVENT) if plan.dtmf else (PCMU, PCMA)


async def _early_dtmf(
    plan: ForkPlan, rec: ForkProgress, rtp: RtpEndpoint, stream: StreamConfig,
    sdp: SessionDescription
) -> None:
    """The caller's digits as RFC 4733 events on its early stream, before the answer."""
    event_pt = telephone_event_pt(sdp)
    if event_pt is None:
        rec.notes.append("the early dialog's SDP negotiated no telephone-event: the caller "
                         "sent no DTMF")
        return
    rec.dtmf_sent = await rtp.send_dtmf(stream, plan.dtmf, event_pt)
    await asyncio.sleep(0.06)


def _key_callee(rtp: RtpEndpoint, offer: SessionDescription, answer: SessionDescription) -> None:
    """A callee's SRTP: its own key out (from its answer), the caller's key in."""
    mine = _srtp_line(answer)
    theirs = _srtp_line(offer)
    if mine is not None:
        rtp.tx_srtp = SrtpSession(mine.suite, mine.key_params[0].key_salt, "outbound")
    if theirs is not None:
        rtp.rx_srtp = SrtpSession(theirs.suite, theirs.key_params[0].key_salt, "inbound")


def _srtp_line(sd: SessionDescription | None) -> CryptoAttribute | None:
    if sd is None or not sd.media:
        return None
    return next((c for c in sd.media[0].crypto() if c.suite == SRTP_SUITE), None)


def _key_from(rtp: RtpEndpoint, sd: SessionDescription | None) -> None:
    """Decrypt what comes from the address `sd` names with the key `sd` carries."""
    line = _srtp_line(sd)
    if line is not None and sd is not None:
        rtp.rx_srtp_from[media_address(sd)] = SrtpSession(
            line.suite, line.key_params[0].key_salt, "inbound")


async def _collect_responses(
    plan: ForkPlan, rec: ForkProgress, caller: SipAgent, rtp: RtpEndpoint,
    final: asyncio.Future[ResponseReceived],
) -> None:
    """Record each 18x with a new To-tag as an early dialog (keying SRTP from the address
    its SDP names); resolve `final` on the final response."""
    seen: set[str] = set()
    while True:
        got = await caller.wait_for(ResponseReceived, "responses to the forked INVITE",
                                    timeout=30.0, where=lambda e: e.request.method == "INVITE")
        status, tag = got.response.status, got.response.to.tag
        if 101 <= status < 200 and tag and tag not in seen:
            seen.add(tag)
            body = got.response.body
            sdp = parse_sdp_from(body, "caller", f"SDP of the {status}") if body else None
            rec.early_dialogs.append(EarlyDialog(tag, status, caller.now, sdp, got.source))
            if plan.srtp and sdp is not None and sdp.media:
                _key_from(rtp, sdp)
        elif status >= 200 and not final.done():
            final.set_result(got)
