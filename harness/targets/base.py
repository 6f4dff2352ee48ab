"""The Target protocol every launcher (process, docker, external) implements."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from harness.lab import Lab
from harness.targets.spec import LoadedTarget


def matching_lines(logs: Mapping[str, str], patterns: Mapping[str, Sequence[str]]
                   ) -> list[str]:
    """The lines of each log (by its name) that one of that log's patterns finds, as
    ``<log>: <line>``, each line once and in the order written: what a target file's
    error patterns (`config_errors`, `runtime_errors`) find in what the target logged.
    The name says which log a line came from; a log without patterns finds nothing."""
    found = []
    for name, text in logs.items():
        compiled = [re.compile(pattern) for pattern in patterns.get(name, ())]
        if compiled:
            found += [f"{name}: {line}" for line in text.splitlines()
                      if any(rx.search(line) for rx in compiled)]
    return found


def lab_addresses(lab: Lab) -> dict[str, str]:
    """Every lab host's address by its name (the agents', the routers', the target's), for
    a target's program commands (``{hosts[callee1]}``) and container environment
    (``SBC_HOST_CALLEE1``): a product configured from the address plan needs them all,
    not only its own address."""
    return {host.name: lab.address(host.name) for host in lab.topology.all_hosts}


def host_variables(lab: Lab) -> dict[str, str]:
    """`lab_addresses` as environment variables: ``SBC_HOST_<NAME>`` (upper case, ``-``
    as ``_``)."""
    return {f"SBC_HOST_{name.upper().replace('-', '_')}": address
            for name, address in lab_addresses(lab).items()}


class LabHosted:
    """What a launcher whose target sits on a lab host knows of its addresses."""

    loaded: LoadedTarget
    lab: Lab
    host: str

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset({self.lab.address(self.host)})

    @property
    def sip_address(self) -> tuple[str, int]:
        return self.lab.address(self.host), self.loaded.spec.signalling.port

    @property
    def control_netns(self) -> str | None:
        return self.lab.netns(self.host)


class Target(Protocol):
    """A started (or reachable) device under test."""

    loaded: LoadedTarget

    @property
    def addresses(self) -> frozenset[str]:
        """Every IP address the target uses, for signalling and media."""

    @property
    def sip_address(self) -> tuple[str, int]:
        """Where the endpoints send their out-of-dialog requests."""

    @property
    def control_netns(self) -> str | None:
        """The network namespace (a name under /run/netns or a path) the target's own
        control sockets and commands are reached from, as its readiness probes are (its
        lab host's); None: the harness's own."""

    async def start(self) -> None:
        """Start the target and return once it is ready; TargetStartError otherwise."""

    async def stop(self) -> None:
        """Stop everything start() started. Idempotent."""

    def logs(self) -> dict[str, str]:
        """The logs of the target's programs, by program name."""

    def log_mark(self) -> dict[str, int]:
        """A position in every log, to take what was written since (`logs_since`)."""

    def logs_since(self, mark: dict[str, int]) -> dict[str, str]:
        """What each program logged since `mark`."""

    def config_errors(self, mark: dict[str, int] | None = None) -> list[str]:
        """Log lines (since `mark`) that show the target's configuration is wrong."""

    def log_errors(self, mark: dict[str, int] | None = None) -> list[str]:
        """Log lines (since `mark`) that any error pattern of the target file finds, its
        `runtime_errors` and its `config_errors`: what the plugin matches over the lines
        written during each case (`harness.pytest_plugin.target_log`)."""
