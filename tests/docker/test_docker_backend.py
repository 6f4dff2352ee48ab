"""The Docker backend against the real engine: same verdicts as local processes, nothing
left behind, and every error in words."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from harness.errors import HarnessError, SetupError, TargetStartError
from harness.targets.cleanup import cleanup_everything
from harness.targets.docker import DockerTarget
from harness.targets.docker_engine import RUN_LABEL, docker_lab
from harness.targets.spec import load_target

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "harness.cli"]


def _verdicts(results: Path) -> dict[str, str]:
    out = {}
    for tc in ET.parse(results / "junit.xml").getroot().iter("testcase"):
        state = "passed"
        for kind in ("failure", "error", "skipped"):
            if tc.find(kind) is not None:
                state = kind
        out[str(tc.get("name"))] = state
    return out


def _run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_suite_in_docker_gives_the_same_verdicts_as_local_processes(
    tmp_path: Path, target_image: str
) -> None:
    docker_run = _run("run", "--backend", "docker", "--results", str(tmp_path / "docker"))
    assert docker_run.returncode == 0, docker_run.stdout[-4000:] + docker_run.stderr[-2000:]
    process_run = _run("run", "--results", str(tmp_path / "process"))
    assert process_run.returncode == 0, process_run.stdout[-4000:]
    in_docker = _verdicts(tmp_path / "docker")
    assert len(in_docker) >= 15 and set(in_docker.values()) == {"passed", "skipped"}
    # Only the default target's declared known deviations (xfail, shown as skipped).
    assert sorted(n for n, v in in_docker.items() if v == "skipped") == [
        "test_dr_early_media_highest_priority", "test_dr_forked_early_media_latching",
        "test_dr_forked_first_device_answers", "test_dr_forked_no_checks_from_target",
        "test_dr_forked_second_device_answers", "test_fork_early_media_anchored",
        "test_fork_early_media_proxy", "test_fork_srtp_keys_proxy", "test_nat_callee_bypassed",
        "test_relay_port_of_a_silent_side",
    ]
    assert in_docker == _verdicts(tmp_path / "process")
    env = (tmp_path / "docker" / "allure-results" / "environment.properties").read_text()
    assert "backend=docker" in env


def _network(client: docker.DockerClient, prefix: str) -> Any:
    return client.networks.list(filters={"label": f"{RUN_LABEL}={prefix}"})


def test_leftovers_of_a_killed_docker_run_are_removed_and_nothing_else(
    client: docker.DockerClient, target_image: str
) -> None:
    # Something that is not ours, in the lab range: it must survive every cleanup.
    foreign = client.networks.create(
        f"not-sbc-harness-{secrets.token_hex(3)}", driver="bridge",
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
            subnet="198.18.253.0/24", gateway="198.18.253.1")]),
    )
    try:
        run = subprocess.Popen(
            [*CLI, "run", "--backend", "docker", "--results", "/tmp/sbc-harness-killed",
             "-k", "forwarding_delay"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        containers: list[Any] = []
        while time.monotonic() < deadline and not containers:
            containers = client.containers.list(filters={"label": RUN_LABEL})
            time.sleep(0.1)
        assert containers, "the run never started its container"
        prefix = containers[0].labels[RUN_LABEL]
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert _network(client, prefix), "the killed run's network should still be there"
        done = cleanup_everything()
        assert any("removed container" in line for line in done)
        assert not client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={prefix}"})
        assert not _network(client, prefix)
        client.networks.get(foreign.id)  # untouched
    finally:
        foreign.remove()


def _peer(tmp_path: Path, dockerfile: str, *, extra: str = "") -> Path:
    folder = tmp_path / "peer"
    folder.mkdir()
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / "target.toml").write_text(textwrap.dedent(f"""
        [target]
        name = "probe-{secrets.token_hex(3)}"
        [docker]
        build = "."
        ready_timeout = 10
        {extra}
    """))
    return folder


async def _start(client: docker.DockerClient, folder: Path, tmp_path: Path) -> None:
    loaded = load_target(folder)
    with docker_lab(client, provided_host="sbc") as (lab, network):
        target = DockerTarget(loaded, lab, tmp_path / "run", client, network,
                              progress=lambda line: None)
        try:
            await target.start()
        finally:
            await target.stop()


@pytest.mark.parametrize("delay", ["0", "0.05", "0.3"])
async def test_container_that_exits_before_ready_gives_exit_code_and_log(
    client: docker.DockerClient, base_image: str, tmp_path: Path, delay: str
) -> None:
    # At once, or while being probed. The namespace of a container that dies between
    # the inspection and the probe vanishes under the probe: CI once reported that
    # as "namespace does not exist" instead of the exit code.
    folder = _peer(tmp_path, f'FROM {base_image}\nCMD ["sh", "-c", "sleep {delay}; '
                             f'echo died-while-probed >&2; exit 4"]\n')
    with pytest.raises(TargetStartError) as err:
        await _start(client, folder, tmp_path)
    assert "exited with code 4 before it became ready" in str(err.value)
    assert "died-while-probed" in err.value.log_tail


async def test_build_that_fails_shows_the_last_lines(
    client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    folder = _peer(tmp_path, f"FROM {base_image}\nRUN echo this-step-breaks && false\n")
    with pytest.raises(HarnessError) as err:
        await _start(client, folder, tmp_path)
    assert "this-step-breaks" in str(err.value) + getattr(err.value, "log_tail", "")


async def test_target_file_naming_a_missing_image(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    folder = tmp_path / "peer"
    folder.mkdir()
    (folder / "target.toml").write_text(
        '[target]\nname = "ghost"\n[docker]\nimage = "sbc-harness/no-such-image:0"\n'
    )
    with pytest.raises(TargetStartError, match=r"docker\.image 'sbc-harness/no-such-image:0' "
                                               r"does not exist locally"):
        await _start(client, folder, tmp_path)


async def test_address_already_in_use_on_the_lab_network(
    client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    loaded = load_target(_peer(tmp_path, f'FROM {base_image}\nCMD ["sleep", "30"]\n'))
    with docker_lab(client, provided_host="sbc") as (lab, network):
        squatter = client.containers.create(
            base_image, ["sleep", "30"], labels={RUN_LABEL: lab.prefix}, network=network
        )
        try:
            client.api.disconnect_container_from_network(squatter.id, network)
            client.api.connect_container_to_network(squatter.id, network,
                                                    ipv4_address=lab.address("sbc"))
            squatter.start()
            target = DockerTarget(loaded, lab, tmp_path / "run", client, network,
                                  progress=lambda line: None)
            with pytest.raises(SetupError,
                               match=rf"address {lab.address('sbc')} is already in use"):
                await target.start()
        finally:
            squatter.remove(force=True)


def test_no_engine_is_said_in_words(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "run", "--backend", "docker", "--results", str(tmp_path)], cwd=ROOT,
        capture_output=True, text=True, env={**os.environ, "DOCKER_HOST": "unix:///nonexistent"},
    )
    assert proc.returncode != 0
    assert "no Docker engine reachable at unix:///nonexistent" in proc.stderr
    assert "sbc-harness engine start" in proc.stderr
    assert "Traceback" not in proc.stderr




def test_ctrl_c_mid_docker_run_leaves_nothing_behind(
    client: docker.DockerClient, target_image: str, tmp_path: Path
) -> None:
    run = subprocess.Popen(
        [*CLI, "run", "--backend", "docker", "--results", str(tmp_path)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "pcaps").glob("*.pcap")):
        time.sleep(0.05)
    containers = client.containers.list(filters={"label": RUN_LABEL})
    assert containers, "no container while a call was under way"
    prefix = containers[0].labels[RUN_LABEL]
    os.kill(run.pid, signal.SIGINT)
    out, _ = run.communicate(timeout=60)
    assert run.returncode != 0
    assert not client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={prefix}"}), out
    assert not _network(client, prefix), out
    assert not [n for n in os.listdir("/run/netns") if n.startswith(prefix)]


async def test_environment_and_mounted_configuration_reach_the_container(
    client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    folder = _peer(
        tmp_path,
        f'FROM {base_image}\nCMD ["sh", "-c", "echo env=$ACME_MODE addr=$SBC_ADDRESS; '
        f'cat /etc/acme/acme.conf; sleep 30"]\n',
        extra='ready = []\nstop_timeout = 0\nenvironment = { ACME_MODE = "lab" }\n'
              'mounts = [{ source = "acme.conf", target = "/etc/acme/acme.conf" }]',
    )
    (folder / "acme.conf").write_text("listen = sip:0.0.0.0:5060\n")
    loaded = load_target(folder)
    with docker_lab(client, provided_host="sbc") as (lab, network):
        target = DockerTarget(loaded, lab, tmp_path / "run", client, network,
                              progress=lambda line: None)
        await target.start()
        try:
            deadline = time.monotonic() + 5
            while "listen" not in target.logs()["container"] and time.monotonic() < deadline:
                time.sleep(0.05)
            log = target.logs()["container"]
        finally:
            await target.stop()
    assert f"env=lab addr={lab.address('sbc')}" in log
    assert "listen = sip:0.0.0.0:5060" in log
    assert (tmp_path / "run" / "container.log").read_text() == log


def test_no_permission_on_the_socket_is_said_in_words(engine: object) -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*as_nobody, sys.executable, "-c", "import harness.cli"], cwd="/",
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot read this checkout: {probe.stderr.strip()[-200:]}")
    proc = subprocess.run([*as_nobody, *CLI, "engine", "status"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no permission on the Docker socket unix:///var/run/docker.sock" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_load_runs_against_the_container_and_counts_its_cpu(
    client: docker.DockerClient, target_image: str, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [*CLI, "load", "--backend", "docker", "--results", str(tmp_path), "--mode", "proxy",
         "--calls", "20", "--rate", "20", "--hold", "0.5", "--samples", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    [proxy] = json.loads((tmp_path / "load" / "summary.json").read_text())
    assert proxy["calls ok/placed"] == "20/20" and proxy["problems"] == []
    # the CPU is that of the container's processes (Kamailio's and rtpengine's)
    assert proxy["cpu_s"] > 0 and proxy["cpu_processes"] >= 2
    assert not client.containers.list(all=True, filters={"label": RUN_LABEL})
