"""A run SIGKILLed at a random point leaves nothing that the next run does not clean up
(issue 8).

Each kill point starts the README's command (``sbc-harness run --no-report -k ...``) in
a process group of its own, waits for a phase of the run (the harness starting, the lab
coming up, the target starting, a call under way, the teardown) plus a seeded random
delay, and SIGKILLs the whole group. What escapes the group is exactly what the cleanup
has to find: the target's programs run in sessions of their own. Some kill points start
the command under a shell that is killed with it, as when a CI job is killed: the run is
then a zombie orphan until init reaps it (seconds here, never in a container without an
init), and must not pass for a live run meanwhile. One kills the harness alone, as the
OOM killer does: its capture and WAN link process outlive it.

What the killed run left is taken stock of (namespaces with its prefix, its state and
WAN link files, live processes: those its state file names, those inside its
namespaces, and any whose command line names its prefix or results folder; the NAT
router's iptables rules), then the cleanup the next run does is run (``sbc-harness lab
down``, or a small next run), and none of it may remain. The seed is fixed so a failure
can be replayed; ``SBC_SIGKILL_SEED`` picks other kill points.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.lab import cleanup_leftovers, default_topology, list_netns, new_prefix
from harness.lab.netns import LINKS_DIR, STATE_DIR, RunState, _start_time, reserve_prefix

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("sbc-harness")
CLI = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "harness.cli"]
# Two calls: a short one (MM-LAT-1, ~0.3 s) and a longer one (MM-BYPASS-2, ~1 s).
SELECTION = "test_forwarding_delay or test_bypass_sdp_end_to_end"
SEED = int(os.environ.get("SBC_SIGKILL_SEED", "8"))
BUDGET_S = 80.0
TOPOLOGY = default_topology()
NAT_ROUTER = next(site.router.name for site in TOPOLOGY.sites if site.nat)
SITE_SUBNETS = [site.subnet for site in TOPOLOGY.sites]


GROUP = "group"  # SIGKILL the run's process group
WITH_PARENT = "group+shell"  # the run started by a shell in the same group: both killed
ALONE = "harness alone"  # SIGKILL the harness's process only


@dataclass(frozen=True)
class KillPoint:
    name: str
    phase: str  # "start", "lab", "target", "call1", "call2", "teardown": see _Run.reached
    delay: tuple[float, float]  # seconds after the phase began: uniform(lo, hi)
    kill: str = GROUP
    next_run: bool = False  # cleaned up by a next run instead of 'lab down'


KILL_POINTS = [
    KillPoint("harness starting", "start", (0.05, 0.5)),
    KillPoint("during lab up", "lab", (0.0, 0.25), WITH_PARENT),
    KillPoint("during target start", "target", (0.0, 0.12), next_run=True),
    KillPoint("mid-call (first call)", "call1", (0.05, 0.3), WITH_PARENT),
    KillPoint("mid-call (second call)", "call2", (0.1, 0.9)),
    KillPoint("mid-call, harness alone", "call2", (0.1, 0.9), ALONE),
    KillPoint("during teardown", "teardown", (0.0, 0.1), WITH_PARENT),
    KillPoint("anywhere in the run", "start", (0.05, 4.0)),
]


@dataclass
class Leftovers:
    """What a killed run left behind."""

    prefix: str | None
    state_files: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    processes: dict[tuple[int, int], str] = field(default_factory=dict)  # (pid, start): cmd
    link_files: list[str] = field(default_factory=list)
    nat_rules: list[str] = field(default_factory=list)
    root_links: list[str] = field(default_factory=list)
    root_rules: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.state_files or self.namespaces or self.processes or self.link_files
                    or self.nat_rules or self.root_links or self.root_rules)

    def describe(self) -> str:
        if self.empty():
            return "nothing"
        names: dict[str, int] = {}
        for cmd in self.processes.values():
            name = Path(cmd.split()[0]).name
            names[name] = names.get(name, 0) + 1
        parts = [
            f"{len(self.namespaces)} netns" if self.namespaces else "",
            "processes " + ", ".join(f"{n} x{c}" for n, c in sorted(names.items()))
            if names else "",
            f"state {', '.join(Path(f).name for f in self.state_files)}"
            if self.state_files else "",
            f"link files {', '.join(Path(f).name for f in self.link_files)}"
            if self.link_files else "",
            f"{len(self.nat_rules)} iptables rules in {NAT_ROUTER}" if self.nat_rules else "",
            f"root links {self.root_links}" if self.root_links else "",
            f"root iptables {self.root_rules}" if self.root_rules else "",
        ]
        return "; ".join(p for p in parts if p)


def _alive(pid: int, start: int) -> bool:
    return _start_time(pid) == start  # a zombie counts as gone


def _cmdline(pid: int) -> str:
    """The command line (the name in brackets for a process that has none, e.g. exiting)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
        return cmd or f"[{Path(f'/proc/{pid}/comm').read_text().strip()}]"
    except OSError:
        return "[gone]"


