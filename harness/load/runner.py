"""One load run in one media mode: SIPp's calls at a set rate, sampled calls of the
harness's own checked in full, the capture and the target's CPU around them.

The run is bounded three ways: SIPp places at most ``calls`` calls (``-m``), at
most ``max_concurrent`` at a time (``-l``), and both SIPp processes are stopped
after ``time_limit_s`` whatever happens (``-timeout`` and our own deadline).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.capture.pcap import read_pcap
from harness.errors import HarnessError
from harness.lab import Lab
from harness.load.measure import LoadCapture, MediaDirection, analyse_load, netns_cpu_seconds
from harness.load.sipp import (
    SippProcess,
    SippStats,
    uac_scenario,
    uas_scenario,
    write_ulaw_wav,
)
from harness.media.modes import MediaMode
from harness.scenarios.captured import capturing
from harness.targets.base import Target

LOAD_CALLER = "caller"     # SIPp's two ends
LOAD_CALLEE = "callee2"
SAMPLE_CALLER = "callee3"  # the sampled calls' ends: hosts SIPp does not use, so their
SAMPLE_CALLEE = "callee1"  # media path is judged from their own packets only
SIPP_CALLER_PORT = 5070
SIPP_CALLEE_PORT = 5090
SIPP_MEDIA_PORT = 46000


@dataclass(frozen=True)
class LoadPlan:
    rate: float = 20.0          # calls per second
    calls: int = 200            # calls per mode
    hold_s: float = 2.0         # each call's length after the 200
    max_concurrent: int = 200   # SIPp's -l
    media: bool = True          # RTP both ways on every call
    samples: int = 2            # harness calls checked in full during the load
    max_seconds: float = 120.0  # hard limit per mode

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 2000:
            raise ValueError(f"rate must be in (0, 2000] calls/s, got {self.rate}")
        if not 0 < self.calls <= 100_000:
            raise ValueError(f"calls must be in 1..100000, got {self.calls}")
        if not 0 <= self.hold_s <= 60:
            raise ValueError(f"hold must be in 0..60 s, got {self.hold_s}")
        if self.max_concurrent < 1:
            raise ValueError(f"max concurrent calls must be at least 1, got "
                             f"{self.max_concurrent}")
        if self.samples < 0:
            raise ValueError(f"samples must be 0 or more, got {self.samples}")

    @property
    def time_limit_s(self) -> float:
        """How long SIPp may run: the planned duration with a margin, never over the cap."""
        return min(self.max_seconds, self.calls / self.rate + self.hold_s + 10.0)


@dataclass(frozen=True)
class Sample:
    """A call of the harness's own, placed during the load and checked in full."""

    label: str
    ok: bool
    summary: str


@dataclass
class LoadResult:
    mode: MediaMode
    plan: LoadPlan
    sipp: SippStats
    capture: LoadCapture
    wall_s: float
    cpu_s: float
    cpu_processes: int
    pcap: Path
    samples: list[Sample] = field(default_factory=list)
    sipp_exit: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def achieved_rate(self) -> float | None:
        """INVITEs per second the caller sent, first to last, as captured."""
        return self.capture.setup.rate

    @property
    def cpu_ms_per_call(self) -> float | None:
        done = self.sipp.successful + self.sipp.failed
        return 1000 * self.cpu_s / done if done else None

    @property
    def problems(self) -> list[str]:
        """What makes the run a failure of the target (not a figure)."""
        out = []
        if self.sipp.failed:
            out.append(f"{self.sipp.failed} of {self.sipp.created} SIPp calls failed "
                       f"({', '.join(f'{k}: {v}' for k, v in self.sipp.failures.items())})")
        if self.sipp.created < self.plan.calls:
            out.append(f"only {self.sipp.created} of {self.plan.calls} calls were placed "
                       f"within {self.plan.time_limit_s:.0f} s")
        if self.capture.malformed:
            out.append(f"{self.capture.malformed} malformed SIP message(s) from the target")
        for d in self.capture.media:
            if d.sent and d.loss > 0.01:
                out.append(f"media {d.name}: {d.loss:.1%} lost through the target")
            if self.mode is MediaMode.BYPASS and d.streams:
                out.append(f"media {d.name}: {d.streams} call(s) relayed by the target in "
                           "bypass mode")
            if self.mode is not MediaMode.BYPASS and d.direct_calls:
                out.append(f"media {d.name}: {d.direct_calls} call(s) went endpoint to "
                           f"endpoint (the SDP bypassed the target) in {self.mode.value} mode")
        out += [f"sampled call {s.label}: {s.summary}" for s in self.samples if not s.ok]
        return out

    def row(self) -> dict[str, str]:
        """One line of the side-by-side table."""
        s = self.capture.setup

        def ms(v: float | None, places: int = 1) -> str:
            return "-" if v is None else f"{v:.{places}f}"

        def media(d: MediaDirection) -> str:
            if d.sent:
                return (f"{d.loss:.2%} lost, {ms(d.delay_p50_ms)}/{ms(d.delay_p99_ms)} ms, "
                        f"jitter {ms(d.jitter_ms_median, 2)}")
            return f"direct, {d.direct} packets" if d.direct else "none"

        cpu = self.cpu_ms_per_call
        return {
            "mode": self.mode.value,
            "calls ok/placed": f"{self.sipp.successful}/{self.sipp.created}",
            "failed": str(self.sipp.failed),
            "rate (calls/s)": f"{ms(self.achieved_rate)} of {self.plan.rate:g}",
            "peak concurrent calls": str(s.peak_concurrent),
            "setup p50/p90/p99/max ms": "/".join(ms(v) for v in (s.p50_ms, s.p90_ms,
                                                                 s.p99_ms, s.max_ms)),
            **{f"media {d.name}": media(d) for d in self.capture.media},
            "target CPU ms/call": "-" if cpu is None else f"{cpu:.2f}",
            "sampled calls ok": f"{sum(s.ok for s in self.samples)}/{len(self.samples)}",
        }


