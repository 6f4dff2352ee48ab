"""`leave_nothing_up`: two real agents on loopback (no target, no root) that gave up
half-way, the way a scenario does when the target misbehaves, end what they left open.
An answered call the caller never ACKed nor BYEd gets its ACK and BYE; an INVITE still
ringing is CANCELled (487); nothing left open costs nothing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from harness.endpoints.sip import SipAgent, leave_nothing_up
from harness.sip import RequestReceived, ResponseReceived

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def agents() -> AsyncIterator[tuple[SipAgent, SipAgent]]:
    caller = await SipAgent("caller", None, "127.0.0.1", _free_port()).open()
    callee = await SipAgent("callee", None, "127.0.0.1", _free_port()).open()
    try:
        yield caller, callee
    finally:
        caller.close()
        callee.close()
        await asyncio.sleep(0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _ring(caller: SipAgent, callee: SipAgent, status: int) -> RequestReceived:
    invite = caller.endpoint.create_invite(f"sip:callee@127.0.0.1:{callee.port}")
    caller.endpoint.send_request(invite, ("127.0.0.1", callee.port), caller.now)
    caller.pump()
    got = await callee.wait_for(RequestReceived, "the INVITE",
                                where=lambda e: e.request.method == "INVITE")
    callee.endpoint.respond(got.request, status, callee.now)
    callee.pump()
    await caller.wait_for(ResponseReceived, f"the {status}",
                          where=lambda e: e.response.status == status)
    return got


def _sent(agent: SipAgent, method: str) -> int:
    return sum(1 for r in agent.records if r.direction == "sent"
               and r.data.startswith(method.encode() + b" "))


async def test_an_answered_call_left_up_gets_its_ack_and_bye(
    agents: tuple[SipAgent, SipAgent],
) -> None:
    caller, callee = agents
    await _ring(caller, callee, 200)  # answered; the caller gives up: no ACK, no BYE
    assert caller.endpoint.live_dialogs(uac=True)
    notes: list[str] = []
    await leave_nothing_up([caller, callee], notes)
    assert _sent(caller, "ACK") == 1 and _sent(caller, "BYE") == 1
    assert not caller.endpoint.live_dialogs(uac=True)
    assert not callee.endpoint.live_dialogs(uac=False)
    assert notes and "caller: BYE" in notes[0]


async def test_a_ringing_invite_is_cancelled(agents: tuple[SipAgent, SipAgent]) -> None:
    caller, callee = agents
    await _ring(caller, callee, 180)  # ringing; the caller gives up waiting for the answer
    sent, received = caller.endpoint.open_invites()[0], callee.endpoint.open_invites()[1]
    assert len(sent) == 1 and len(received) == 1
    await leave_nothing_up([caller, callee])
    assert _sent(caller, "CANCEL") == 1
    assert any(r.data.startswith(b"SIP/2.0 487") for r in callee.records if r.direction == "sent")
    assert caller.endpoint.open_invites() == ([], [])
    assert callee.endpoint.open_invites() == ([], [])


async def test_nothing_open_costs_nothing(agents: tuple[SipAgent, SipAgent]) -> None:
    caller, callee = agents
    loop = asyncio.get_running_loop()
    start, notes = loop.time(), []
    await leave_nothing_up([caller, callee], notes)
    assert notes == [] and caller.records == [] and loop.time() - start < 0.5