def _state_of(owner: int) -> tuple[Path, dict[str, object]] | None:
    """The state file (saved or half-saved) whose owner is the run's process."""
    if not STATE_DIR.is_dir():
        return None
    for path in [*STATE_DIR.glob("*.json"), *STATE_DIR.glob("*.tmp")]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("owner_pid") == owner:
            return path, data
    return None


def _root_rules() -> set[str]:
    proc = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False)
    return {line for line in proc.stdout.splitlines()
            if any(subnet in line for subnet in SITE_SUBNETS)}


def take_stock(owner: int, results: Path, root_rules_before: set[str]) -> Leftovers:
    found = _state_of(owner)
    prefix = str(found[1]["prefix"]) if found else None
    if prefix is None and (results / "runs").is_dir():
        prefix = next((p.name for p in (results / "runs").iterdir()), None)
    left = Leftovers(prefix)
    needles = [str(results)]
    pids: set[int] = set()
    if prefix is not None:
        needles.append(prefix)
        if STATE_DIR.is_dir():
            left.state_files = sorted(str(p) for p in STATE_DIR.glob(f"{prefix}.*"))
        left.namespaces = [n for n in list_netns() if n.startswith(f"{prefix}-")]
        if LINKS_DIR.is_dir():
            left.link_files = sorted(str(p) for p in LINKS_DIR.glob(f"{prefix}-*"))
        for ns in left.namespaces:
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            pids.update(int(w) for w in out.stdout.split())
        if f"{prefix}-{NAT_ROUTER}" in left.namespaces:
            out = subprocess.run(["ip", "netns", "exec", f"{prefix}-{NAT_ROUTER}",
                                  "iptables", "-t", "nat", "-S"], capture_output=True, text=True)
            left.nat_rules = [r for r in out.stdout.splitlines() if r.startswith("-A")]
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
        left.root_links = [line.split(":")[1].strip() for line in links.stdout.splitlines()
                           if prefix[2:] in line.split(":")[1]]
    if found:
        records = found[1].get("processes", [])
        assert isinstance(records, list)
        pids.update(int(r["pid"]) for r in records if _alive(r["pid"], r["start_time"]))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            cmd = _cmdline(int(entry.name))
            if any(n in cmd for n in needles):  # "[gone]" etc. match no needle
                pids.add(int(entry.name))
    for pid in pids:
        start = _start_time(pid)
        if start is not None and pid != os.getpid():
            left.processes[(pid, start)] = _cmdline(pid)
    left.root_rules = sorted(_root_rules() - root_rules_before)
    return left


