"""The ``sbc-harness`` command: run the suites, take the lab down, check the machine."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from harness import __version__
from harness.errors import HarnessError, TargetFileError
from harness.paths import DEFAULT_TARGET, PROJECT_ROOT, SUITES

# tool -> Debian package that provides it
TOOLS = {
    "ip": "iproute2",
    "tcpdump": "tcpdump",
    "kamailio": "kamailio",
    "rtpengine": "rtpengine-daemon",
}


@click.group()
@click.version_option(__version__, prog_name="sbc-harness")
def main() -> None:
    """Conformance test harness for SIP/SDP/ICE peers (SBCs, gateways, B2BUAs)."""


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--target", "target", default=str(DEFAULT_TARGET), show_default=True,
    help="target folder or target.toml",
)
@click.option(
    "--results", "results", default=str(PROJECT_ROOT / "results"), show_default=True,
    help="folder for allure-results/, junit.xml, pcaps and target logs",
)
@click.option(
    "--backend", type=click.Choice(["process", "docker"]), default="process", show_default=True,
    help="local processes in a namespace, or a container built from the target's Dockerfile",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def run(target: str, results: str, backend: str, pytest_args: tuple[str, ...]) -> None:
    """Start the target, run the conformance suites against it, write Allure results.

    Extra arguments go to pytest (e.g. -k proxy, -x).
    """
    import pytest

    from harness.lab import check_privileges
    from harness.targets.spec import load_target

    try:
        loaded = load_target(target)
        check_privileges()
        if backend == "docker":
            from harness.targets.docker_engine import connect

            if loaded.spec.docker is None:
                raise TargetFileError(str(loaded.path), "no [docker] table: cannot run it "
                                      "with --backend docker")
            connect()
    except TargetFileError as exc:
        raise click.ClickException(f"target file error: {exc}") from None
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None
    out = Path(results)
    allure_dir = out / "allure-results"
    if allure_dir.is_dir():
        shutil.rmtree(allure_dir)
    args = [
        str(SUITES),
        f"--target={loaded.path.parent}",
        f"--results-dir={out}",
        f"--backend={backend}",
        f"--alluredir={allure_dir}",
        f"--junitxml={out / 'junit.xml'}",
        "-p", "no:cacheprovider",
        "-rs",
        *pytest_args,
    ]
    click.echo(f"sbc-harness {__version__}: target {loaded.spec.target.name} ({backend} backend)")
    code = pytest.main(args)
    click.echo(f"\nAllure results: {allure_dir}\nJUnit XML:      {out / 'junit.xml'}")
    sys.exit(int(code))


@main.group()
def lab() -> None:
    """Manage the lab's namespaces and processes."""


@lab.command("down")
@click.option("--all", "include_live", is_flag=True, help="also runs whose owner is still alive")
@click.option("--images", is_flag=True, help="also remove the target images the harness built")
def lab_down(include_live: bool, images: bool) -> None:
    """Remove namespaces, processes, containers and networks left by earlier runs."""
    from harness.lab import check_privileges
    from harness.targets.cleanup import cleanup_everything

    try:
        check_privileges()
        done = cleanup_everything(include_live=include_live)
        if images:
            from harness.targets.docker_engine import connect
            from harness.targets.docker_image import remove_images

            done += [f"removed image {name}" for name in remove_images(connect())]
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None
    for line in done:
        click.echo(line)
    click.echo("nothing left behind" if not done else f"{len(done)} item(s) cleaned")


@main.group()
def engine() -> None:
    """The Docker engine for the docker backend."""


@engine.command("start")
def engine_start() -> None:
    """Start dockerd with the lab's address plan (198.18.0.0/15) unless one already answers."""
    from harness.targets.docker_engine import DOCKERD_ARGS, ensure_engine

    try:
        started = ensure_engine(start=True)
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None
    if started.pid is None:
        click.echo("a Docker engine already answers; using it as it is")
    else:
        click.echo(f"started dockerd (pid {started.pid}) with {' '.join(DOCKERD_ARGS)}")


@engine.command("stop")
def engine_stop() -> None:
    """Stop the dockerd that 'engine start' started (never an engine the harness did not start)."""
    from harness.targets.docker_engine import stop_started_engine

    click.echo(stop_started_engine())


@engine.command("status")
def engine_status() -> None:
    """Say whether a Docker engine answers, and which."""
    from harness.targets.docker_engine import connect

    try:
        client = connect()
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None
    version = client.version()
    click.echo(f"Docker engine {version.get('Version')} (API {version.get('ApiVersion')})")


@main.command()
def doctor() -> None:
    """Check that this machine can run the lab and the default target."""
    import os

    ok = True
    for tool, package in TOOLS.items():
        where = shutil.which(tool)
        hint = where or f"apt-get install {package}"
        click.echo(f"{'ok     ' if where else 'MISSING'} {tool:10} {hint}")
        ok &= where is not None
    root = os.geteuid() == 0
    click.echo(f"{'ok     ' if root else 'MISSING'} root        {'yes' if root else 'run as root'}")
    if not (ok and root):
        raise click.ClickException("the machine is not ready; run ./bootstrap setup as root")


if __name__ == "__main__":
    main()
