"""The lab as data: which hosts exist, their roles and addresses.

Pure: nothing here touches the system. `harness.lab.netns` realises a
`Topology` as Linux network namespaces on a bridge.

Besides the main subnet (the target, the shim, the caller, the callees) a
topology may have `Site`s: a subnet of its own behind a router host that sits
on the main subnet. A routed site (a branch office) is reachable both ways; a
NAT site hides its hosts behind the router's address (masquerade), reachable
from outside only through the ports the router forwards, the way a home
router treats a phone.

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
    ROUTER = "router"


@dataclass(frozen=True)
class Host:
    """One host of the lab: a name (short: it ends up in interface names) and an address."""

    name: str
    address: str
    role: Role = Role.ENDPOINT


@dataclass(frozen=True)
class Forward:
    """A port a NAT router forwards from its outside address to a host inside."""

    port: int
    to_host: str
    protocol: str = "udp"


@dataclass(frozen=True)
class Site:
    """A subnet behind a router. The router is a host of the main subnet (its `router`
    address there) with a second interface at `gateway` inside the site; the site's hosts
    route everything through it. `nat`: the router masquerades the site's traffic and
    the main subnet gets no route to it; only `forwards` reach inside. `wan`: the link
    between the router and the site runs through `harness.lab.wan` (delay, loss, rate
    limit, set with `Lab.impair`)."""

    name: str
    subnet: str
    router: Host
    gateway: str
    hosts: tuple[Host, ...]
    nat: bool = False
    forwards: tuple[Forward, ...] = ()
    wan: bool = False  # the router's two halves are joined by a user-space WAN link


    @property
    def prefix_length(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen


@dataclass(frozen=True)
class Topology:
    """Hosts on one bridged subnet, and sites behind routers on it."""

    subnet: str
    hosts: tuple[Host, ...]
    sites: tuple[Site, ...] = ()

    def __post_init__(self) -> None:
        net = _lab_net(self.subnet, "lab subnet")
        seen: set[str] = set()
        nets = [net]
        for site in self.sites:
            if len(site.name) > 6:
                raise ValueError(f"site name {site.name!r} is longer than 6 characters")
            inside = _lab_net(site.subnet, f"site {site.name} subnet")
            for other in nets:
                if inside.overlaps(other):
                    raise ValueError(f"site {site.name} subnet {inside} overlaps {other}")
            nets.append(inside)
            _inside(site.router, net)
            if ipaddress.ip_address(site.gateway) not in inside:
                raise ValueError(f"site {site.name} gateway {site.gateway} is outside {inside}")
            for host in site.hosts:
                _inside(host, inside)
            names = {h.name for h in site.hosts}
            for forward in site.forwards:
                if forward.to_host not in names:
                    raise ValueError(f"site {site.name} forwards port {forward.port} to "
                                     f"{forward.to_host}, which is not one of its hosts")
        for host in self.hosts:
            _inside(host, net)
        for host in self.all_hosts:
            if host.name in seen:
                raise ValueError(f"host name {host.name} is used twice")
            if len(host.name) > 8:
                raise ValueError(f"host name {host.name!r} is longer than 8 characters")
            seen.add(host.name)

    @property
    def prefix_length(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen

    @property
    def all_hosts(self) -> tuple[Host, ...]:
        """The main subnet's hosts, the sites' routers, then the sites' hosts."""
        return (*self.hosts, *(s.router for s in self.sites),
                *(h for s in self.sites for h in s.hosts))

    def host(self, name: str) -> Host:
        for host in self.all_hosts:
            if host.name == name:
                return host
        raise KeyError(f"no host {name!r} in the lab (hosts: {', '.join(self.names())})")

    def site_of(self, name: str) -> Site | None:
        """The site `name` is a host of (None: the main subnet, or a router)."""
        return next((s for s in self.sites if any(h.name == name for h in s.hosts)), None)

    def names(self) -> list[str]:
        return [h.name for h in self.all_hosts]

    @property
    def targets(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is Role.TARGET)

    @property
    def endpoints(self) -> tuple[Host, ...]:
        return tuple(h for h in self.all_hosts if h.role is Role.ENDPOINT)

    def name_of(self, address: str) -> str | None:
        for host in self.all_hosts:
            if host.address == address:
                return host.name
        return None


def _lab_net(subnet: str, what: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    net = ipaddress.ip_network(subnet)
    if not net.subnet_of(LAB_RANGE):  # type: ignore[arg-type]
        raise ValueError(f"{what} {subnet} is outside {LAB_RANGE}")
    return net


def _inside(host: Host, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
    if ipaddress.ip_address(host.address) not in net:
        raise ValueError(f"host {host.name} address {host.address} is outside {net}")


BRANCH_SUBNET = "198.19.1.0/24"
NAT_SUBNET = "198.19.2.0/24"


def default_topology(subnet: str = "198.18.0.0/24") -> Topology:
    """The target "sbc" (.2), a fault-injecting relay "shim" (.5), a Skype for Business
    mediation server's signalling host "medsrv" (.6), the caller (.10) and callee1..3
    (.21-.23) on `subnet`; a branch site (router "rtrb" at .3, hosts
    "branch1" and "branch2" in 198.19.1.0/24) and a NAT site (router "natr" at .4
    forwarding UDP 5060 to "natted" in 198.19.2.0/24).

    .1 is left free: it is the gateway address of a Docker network. The sites'
    subnets are in 198.19.0.0/16, away from the /24s Docker networks take in
    198.18.0.0/16.
    """
    net = ipaddress.ip_network(subnet)

    def at(offset: int) -> str:
        return str(net.network_address + offset)

    branch = ipaddress.ip_network(BRANCH_SUBNET).network_address
    natted = ipaddress.ip_network(NAT_SUBNET).network_address
    return Topology(
        subnet=subnet,
        hosts=(
            Host("sbc", at(2), Role.TARGET),
            Host("shim", at(5)),
            Host("medsrv", at(6)),
            Host("caller", at(10)),
            Host("callee1", at(21)),
            Host("callee2", at(22)),
            Host("callee3", at(23)),
        ),
        sites=(
            Site("branch", BRANCH_SUBNET, Host("rtrb", at(3), Role.ROUTER), str(branch + 1),
                 (Host("branch1", str(branch + 10)), Host("branch2", str(branch + 11))),
                 wan=True),
            Site("nat", NAT_SUBNET, Host("natr", at(4), Role.ROUTER), str(natted + 1),
                 (Host("natted", str(natted + 10)),), nat=True,
                 forwards=(Forward(5060, "natted"),)),
        ),
    )