class _Run:
    """One ``sbc-harness run`` in a process group of its own."""

    def __init__(self, results: Path, *, kill: str) -> None:
        self.results = results
        self.log = results.with_suffix(".log")
        self.how = kill
        cmd = [*CLI, "run", "--no-report", "--results", str(results), "-k", SELECTION]
        if kill == WITH_PARENT:
            self.proc = subprocess.Popen(
                ["sh", "-c", 'log=$1; shift; "$@" >"$log" 2>&1 & echo $!; wait', "sh",
                 str(self.log), *cmd],
                cwd=ROOT, stdout=subprocess.PIPE, text=True, process_group=0,
            )
            assert self.proc.stdout is not None
            self.pid = int(self.proc.stdout.readline())
        else:
            with self.log.open("w") as log:
                self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log,
                                             stderr=subprocess.STDOUT, process_group=0)
            self.pid = self.proc.pid
        self.started = time.monotonic()

    def finished(self) -> bool:
        return _start_time(self.pid) is None

    def reached(self, phase: str) -> bool:
        if phase == "start":
            return True
        if phase == "lab":  # the state file is written before the first namespace
            return _state_of(self.pid) is not None
        found = _state_of(self.pid)
        records = found[1].get("processes", []) if found else []
        assert isinstance(records, list)
        labels = {r["label"] for r in records}
        if phase == "target":
            return "rtpengine" in labels
        pcaps = self.results / "pcaps"
        calls = len(list(pcaps.glob("*.pcap"))) if pcaps.is_dir() else 0
        if phase == "teardown":  # both calls made, the target stopping, the lab still up
            return calls >= 2 and found is not None and "kamailio" not in labels
        return calls >= int(phase.removeprefix("call"))

    def kill(self) -> None:
        """SIGKILL the group (or the harness alone); return once what was killed is dead
        (a zombie at most), so that what is left is what outlived it, not what was still
        exiting."""
        try:
            if self.how == ALONE:
                os.kill(self.pid, signal.SIGKILL)
            else:
                os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.how != ALONE:
            _wait_until(lambda: not _group_members(self.proc.pid), 5.0)

    def stop_what_remains(self) -> None:
        """Whatever of the group survived a failed test: by PID."""
        for pid in _group_members(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split() if stat else []
        if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return check()


def _clean_up(point: KillPoint, tmp_path: Path) -> str:
    """The cleanup the next run does: 'sbc-harness lab down', or a next run."""
    if point.next_run:
        proc = subprocess.run([*CLI, "run", "--no-report", "--results",
                               str(tmp_path / "next-run"), "-k", "test_forwarding_delay"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout[-3000:]
        return "next run"
    proc = subprocess.run([*CLI, "lab", "down"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_sigkilled_runs_leave_nothing_the_next_run_does_not_clean_up(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    root_rules_before = _root_rules()
    summary: list[str] = []
    left_at: dict[str, Leftovers] = {}
    runs: list[_Run] = []
    try:
        for n, point in enumerate(KILL_POINTS):
            delay = rng.uniform(*point.delay)
            run = _Run(tmp_path / f"kill{n}", kill=point.kill)
            runs.append(run)
            try:
                assert _wait_until(lambda r=run, p=point.phase: r.reached(p) or r.finished(),
                                   60), f"{point.name}: the run never got to phase {point.phase!r}"
                assert not run.finished() or point.phase == "start", (
                    f"{point.name}: the run ended before phase {point.phase!r}:\n"
                    f"{run.log_tail()}")
                time.sleep(delay)
                at = time.monotonic() - run.started
            finally:
                run.kill()
            left = take_stock(run.pid, run.results, root_rules_before)
            left_at[point.name] = left
            how = _clean_up(point, tmp_path)
            gone = _wait_until(
                lambda ps=list(left.processes): all(not _alive(*p) for p in ps), 3.0)
            after = take_stock(run.pid, run.results, root_rules_before)
            if after.prefix is None:
                after.prefix = left.prefix
            summary.append(f"{point.name:24} +{delay:4.2f} s after {point.phase:8} "
                           f"(at {at:5.2f} s, prefix {left.prefix}): left {left.describe()}; "
                           f"{how}")
            where = f"{point.name} (seed {SEED}, {at:.2f} s into the run, prefix {left.prefix})"
            assert gone and not after.processes, (
                f"{where}: processes survived the cleanup: {after.processes}")
            assert after.empty(), f"{where}: survived the cleanup: {after.describe()}"
        print("\n" + "\n".join(summary))
        assert any(not left.empty() for left in left_at.values()), (
            "no kill point left anything behind: the cleanup was never put to work\n"
            + "\n".join(summary))
        assert any(left.namespaces and left.processes for left in left_at.values()), (
            "no kill point caught the target running\n" + "\n".join(summary))
    finally:
        cleanup_leftovers()  # whatever an assertion above left (dead runs only)
        for run in runs:
            run.stop_what_remains()
    assert time.monotonic() - began < BUDGET_S, "\n".join(summary)


def test_wan_link_ends_with_the_run_that_started_it(tmp_path: Path) -> None:
    """The WAN link's PID is recorded only once it runs: a run killed in between must not
    leave it behind (in the root namespace, holding the router's namespaces open through
    its TUN devices, where no cleanup looks). It ends when its parent is gone."""
    prefix = reserve_prefix()  # a state file of ours: a concurrent cleanup leaves it alone
    state = RunState.load(STATE_DIR / f"{prefix}.json")
    outer, inner = f"{prefix}-rtrb", f"{prefix}-rtrb-in"
    state.namespaces += [outer, inner]
    state.save()
    script = textwrap.dedent(
        """
        import os, signal, subprocess, sys
        link = subprocess.Popen(
            [sys.executable, "-m", "harness.lab.wan", "--outer", sys.argv[1], "--inner",
             sys.argv[2], "--params", sys.argv[3], "--parent", str(os.getpid())],
            stdout=subprocess.PIPE, text=True)
        assert link.stdout is not None and link.stdout.readline().strip() == "ready"
        print(link.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # before anyone recorded the link's PID
        """
    )
    try:
        for ns in (outer, inner):
            subprocess.run(["ip", "netns", "add", ns], check=True)
        out = subprocess.run([sys.executable, "-c", script, outer, inner,
                              str(tmp_path / "link.json")],
                             cwd=ROOT, capture_output=True, text=True, timeout=30)
        pid = int(out.stdout)
        assert _wait_until(lambda: _start_time(pid) is None, 2.0), \
            f"the WAN link (pid {pid}) outlived the process that started it"
    finally:
        for ns in (outer, inner):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        state.path.unlink(missing_ok=True)


def test_half_saved_state_and_orphaned_link_files_are_removed() -> None:
    """A run killed inside `RunState.save` (written, not yet renamed) leaves
    ``<prefix>.tmp``; one whose state file is gone may leave WAN link files. Those of
    dead runs go; a live run's half-saved file, and one still being written, stay."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    killed, orphan, mine = new_prefix(), new_prefix(), new_prefix()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    LINKS_DIR.mkdir(parents=True, exist_ok=True)
    half = STATE_DIR / f"{killed}.tmp"
    half.write_text(json.dumps({"prefix": killed, "owner_pid": dead.pid, "owner_start": 1,
                                "namespaces": [f"{killed}-br"], "processes": []}))
    link = LINKS_DIR / f"{orphan}-branch.json"
    link.write_text("{}")
    live = STATE_DIR / f"{mine}.tmp"
    live.write_text(json.dumps({"prefix": mine, "owner_pid": os.getpid(),
                                "owner_start": _start_time(os.getpid()),
                                "namespaces": [], "processes": []}))
    being_written = STATE_DIR / f"{new_prefix()}.tmp"
    being_written.write_text('{"prefix": ')
    try:
        subprocess.run(["ip", "netns", "add", f"{killed}-br"], check=True)
        cleanup_leftovers()
        assert not half.exists() and not link.exists()
        assert f"{killed}-br" not in list_netns()
        assert live.exists() and being_written.exists()
    finally:
        subprocess.run(["ip", "netns", "del", f"{killed}-br"], capture_output=True)
        for path in (half, link, live, being_written):
            path.unlink(missing_ok=True)
