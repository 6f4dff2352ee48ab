"""The only socket code of the harness: namespace-aware sockets and asyncio transports."""

from harness.net.netns import netns, udp_socket
from harness.net.udp import Address, UdpEndpoint

__all__ = ["Address", "UdpEndpoint", "netns", "udp_socket"]
