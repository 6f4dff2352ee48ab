"""Docker tests run against a real engine: one is started (dockerd with the lab's address
plan) when none answers, and stopped afterwards. Where no engine can run, the tests are
skipped with the reason; under CI (CI=true) that is a failure instead, because the
machines CI runs on can run one and the tests must not silently vanish there."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import docker
import pytest

from harness.errors import SetupError
from harness.paths import DEFAULT_TARGET
from harness.targets.docker_engine import Engine, ensure_engine
from harness.targets.docker_image import ensure_base_image, ensure_target_image


def _cannot_run(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Docker tests must run in CI, but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    if os.geteuid() != 0:
        _cannot_run("docker tests need root")
    try:
        started = ensure_engine(start=shutil.which("dockerd") is not None)
    except SetupError as exc:
        _cannot_run(f"no Docker engine can run here: {exc}")
        raise
    try:
        yield started
    finally:
        started.client.close()
        started.stop()


@pytest.fixture(scope="session")
def docker_client(engine: Engine) -> docker.DockerClient:
    return engine.client


@pytest.fixture(scope="session")
def client(engine: Engine) -> docker.DockerClient:
    return engine.client


@pytest.fixture(scope="session")
def base_image(client: docker.DockerClient) -> str:
    return ensure_base_image(client, progress=lambda line: print(f"[base] {line}"))


@pytest.fixture(scope="session")
def target_image(client: docker.DockerClient) -> str:
    return ensure_target_image(client, name="kamailio-rtpengine", context=DEFAULT_TARGET,
                               progress=lambda line: print(f"[build] {line}"))
