"""Topologies are checked before anything is built: lab range, overlaps, names."""

from __future__ import annotations

import dataclasses

import pytest

from harness.lab.topology import Forward, Host, Role, Site, Topology, default_topology


def test_default_topology_has_a_branch_and_a_nat_site() -> None:
    topo = default_topology()
    assert topo.host("branch1").address == "198.19.1.10"
    assert topo.site_of("natted") is not None and topo.site_of("natted").nat  # type: ignore[union-attr]
    assert topo.site_of("caller") is None
    assert topo.host("rtrb").role is Role.ROUTER
    assert topo.name_of("198.19.2.10") == "natted"
    assert "natted" in topo.names() and len(topo.names()) == len(set(topo.names()))


def _with_site(**changes: object) -> Topology:
    base = default_topology()
    site = dataclasses.replace(base.sites[0], **changes)  # type: ignore[arg-type]
    return Topology(base.subnet, base.hosts, (site, base.sites[1]))


@pytest.mark.parametrize(("changes", "message"), [
    ({"subnet": "10.1.0.0/24"}, "outside 198.18.0.0/15"),
    ({"subnet": "198.19.2.0/24", "gateway": "198.19.2.1", "hosts": ()}, "overlaps"),
    ({"subnet": "198.18.0.128/25", "gateway": "198.18.0.129", "hosts": ()}, "overlaps"),
    ({"gateway": "198.19.9.1"}, "gateway 198.19.9.1 is outside"),
    ({"router": Host("rtrb", "198.19.1.3", Role.ROUTER)}, "rtrb address 198.19.1.3 is outside"),
    ({"hosts": (Host("caller", "198.19.1.10"),)}, "host name caller is used twice"),
    ({"forwards": (Forward(5060, "callee1"),)}, "not one of its hosts"),
    ({"name": "toolong1"}, "longer than 6"),
])
def test_bad_sites_are_refused_with_the_reason(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _with_site(**changes)


def test_a_site_with_no_hosts_is_allowed() -> None:
    base = default_topology()
    Topology(base.subnet, base.hosts, (Site("empty", "198.19.9.0/24",
                                            Host("rtre", "198.18.0.9", Role.ROUTER),
                                            "198.19.9.1", ()),))