Sampler = Callable[[int], Awaitable[Sample]]


async def run_load(lab: Lab, target: Target, mode: MediaMode, plan: LoadPlan, workdir: Path,
                   sampler: Sampler | None = None) -> LoadResult:
    """SIPp's calls in `mode` per `plan`, with `plan.samples` calls of `sampler`'s spread
    over the run; everything the run wrote goes to `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("*"):
        if old.is_file():
            old.unlink()
    wav = write_ulaw_wav(workdir / "tone.wav") if plan.media else None
    callee_ip, caller_ip = lab.address(LOAD_CALLEE), lab.address(LOAD_CALLER)
    request_uri = target.loaded.spec.request_uri(mode, callee_ip, SIPP_CALLEE_PORT)
    (workdir / "uac.xml").write_text(uac_scenario(request_uri, int(plan.hold_s * 1000), wav))
    (workdir / "uas.xml").write_text(uas_scenario(wav))
    limit = f"{int(plan.time_limit_s) + 1}s"
    common = ["-nostdin", "-timeout", limit, "-trace_stat", "-fd", "1", "-trace_err",
              "-max_recv_loops", "10000", "-max_sched_loops", "10000"]
    uas = SippProcess(lab, LOAD_CALLEE, "uas", [
        "-sf", "uas.xml", "-i", callee_ip, "-p", str(SIPP_CALLEE_PORT), "-mi", callee_ip,
        "-mp", str(SIPP_MEDIA_PORT), "-stf", "uas_.csv", *common], workdir)
    sip_host, sip_port = target.sip_address
    uac = SippProcess(lab, LOAD_CALLER, "uac", [
        "-sf", "uac.xml", f"{sip_host}:{sip_port}", "-i", caller_ip,
        "-p", str(SIPP_CALLER_PORT), "-mi", caller_ip, "-mp", str(SIPP_MEDIA_PORT),
        "-r", f"{plan.rate:g}", "-m", str(plan.calls), "-l", str(plan.max_concurrent),
        "-stf", "uac_.csv", *common], workdir)
    pcap = workdir / f"load-{mode.value}.pcap"
    target_ns = lab.netns(target.loaded.spec.signalling.host)
    samples: list[Sample] = []
    notes: list[str] = []
    # a big kernel buffer and a snap length that holds any SIP datagram: at a few
    # thousand packets a second the default 4 MiB of full-size frames overflows
    async with capturing(lab, pcap, buffer_kib=131072, snaplen=2048):
        uas.start()
        try:
            await _await_bound(LOAD_CALLEE, SIPP_CALLEE_PORT, uas)
            cpu0, _ = netns_cpu_seconds(target_ns)
            t0 = time.monotonic()
            uac.start()
            try:
                if sampler is not None and plan.samples:
                    samples = await _samples(sampler, plan, uac)
                code = await uac.wait(plan.time_limit_s + 5)
                wall = time.monotonic() - t0
                cpu1, procs = netns_cpu_seconds(target_ns)
            finally:
                await uac.stop()
        finally:
            await uas.stop()
    if code is None:
        notes.append(f"SIPp's caller was still running after {plan.time_limit_s + 5:.0f} s "
                     "and was stopped")
    elif code not in (0, 1):  # SIPp: 0 all calls ok, 1 at least one failed
        notes.append(f"SIPp's caller exited with status {code}: {uac.output_tail(8)}")
    stats = uac.stats()
    capture = analyse_load(read_pcap(pcap, strict=False), caller=caller_ip, callee=callee_ip,
                           targets=target.addresses)
    return LoadResult(mode, plan, stats, capture, wall, cpu1 - cpu0, procs, pcap, samples,
                      code, notes)


async def _samples(sampler: Sampler, plan: LoadPlan, uac: SippProcess) -> list[Sample]:
    """`plan.samples` sampled calls spread over the load's planned duration, each while SIPp
    is still placing calls."""
    out = []
    spacing = plan.calls / plan.rate / (plan.samples + 1)
    for n in range(plan.samples):
        await asyncio.sleep(spacing if n == 0 else max(0.0, spacing - 1.0))
        if uac.proc is not None and uac.proc.poll() is not None:
            break
        out.append(await sampler(n))
    return out


async def _await_bound(host: str, port: int, proc: SippProcess,
                       timeout: float = 5.0) -> None:
    """Wait until SIPp has bound its SIP port in `host`'s namespace."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    needle = f":{port:04X} "
    path = f"/proc/{proc.proc.pid if proc.proc else 0}/net/udp"
    while loop.time() < deadline:
        if proc.proc is not None and proc.proc.poll() is not None:
            raise HarnessError(f"SIPp ({proc.name}) exited with status {proc.proc.returncode} "
                               f"at start:\n{proc.output_tail()}")
        try:
            with open(path) as f:
                if any(needle in line.split()[1] + " " for line in f.readlines()[1:]):
                    return
        except (OSError, IndexError):
            pass
        await asyncio.sleep(0.02)
    raise HarnessError(f"SIPp ({proc.name}) did not bind UDP port {port} on {host} within "
                       f"{timeout:.0f} s:\n{proc.output_tail()}")
