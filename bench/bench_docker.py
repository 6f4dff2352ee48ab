"""Speed of the Docker backend, measured on this machine.

Prints:
- the default target's image build from a warm base (its tag removed first),
- container start to ready (ng ping + SIP OPTIONS answered; budget <= 2 s) and stop
  (budget <= 1 s), medians over several runs on one lab network,
- the media-mode suite's wall time through the README's command against the
  container and against local processes, and their ratio.

Run as root with a Docker engine up (sbc-harness engine start):
    .venv/bin/python bench/bench_docker.py [--rounds N] [--no-rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import start_stop_times

from harness.paths import DEFAULT_TARGET, PROJECT_ROOT
from harness.targets.cleanup import cleanup_everything
from harness.targets.docker import DockerTarget
from harness.targets.docker_engine import connect, docker_lab
from harness.targets.docker_image import context_hash, ensure_target_image
from harness.targets.spec import load_target


def med(samples: list[float]) -> str:
    return (f"median {statistics.median(samples):6.3f} s   max {max(samples):6.3f} s   "
            f"(n={len(samples)})")


def suite_wall(backend: str, results: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--backend", backend, "--results",
         str(results)], cwd=PROJECT_ROOT, capture_output=True, text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{backend} suite failed:\n{proc.stdout[-3000:]}")
    return wall


async def main(rounds: int, rebuild: bool) -> None:
    cleanup_everything()
    client = connect()
    loaded = load_target(DEFAULT_TARGET)
    name = loaded.spec.target.name
    tag = f"sbc-harness/{name}:{context_hash(DEFAULT_TARGET)}"
    if rebuild:
        try:
            client.images.remove(tag, force=True)
        except Exception:  # noqa: BLE001 - absent is fine
            pass
    t0 = time.perf_counter()
    image = ensure_target_image(client, name=name, context=DEFAULT_TARGET,
                                progress=lambda line: None)
    build = time.perf_counter() - t0
    size = client.images.get(image).attrs["Size"] / 1e6
    print(f"image build (warm base)      {build:6.1f} s  -> {image}, {size:.0f} MB"
          f"{'' if rebuild else ' (not rebuilt: --no-rebuild)'}")

    scratch = Path(tempfile.mkdtemp(prefix="sbc-bench-docker-"))
    with docker_lab(client, provided_host=loaded.spec.signalling.host) as (lab, network):
        starts, stops = await start_stop_times(
            lambda i: DockerTarget(loaded, lab, scratch / f"r{i}", client, network,
                                   progress=lambda line: None), rounds)
    print(f"container start to ready     {med(starts)}")
    print(f"container stop (+log, rm)    {med(stops)}")

    docker_wall = suite_wall("docker", scratch / "suite-docker")
    process_wall = suite_wall("process", scratch / "suite-process")
    print(f"media-mode suite, docker     {docker_wall:6.2f} s wall")
    print(f"media-mode suite, processes  {process_wall:6.2f} s wall")
    print(f"ratio docker / processes     {docker_wall / process_wall:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-rebuild", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, not args.no_rebuild))
