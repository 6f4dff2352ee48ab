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


CONFIG_KEY = pytest.StashKey[HarnessConfig]()
