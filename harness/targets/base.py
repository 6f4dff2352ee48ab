"""The Target protocol every launcher (process, docker, external) implements."""

from __future__ import annotations

from typing import Protocol

from harness.lab import Lab
from harness.targets.spec import LoadedTarget


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


class Target(Protocol):
    """A started (or reachable) device under test."""

    loaded: LoadedTarget

    @property
    def addresses(self) -> frozenset[str]:
        """Every IP address the target uses, for signalling and media."""

    @property
    def sip_address(self) -> tuple[str, int]:
        """Where the endpoints send their out-of-dialog requests."""

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
