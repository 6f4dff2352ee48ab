"""The fault-injecting shim against the real target: harmless when it injects nothing,
and each fault really fires on the wire, so the checks it feeds can be shown to FAIL.

The pure fault functions are tested on captured messages in
tests/unit/agents/test_shim_faults.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from harness.conformance import Verdict
from harness.conformance import media_checks as mc
from harness.endpoints.sip import SipAgent
from harness.errors import TargetViolation
from harness.evidence.call import CallOutcome
from harness.evidence.records import SipRecord
from harness.faults.shim import UNREACHABLE_ADDRESS, Fault, SipShim, captured_call_via_shim
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.net import Address
from harness.scenarios.captured import plan_call
from harness.sdp import PCMU, SessionDescription, effective_address, make_answer, make_offer
from harness.sip import CancelReceived, RequestReceived, Response, ResponseReceived, parse_message
from harness.targets.base import Target

BYPASS, PROXY = MediaMode.BYPASS, MediaMode.PROXY


async def _call(
    lab: Lab, target: Target, shim: SipShim, mode: MediaMode, pcap: Path
) -> CallOutcome:
    outcome = plan_call(lab, target, mode, pcap=pcap)
    return await captured_call_via_shim(outcome, lab, target, shim)


def _received(records: list[SipRecord], agent: str) -> list[Response]:
    """The responses `agent` received, parsed, in order."""
    messages = [parse_message(r.data) for r in records
                if r.agent == agent and r.direction == "received"]
    return [m for m in messages if isinstance(m, Response)]


def _tagged_18x(responses: list[Response]) -> list[Response]:
    return [r for r in responses if r.status // 10 == 18 and r.to.tag is not None]


# --------------------------------------------------------------------------- no fault


async def test_a_faultless_shim_changes_no_verdict(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    async with SipShim(lab, downstream=target.sip_address) as shim:
        bypass = await _call(lab, target, shim, BYPASS, tmp_path / "bypass.pcap")
        proxy = await _call(lab, target, shim, PROXY, tmp_path / "proxy.pcap")
    assert bypass.established and proxy.established
    assert mc.bypass_media_path(bypass).verdict is Verdict.OK
    assert mc.bypass_sdp(bypass).verdict is Verdict.OK
    assert mc.relayed(proxy).verdict is Verdict.OK
    assert mc.proxy_sdp_untouched(proxy).verdict is Verdict.OK
    assert shim.fired == 0
    # The calls really went through the shim: the INVITEs and their responses crossed it.
    invites = [r for r in shim.log if r.first_line.startswith("INVITE ")]
    assert len(invites) == 2 and all(r.destination == target.sip_address for r in invites)
    assert any(r.first_line == "SIP/2.0 200 OK" and r.direction == "upstream"
               for r in shim.log)
    assert "shim" in bypass.ladder


# --------------------------------------------------------------------------- REWRITE_SDP_ADDRESS


async def test_bypass_sdp_fails_when_the_shim_rewrites_c(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    async with SipShim(lab, downstream=target.sip_address,
                       fault=Fault.REWRITE_SDP_ADDRESS) as shim:
        call = await _call(lab, target, shim, BYPASS, tmp_path / "call.pcap")
    assert call.established
    found = mc.bypass_sdp(call)
    assert found.verdict is Verdict.FAILED
    assert UNREACHABLE_ADDRESS in found.summary
    assert shim.fired >= 2  # the offer on its way in, the answer on its way out
    assert any(r.action.startswith("rewritten: c= ") for r in shim.log)


# --------------------------------------------------------------------------- DROP_18X


async def test_drop_18x_keeps_the_ringing_from_the_caller(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    async with SipShim(lab, downstream=target.sip_address, fault=Fault.DROP_18X) as shim:
        call = await _call(lab, target, shim, BYPASS, tmp_path / "call.pcap")
    assert call.established and call.final_status == 200
    sent = [parse_message(r.data) for r in call.sip if r.agent == call.callee
            and r.direction == "sent"]
    assert any(isinstance(m, Response) and m.status == 180 for m in sent)  # the callee rang
    assert _tagged_18x(_received(call.sip, call.caller)) == []
    assert shim.fired == 1
    (dropped,) = [r for r in shim.log if r.faulted]
    assert dropped.first_line == "SIP/2.0 180 Ringing" and dropped.action.startswith("dropped")


# --------------------------------------------------------------------------- SWALLOW_CANCEL


@asynccontextmanager
async def _agents(lab: Lab, *hosts: str) -> AsyncIterator[list[SipAgent]]:
    agents = [SipAgent(h, lab.netns(h), lab.address(h)) for h in hosts]
    try:
        for agent in agents:
            await agent.open()
        yield agents
    finally:
        for agent in agents:
            agent.close()


async def _cancel_reaches_callee(
    lab: Lab, target: Target, shim: SipShim, *, request_uri: str, send_to: Address
) -> bool:
    """INVITE, 180, CANCEL; True if the callee saw the CANCEL within 1 s. Ends with 487."""
    async with _agents(lab, "caller", "callee1") as (caller, callee):
        offer = make_offer(caller.address, 40000, (PCMU,))
        invite = caller.endpoint.create_invite(request_uri, body=bytes(offer),
                                               content_type="application/sdp")
        caller.endpoint.send_request(invite, send_to, caller.now)
        caller.pump()
        got = await callee.wait_for(RequestReceived, "the INVITE",
                                    where=lambda e: e.request.method == "INVITE")
        callee.endpoint.respond(got.request, 180, callee.now)
        callee.pump()
        await caller.wait_for(ResponseReceived, "the 180",
                              where=lambda e: e.response.status == 180)
        caller.endpoint.cancel(invite, caller.now)
        caller.pump()
        try:
            await callee.wait_for(CancelReceived, "the CANCEL", timeout=1.0)
            cancelled = True  # the callee's endpoint answered 200 and 487 by itself
        except TargetViolation:
            cancelled = False
            callee.endpoint.respond(got.request, 487, callee.now)
            callee.pump()
        final = await caller.wait_for(
            ResponseReceived, "the 487",
            where=lambda e: e.request.method == "INVITE" and e.response.status >= 300,
        )
        assert final.response.status == 487
        await asyncio.sleep(0.05)  # the ACKs for the 487s, hop by hop
        return cancelled


@pytest.mark.parametrize("fault", [Fault.NONE, Fault.SWALLOW_CANCEL])
async def test_swallow_cancel_on_the_caller_side(
    lab: Lab, target: Target, fault: Fault
) -> None:
    request_uri = target.loaded.spec.request_uri(PROXY, lab.address("callee1"), 5060)
    async with SipShim(lab, downstream=target.sip_address, fault=fault) as shim:
        cancelled = await _cancel_reaches_callee(lab, target, shim, request_uri=request_uri,
                                                 send_to=shim.address)
    assert cancelled is (fault is Fault.NONE)
    assert (shim.fired > 0) is (fault is Fault.SWALLOW_CANCEL)
    assert any(r.first_line.startswith("CANCEL ") for r in shim.log)


@pytest.mark.parametrize("fault", [Fault.NONE, Fault.SWALLOW_CANCEL])
async def test_swallow_cancel_on_the_callee_side(
    lab: Lab, target: Target, fault: Fault
) -> None:
    """The target dials the shim as the callee; the shim passes on to callee1."""
    callee = (lab.address("callee1"), 5060)
    async with SipShim(lab, downstream=callee, fault=fault) as shim:
        request_uri = target.loaded.spec.request_uri(PROXY, shim.address[0], shim.address[1])
        cancelled = await _cancel_reaches_callee(lab, target, shim, request_uri=request_uri,
                                                 send_to=target.sip_address)
    assert cancelled is (fault is Fault.NONE)
    assert (shim.fired > 0) is (fault is Fault.SWALLOW_CANCEL)
    cancels = [r for r in shim.log if r.first_line.startswith("CANCEL ")]
    assert cancels and all(r.source[0] in target.addresses for r in cancels)


# --------------------------------------------------------------------------- forked 18x


async def _forked_18x(
    lab: Lab, target: Target, fault: Fault, status: int
) -> tuple[list[Response], list[Response], SipShim]:
    """A bypass call forked to callee1 and callee2 through a caller-side shim; both answer
    `status` (183 with SDP, else without), then 486. Returns (18x the callees sent,
    18x the caller received, the shim)."""
    forking = target.loaded.spec.forking
    if forking is None:
        pytest.skip("the target declares no way to fork a call")
    uri = target.loaded.spec.request_uri(BYPASS, lab.address("callee1"), 5060)
    user = uri.split(":", 1)[1].split("@")[0]
    extra = [(forking.header, f"sip:{user}@{lab.address('callee2')}:5060")]
    sent: list[Response] = []
    async with SipShim(lab, downstream=target.sip_address, fault=fault) as shim, \
            _agents(lab, "caller", "callee1", "callee2") as (caller, *callees):
        offer = make_offer(caller.address, 40000, (PCMU,))
        invite = caller.endpoint.create_invite(uri, body=bytes(offer),
                                               content_type="application/sdp", extra=extra)
        caller.endpoint.send_request(invite, shim.address, caller.now)
        caller.pump()
        requests = []
        for n, callee in enumerate(callees):
            got = await callee.wait_for(RequestReceived, "the forked INVITE",
                                        where=lambda e: e.request.method == "INVITE")
            requests.append(got.request)
            body = b""
            if status == 183:
                body = bytes(make_answer(SessionDescription.parse(got.request.body),
                                         callee.address, 42000 + 2 * n, (PCMU,)))
            sent.append(callee.endpoint.respond(
                got.request, status, callee.now, body=body,
                content_type="application/sdp" if body else None))
            callee.pump()
        deadline = caller.now + 2.0
        while len(_tagged_18x(_received(caller.records, "caller"))) < 2 \
                and caller.now < deadline:
            await asyncio.sleep(0.01)
        for callee, request in zip(callees, requests, strict=True):
            callee.endpoint.respond(request, 486, callee.now)
            callee.pump()
        await caller.wait_for(ResponseReceived, "the final response",
                              where=lambda e: e.response.status >= 300)
        await asyncio.sleep(0.05)
        received = _tagged_18x(_received(caller.records, "caller"))
    return sent, received, shim


async def test_reuse_to_tag_merges_two_forked_branches(lab: Lab, target: Target) -> None:
    sent, received, shim = await _forked_18x(lab, target, Fault.REUSE_TO_TAG, 180)
    assert len({r.to.tag for r in sent}) == 2  # two branches, two dialogs ...
    assert len(received) == 2
    assert len({r.to.tag for r in received}) == 1  # ... arrive as one
    assert shim.fired == 1


async def test_redirect_early_media_points_the_second_branch_at_the_first(
    lab: Lab, target: Target
) -> None:
    sent, received, shim = await _forked_18x(lab, target, Fault.REDIRECT_EARLY_MEDIA, 183)
    assert len(received) == 2 and shim.fired == 1
    first_in, second_in = received
    sent_by_tag = {r.to.tag: r for r in sent}
    assert first_in.body == sent_by_tag[first_in.to.tag].body  # bypass: SDP end to end

    def transport(body: bytes) -> tuple[str, int]:
        sd = SessionDescription.parse(body)
        return effective_address(sd), sd.media[0].port

    assert transport(second_in.body) == transport(first_in.body)
    assert transport(sent_by_tag[second_in.to.tag].body) != transport(first_in.body)
