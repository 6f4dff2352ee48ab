"""Target images against the real engine: built once from peers/<name>/, reused while the
folder is unchanged, failures shown with the failing step, and a start script that makes
`docker stop` quick. The default target image is kept (a cache later runs reuse); every
other image, container and network a test makes is removed."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import docker.models.containers
import docker.models.networks
import docker.types
import pytest

from harness.targets.docker_image import (
    HASH_LABEL,
    KIND_LABEL,
    TARGET_LABEL,
    ImageBuildError,
    context_hash,
    ensure_target_image,
)

PEER = Path(__file__).resolve().parents[2] / "peers" / "kamailio-rtpengine"
TEST_LABEL = {"org.sbc-harness.test": "1"}
SUBNET, GATEWAY, ADDRESS = "198.18.250.0/24", "198.18.250.1", "198.18.250.2"


@pytest.fixture(scope="module")
def default_image(docker_client: docker.DockerClient) -> str:
    return ensure_target_image(docker_client, name="kamailio-rtpengine", context=PEER)


@pytest.fixture
def test_network(docker_client: docker.DockerClient) -> Iterator[docker.models.networks.Network]:
    ipam = docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=SUBNET, gateway=GATEWAY)]
    )
    network = docker_client.networks.create(
        f"sbc-harness-test-{secrets.token_hex(3)}", driver="bridge", ipam=ipam, labels=TEST_LABEL
    )
    try:
        yield network
    finally:
        network.remove()


def _start(
    client: docker.DockerClient, image: str, network: docker.models.networks.Network
) -> docker.models.containers.Container:
    name = str(network.name)
    endpoint = client.api.create_endpoint_config(ipv4_address=ADDRESS)
    container = client.containers.create(
        image, detach=True, network=name, labels=TEST_LABEL,
        networking_config={name: endpoint},
    )
    container.start()
    return container


def _wait_for_log(container: docker.models.containers.Container, text: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        logs = container.logs().decode(errors="replace")
        if text in logs:
            return logs
        container.reload()
        assert container.status == "running", logs[-3000:]
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log: {logs[-3000:]}")


def test_default_image_is_built_once_then_reused(
    docker_client: docker.DockerClient, default_image: str
) -> None:
    digest = context_hash(PEER)
    assert default_image == f"sbc-harness/kamailio-rtpengine:{digest}"
    labels = docker_client.images.get(default_image).labels
    assert labels[KIND_LABEL] == "target"
    assert labels[TARGET_LABEL] == "kamailio-rtpengine"
    assert labels[HASH_LABEL] == digest
    lines: list[str] = []
    started = time.monotonic()
    again = ensure_target_image(
        docker_client, name="kamailio-rtpengine", context=PEER, progress=lines.append
    )
    assert again == default_image
    assert lines == []  # nothing built, not even the base looked at
    assert time.monotonic() - started < 2


def test_failing_build_names_the_step_and_shows_the_output(
    docker_client: docker.DockerClient, default_image: str, tmp_path: Path
) -> None:
    # default_image first, so the base image this build starts from is there already.
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE=debian:bookworm-slim\nFROM ${BASE}\nRUN echo about to fail && false\n"
    )
    name = f"test-failing-{secrets.token_hex(3)}"
    lines: list[str] = []
    try:
        with pytest.raises(ImageBuildError) as caught:
            ensure_target_image(docker_client, name=name, context=tmp_path,
                                progress=lines.append)
        error = caught.value
        assert "RUN echo about to fail && false" in str(error)
        assert "about to fail" in error.log_tail
        assert "returned a non-zero code: 1" in error.log_tail
        assert len(error.log_tail.splitlines()) <= 31
        assert any(line.startswith("Step ") for line in lines)
    finally:
        for image in docker_client.images.list(filters={"label": f"{TARGET_LABEL}={name}"}):
            docker_client.images.remove(str(image.id), force=True)


def test_default_image_holds_both_daemons_and_the_shared_config(
    docker_client: docker.DockerClient, default_image: str
) -> None:
    out = docker_client.containers.run(
        default_image, entrypoint=["sh", "-c", "command -v kamailio && command -v rtpengine"],
        remove=True, network_mode="none", labels=TEST_LABEL,
    )
    found = out.decode().split()
    assert [Path(p).name for p in found] == ["kamailio", "rtpengine"]
    cfg = docker_client.containers.run(
        default_image, entrypoint=["cat", "/etc/sbc-harness/kamailio.cfg"],
        remove=True, network_mode="none", labels=TEST_LABEL,
    )
    assert cfg == (PEER / "kamailio.cfg").read_bytes()


def test_start_script_starts_both_and_stops_on_sigterm_at_once(
    docker_client: docker.DockerClient, default_image: str,
    test_network: docker.models.networks.Network,
) -> None:
    container = _start(docker_client, default_image, test_network)
    try:
        # No SBC_ADDRESS: the script takes the address from `hostname -i`.
        logs = _wait_for_log(container, "rtpengine instance <udp:127.0.0.1:2223> found")
        assert f"udp: {ADDRESS} [{ADDRESS}]:5060" in logs
        assert logs.index("Startup complete") < logs.index("Listening on")
        started = time.monotonic()
        container.stop(timeout=5)
        took = time.monotonic() - started
        container.reload()
        code = container.attrs["State"]["ExitCode"]
        assert code in (0, 143), container.logs().decode(errors="replace")[-3000:]
        assert took < 1.5, f"docker stop took {took:.2f} s"
    finally:
        container.remove(force=True)


def test_container_ends_when_one_daemon_dies(
    docker_client: docker.DockerClient, default_image: str,
    test_network: docker.models.networks.Network,
) -> None:
    container = _start(docker_client, default_image, test_network)
    try:
        _wait_for_log(container, "rtpengine instance <udp:127.0.0.1:2223> found")
        kill = ("for p in /proc/[0-9]*; do "
                "case $(tr '\\0' ' ' < $p/cmdline 2>/dev/null) in rtpengine*) "
                "kill -KILL ${p#/proc/};; esac; done")
        assert container.exec_run(["sh", "-c", kill]).exit_code == 0
        result = container.wait(timeout=10)
        logs = container.logs().decode(errors="replace")
        assert result["StatusCode"] == 137, logs[-3000:]  # rtpengine's status, passed on
        assert "rtpengine ended with status 137; stopping the other daemon" in logs
        assert "Thank you for flying kamailio" in logs
    finally:
        container.remove(force=True)


def test_changed_context_gives_a_new_image_and_the_old_one_goes(
    docker_client: docker.DockerClient, default_image: str, tmp_path: Path
) -> None:
    # A copy of the default peer under another target name: the build cache makes it quick,
    # and the default image (a different target) is left alone.
    context = tmp_path / "peer"
    shutil.copytree(PEER, context, ignore=shutil.ignore_patterns("__pycache__"))
    name = f"test-rebuild-{secrets.token_hex(3)}"
    try:
        first = ensure_target_image(docker_client, name=name, context=context,
                                    progress=lambda line: None)
        cfg = context / "kamailio.cfg"
        cfg.write_text(cfg.read_text() + "\n# changed by the test\n")
        lines: list[str] = []
        second = ensure_target_image(docker_client, name=name, context=context,
                                     progress=lines.append)
        assert second != first and second.startswith(f"sbc-harness/{name}:")
        assert f"removed the older image {first}" in lines
        assert [i.tags for i in docker_client.images.list(
            filters={"label": f"{TARGET_LABEL}={name}"})] == [[second]]
        docker_client.images.get(default_image)
    finally:
        for image in docker_client.images.list(filters={"label": f"{TARGET_LABEL}={name}"}):
            for tag in image.tags:
                docker_client.images.remove(tag)
