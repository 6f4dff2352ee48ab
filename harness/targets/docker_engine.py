"""The Docker engine: connect (or say in words why not), start one, make the run's network.

Every object the harness creates in Docker carries the label
``org.sbc-harness.run=<prefix>``; `cleanup_docker_leftovers` removes those of
runs that are no longer alive and never touches anything without the label.

Address plan: an engine the harness starts gets ``--bip 198.18.255.1/24`` and
``--default-address-pool base=198.19.128.0/17,size=24``, so nothing it makes
lands in a private range; the lab network of each run is an explicit /24 in
198.18.0.0/16 (198.18.1.0 .. 198.18.254.0) with a bridge named after the run.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import docker.errors
from docker.models.networks import Network

from harness.errors import LabError, SetupError

if TYPE_CHECKING:
    from harness.lab import Lab

RUN_LABEL = "org.sbc-harness.run"
DOCKERD_ARGS = [
    "--bip", "198.18.255.1/24",
    "--default-address-pool", "base=198.19.128.0/17,size=24",
]
STATE = Path("/run/sbc-harness")


def _how_to_fix() -> str:
    if shutil.which("dockerd") is None:
        return ("install Debian's engine and start it: 'apt-get install --no-install-recommends "
                "docker.io' then 'sbc-harness engine start' (or './bootstrap setup')")
    return ("start one with 'sbc-harness engine start' (dockerd with --bip 198.18.255.1/24 "
            "--default-address-pool base=198.19.128.0/17,size=24)")


def connect(timeout: float = 10.0) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST (or the default socket) names; SetupError in words."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except docker.errors.DockerException as exc:
        text = str(exc)
        if "Permission denied" in text:
            raise SetupError(
                f"no permission on the Docker socket {where}: run as root or join the "
                "'docker' group"
            ) from None
        raise SetupError(f"no Docker engine reachable at {where} ({text.splitlines()[0]}); "
                         f"{_how_to_fix()}") from None
    return client


@dataclass
class Engine:
    """An engine we reach; `pid` is set when the harness started it (and so stops it)."""

    client: docker.DockerClient
    pid: int | None = None

    def stop(self) -> None:
        if self.pid is None:
            return
        from harness.lab.netns import ProcessRecord, _start_time, stop_process

        start = _start_time(self.pid)
        if start is not None:
            stop_process(ProcessRecord(self.pid, start, "dockerd"), timeout=15)
        self.pid = None


def ensure_engine(*, start: bool) -> Engine:
    """Connect; with `start`, launch dockerd (198.18 address plan) when none answers."""
    try:
        return Engine(connect())
    except SetupError:
        if not start or shutil.which("dockerd") is None:
            raise
    STATE.mkdir(parents=True, exist_ok=True)
    log = (STATE / "dockerd.log").open("ab")
    proc = subprocess.Popen(
        ["dockerd", *DOCKERD_ARGS, "--pidfile", str(STATE / "dockerd.pid")],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (STATE / "dockerd.log").read_text(errors="replace").splitlines()[-15:]
            raise SetupError("dockerd exited at start:\n" + "\n".join(tail))
        try:
            return Engine(connect(timeout=2), pid=proc.pid)
        except SetupError:
            time.sleep(0.2)
    raise SetupError(f"dockerd did not answer within 30 s (log: {STATE / 'dockerd.log'})")


def stop_started_engine() -> str:
    """Stop the dockerd whose pidfile the harness wrote, if it is still that process."""
    from harness.lab.netns import ProcessRecord, _start_time, stop_process

    pidfile = STATE / "dockerd.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return "no dockerd started by the harness"
    start = _start_time(pid)
    comm = Path(f"/proc/{pid}/comm").read_text().strip() if start is not None else ""
    if start is None or comm != "dockerd":
        pidfile.unlink(missing_ok=True)
        return "the dockerd the harness started is gone"
    stop_process(ProcessRecord(pid, start, "dockerd"), timeout=15)
    return f"stopped dockerd (pid {pid})"


def create_lab_network(client: docker.DockerClient, prefix: str) -> tuple[Network, str]:
    """The run's Docker network: an unused /24 in 198.18.0.0/16, bridge `<prefix>-br`."""
    candidates = list(range(1, 255))
    random.shuffle(candidates)
    last = ""
    for third in candidates[:20]:
        subnet = f"198.18.{third}.0/24"
        ipam = docker.types.IPAMConfig(pool_configs=[
            docker.types.IPAMPool(subnet=subnet, gateway=f"198.18.{third}.1")
        ])
        try:
            network = client.networks.create(
                f"sbc-harness-{prefix}", driver="bridge", ipam=ipam,
                labels={RUN_LABEL: prefix},
                options={
                    "com.docker.network.bridge.name": f"{prefix}-br",
                    "com.docker.network.bridge.enable_ip_masquerade": "false",
                },
            )
        except docker.errors.APIError as exc:
            last = str(exc)
            if "overlap" in last.lower():
                continue
            raise LabError(f"cannot create the lab's Docker network {subnet}: {last}") from None
        return network, subnet
    raise LabError(f"no free /24 for the lab network in 198.18.0.0/16: {last}")


@contextmanager
def docker_lab(client: docker.DockerClient, *, provided_host: str) -> Iterator[tuple[Lab, str]]:
    """A lab whose hosts join a fresh Docker network of the run; the target host is provided
    by a container. Yields the lab (up) and the network's name; takes both down after."""
    from harness.lab import ExternalBridge, Lab, default_topology
    from harness.lab.netns import reserve_prefix

    prefix = reserve_prefix()  # before the network exists: a concurrent cleanup sees a live run
    network, subnet = create_lab_network(client, prefix)
    lab = Lab(default_topology(subnet), prefix=prefix, bridge=ExternalBridge(f"{prefix}-br"),
              provided=frozenset({provided_host}))
    try:
        lab.up()
        yield lab, str(network.name)
    finally:
        lab.down()
        try:
            network.remove()
        except docker.errors.DockerException as exc:
            print(f"sbc-harness: could not remove Docker network {network.name}: {exc}")


def cleanup_docker_leftovers(live_prefixes: set[str]) -> list[str]:
    """Remove containers and networks labelled by runs that are no longer alive."""
    try:
        client = connect(timeout=5)
    except SetupError:
        return []
    done = []
    for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
        if container.labels.get(RUN_LABEL) not in live_prefixes:
            container.remove(force=True)
            done.append(f"removed container {container.name}")
    for network in client.networks.list(filters={"label": RUN_LABEL}):
        if network.attrs.get("Labels", {}).get(RUN_LABEL) not in live_prefixes:
            try:
                network.remove()
                done.append(f"removed network {network.name}")
            except docker.errors.APIError as exc:
                done.append(f"could not remove network {network.name}: {exc}")
    return done
