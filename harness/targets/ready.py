"""Readiness probes shared by the launchers: is rtpengine's ng port up, does SIP answer?

Each probe runs from a socket inside the target's own network namespace (a
lab namespace, or a container's /proc/<pid>/ns/net), so it proves the
program listens where the endpoints will reach it.
"""

from __future__ import annotations

import asyncio
import secrets

from harness.net import udp_socket
from harness.targets.ng import ng_command


async def ng_ping(netns: str | None, address: str) -> bool:
    """rtpengine answers an ng ``ping`` with ``pong`` at ``host:port``."""
    host, _, port = address.rpartition(":")
    try:
        reply = await ng_command(netns, (host, int(port)), {"command": "ping"}, 0.1)
    except (TimeoutError, OSError, ValueError):
        return False
    return reply.get("result") == b"pong"


async def sip_options_ping(netns: str | None, sip: tuple[str, int]) -> bool:
    """Any SIP response to an OPTIONS sent to the signalling address means it is up."""
    loop = asyncio.get_running_loop()
    address, port = sip
    sock = udp_socket(netns, address, 0)
    try:
        local_port = sock.getsockname()[1]
        msg = (
            f"OPTIONS sip:{address}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {address}:{local_port};rport;"
            f"branch=z9hG4bK{secrets.token_hex(8)}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:ready@{address}>;tag={secrets.token_hex(4)}\r\n"
            f"To: <sip:{address}:{port}>\r\n"
            f"Call-ID: ready-{secrets.token_hex(8)}\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        await loop.sock_sendto(sock, msg, (address, port))
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), 0.1)
        except TimeoutError:
            return False
        return data.startswith(b"SIP/2.0 ")
    finally:
        sock.close()


async def target_still_answers(netns: str | None, sip: tuple[str, int], tries: int = 5) -> bool:
    """Whether the target answers an OPTIONS within `tries` attempts (each waits 0.1 s):
    after something was thrown at it, one lost datagram must not make it look dead."""
    for _ in range(tries):
        if await sip_options_ping(netns, sip):
            return True
    return False


async def probe(kind: str, netns: str | None, *, ng_address: str | None,
                sip: tuple[str, int]) -> bool:
    """Run the probe a target file names: "ng-ping", "sip-options" or "none"."""
    if kind == "none":
        return True
    if kind == "ng-ping":
        return await ng_ping(netns, ng_address or "127.0.0.1:2223")
    return await sip_options_ping(netns, sip)
