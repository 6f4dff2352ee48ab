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
from collections.abc import Callable
from typing import TypeVar

from harness.errors import TargetViolation
from harness.evidence.records import SipRecord
from harness.net import Address, UdpEndpoint
from harness.sip import MessageMalformed, SipEndpoint

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

    def pending(self, kind: type[E]) -> list[E]:
        """The events of `kind` no `wait_for` has claimed yet, oldest first."""
        return [e for e in self._events if isinstance(e, kind)]

    async def wait_for(
        self, kind: type[E], what: str, timeout: float = 2.0,
        where: Callable[[E], bool] = lambda e: True,
    ) -> E:
        """The next event of `kind` matching `where` (earlier unclaimed ones first).

        A malformed message seen meanwhile, or nothing within `timeout`, is the
        target's fault: TargetViolation, with the bytes as evidence.
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
            raise TargetViolation(
                f"{self.name}: {what} did not arrive within {timeout:.1f} s"
            ) from None
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
