"""Fixtures: the lab and the target once per session, a fresh capture per call.

Expensive things once (lab up, target started), cheap reset per test (each
call gets its own pcap). Teardown is belt and braces: the fixtures stop what
they started, and `pytest_unconfigure` takes the lab down again by PID and
namespace name, which also covers Ctrl-C in the middle of a session.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import pytest

from harness.errors import TargetFileError
from harness.lab import Lab, check_privileges, default_topology
from harness.pytest_plugin.options import CONFIG_KEY, HarnessConfig
from harness.targets.base import Target
from harness.targets.cleanup import cleanup_everything
from harness.targets.docker import DockerTarget
from harness.targets.process import ProcessTarget
from harness.targets.spec import load_target

_LABS: list[Lab] = []


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C and SIGTERM unwind the same way: KeyboardInterrupt, so every teardown runs.

    Installed for SIGINT too: asyncio.Runner (used by pytest-asyncio) otherwise replaces
    the default handler with one that only cancels the running task, and a cancellation
    can be absorbed, so a Ctrl-C was seen to let the run finish and exit 0.
    """
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    target_opt = config.getoption("--target", default=None)
    if target_opt is None:
        return
    from pathlib import Path

    hc = HarnessConfig(
        Path(target_opt), Path(config.getoption("--results-dir")),
        backend=config.getoption("--backend"),
    )
    config.stash[CONFIG_KEY] = hc
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def pytest_unconfigure(config: pytest.Config) -> None:
    for lab in _LABS:
        lab.down()
    _LABS.clear()


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> HarnessConfig:
    return pytestconfig.stash[CONFIG_KEY]


def loaded_target(config: pytest.Config) -> HarnessConfig:
    """Load the target file once; a bad file is a usage error in words, not a traceback."""
    hc = config.stash[CONFIG_KEY]
    if hc.loaded is None:
        try:
            hc.loaded = load_target(hc.target_path)
        except TargetFileError as exc:
            raise pytest.UsageError(f"target file error: {exc}") from None
    return hc


@pytest.fixture(scope="session")
def lab(pytestconfig: pytest.Config, harness_config: HarnessConfig) -> Iterator[Lab]:
    check_privileges()  # an error, never a skip: a run that judged nothing must not pass
    docker = harness_config.backend == "docker"
    for line in cleanup_everything(docker=docker):
        print(f"sbc-harness: leftover of an earlier run: {line}")
    if not docker:
        the_lab = Lab(default_topology())
        _LABS.append(the_lab)
        the_lab.up()
        try:
            yield the_lab
        finally:
            the_lab.down()
            if the_lab in _LABS:
                _LABS.remove(the_lab)
        return
    from harness.targets.docker_engine import connect, docker_lab

    hc = loaded_target(pytestconfig)
    assert hc.loaded is not None
    client = connect()
    with docker_lab(client, provided_host=hc.loaded.spec.signalling.host) as (the_lab, network):
        harness_config.docker_client, harness_config.docker_network = client, network
        _LABS.append(the_lab)
        try:
            yield the_lab
        finally:
            if the_lab in _LABS:
                _LABS.remove(the_lab)


def _show_progress(line: str) -> None:
    """Image build progress goes to the terminal even while pytest captures output."""
    stream = sys.__stderr__
    if stream is not None:
        print(f"sbc-harness: [image] {line}", file=stream, flush=True)


@pytest.fixture(scope="session")
async def target(
    pytestconfig: pytest.Config, harness_config: HarnessConfig, lab: Lab
) -> AsyncIterator[Target]:
    hc = loaded_target(pytestconfig)
    assert hc.loaded is not None
    run_dir = harness_config.results_dir / "runs" / lab.prefix
    started: ProcessTarget | DockerTarget
    if harness_config.backend == "docker":
        assert harness_config.docker_network is not None
        started = DockerTarget(hc.loaded, lab, run_dir, harness_config.docker_client,
                               harness_config.docker_network, progress=_show_progress)
    else:
        started = ProcessTarget(hc.loaded, lab, run_dir)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()
