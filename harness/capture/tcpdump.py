"""Run tcpdump as a subprocess writing a pcap file (the only module here that does I/O).

::

    async with Capture("br0", tmp / "call.pcap", bpf_filter="udp", netns="lab1-br") as cap:
        ...  # place the call
    path, stats = cap.result      # or: path, stats = await cap.stop()

`start()` returns once tcpdump reports "listening on" (so no packet of the
call can be missed); `stop()` sends SIGINT, waits, falls back to SIGKILL, and
parses tcpdump's closing figures. The process is always stopped by its own
PID, also when the surrounding task is cancelled.

Errors: `MissingToolError` if tcpdump (or ``ip`` for a namespace) is not
installed; `CaptureError` (with tcpdump's stderr) if it exits early, does not
start listening in time, or leaves no capture file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from harness.errors import CaptureError, MissingToolError

__all__ = ["Capture", "CaptureResult", "CaptureStats", "parse_tcpdump_stats"]

_STAT_RE = {
    "captured": re.compile(r"^(\d+) packets? captured", re.M),
    "received_by_filter": re.compile(r"^(\d+) packets? received by filter", re.M),
    "dropped_by_kernel": re.compile(r"^(\d+) packets? dropped by kernel", re.M),
}


@dataclass(frozen=True)
class CaptureStats:
    """tcpdump's closing figures (None where it did not print one, e.g. after SIGKILL)."""

    captured: int | None
    dropped_by_kernel: int | None
    received_by_filter: int | None = None


class CaptureResult(NamedTuple):
    """What `Capture.stop` returns: the pcap file and tcpdump's figures."""

    path: Path
    stats: CaptureStats


def parse_tcpdump_stats(stderr: str) -> CaptureStats:
    """Extract "N packets captured / received by filter / dropped by kernel" from stderr."""
    found: dict[str, int | None] = {}
    for key, rx in _STAT_RE.items():
        m = rx.search(stderr)
        found[key] = int(m.group(1)) if m else None
    return CaptureStats(
        captured=found["captured"],
        dropped_by_kernel=found["dropped_by_kernel"],
        received_by_filter=found["received_by_filter"],
    )


