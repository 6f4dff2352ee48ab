"""The lab and the process launcher against the real system: nothing is left behind."""

from __future__ import annotations

import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.errors import TargetStartError
from harness.lab import Lab, cleanup_leftovers, default_topology, list_netns
from harness.lab.netns import _start_time
from harness.net import udp_socket
from harness.targets.process import ProcessTarget
from harness.targets.spec import load_target

ROOT = Path(__file__).resolve().parents[2]


def test_hosts_reach_each_other_over_the_bridge_only_inside_the_lab() -> None:
    with Lab(default_topology()) as lab:
        a = udp_socket(lab.netns("caller"), lab.address("caller"), 0)
        b = udp_socket(lab.netns("callee1"), lab.address("callee1"), 0)
        b.settimeout(1)
        b.setblocking(True)
        a.sendto(b"ping", (lab.address("callee1"), b.getsockname()[1]))
        data, source = b.recvfrom(100)
        assert (data, source[0]) == (b"ping", lab.address("caller"))
        a.close()
        b.close()
        names = set(list_netns())
        assert {lab.netns(h) for h in default_topology().names()} <= names
    assert not any(n.startswith(lab.prefix) for n in list_netns())


def _datagram(lab: Lab, sender: str, receiver: str, to: tuple[str, int] | None = None,
              port: int = 5060) -> tuple[str, int] | str:
    """Where one datagram from `sender` to `receiver` (or to `to`) appeared to come from,
    or the error that stopped it."""
    rx = udp_socket(lab.netns(receiver), lab.address(receiver), port)
    tx = udp_socket(lab.netns(sender), lab.address(sender), 0)
    rx.settimeout(0.5)
    try:
        tx.sendto(b"ping", to or (lab.address(receiver), port))
        _, source = rx.recvfrom(100)
        return source[0], source[1]
    except OSError as exc:
        return str(exc)
    finally:
        rx.close()
        tx.close()


def test_branch_site_is_routed_both_ways_and_nat_site_hides_behind_its_router() -> None:
    with Lab(default_topology()) as lab:
        # The branch office: its hosts and the main subnet reach each other, addresses kept.
        assert _datagram(lab, "branch1", "sbc")[0] == lab.address("branch1")
        assert _datagram(lab, "sbc", "branch2")[0] == lab.address("sbc")
        # Behind NAT: what leaves carries the router's address; the inside address is not
        # reachable; the forwarded SIP port is.
        assert _datagram(lab, "natted", "caller")[0] == lab.address("natr")
        assert "unreachable" in str(_datagram(lab, "caller", "natted", port=7000))
        assert _datagram(lab, "caller", "natted", to=(lab.address("natr"), 5060))[0] \
            == lab.address("caller")
    assert not any(n.startswith(lab.prefix) for n in list_netns())


def _through_wan(lab: Lab, count: int) -> tuple[list[float], int]:
    """One-way times (s) of `count` datagrams from the main subnet into the branch site,
    and how many were lost."""
    tx = udp_socket(lab.netns("caller"), lab.address("caller"), 0)
    rx = udp_socket(lab.netns("branch1"), lab.address("branch1"), 7000)
    rx.settimeout(0.15)  # the link delays by 30 ms at most here
    times, lost = [], 0
    try:
        for _ in range(count):
            sent = time.monotonic()
            tx.sendto(b"x", (lab.address("branch1"), 7000))
            try:
                rx.recvfrom(10)
                times.append(time.monotonic() - sent)
            except TimeoutError:
                lost += 1
    finally:
        tx.close()
        rx.close()
    return times, lost


