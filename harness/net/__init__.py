"""The only socket code of the harness: namespace-aware sockets and asyncio transports."""

from harness.net.netns import netns, udp_socket

__all__ = ["netns", "udp_socket"]
