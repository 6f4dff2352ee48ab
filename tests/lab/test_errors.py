"""Errors a user must get in words: what went wrong and where, never a deep traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.endpoints.sip import SipAgent
from harness.errors import LabError, MissingToolError, SetupError, TargetViolation
from harness.lab import Lab, default_topology
from harness.net import udp_socket
from harness.sip import RequestReceived
from harness.targets.process import ProcessTarget
from harness.targets.spec import load_target

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "harness.cli"]


async def test_malformed_message_from_the_target_is_a_violation_with_the_bytes() -> None:
    garbage = b"INVITE sip:x SIP/2.0\r\nVia: broken\r\nthis line has no colon\r\n\r\n"
    with Lab(default_topology()) as lab:
        agent = await SipAgent("callee1", lab.netns("callee1"), lab.address("callee1")).open()
        try:
            sender = udp_socket(lab.netns("sbc"), lab.address("sbc"), 5060)
            sender.sendto(garbage, (lab.address("callee1"), 5060))
            with pytest.raises(TargetViolation) as err:
                await agent.wait_for(RequestReceived, "the INVITE", timeout=1.0)
            sender.close()
        finally:
            agent.close()
    assert "malformed SIP message from 198.18.0.2:5060" in str(err.value)
    assert "line" in str(err.value)
    assert err.value.evidence == garbage


async def test_silence_from_the_target_is_a_violation_naming_what_was_awaited() -> None:
    with Lab(default_topology()) as lab:
        agent = await SipAgent("callee1", lab.netns("callee1"), lab.address("callee1")).open()
        try:
            with pytest.raises(TargetViolation, match="the INVITE relayed by the target did "
                                                      "not arrive within 0.2 s"):
                await agent.wait_for(RequestReceived, "the INVITE relayed by the target",
                                     timeout=0.2)
        finally:
            agent.close()


def test_port_in_use_names_the_port_and_namespace() -> None:
    with Lab(default_topology()) as lab:
        first = udp_socket(lab.netns("caller"), lab.address("caller"), 5060)
        try:
            with pytest.raises(SetupError, match=r"UDP port 198\.18\.0\.10:5060 in namespace "
                                                 r"sh[0-9a-f]{6}-caller is already in use"):
                udp_socket(lab.netns("caller"), lab.address("caller"), 5060)
        finally:
            first.close()


def test_namespace_of_an_exited_process_says_the_process_exited() -> None:
    # A real process, started and reaped: its /proc/<pid>/ns/net is gone.
    child = subprocess.Popen(["true"])
    child.wait()
    with pytest.raises(LabError, match=rf"the process that held network namespace "
                                       rf"/proc/{child.pid}/ns/net has exited"):
        udp_socket(f"/proc/{child.pid}/ns/net", "127.0.0.1", 0)


async def test_missing_program_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "target.toml").write_text(textwrap.dedent("""
        [target]
        name = "needs-a-tool"
        [[process.programs]]
        name = "sbc"
        command = ["no-such-sbc-daemon", "--foreground"]
    """))
    with Lab(default_topology()) as lab:
        target = ProcessTarget(load_target(tmp_path), lab, tmp_path / "run")
        with pytest.raises(MissingToolError, match="'no-such-sbc-daemon' is not installed"):
            await target.start()


def test_bad_target_file_on_the_command_line(tmp_path: Path) -> None:
    bad = tmp_path / "target.toml"
    bad.write_text('[target]\nname = "x"\n[signalling]\nport = "five"\n')
    proc = subprocess.run([*CLI, "run", "--target", str(bad), "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"target file error: {bad}:4: signalling.port" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_not_root_is_said_in_words() -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    probe = subprocess.run([*as_nobody, sys.executable, "-c", "import harness.cli"],
                           cwd="/", capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot read this checkout: {probe.stderr.strip()[-200:]}")
    for command in (["lab", "down"], ["run", "--results", "/tmp/sbc-harness-not-root"]):
        proc = subprocess.run([*as_nobody, *CLI, *command], cwd=ROOT, capture_output=True,
                              text=True, env=env)
        assert proc.returncode != 0, command
        assert "the lab needs root to create network namespaces" in proc.stderr, command
        assert "Traceback" not in proc.stderr


def test_load_without_sipp_says_which_package(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with Python's tools but no sipp
    bin_dir.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:/nonexistent"}
    proc = subprocess.run([*CLI, "load", "--results", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "'sipp' is not installed" in proc.stderr and "sip-tester" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bad_load_plan_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run([*CLI, "load", "--results", str(tmp_path), "--rate", "0"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "load plan: rate must be in (0, 2000] calls/s, got 0.0" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
