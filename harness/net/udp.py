"""asyncio UDP endpoints over sockets opened inside lab namespaces."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from harness.errors import SetupError
from harness.net.netns import udp_socket

Address = tuple[str, int]
DatagramHandler = Callable[[bytes, Address, float], None]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, handler: DatagramHandler, loop: asyncio.AbstractEventLoop) -> None:
        self.handler = handler
        self.loop = loop

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.handler(data, (addr[0], addr[1]), self.loop.time())

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and friends: UDP has no connection to break.
        pass


class UdpEndpoint:
    """A bound UDP socket in a namespace; every datagram goes to `handler(data, source, now)`."""

    def __init__(self, transport: asyncio.DatagramTransport, local: Address) -> None:
        self._transport = transport
        self.local = local

    @classmethod
    async def open(
        cls, netns: str | None, address: str, port: int, handler: DatagramHandler
    ) -> UdpEndpoint:
        loop = asyncio.get_running_loop()
        sock = udp_socket(netns, address, port)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(handler, loop), sock=sock
        )
        name = sock.getsockname()
        return cls(transport, (name[0], name[1]))

    @classmethod
    async def open_even(
        cls, netns: str | None, address: str, handler: DatagramHandler,
        low: int = 40000, high: int = 49998,
    ) -> UdpEndpoint:
        """Bind an even port in [low, high] (RTP convention), trying a few at random."""
        for _ in range(50):
            port = random.randrange(low, high + 1, 2)
            try:
                return await cls.open(netns, address, port, handler)
            except SetupError:
                continue
        raise SetupError(f"no free even UDP port in {low}-{high} on {address}")

    def sendto(self, data: bytes, addr: Address) -> None:
        self._transport.sendto(data, addr)

    def close(self) -> None:
        self._transport.close()