class Capture:
    """tcpdump on one interface, optionally inside a network namespace; an async context manager.

    The command is ``[ip netns exec NETNS] tcpdump -i IFACE -w PATH -U -n -s 0
    [--immediate-mode] [-B KIB] [filter]``.

    Why `stop` first waits `flush_wait` seconds (default 1.1 s): libpcap's
    TPACKET_V3 ring hands packets to tcpdump in blocks that are retired when
    full or after tcpdump's 1 s timeout, and packets still sitting in an open
    block when SIGINT arrives are never written (measured: a short capture
    lost every packet). Immediate mode (``immediate=True``, flush wait 0.05 s)
    avoids the wait but switches libpcap to TPACKET_V2 with one snap-length
    frame per packet, so with ``-s 0`` the default 2 MiB buffer holds only
    ~8 packets and a burst is dropped by the kernel (measured); give it a
    larger `buffer_kib` if you use it.
    """

    def __init__(
        self,
        interface: str,
        path: str | os.PathLike[str],
        *,
        bpf_filter: str | None = None,
        netns: str | None = None,
        tcpdump: str = "tcpdump",
        start_timeout: float = 5.0,
        stop_timeout: float = 3.0,
        immediate: bool = False,
        buffer_kib: int | None = None,
        flush_wait: float | None = None,
        snaplen: int = 0,
    ) -> None:
        self.interface = interface
        self.path = Path(path)
        self.bpf_filter = bpf_filter
        self.netns = netns
        self.tcpdump = tcpdump
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.immediate = immediate
        self.buffer_kib = buffer_kib
        self.snaplen = snaplen
        self.flush_wait = (0.05 if immediate else 1.1) if flush_wait is None else flush_wait
        self.result: CaptureResult | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """PID of the capture process (tcpdump itself: ``ip netns exec`` execs it)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def stderr(self) -> str:
        """Everything tcpdump wrote to stderr so far."""
        return "".join(self._stderr)

    def command(self) -> list[str]:
        """The argument vector that `start` runs."""
        argv = [self.tcpdump, "-i", self.interface, "-w", str(self.path), "-U", "-n",
                "-s", str(self.snaplen)]
        if self.immediate:
            argv.append("--immediate-mode")
        if self.buffer_kib is not None:
            argv += ["-B", str(self.buffer_kib)]
        if self.bpf_filter:
            argv.append(self.bpf_filter)
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        return argv

    async def start(self) -> None:
        """Start tcpdump and wait until it listens; raise `CaptureError`/`MissingToolError`."""
        if self._proc is not None:
            raise CaptureError(f"capture on {self.interface} already started (pid {self.pid})")
        if shutil.which(self.tcpdump) is None:
            raise MissingToolError(self.tcpdump, "tcpdump")
        if self.netns is not None and shutil.which("ip") is None:
            raise MissingToolError("ip", "iproute2")
        argv = self.command()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise MissingToolError(argv[0], "tcpdump" if argv[0] == self.tcpdump else "iproute2") \
                from exc
        except OSError as exc:
            raise CaptureError(f"cannot run {' '.join(argv)}: {exc}") from exc
        try:
            await asyncio.wait_for(self._wait_listening(), self.start_timeout)
        except TimeoutError:
            await self._terminate()
            raise CaptureError(
                f"tcpdump on {self.interface} did not report 'listening on' within "
                f"{self.start_timeout} s; stderr:\n{self.stderr}"
            ) from None
        except BaseException:
            await self._terminate()
            raise
        self._drain = asyncio.create_task(self._read_stderr(), name=f"tcpdump-{self.pid}-stderr")

    async def _wait_listening(self) -> None:
        proc = self._proc
        if proc is None or proc.stderr is None:
            raise CaptureError("tcpdump process has no stderr pipe")
        while True:
            line = await proc.stderr.readline()
            if not line:
                rc = await proc.wait()
                raise CaptureError(
                    f"tcpdump on {self.interface} exited with status {rc} before listening; "
                    f"command: {' '.join(self.command())}; stderr:\n{self.stderr}"
                )
            text = line.decode("utf-8", "replace")
            self._stderr.append(text)
            if "listening on" in text:
                return

    async def _read_stderr(self) -> None:
        proc = self._proc
        if proc is None or proc.stderr is None:
            return
        while True:
            line = await proc.stderr.readline()
            if not line:
                return
            self._stderr.append(line.decode("utf-8", "replace"))

    async def stop(self, *, flush: bool = True) -> CaptureResult:
        """Wait `flush_wait`, stop tcpdump (SIGINT, then SIGKILL after `stop_timeout`),
        and return the file and tcpdump's figures. ``flush=False`` skips the wait.

        Raise `CaptureError` if the capture was never started, died on its own
        with an error status, or left no file.
        """
        if self.result is not None:
            return self.result
        proc = self._proc
        if proc is None:
            raise CaptureError(f"capture on {self.interface} was never started")
        died_early = proc.returncode
        try:
            if died_early is None and self.flush_wait > 0 and flush:
                await asyncio.sleep(self.flush_wait)
        finally:
            rc = await self._terminate()
        if self._drain is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._drain, 1.0)
        if died_early is not None and died_early != 0:
            raise CaptureError(
                f"tcpdump on {self.interface} exited by itself with status {died_early}; "
                f"stderr:\n{self.stderr}"
            )
        if not self.path.exists():
            raise CaptureError(
                f"tcpdump on {self.interface} (status {rc}) left no file at {self.path}; "
                f"stderr:\n{self.stderr}"
            )
        self.result = CaptureResult(self.path, parse_tcpdump_stats(self.stderr))
        return self.result

    async def _terminate(self) -> int | None:
        """SIGINT, wait, SIGKILL: always by this process's PID. Return its exit status."""
        proc = self._proc
        if proc is None:
            return None
        try:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), self.stop_timeout)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        finally:
            # Cancelled while waiting: never leave tcpdump behind.
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        return proc.returncode

    async def __aenter__(self) -> Capture:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.stop()
            return
        # Already failing: stop the process but do not mask the original error. Keep the
        # capture complete as evidence, unless we are being cancelled (then stop at once).
        with contextlib.suppress(CaptureError):
            await self.stop(flush=not isinstance(exc, asyncio.CancelledError))