def test_the_wan_link_delays_and_loses_as_told_and_recovers() -> None:
    with Lab(default_topology()) as lab:
        clean, clean_lost = _through_wan(lab, 20)
        lab.impair("branch", delay_ms=30, loss=0.1, seed=7)
        slow, lost = _through_wan(lab, 200)
        lab.impair("branch")
        again, again_lost = _through_wan(lab, 20)
    assert clean_lost == 0 and again_lost == 0
    # Ratios within one run, not absolute times: the delay is added on top of the clean path.
    added = statistics.median(slow) - statistics.median(clean)
    assert 0.029 <= added <= 0.045, added
    assert statistics.median(again) < statistics.median(slow) / 5
    assert 8 <= lost <= 40, lost  # 10 % of 200, seeded


def test_the_wan_link_limits_its_rate() -> None:
    # 40 datagrams of 1000 bytes (~8.2 kbit each on the wire) through a 256 kbit/s link
    # take about 1.3 s to cross; on a clean link they cross at once. Compared in one run.
    def burst(lab: Lab) -> float:
        tx = udp_socket(lab.netns("caller"), lab.address("caller"), 0)
        rx = udp_socket(lab.netns("branch1"), lab.address("branch1"), 7001)
        rx.settimeout(3)
        try:
            start = time.monotonic()
            for _ in range(40):
                tx.sendto(bytes(1000), (lab.address("branch1"), 7001))
            for _ in range(40):
                rx.recvfrom(2000)
            return time.monotonic() - start
        finally:
            tx.close()
            rx.close()

    with Lab(default_topology()) as lab:
        clean = burst(lab)
        lab.impair("branch", rate_kbit=256)
        limited = burst(lab)
    expected = 40 * 1028 * 8 / 256_000  # IP + UDP headers count on the line
    assert 0.9 * expected <= limited <= 1.5 * expected, (limited, expected)
    assert clean < limited / 10


def test_leftovers_of_a_killed_run_are_removed() -> None:
    # A child process builds a lab, starts a long-lived process in it and is SIGKILLed.
    script = textwrap.dedent(
        """
        import subprocess, sys, os, signal
        from harness.lab import Lab, default_topology
        lab = Lab(default_topology()); lab.up()
        p = subprocess.Popen(["ip", "netns", "exec", lab.netns("sbc"), "sleep", "300"],
                             start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        lab.register_process(p.pid, "sleeper")
        print(lab.prefix, p.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    prefix, pid = out.stdout.split()
    assert any(n.startswith(prefix) for n in list_netns())
    assert _start_time(int(pid)) is not None
    done = cleanup_leftovers()
    assert any("sleeper" in line for line in done)
    assert not any(n.startswith(prefix) for n in list_netns())
    subprocess.run(["sleep", "0.05"])
    assert _start_time(int(pid)) is None or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


async def test_target_that_exits_at_start_shows_its_log(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "target.toml").write_text(
        textwrap.dedent(
            """
            [target]
            name = "broken"
            [[process.programs]]
            name = "kamailio"
            command = ["kamailio", "-DD", "-E", "-f", "{peer_dir}/missing.cfg"]
            ready = "sip-options"
            """
        )
    )
    with Lab(default_topology()) as lab:
        lab_own = list(lab.state.processes)  # the lab's own (its WAN link)
        target = ProcessTarget(load_target(folder), lab, tmp_path / "run")
        with pytest.raises(TargetStartError) as err:
            await target.start()
        assert "kamailio exited with status" in str(err.value)
        assert "missing.cfg" in err.value.log_tail
        assert lab.state.processes == lab_own


async def test_default_target_starts_answers_and_stops(tmp_path: Path) -> None:
    with Lab(default_topology()) as lab:
        target = ProcessTarget(load_target(ROOT / "peers" / "kamailio-rtpengine"), lab, tmp_path)
        lab_own = list(lab.state.processes)  # the lab's own (its WAN link)
        await target.start()
        pids = [r.pid for r in lab.state.processes if r not in lab_own]
        assert len(pids) == 2
        assert target.config_errors() == []
        await target.stop()
        assert all(_start_time(pid) is None for pid in pids)
        assert lab.state.processes == lab_own
