"""One exception tree for the whole harness.

Every error says whose fault it is::

    Exception
    ├── TargetViolation (AssertionError)   the target broke a requirement -> Allure "failed"
    └── HarnessError                       our code, the lab or the set-up broke -> Allure "broken"
        ├── SetupError                     a missing tool, no root, a port in use ...
        │   └── MissingToolError           a program or package is not installed
        ├── TargetFileError                a target.toml that does not parse or validate
        ├── TargetStartError               the target did not start (carries its log tail)
        ├── LabError                       namespaces, bridge, veth, capture
        └── CaptureError                   the capture did not start or could not be read

`TargetViolation` derives from AssertionError on purpose: pytest and
allure-pytest then report it as a failed test, not as a broken one.
Protocol-level parse errors (`harness.sip.SipParseError`, ...) are ValueErrors
of their own module; the agents turn a malformed message *from the target*
into a TargetViolation carrying the bytes as evidence.
"""

from __future__ import annotations


class TargetViolation(AssertionError):
    """The target did something a requirement forbids (or failed to do what it demands)."""

    def __init__(self, message: str, *, evidence: bytes | str | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence


class HarnessError(Exception):
    """The harness, the lab or the machine broke: no verdict about the target."""


class SetupError(HarnessError):
    """The machine is not set up for the run (permissions, ports, packages)."""


class MissingToolError(SetupError):
    """A program the harness needs is not installed."""

    def __init__(self, tool: str, package: str) -> None:
        super().__init__(
            f"{tool!r} is not installed or not on PATH; install it with "
            f"'apt-get install --no-install-recommends {package}' (or run ./bootstrap)"
        )
        self.tool = tool
        self.package = package


class TargetFileError(HarnessError):
    """A target file (target.toml) does not parse or does not validate."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class TargetStartError(HarnessError):
    """The target did not start or did not become ready."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        full = message if not log_tail else f"{message}\n--- last lines of its log ---\n{log_tail}"
        super().__init__(full)
        self.log_tail = log_tail


class LabError(HarnessError):
    """Setting up or tearing down the lab network failed."""


class CaptureError(HarnessError):
    """The packet capture did not start, or its file could not be read."""
