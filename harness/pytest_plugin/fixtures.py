"""Fixtures: the lab and the target once per session, a fresh capture per call.

Expensive things once (lab up, target started), cheap reset per test (each
call gets its own pcap). Teardown is belt and braces: the fixtures stop what
they started, and `pytest_unconfigure` takes the lab down again by PID and
namespace name, which also covers Ctrl-C in the middle of a session.

The plugin loads in every pytest run of the environment it is installed in (its
``pytest11`` entry point), so what it does to the process is kept to runs that are
the harness's: the SIGTERM/SIGINT handlers are installed only once collection found a
conformance case or a test that needs the lab, and put back at the end. What a run
keeps (the labs to take down, the handlers it replaced) lives in the config's stash,
never in a module global.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from harness.errors import TargetFileError
from harness.lab import Lab, check_privileges, default_topology
from harness.pytest_plugin.options import CONFIG_KEY, HarnessConfig
from harness.pytest_plugin.verdicts import case_of
from harness.targets.base import Target
from harness.targets.cleanup import cleanup_everything
from harness.targets.docker import DockerTarget
from harness.targets.process import ProcessTarget
from harness.targets.spec import load_target

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

#: The labs up in this run, for `pytest_unconfigure` to take down whatever happened.
LABS_KEY = pytest.StashKey[list[Lab]]()
#: The SIGTERM/SIGINT handlers this run replaced, put back by `pytest_unconfigure`.
SIGNALS_KEY = pytest.StashKey[dict[signal.Signals, _Handler]]()
#: True once collection found a conformance case or a test that needs the lab.
HARNESS_RUN_KEY = pytest.StashKey[bool]()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C and SIGTERM unwind the same way: KeyboardInterrupt, so every teardown runs.

    Installed for SIGINT too: asyncio.Runner (used by pytest-asyncio) otherwise replaces
    the default handler with one that only cancels the running task, and a cancellation
    can be absorbed, so a Ctrl-C was seen to let the run finish and exit 0.
    """
    raise KeyboardInterrupt


def _install_interrupt(config: pytest.Config) -> None:
    """SIGTERM and SIGINT raise KeyboardInterrupt for the rest of this run (once; only
    from the main thread, where Python allows it)."""
    if SIGNALS_KEY in config.stash or threading.current_thread() is not threading.main_thread():
        return
    config.stash[SIGNALS_KEY] = {
        signum: signal.signal(signum, _interrupt) for signum in (signal.SIGTERM, signal.SIGINT)
    }


def _restore_signals(config: pytest.Config) -> None:
    for signum, previous in config.stash.get(SIGNALS_KEY, {}).items():
        signal.signal(signum, signal.SIG_DFL if previous is None else previous)
    if SIGNALS_KEY in config.stash:
        del config.stash[SIGNALS_KEY]


def is_harness_item(item: pytest.Item) -> bool:
    """A conformance case, or a test that needs the lab (its fixture or its marker)."""
    return (case_of(item) is not None or "lab" in getattr(item, "fixturenames", ())
            or item.get_closest_marker("lab") is not None)


def pytest_configure(config: pytest.Config) -> None:
    # Registered here, not only in the project's pyproject.toml: a suite run from
    # elsewhere has the plugin (its entry point) but not that ini file.
    config.addinivalue_line(
        "markers", "requirement(*ids): requirement IDs from REQUIREMENTS.md this case checks")
    target_opt = config.getoption("--target", default=None)
    if target_opt is None:
        return
    hc = HarnessConfig(
        Path(target_opt), Path(config.getoption("--results-dir")),
        backend=config.getoption("--backend"),
    )
    config.stash[CONFIG_KEY] = hc


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before the first test: a run with something to tear down unwinds on SIGTERM and
    Ctrl-C (see `_interrupt`); any other run is left as pytest has it."""
    if any(is_harness_item(item) for item in session.items):
        session.config.stash[HARNESS_RUN_KEY] = True
        _install_interrupt(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    try:
        labs = config.stash.get(LABS_KEY, [])
        while labs:
            labs.pop().down()
    finally:
        _restore_signals(config)


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
    _install_interrupt(pytestconfig)  # in case collection did not see it coming
    labs = pytestconfig.stash.setdefault(LABS_KEY, [])
    docker = harness_config.backend == "docker"
    for line in cleanup_everything(docker=docker):
        print(f"sbc-harness: leftover of an earlier run: {line}")
    if not docker:
        the_lab = Lab(default_topology())
        labs.append(the_lab)
        the_lab.up()
        try:
            yield the_lab
        finally:
            the_lab.down()
            if the_lab in labs:
                labs.remove(the_lab)
        return
    from harness.targets.docker_engine import connect, docker_lab

    hc = loaded_target(pytestconfig)
    assert hc.loaded is not None
    client = connect()
    with docker_lab(client, provided_host=hc.loaded.spec.signalling.host) as (the_lab, network):
        harness_config.docker_client, harness_config.docker_network = client, network
        labs.append(the_lab)
        try:
            yield the_lab
        finally:
            if the_lab in labs:
                labs.remove(the_lab)


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
