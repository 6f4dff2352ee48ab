"""The target file: ``peers/<name>/target.toml``.

It declares what the target claims to support (its PICS: media modes,
anchored-mode features, SRTP suites) and how the harness reaches and starts it
(its PIXIT: signalling port, how to dial each media mode, the programs to
start). Validation is pydantic's; every error is reported as
``file:line: what is wrong`` (`TargetFileError`).
"""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.errors import TargetFileError
from harness.media.modes import AnchoredFeature, MediaMode


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetInfo(_Strict):
    name: str
    version: str = "unknown"
    description: str = ""


class Signalling(_Strict):
    host: str = Field("sbc", description="lab host the target's SIP listens on")
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["udp"] = "udp"


class Capabilities(_Strict):
    media_modes: list[MediaMode] = []
    max_early_dialogs: int = Field(0, ge=0)
    anchored_features: list[AnchoredFeature] = []
    srtp_suites: list[str] = []


def _uri_template(value: str, allowed: tuple[str, ...] = ("callee_address", "callee_port")
                  ) -> str:
    """A sip: URI template using only the `allowed` {placeholders}."""
    unknown = set(re.findall(r"{(\w+)}", value)) - set(allowed)
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join(sorted(unknown))}; "
            f"use {' and '.join('{' + a + '}' for a in allowed)}"
        )
    if not value.startswith("sip:"):
        raise ValueError("must be a sip: URI template")
    return value


class ModeDial(_Strict):
    request_uri: str

    @field_validator("request_uri")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        return _uri_template(value)


class Program(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    command: list[str] = Field(min_length=1)
    ready: Literal["sip-options", "ng-ping", "none"] = "none"
    ready_address: str | None = None
    ready_timeout: float = Field(10.0, gt=0)
    config_errors: list[str] = Field(
        [], description="regexes: a match in the log means the target is misconfigured"
    )
    runtime_errors: list[str] = Field(
        [], description="regexes: a match in the log written during a case means the target "
        "failed at handling it (the case is BROKEN unless it expects errors)"
    )

    @field_validator("config_errors", "runtime_errors")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return value


class ProcessBackend(_Strict):
    programs: list[Program] = Field(min_length=1)


class Mount(_Strict):
    """A file or folder of the target's folder mounted into the container."""

    source: str = Field(description="relative to the target file's folder, or absolute")
    target: str = Field(pattern=r"^/")
    read_only: bool = True


ReadyProbe = Literal["sip-options", "ng-ping"]


class DockerBackend(_Strict):
    """The Docker backend: a ready image, or a build context with a Dockerfile."""

    image: str | None = None
    build: str | None = Field(None, description="build context, relative to the target file")
    dockerfile: str = "Dockerfile"
    base_arg: str = Field("BASE", description="build argument that receives the base image")
    environment: dict[str, str] = {}
    mounts: list[Mount] = []
    ready: list[ReadyProbe] = ["sip-options"]
    ready_address: str = "127.0.0.1:2223"
    ready_timeout: float = Field(30.0, gt=0)
    stop_timeout: float = Field(5.0, ge=0)
    config_errors: list[str] = []
    runtime_errors: list[str] = []  # as Program's, over the container's log

    @model_validator(mode="after")
    def _image_or_build(self) -> DockerBackend:
        if (self.image is None) == (self.build is None):
            raise ValueError("give exactly one of 'image' (a ready image) or 'build' "
                             "(a folder with a Dockerfile)")
        return self

    @field_validator("config_errors", "runtime_errors")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return Program._regexes(value)


class TeamsDirectRouting(_Strict):
    """The Teams Direct Routing media-bypass profile (seed 003): how to dial a call
    toward a Teams endpoint (the target offers to it as ICE-Lite with SDES) and from
    one (the Teams endpoint offers, the target answers as ICE-Lite)."""

    to_teams: ModeDial
    from_teams: ModeDial


class SkypeForBusiness(_Strict):
    """The Skype for Business / Cloud Connector mediation-server profile (seeds 002, 004):
    how a client dials a PSTN gateway through the target (and through the same mediation
    server in Always Bypass, if it offers that), the bypass ID of each site ("main" for
    the main subnet, else a lab site's name), and the call admission limit on the WAN
    link to the branch site."""

    request_uri: str
    always_bypass_request_uri: str | None = None  # the same, in Always Bypass
    inbound_request_uri: str | None = None  # a gateway calls a client ({callee_*}: the client)
    bypass_ids: dict[str, str]
    cac_max_calls: int = Field(ge=1)

    @field_validator("request_uri", "always_bypass_request_uri", "inbound_request_uri")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        return None if value is None else _uri_template(value)

    @field_validator("bypass_ids")
    @classmethod
    def _main(cls, value: dict[str, str]) -> dict[str, str]:
        if "main" not in value:
            raise ValueError("needs the main site's bypass ID (key 'main')")
        return value


class KazooCallee(_Strict):
    """One callee of the Kazoo-style profile: a device or a resource (carrier) and its
    bypass_media flag."""

    kind: Literal["device", "resource"]
    bypass_media: bool


class Kazoo(_Strict):
    """The Kazoo-style per-callee media profile (seed 000): the Request-URI names the
    callee ({callee} besides {callee_address} and {callee_port}); its flag decides."""

    request_uri: str
    callees: dict[str, KazooCallee]

    @field_validator("request_uri")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        return _uri_template(value, ("callee", "callee_address", "callee_port"))


class Forking(_Strict):
    """How to make the target fork a call in parallel: one header per extra branch."""

    header: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]*$")


