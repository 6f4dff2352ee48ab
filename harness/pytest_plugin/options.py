"""Command-line options and the run's configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.paths import DEFAULT_TARGET, PROJECT_ROOT
from harness.targets.spec import LoadedTarget


@dataclass
class HarnessConfig:
    target_path: Path
    results_dir: Path
    backend: str = "process"
    loaded: LoadedTarget | None = None  # loaded (and validated) at configure time
    docker_client: Any = None  # docker.DockerClient, for the docker backend
    docker_network: str | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sbc-harness")
    group.addoption(
        "--target",
        default=str(DEFAULT_TARGET),
        help="target folder or target.toml (default: peers/kamailio-rtpengine)",
    )
    group.addoption(
        "--backend",
        choices=("process", "docker"),
        default="process",
        help="run the target as local processes in a namespace, or as a Docker container",
    )
    group.addoption(
        "--requirement",
        action="append",
        default=[],
        metavar="ID",
        help="run only the cases checking this requirement (e.g. MM-PROXY-3); repeatable",
    )
    group.addoption(
        "--results-dir",
        default=str(PROJECT_ROOT / "results"),
        help="where pcaps, target logs and scratch files of the run go (default: results/)",
    )

    load = parser.getgroup("sbc-harness load", "load runs (sbc-harness load)")
    load.addoption("--load-rate", type=float, default=20.0,
                   help="calls per second SIPp places (default 20)")
    load.addoption("--load-calls", type=int, default=200,
                   help="calls per mode (default 200)")
    load.addoption("--load-hold", type=float, default=2.0,
                   help="seconds each call lasts after its 200 (default 2)")
    load.addoption("--load-max-concurrent", type=int, default=200,
                   help="most calls up at once (SIPp -l; default 200)")
    load.addoption("--load-no-media", action="store_true",
                   help="signalling only: no RTP on the load calls")
    load.addoption("--load-samples", type=int, default=2,
                   help="harness calls checked in full during each mode's load (default 2)")
    load.addoption("--load-max-seconds", type=float, default=120.0,
                   help="hard limit on each mode's load, in seconds (default 120)")
    load.addoption("--load-mode", action="append", default=[], metavar="MODE",
                   help="bypass, proxy or anchored; repeatable (default: every mode the "
                        "target declares)")


CONFIG_KEY = pytest.StashKey[HarnessConfig]()
