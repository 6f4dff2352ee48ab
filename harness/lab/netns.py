"""Realise a `Topology` as Linux network namespaces on a bridge, and undo it.

Layout for a run with prefix ``sh1a2b3c``::

    netns sh1a2b3c-br      bridge br0, one veth end per host (v-<host>)
    netns sh1a2b3c-<host>  eth0 with the host's address, lo up

The bridge lives in a namespace of its own, so two runs (or a crashed run's
leftovers) never share an interface name or an address, and the capture on
br0 sees every packet between hosts and nothing else.

With an `ExternalBridge` (the Docker backend), the hosts' veths join a bridge
that already exists in the root namespace (the Docker network's, named after
the run), and the hosts listed in `provided` (the target: a container) get
no namespace from us. The root-namespace end of each veth is ``v<6 hex><n>``.

Every run writes a state file under ``/run/sbc-harness/runs/`` naming its
namespaces and the processes it started (PID plus the kernel's start time, so
a recycled PID is never mistaken for ours). `cleanup_leftovers` reads these
files to remove what a crashed or interrupted run left behind; it also removes
namespaces with the harness's prefix pattern whose state file is gone.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import LabError, MissingToolError, SetupError
from harness.lab.topology import Site, Topology

STATE_DIR = Path(os.environ.get("SBC_HARNESS_STATE_DIR", "/run/sbc-harness/runs"))
LINKS_DIR = STATE_DIR.parent / "links"  # WAN link parameters, one file per run and site
NETNS_DIR = Path("/run/netns")
PREFIX_RE = re.compile(r"^sh[0-9a-f]{6}$")
BRIDGE = "br0"


def check_privileges() -> None:
    """Fail early, in words, when namespaces cannot be made here."""
    if shutil.which("ip") is None:
        raise MissingToolError("ip", "iproute2")
    if os.geteuid() != 0:
        raise SetupError(
            "the lab needs root to create network namespaces (CAP_SYS_ADMIN and CAP_NET_ADMIN); "
            "run as root, e.g. 'sudo ./bootstrap run'"
        )


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"'ip {' '.join(args)}' failed: {proc.stderr.strip() or proc.returncode}")


def _run(*argv: str) -> None:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"'{' '.join(argv)}' failed: {proc.stderr.strip() or proc.returncode}")


def _in_netns(ns: str, *argv: str) -> None:
    _run("ip", "netns", "exec", ns, *argv)


def _start_time(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), or None if it is gone.

    A zombie counts as gone: a SIGKILLed run whose parent died with it stays a zombie
    until init reaps it (seconds on some machines, never in a container without an init),
    and its state file must not pass for a live run's meanwhile.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # state: zombie, dead
        return None
    return int(fields[19])


@dataclass
class ProcessRecord:
    pid: int
    start_time: int
    label: str


def stop_process(record: ProcessRecord, *, timeout: float = 3.0) -> bool:
    """Stop one process we started: SIGTERM, then SIGKILL. True if it was still ours and alive."""
    if _start_time(record.pid) != record.start_time:
        return False
    try:
        os.kill(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(record.pid)
        if _start_time(record.pid) != record.start_time:
            return True
        time.sleep(0.01)
    try:
        os.kill(record.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(record.pid)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


@dataclass
class RunState:
    """What one run created, persisted so a later run can undo it."""

    prefix: str
    owner_pid: int
    owner_start: int
    namespaces: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return STATE_DIR / f"{self.prefix}.json"

    def save(self) -> None:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        data = {
            "prefix": self.prefix,
            "owner_pid": self.owner_pid,
            "owner_start": self.owner_start,
            "namespaces": self.namespaces,
            "processes": [vars(p) for p in self.processes],
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)

    @classmethod
    def load(cls, path: Path) -> RunState:
        data = json.loads(path.read_text())
        return cls(
            prefix=data["prefix"],
            owner_pid=data["owner_pid"],
            owner_start=data["owner_start"],
            namespaces=list(data["namespaces"]),
            processes=[ProcessRecord(**p) for p in data["processes"]],
        )

    def owner_alive(self) -> bool:
        return _start_time(self.owner_pid) == self.owner_start


@dataclass(frozen=True)
class ExternalBridge:
    """A bridge made by someone else (Docker) in the root namespace, that the hosts join."""

    name: str


def new_prefix() -> str:
    return f"sh{secrets.token_hex(3)}"


class Lab:
    """A realised topology. Use as a context manager, or call `up()` and `down()`."""

    def __init__(
        self, topology: Topology, *, prefix: str | None = None,
        bridge: ExternalBridge | None = None, provided: frozenset[str] = frozenset(),
    ) -> None:
        self.topology = topology
        self.prefix = prefix or new_prefix()
        self.bridge = bridge
        self.provided = provided
        self._netns_paths: dict[str, str] = {}
        self._wan: dict[str, ProcessRecord] = {}
        self._wan_version = 0
        if not PREFIX_RE.match(self.prefix):
            raise ValueError(f"lab prefix {self.prefix!r} does not match {PREFIX_RE.pattern}")
        me = os.getpid()
        self.state = RunState(self.prefix, me, _start_time(me) or 0)
        self.is_up = False

    @property
    def bridge_netns(self) -> str | None:
        """Namespace of the bridge (None: the root namespace, for an external bridge)."""
        return None if self.bridge is not None else f"{self.prefix}-br"

    @property
    def bridge_interface(self) -> str:
        return self.bridge.name if self.bridge is not None else BRIDGE

    def netns(self, host: str) -> str:
        """The host's namespace: a name under /run/netns, or a path for a provided host."""
        self.topology.host(host)  # raises KeyError naming the hosts if unknown
        if host in self.provided:
            path = self._netns_paths.get(host)
            if path is None:
                raise LabError(f"host {host} is provided by the target and is not up yet")
            return path
        return f"{self.prefix}-{host}"

    def attach_provided(self, host: str, netns_path: str) -> None:
        """Say where a provided host's namespace is (e.g. /proc/<container pid>/ns/net)."""
        self._netns_paths[host] = netns_path

    def address(self, host: str) -> str:
        return self.topology.host(host).address

    def _add_netns(self, name: str) -> None:
        self.state.namespaces.append(name)
        self.state.save()  # saved before creation: a crash right after still gets cleaned
        _ip("netns", "add", name)

    def up(self) -> None:
        check_privileges()
        try:
            br = self.bridge_netns
            if br is not None:
                self._add_netns(br)
                _ip("-n", br, "link", "set", "lo", "up")
                _ip("-n", br, "link", "add", BRIDGE, "type", "bridge")
                _ip("-n", br, "link", "set", BRIDGE, "up")
            plen = self.topology.prefix_length
            for n, host in enumerate(self.topology.hosts):
                if host.name in self.provided:
                    continue
                ns = self.netns(host.name)
                self._add_netns(ns)
                veth = f"v-{host.name}" if br is not None else f"v{self.prefix[2:]}{n}"
                self._plug(ns, "eth0", f"{host.address}/{plen}", veth, br,
                           self.bridge_interface)
            for n, site in enumerate(self.topology.sites):
                self._up_site(n, site)
        except BaseException:
            self.down()
            raise
        self.is_up = True

    def _plug(self, ns: str, ifname: str, cidr: str, veth: str, bridge_ns: str | None,
              bridge: str) -> None:
        """A veth from bridge `bridge` (in `bridge_ns`) to `ifname` in `ns`, at `cidr`."""
        where = ["-n", bridge_ns] if bridge_ns is not None else []
        _ip(*where, "link", "add", veth, "type", "veth", "peer", "name", ifname, "netns", ns)
        _ip(*where, "link", "set", veth, "master", bridge, "up")
        _ip("-n", ns, "addr", "add", cidr, "dev", ifname)
        _ip("-n", ns, "link", "set", ifname, "up")
        _ip("-n", ns, "link", "set", "lo", "up")

    def _sites_netns(self) -> str:
        """Where the sites' bridges live: the lab's bridge namespace, made for them when
        the main bridge is someone else's (Docker)."""
        ns = f"{self.prefix}-br"
        if self.bridge_netns is None and ns not in self.state.namespaces:
            self._add_netns(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def _up_site(self, n: int, site: Site) -> None:
        """The site's bridge, its router (uplink on the main bridge, gateway inside), its
        hosts (default route via the gateway), and the main hosts' route to it (routed
        sites) or the router's masquerade and port forwards (NAT sites)."""
        sites_ns = self._sites_netns()
        site_bridge = f"b-{site.name}"
        _ip("-n", sites_ns, "link", "add", site_bridge, "type", "bridge")
        _ip("-n", sites_ns, "link", "set", site_bridge, "up")
        router = self.netns(site.router.name)
        self._add_netns(router)
        uplink = (f"v-{site.router.name}" if self.bridge_netns is not None
                  else f"v{self.prefix[2:]}r{n}")
        self._plug(router, "eth0", f"{site.router.address}/{self.topology.prefix_length}",
                   uplink, self.bridge_netns, self.bridge_interface)
        _in_netns(router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        inside = router
        if site.wan:
            inside = f"{router}-in"
            self._add_netns(inside)
            _in_netns(inside, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self._plug(inside, "eth1", f"{site.gateway}/{site.prefix_length}",
                   f"i-{site.router.name}", sites_ns, site_bridge)
        if site.wan:
            self._start_wan(site, router, inside)
        for host in site.hosts:
            ns = self.netns(host.name)
            self._add_netns(ns)
            self._plug(ns, "eth0", f"{host.address}/{site.prefix_length}", f"v-{host.name}",
                       sites_ns, site_bridge)
            _ip("-n", ns, "route", "add", "default", "via", site.gateway)
        if site.nat:
            if shutil.which("iptables") is None:
                raise MissingToolError("iptables", "iptables")
            _in_netns(router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", site.subnet,
                      "-o", "eth0", "-j", "MASQUERADE")
            for forward in site.forwards:
                inside = self.topology.host(forward.to_host).address
                _in_netns(router, "iptables", "-t", "nat", "-A", "PREROUTING", "-i", "eth0",
                          "-p", forward.protocol, "--dport", str(forward.port), "-j", "DNAT",
                          "--to-destination", f"{inside}:{forward.port}")
            return
        for host in self.topology.hosts:
            if host.name not in self.provided:
                _ip("-n", self.netns(host.name), "route", "add", site.subnet, "via",
                    site.router.address)

    def _wan_params(self, site: str) -> Path:
        return LINKS_DIR / f"{self.prefix}-{site}.json"

    def _start_wan(self, site: Site, outer: str, inner: str) -> None:
        """The user-space link between the router's halves (`harness.lab.wan`), then the
        routes through it."""
        params = self._wan_params(site.name)
        params.parent.mkdir(parents=True, exist_ok=True)
        params.write_text("{}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.lab.wan", "--outer", outer, "--inner", inner,
             "--params", str(params), "--parent", str(os.getpid())],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._wan[site.name] = self.register_process(proc.pid, f"wan link of {site.name}")
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            raise LabError(f"the WAN link of site {site.name} did not start: "
                           f"{(err or line).strip()[-400:] or 'no answer within 10 s'}")
        proc.stdout.close()
        for ns, route in ((outer, site.subnet), (inner, "default")):
            _ip("-n", ns, "link", "set", "wan0", "up")
            _ip("-n", ns, "route", "add", route, "dev", "wan0")

    def impair(self, site: str, *, delay_ms: float = 0, loss: float = 0,
               rate_kbit: float = 0, seed: int = 1) -> None:
        """Set the WAN link of `site`: one-way delay per direction, loss probability per
        packet, rate limit (0: none); all zero restores a clean link."""
        record = self._wan.get(site)
        if record is None:
            raise LabError(f"site {site!r} has no WAN link (Site.wan) in this lab")
        self._wan_version += 1
        params = self._wan_params(site)
        params.write_text(json.dumps({"delay_ms": delay_ms, "loss": loss, "rate_kbit": rate_kbit,
                                      "seed": seed, "version": self._wan_version}))
        os.kill(record.pid, signal.SIGUSR1)
        applied = params.with_suffix(".applied")
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:  # in force before the caller sends anything
            try:
                if applied.read_text() == str(self._wan_version):
                    return
            except OSError:
                pass
            time.sleep(0.002)
        raise LabError(f"the WAN link of site {site} did not take its new parameters "
                       "within 2 s")

    def site_bridge(self, site: str) -> tuple[str, str]:
        """(namespace, interface) of a site's bridge: where its local traffic is seen."""
        if not any(s.name == site for s in self.topology.sites):
            raise KeyError(f"no site {site!r} in the lab")
        return f"{self.prefix}-br", f"b-{site}"

    def routes_for_provided(self, host: str) -> None:
        """Give a provided host (the target's container, once its namespace is attached)
        the routes to the routed sites, as the lab's own hosts have. Idempotent."""
        path = self.netns(host)
        for site in self.topology.sites:
            if not site.nat:
                _run("nsenter", f"--net={path}", "ip", "route", "replace", site.subnet, "via",
                     site.router.address)

    def register_process(self, pid: int, label: str) -> ProcessRecord:
        """Remember a process started inside the lab, so it is stopped even after a crash."""
        record = ProcessRecord(pid, _start_time(pid) or 0, label)
        self.state.processes.append(record)
        self.state.save()
        return record

    def forget_process(self, record: ProcessRecord) -> None:
        if record in self.state.processes:
            self.state.processes.remove(record)
            self.state.save()

    def down(self) -> None:
        """Stop every process the run registered, then delete its namespaces. Idempotent."""
        _undo(self.state)
        self._wan.clear()
        self.is_up = False

    def __enter__(self) -> Lab:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


def _undo(state: RunState) -> list[str]:
    done: list[str] = []
    for record in reversed(state.processes):
        if stop_process(record):
            done.append(f"stopped {record.label} (pid {record.pid})")
    state.processes.clear()
    existing = set(list_netns())
    for ns in reversed(state.namespaces):
        if ns in existing:
            _kill_netns_pids(ns)
            proc = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True)
            if proc.returncode == 0:
                done.append(f"deleted netns {ns}")
            else:
                done.append(f"could not delete netns {ns}: {proc.stderr.strip()}")
    state.namespaces.clear()
    state.path.unlink(missing_ok=True)
    for link in LINKS_DIR.glob(f"{state.prefix}-*") if LINKS_DIR.is_dir() else ():
        link.unlink(missing_ok=True)
    return done


def _kill_netns_pids(ns: str) -> None:
    """Processes still inside one of *our* namespaces were started by us: stop them by PID."""
    proc = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    for word in proc.stdout.split():
        pid = int(word)
        start = _start_time(pid)
        if start is not None and pid != os.getpid():
            stop_process(ProcessRecord(pid, start, f"process in {ns}"), timeout=1.0)


def reserve_prefix(prefix: str | None = None) -> str:
    """Write a run-state file for a prefix before anything (e.g. a Docker network) is named
    after it, so a concurrent cleanup takes the run for a live one."""
    prefix = prefix or new_prefix()
    me = os.getpid()
    RunState(prefix, me, _start_time(me) or 0).save()
    return prefix


def live_prefixes() -> set[str]:
    """Prefixes of runs whose owner process is alive."""
    live = set()
    if STATE_DIR.is_dir():
        for path in STATE_DIR.glob("*.json"):
            try:
                if RunState.load(path).owner_alive():
                    live.add(path.stem)
            except (OSError, ValueError, KeyError):
                continue
    return live


def list_netns() -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir())


def cleanup_leftovers(*, include_live: bool = False) -> list[str]:
    """Remove what earlier runs of the harness left behind; return what was done.

    Runs whose owner process is still alive are left alone unless
    ``include_live`` (``sbc-harness lab down --all``). Besides what the state files
    name: namespaces and WAN link files with the run prefix pattern whose state file is
    gone, and state files half-saved when their run was killed (``<prefix>.tmp``).
    """
    # List what exists before reading the state files: a run writes its state file before
    # it creates anything, so a live run's namespace listed here has its state file by the
    # time we look (the other order could take a run starting meanwhile for an orphan).
    namespaces = list_netns()
    links = sorted(LINKS_DIR.iterdir()) if LINKS_DIR.is_dir() else []
    done: list[str] = []
    if STATE_DIR.is_dir():
        for path in sorted(STATE_DIR.glob("*.json")):
            try:
                state = RunState.load(path)
            except (OSError, ValueError, KeyError) as exc:
                done.append(f"ignored unreadable state file {path}: {exc}")
                continue
            if state.owner_alive() and not include_live:
                continue
            done.extend(_undo(state))
        for path in sorted(STATE_DIR.glob("*.tmp")):
            done.extend(_undo_half_saved(path, include_live=include_live))
    live_prefixes = set()
    if STATE_DIR.is_dir() and not include_live:
        for path in STATE_DIR.glob("*.json"):
            live_prefixes.add(path.stem)
    for ns in namespaces:
        prefix, _, _ = ns.partition("-")
        if PREFIX_RE.match(prefix) and prefix not in live_prefixes:
            _kill_netns_pids(ns)
            proc = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True)
            if proc.returncode == 0:
                done.append(f"deleted orphaned netns {ns}")
    for link in links:
        prefix, _, _ = link.name.partition("-")
        if PREFIX_RE.match(prefix) and prefix not in live_prefixes and link.exists():
            link.unlink(missing_ok=True)
            done.append(f"removed orphaned WAN link file {link}")
    return done


def _undo_half_saved(path: Path, *, include_live: bool) -> list[str]:
    """A ``<prefix>.tmp`` state file: `RunState.save` was killed between writing it and
    renaming it. Undo what it names if its owner is gone, and remove it; one that cannot
    be read is removed only when old (a live run may be writing it right now)."""
    try:
        state = RunState.load(path)
    except (OSError, ValueError, KeyError):
        try:
            if time.time() - path.stat().st_mtime < 60:
                return []
        except OSError:
            return []
        path.unlink(missing_ok=True)
        return [f"removed unreadable half-saved state file {path}"]
    if state.owner_alive() and not include_live:
        return []
    done = _undo(state)
    path.unlink(missing_ok=True)
    return [*done, f"removed half-saved state file {path}"]
