"""The process backend: the target's programs run inside the lab's target namespace.

Programs are started in the order the target file lists them, each with
``ip netns exec <ns>`` (which execs, so the PID we hold is the program's),
in a session of its own (a Ctrl-C on the terminal reaches the harness, which
then stops them in order), with stdout and stderr in ``<run_dir>/<name>.log``.
Each is registered with the lab so a crashed run's programs are stopped by
the next run. Readiness is checked per program: rtpengine's ng ``ping``, or a
SIP OPTIONS answered on the target's signalling address.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from harness.errors import MissingToolError, TargetStartError
from harness.lab import Lab
from harness.lab.netns import ProcessRecord, stop_process
from harness.targets.base import LabHosted, lab_addresses, matching_lines
from harness.targets.ready import probe
from harness.targets.spec import LoadedTarget, Program

# Debian package for each program the default target needs.
PACKAGES = {"rtpengine": "rtpengine-daemon", "kamailio": "kamailio"}


class ProcessTarget(LabHosted):
    """A target made of local programs in the lab's target namespace."""

    def __init__(self, loaded: LoadedTarget, lab: Lab, run_dir: Path) -> None:
        if loaded.spec.process is None:
            raise TargetStartError(f"{loaded.path} has no [[process.programs]]: cannot start it")
        self.loaded = loaded
        self.lab = lab
        self.run_dir = run_dir
        self.host = loaded.spec.signalling.host
        self.netns = lab.netns(self.host)
        self._procs: list[tuple[Program, subprocess.Popen[bytes], ProcessRecord]] = []

    def _log_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def _expand(self, arg: str) -> str:
        """One argument of a program's command with its placeholders filled in; one this
        harness does not know is a TargetStartError naming it and those it knows."""
        hosts = lab_addresses(self.lab)
        try:
            return arg.format(
                address=self.lab.address(self.host),
                sip_port=self.loaded.spec.signalling.port,
                peer_dir=str(self.loaded.directory),
                run_dir=str(self.run_dir),
                hosts=hosts,
            )
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise TargetStartError(
                f"{self.loaded.path}: the program command argument {arg!r} cannot be filled "
                f"in ({type(exc).__name__}: {exc}); placeholders: {{address}}, {{sip_port}}, "
                f"{{peer_dir}}, {{run_dir}} and {{hosts[<lab host>]}} for "
                f"{', '.join(hosts)}; write a literal brace twice") from None

    async def start(self) -> None:
        assert self.loaded.spec.process is not None  # checked in __init__
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            for program in self.loaded.spec.process.programs:
                await self._start_program(program)
        except BaseException:
            await self.stop()
            raise

    async def _start_program(self, program: Program) -> None:
        argv = [self._expand(a) for a in program.command]
        if shutil.which(argv[0]) is None:
            raise MissingToolError(argv[0], PACKAGES.get(argv[0], argv[0]))
        log = self._log_path(program.name).open("wb")
        try:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        record = self.lab.register_process(proc.pid, program.name)
        self._procs.append((program, proc, record))
        await self._wait_ready(program, proc)
        problems = self.config_errors()
        if problems:
            raise TargetStartError(
                f"{program.name} reports a configuration error", "\n".join(problems)
            )

    async def _wait_ready(self, program: Program, proc: subprocess.Popen[bytes]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + program.ready_timeout
        while True:
            if proc.poll() is not None:
                raise TargetStartError(
                    f"{program.name} exited with status {proc.returncode} while starting "
                    f"(log: {self._log_path(program.name)})",
                    self.log_tail(program.name),
                )
            if await probe(program.ready, self.netns, ng_address=program.ready_address,
                           sip=self.sip_address):
                return
            if loop.time() > deadline:
                raise TargetStartError(
                    f"{program.name} did not become ready ({program.ready}) within "
                    f"{program.ready_timeout:.0f} s",
                    self.log_tail(program.name),
                )
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        for _program, proc, record in reversed(self._procs):
            await asyncio.to_thread(stop_process, record)
            proc.poll()
            self.lab.forget_process(record)
        self._procs.clear()

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = self._log_path(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def logs(self) -> dict[str, str]:
        return self.logs_since({})

    def log_mark(self) -> dict[str, int]:
        mark = {}
        for program, _proc, _record in self._procs:
            path = self._log_path(program.name)
            mark[program.name] = path.stat().st_size if path.exists() else 0
        return mark

    def logs_since(self, mark: dict[str, int]) -> dict[str, str]:
        out = {}
        for program, _proc, _record in self._procs:
            try:
                with self._log_path(program.name).open("rb") as f:
                    f.seek(mark.get(program.name, 0))
                    out[program.name] = f.read().decode(errors="replace")
            except OSError:
                out[program.name] = ""
        return out

    def config_errors(self, mark: dict[str, int] | None = None) -> list[str]:
        patterns = {program.name: program.config_errors for program, _, _ in self._procs}
        return matching_lines(self.logs_since(mark or {}), patterns)

    def log_errors(self, mark: dict[str, int] | None = None) -> list[str]:
        patterns = {program.name: [*program.runtime_errors, *program.config_errors]
                    for program, _, _ in self._procs}
        return matching_lines(self.logs_since(mark or {}), patterns)