class KnownDeviation(_Strict):
    """A requirement the target is known to miss, and how: its cases still run and show
    the failure, reported as a known deviation instead of a plain failure, but only when
    every failed finding of the case is one this declaration names (`findings`). Any other
    failure of the case is FAILED: a deviation excuses what it was declared for, no more."""

    requirement: str = Field(pattern=r"^[A-Z]+(-[A-Z]+)?-\d+$")
    modes: list[MediaMode] = []  # empty: in every mode
    forking_only: bool = False  # true: only in cases that fork the call
    # only these cases (test function names, e.g. "test_relay_port_of_a_silent_side");
    # empty: every case of the requirement
    cases: list[str] = []
    # regular expressions, searched in "<check>: <summary>" of each failed finding, e.g.
    # "^early_media_separated: .*CROSSOVER"; at least one
    findings: list[str] = Field(min_length=1)
    note: str = Field(min_length=1)

    @field_validator("findings")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"findings: {pattern!r} is not a regular expression: "
                                 f"{exc}") from None
        return patterns

    def expects(self, finding: str) -> bool:
        """Whether a failed finding ("<check>: <summary>") is one this deviation names."""
        return any(re.search(pattern, finding) for pattern in self.findings)

    def covers(self, requirement: str, mode: MediaMode | None, *, forking: bool = False,
               case: str | None = None) -> bool:
        return (
            requirement == self.requirement
            and (not self.modes or (mode is not None and mode in self.modes))
            and (forking or not self.forking_only)
            and (not self.cases or case in self.cases)
        )


class CallState(_Strict):
    """How the harness reads the calls the target holds, to check at the end of each case
    that the case left none behind (a leftover is reported on the case that left it, D35).

    Give `ng` (an rtpengine ng control socket: its ``list`` names the call-ids it holds)
    or `command` (prints the number of calls), not both. With neither, or without this
    table, the harness probes instead: a SIP OPTIONS after every case, and after a case
    that did not pass a short guard call through the target (`guard_call`); a guard call
    refused or unanswered is the sign of a call left behind."""

    # "host:port" of an rtpengine ng control socket, reached from inside the target's
    # network namespace (the default target: "127.0.0.1:2223", kamailio.cfg's RTPENGINE_SOCK)
    ng: str | None = None
    # run inside the target's network namespace; prints the number of calls the target holds
    # (e.g. ["kamcmd", "dlg.stats_active"]). Placeholders: {address} (the target's lab
    # address), {peer_dir} (the target file's folder)
    command: list[str] | None = Field(None, min_length=1)
    # a regular expression over the command's output: its first group is the number
    # (e.g. "all: (\d+)" for kamcmd dlg.stats_active); by default the first number
    pattern: str = r"(\d+)"
    # seconds the target is given to end the calls it is ending when the case ends
    grace: float = Field(1.0, ge=0, le=30)
    # the probe without `ng` or `command`: a guard call after a case that did not pass
    guard_call: bool = True

    @field_validator("ng")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port (e.g. \"127.0.0.1:2223\")")
        return value

    @field_validator("command")
    @classmethod
    def _placeholders(cls, argv: list[str] | None) -> list[str] | None:
        for arg in argv or ():
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(arg) if name}
            except ValueError as exc:
                raise ValueError(f"{arg!r}: {exc} (write a literal brace twice)") from None
            unknown = names - {"address", "peer_dir"}
            if unknown:
                raise ValueError(f"{arg!r}: unknown placeholder(s) {', '.join(sorted(unknown))}"
                                 "; use {address} and {peer_dir}, and write a literal brace twice")
        return argv

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, pattern: str) -> str:
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        if groups < 1:
            raise ValueError(f"{pattern!r} has no group: its first group is the number")
        return pattern

    @model_validator(mode="after")
    def _one_source(self) -> CallState:
        if self.ng is not None and self.command is not None:
            raise ValueError("give 'ng' or 'command', not both: one source of the count")
        return self

    @property
    def declared(self) -> bool:
        """Whether the target says how to read its calls (else the harness probes)."""
        return self.ng is not None or self.command is not None


