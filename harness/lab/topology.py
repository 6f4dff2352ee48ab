"""The lab as data: which hosts exist, their roles and addresses.

Pure: nothing here touches the system. `harness.lab.netns` realises a
`Topology` as Linux network namespaces on a bridge.

Every address must lie in 198.18.0.0/15 (RFC 2544's benchmarking range), so
a lab can never collide with, or leak into, a real network.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

LAB_RANGE = ipaddress.ip_network("198.18.0.0/15")


class Role(enum.Enum):
    ENDPOINT = "endpoint"
    TARGET = "target"


@dataclass(frozen=True)
class Host:
    """One host of the lab: a name (short: it ends up in interface names) and an address."""

    name: str
    address: str
    role: Role = Role.ENDPOINT


@dataclass(frozen=True)
class Topology:
    """Hosts on one bridged subnet."""

    subnet: str
    hosts: tuple[Host, ...]

    def __post_init__(self) -> None:
        net = ipaddress.ip_network(self.subnet)
        if not net.subnet_of(LAB_RANGE):  # type: ignore[arg-type]
            raise ValueError(f"lab subnet {self.subnet} is outside {LAB_RANGE}")
        seen: set[str] = set()
        for host in self.hosts:
            if ipaddress.ip_address(host.address) not in net:
                raise ValueError(f"host {host.name} address {host.address} is outside {net}")
            if host.name in seen:
                raise ValueError(f"host name {host.name} is used twice")
            if len(host.name) > 8:
                raise ValueError(f"host name {host.name!r} is longer than 8 characters")
            seen.add(host.name)

    @property
    def prefix_length(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(f"no host {name!r} in the lab (hosts: {', '.join(self.names())})")

    def names(self) -> list[str]:
        return [h.name for h in self.hosts]

    @property
    def targets(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is Role.TARGET)

    @property
    def endpoints(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is Role.ENDPOINT)

    def name_of(self, address: str) -> str | None:
        for host in self.hosts:
            if host.address == address:
                return host.name
        return None


def default_topology(subnet: str = "198.18.0.0/24") -> Topology:
    """The target "sbc" (.2), a fault-injecting relay "shim" (.5), the caller (.10) and
    callee1..3 (.21-.23) on `subnet`.

    .1 is left free: it is the gateway address of a Docker network.
    """
    net = ipaddress.ip_network(subnet)

    def at(offset: int) -> str:
        return str(net.network_address + offset)

    return Topology(
        subnet=subnet,
        hosts=(
            Host("sbc", at(2), Role.TARGET),
            Host("shim", at(5)),
            Host("caller", at(10)),
            Host("callee1", at(21)),
            Host("callee2", at(22)),
            Host("callee3", at(23)),
        ),
    )
