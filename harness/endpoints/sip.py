"""A SIP user agent on a lab host: the sans-IO `SipEndpoint` driven by asyncio.

The agent owns one UDP socket in its host's namespace, feeds every datagram
to the endpoint with the loop's clock as `now`, sends what the endpoint wants
sent, arms one timer for the endpoint's next deadline, and queues the
endpoint's events for the call flows to await. It records every message on
the wire as the agent saw it (`records`), which the ladder and the SDP
evidence are built from.

A malformed message from the target is never a harness traceback: waiting
for an event raises `TargetViolation` carrying the bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar

from harness.errors import TargetViolation
from harness.evidence.preconditions import Precondition, PreconditionUnmet, RoutingMismatch
from harness.evidence.records import SipRecord
from harness.net import Address, UdpEndpoint
from harness.sip import MessageMalformed, RequestReceived, SipEndpoint

E = TypeVar("E")


class SipAgent:
    """One user agent: a name, a namespace, an address and port, a SIP endpoint."""

    def __init__(
        self, name: str, netns: str | None, address: str, port: int = 5060,
        *, contact: Address | None = None,
    ) -> None:
        self.name = name
        self.netns = netns
        self.address = address
        self.port = port
        self.endpoint = SipEndpoint((address, port), user=name, contact_addr=contact)
        self.records: list[SipRecord] = []
        self._events: list[object] = []
        self._waiters: list[tuple[Callable[[object], bool], asyncio.Future[object]]] = []
        self._udp: UdpEndpoint | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> SipAgent:
        self._loop = asyncio.get_running_loop()
        self._udp = await UdpEndpoint.open(self.netns, self.address, self.port, self._received)
        return self

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()

    @property
    def is_open(self) -> bool:
        return self._udp is not None

    async def __aenter__(self) -> SipAgent:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    @property
    def now(self) -> float:
        assert self._loop is not None, "agent is not open"
        return self._loop.time()

    def _received(self, data: bytes, source: Address, now: float) -> None:
        self.records.append(SipRecord(now, self.name, "received", source, data))
        self.endpoint.receive_datagram(data, source, now)
        self.pump()

    def _on_timer(self) -> None:
        self._timer = None
        self.endpoint.handle_timer(self.now)
        self.pump()

    def pump(self) -> None:
        """Send what the endpoint queued, dispatch its events, re-arm its timer."""
        assert self._udp is not None and self._loop is not None, "agent is not open"
        for data, dest in self.endpoint.datagrams_to_send():
            self.records.append(SipRecord(self.now, self.name, "sent", dest, data))
            self._udp.sendto(data, dest)
        for event in self.endpoint.next_events():
            self._events.append(event)
            for pred, fut in list(self._waiters):
                if not fut.done() and pred(event):
                    fut.set_result(event)
                    self._waiters.remove((pred, fut))
                    break
        deadline = self.endpoint.get_timer()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def claim(self, event: object) -> None:
        """Take `event` (one `pending` listed) off the queue: it has been dealt with."""
        self._events.remove(event)

    def pending(self, kind: type[E]) -> list[E]:
        """The events of `kind` no `wait_for` has claimed yet, oldest first."""
        return [e for e in self._events if isinstance(e, kind)]

    async def wait_for(
        self, kind: type[E], what: str, timeout: float = 2.0,
        where: Callable[[E], bool] = lambda e: True, precondition: Precondition | None = None,
        routed_by: str | None = None,
    ) -> E:
        """The next event of `kind` matching `where` (earlier unclaimed ones first).

        A malformed message seen meanwhile, or nothing within `timeout`, is the
        target's fault: TargetViolation, with the bytes as evidence; nothing within
        `timeout` is `PreconditionUnmet` when the event is what `precondition` needs, and
        `RoutingMismatch` when it is the INVITE the dial plan routes here (`routed_by`: the
        Request-URI the caller dialled).
        """

        def match(event: object) -> bool:
            return isinstance(event, (kind, MessageMalformed)) and (
                isinstance(event, MessageMalformed) or where(event)
            )

        for event in list(self._events):
            if match(event):
                self._events.remove(event)
                return self._check(event, what)  # type: ignore[return-value]
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[object] = loop.create_future()
        self._waiters.append((match, fut))
        try:
            event = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            said = f"{self.name}: {what} did not arrive within {timeout:.1f} s"
            if routed_by is not None:
                raise RoutingMismatch(self.name, (self.address, self.port), said,
                                      request_uri=routed_by) from None
            if precondition is not None:
                raise PreconditionUnmet(precondition, said) from None
            raise TargetViolation(said) from None
        finally:
            if (match, fut) in self._waiters:
                self._waiters.remove((match, fut))
        self._events.remove(event)
        return self._check(event, what)  # type: ignore[return-value]

    def _check(self, event: object, what: str) -> object:
        if isinstance(event, MessageMalformed):
            raise TargetViolation(
                f"{self.name}: malformed SIP message from {event.source[0]}:{event.source[1]} "
                f"while waiting for {what}: {event.error}",
                evidence=event.data,
            )
        return event


#: How long agents that ended what they left open wait for the target to finish it.
END_GRACE_S = 1.0


def _end_open(agent: SipAgent, *, uas: bool) -> list[str]:
    """Queue what ends the calls `agent` has open, as the caller (`uas` false: CANCEL its
    unanswered INVITEs, ACK again and BYE its UAC dialogs) or as the callee (`uas`: 480 to
    the INVITEs it has not answered, BYE its UAS dialogs). Returns what it did, in words."""
    ep, now, did = agent.endpoint, agent.now, []
    sent, received = ep.open_invites()
    for invite in [] if uas else sent:
        ep.cancel(invite, now)
        did.append(f"{agent.name}: CANCEL {invite.call_id}")
    for invite in received if uas else []:
        ep.respond(invite, 480, now)
        did.append(f"{agent.name}: 480 to the INVITE {invite.call_id}")
    for dialog in ep.live_dialogs(uac=not uas):
        if dialog.is_uac and dialog.invite_cseq is not None:
            ep.send_ack(dialog, dialog.invite_cseq, now)  # the same ACK again: harmless
        ep.send_in_dialog(dialog, "BYE", now)
        did.append(f"{agent.name}: BYE {dialog.call_id}")
    agent.pump()
    return did


def _anything_open(agents: Sequence[SipAgent]) -> bool:
    return any(a.endpoint.live_dialogs(uac=True) or a.endpoint.live_dialogs(uac=False)
               or any(a.endpoint.open_invites()) for a in agents)


async def _answer_until_quiet(agents: Sequence[SipAgent], seconds: float) -> None:
    """For up to `seconds`: answer each BYE the agents get with 200 and each new INVITE
    with 480, until none of them has a call or an INVITE open."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        for agent in agents:
            for event in agent.pending(RequestReceived):
                method = event.request.method
                if method in ("BYE", "INVITE"):
                    agent.claim(event)
                    agent.endpoint.respond(event.request, 200 if method == "BYE" else 480,
                                           agent.now)
            agent.pump()
        if not _anything_open(agents) or loop.time() >= end:
            return
        await asyncio.sleep(0.02)


async def leave_nothing_up(agents: Sequence[SipAgent], notes: list[str] | None = None) -> None:
    """End every dialog and INVITE the agents began or received and left open, whatever
    went wrong (RFC 3261 §9.1 CANCEL, §15 BYE): the callers first, then the callees for
    what is still up. A scenario runs it as its agents close, so a case that gave up
    half-way leaves no call in the target for the next case to pay for. What it had to
    do is appended to `notes`; a target that does not answer only costs the grace time."""
    open_agents = [a for a in agents if a.is_open]
    if not _anything_open(open_agents):
        return
    did = [d for a in open_agents for d in _end_open(a, uas=False)]
    await _answer_until_quiet(open_agents, END_GRACE_S / 2)
    did += [d for a in open_agents for d in _end_open(a, uas=True)]
    await _answer_until_quiet(open_agents, END_GRACE_S / 2)
    if notes is not None and did:
        notes.append("left open when the scenario ended, and ended by the harness: "
                     + "; ".join(did))
