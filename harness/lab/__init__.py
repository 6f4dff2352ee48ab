"""The lab: hosts as data (`topology`) and their realisation as network namespaces (`netns`)."""

from harness.lab.netns import (
    ExternalBridge,
    Lab,
    check_privileges,
    cleanup_leftovers,
    list_netns,
    new_prefix,
)
from harness.lab.topology import Host, Role, Topology, default_topology

__all__ = [
    "ExternalBridge", "Host", "Lab", "Role", "Topology", "check_privileges",
    "cleanup_leftovers", "new_prefix",
    "default_topology", "list_netns",
]
