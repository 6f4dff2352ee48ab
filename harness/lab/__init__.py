"""The lab: hosts as data (`topology`) and their realisation as network namespaces (`netns`)."""

from harness.lab.netns import Lab, check_privileges, cleanup_leftovers, list_netns
from harness.lab.topology import Host, Role, Topology, default_topology

__all__ = [
    "Host", "Lab", "Role", "Topology", "check_privileges", "cleanup_leftovers",
    "default_topology", "list_netns",
]
