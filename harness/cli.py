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
@click.option("--backend", type=click.Choice(["process"]), default="process", show_default=True)
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
def lab_down(include_live: bool) -> None:
    """Remove namespaces and processes left by earlier (crashed or interrupted) runs."""
    from harness.lab import check_privileges, cleanup_leftovers

    try:
        check_privileges()
        done = cleanup_leftovers(include_live=include_live)
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None
    for line in done:
        click.echo(line)
    click.echo("nothing left behind" if not done else f"{len(done)} item(s) cleaned")


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