class TargetSpec(_Strict):
    target: TargetInfo
    signalling: Signalling = Field(default_factory=Signalling)
    capabilities: Capabilities = Field(default_factory=Capabilities)
    modes: dict[MediaMode, ModeDial] = {}
    process: ProcessBackend | None = None
    docker: DockerBackend | None = None
    forking: Forking | None = None
    teams_direct_routing: TeamsDirectRouting | None = None
    skype_for_business: SkypeForBusiness | None = None
    kazoo: Kazoo | None = None
    known_deviations: list[KnownDeviation] = []
    call_state: CallState = Field(default_factory=CallState)

    def claims(self, mode: MediaMode) -> bool:
        return mode in self.capabilities.media_modes

    def claims_feature(self, feature: AnchoredFeature) -> bool:
        return feature in self.capabilities.anchored_features

    def request_uri(self, mode: MediaMode, callee_address: str, callee_port: int) -> str:
        return self.modes[mode].request_uri.format(
            callee_address=callee_address, callee_port=callee_port
        )


class LoadedTarget(BaseModel):
    """A validated target file and where it came from."""

    model_config = ConfigDict(frozen=True)
    spec: TargetSpec
    path: Path

    @property
    def directory(self) -> Path:
        return self.path.parent


def load_target(path: str | Path) -> LoadedTarget:
    """Load ``target.toml`` (or a directory holding one); raise TargetFileError in words."""
    p = Path(path)
    if p.is_dir():
        p = p / "target.toml"
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise TargetFileError(str(p), "no such target file") from None
    except OSError as exc:
        raise TargetFileError(str(p), f"cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise TargetFileError(str(p), f"not valid TOML: {reason}", line) from None
    try:
        spec = TargetSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(part) for part in err["loc"]]
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise TargetFileError(
            str(p), f"{'.'.join(loc)}: {err['msg']}{more}", _line_of(text, loc)
        ) from None
    missing = [m.value for m in spec.capabilities.media_modes if m not in spec.modes]
    if missing:
        raise TargetFileError(
            str(p),
            f"capabilities.media_modes claims {', '.join(missing)} but there is no "
            f"[modes.{missing[0]}] table saying how to dial it",
            _line_of(text, ["capabilities", "media_modes"]),
        )
    return LoadedTarget(spec=spec, path=p.resolve())


def _line_of(text: str, loc: list[str]) -> int | None:
    """Best-effort line of a dotted location: the deepest table or key we can find."""
    lines = text.splitlines()
    best: int | None = None
    start = 0
    for depth in range(len(loc), 0, -1):
        header = ".".join(p for p in loc[:depth] if not p.isdigit())
        for i, line in enumerate(lines):
            if re.match(rf"^\s*\[\[?\s*{re.escape(header)}\s*\]\]?\s*$", line):
                best, start = i + 1, i
                break
        if best is not None:
            break
    keys = [p for p in loc if not p.isdigit()]
    if keys:
        for i in range(start, len(lines)):
            if re.match(rf"^\s*{re.escape(keys[-1])}\s*=", lines[i]):
                return i + 1
    return best
