"""The ``sbc-harness`` command: run the suites, take the lab down, check the machine."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from harness import __version__
from harness.errors import HarnessError, MissingToolError, TargetFileError
from harness.paths import DEFAULT_TARGET, PROJECT_ROOT, SUITES

F = TypeVar("F", bound=Callable[..., Any])

# tool -> Debian package that provides it
TOOLS = {
    "ip": "iproute2",
    "tcpdump": "tcpdump",
    "kamailio": "kamailio",
    "rtpengine": "rtpengine-daemon",
    "sipp": "sip-tester",  # sbc-harness load
}


@click.group()
@click.version_option(__version__, prog_name="sbc-harness")
def main() -> None:
    """Conformance test harness for SIP/SDP/ICE peers (SBCs, gateways, B2BUAs)."""


def _run_options(fn: F) -> F:
    """--target, --results and --backend, as `run` and `load` share them."""
    for option in reversed((
        click.option("--target", "target", default=str(DEFAULT_TARGET), show_default=True,
                     help="target folder or target.toml"),
        click.option("--results", "results", default=str(PROJECT_ROOT / "results"),
                     show_default=True,
                     help="folder for allure-results/, junit.xml, pcaps and target logs"),
        click.option("--backend", type=click.Choice(["process", "docker"]), default="process",
                     show_default=True, help="local processes in a namespace, or a container "
                     "built from the target's Dockerfile"),
    )):
        fn = option(fn)
    return fn


@main.command(context_settings={"ignore_unknown_options": True})
@_run_options
@click.option("--report/--no-report", "make_report", default=True, show_default=True,
              help="generate the HTML report and the requirement matrix at the end")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def run(
    target: str, results: str, backend: str, make_report: bool, pytest_args: tuple[str, ...]
) -> None:
    """Start the target, run the conformance suites against it, write Allure results
    and (unless --no-report) the HTML report.

    Extra arguments go to pytest (e.g. -k proxy, -x).
    """
    out = Path(results)
    allure_dir = out / "allure-results"
    code = _pytest(target, results, backend, [f"--ignore={SUITES / 'load'}", str(SUITES)],
                   pytest_args)
    click.echo(f"\nAllure results: {allure_dir}\nJUnit XML:      {out / 'junit.xml'}")
    if make_report and allure_dir.is_dir():
        try:
            _make_report(out, out / "report")
        except HarnessError as exc:
            click.echo(f"Error: the report could not be made: {exc}", err=True)
            sys.exit(int(code) or 3)
    sys.exit(int(code))


@main.command(context_settings={"ignore_unknown_options": True})
@_run_options
@click.option("--rate", default=20.0, show_default=True, help="calls per second")
@click.option("--calls", default=200, show_default=True, help="calls per mode")
@click.option("--hold", default=2.0, show_default=True,
              help="seconds each call lasts after its 200")
@click.option("--max-concurrent", default=200, show_default=True,
              help="most calls up at once")
@click.option("--media/--no-media", default=True, show_default=True,
              help="RTP both ways on every call")
@click.option("--samples", default=2, show_default=True,
              help="calls of the harness's own, checked in full, during each mode's load")
@click.option("--max-seconds", default=120.0, show_default=True,
              help="hard limit on each mode's load")
@click.option("--mode", "modes", multiple=True,
              type=click.Choice(["bypass", "proxy", "anchored"]),
              help="only these modes (repeatable)  [default: every mode the target declares]")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def load(
    target: str, results: str, backend: str, rate: float, calls: int, hold: float,
    max_concurrent: int, media: bool, samples: int, max_seconds: float,
    modes: tuple[str, ...], pytest_args: tuple[str, ...],
) -> None:
    """Put the target under a bounded call load (SIPp) in each media mode, side by side.

    Reports per mode the achieved call rate, failed calls, setup-time percentiles,
    media loss, forwarding delay and jitter through the target, the target's CPU per
    call, and sampled calls of the harness's own checked in full. Each mode stops
    after --calls calls or --max-seconds, whichever comes first. Figures go to
    RESULTS/load/summary.txt and summary.json, and Allure results to
    RESULTS/load/allure-results (a conformance run's results stay as they are).
    """
    from harness.load.runner import LoadPlan

    try:
        LoadPlan(rate=rate, calls=calls, hold_s=hold, max_concurrent=max_concurrent,
                 media=media, samples=samples, max_seconds=max_seconds)
    except ValueError as exc:
        raise click.ClickException(f"load plan: {exc}") from None
    from harness.load.sipp import SIPP, SIPP_PACKAGE

    if shutil.which(SIPP) is None:
        raise click.ClickException(str(MissingToolError(SIPP, SIPP_PACKAGE)))
    args = [f"--load-rate={rate}", f"--load-calls={calls}", f"--load-hold={hold}",
            f"--load-max-concurrent={max_concurrent}", f"--load-samples={samples}",
            f"--load-max-seconds={max_seconds}", *(f"--load-mode={m}" for m in modes),
            *([] if media else ["--load-no-media"])]
    code = _pytest(target, results, backend, [str(SUITES / "load")], (*args, *pytest_args),
                   outputs="load")
    click.echo(f"\nAllure results: {Path(results) / 'load' / 'allure-results'}")
    sys.exit(code)


def _pytest(target: str, results: str, backend: str, paths: list[str],
            pytest_args: tuple[str, ...], *, outputs: str = "") -> int:
    """Check the target file and the machine, then run pytest on `paths` with the
    harness's options and Allure/JUnit output in `results`/`outputs`; pytest's exit code.
    (A load run writes its own into ``load/``, leaving the conformance run's intact.)"""
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
    allure_dir = out / outputs / "allure-results"
    if allure_dir.is_dir():
        shutil.rmtree(allure_dir)
    args = [
        *paths,
        f"--target={loaded.path}",  # the file given, whatever its name
        f"--results-dir={out}",
        f"--backend={backend}",
        f"--alluredir={allure_dir}",
        f"--junitxml={out / outputs / 'junit.xml'}",
        "-p", "no:cacheprovider",
        "-rs",
        *pytest_args,
    ]
    click.echo(f"sbc-harness {__version__}: target {loaded.spec.target.name} ({backend} backend)")
    return int(pytest.main(args))


def _make_report(results: Path, output: Path) -> None:
    from harness.report.build import make_report

    made = make_report(results, output)
    counts = ", ".join(f"{n} {v}" for v, n in made.matrix.counts().items())
    click.echo(f"HTML report:    {made.allure.index}  ({made.allure.seconds:.1f} s)\n"
               f"Matrix:         {made.matrix_page}  ({counts})\n"
               f"Open it with:   sbc-harness report --serve --results {results}")


@main.command()
@click.option("--results", "results", default=str(PROJECT_ROOT / "results"), show_default=True,
              help="the run's results folder (with allure-results/)")
@click.option("--output", "output", default=None,
              help="where the report goes  [default: RESULTS/report]")
@click.option("--compare", "compare_runs", nargs=2, type=click.Path(path_type=Path),
              metavar="RUN_A RUN_B",
              help="list requirements that went from pass to fail (and back) between two "
                   "runs (results folders or matrix.json files); exit 1 on a regression")
@click.option("--serve", is_flag=True, help="serve the report on 127.0.0.1 until Ctrl-C")
@click.option("--port", default=8080, show_default=True, help="port for --serve")
def report(
    results: str, output: str | None, compare_runs: tuple[Path, Path] | None, serve: bool,
    port: int,
) -> None:
    """Make the HTML report (Allure 3) and the requirement matrix of a run, compare two
    runs, or serve a report."""
    from harness.report.compare import compare

    try:
        if compare_runs:
            comparison = compare(*compare_runs)
            click.echo(comparison.render())
            sys.exit(1 if comparison.regressions else 0)
        out = Path(output) if output else Path(results) / "report"
        if serve:
            _serve(out, port)
            return
        _make_report(Path(results), out)
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None


def _serve(folder: Path, port: int) -> None:
    import functools
    import http.server

    if not (folder / "index.html").is_file():
        raise HarnessError(f"no report in {folder} (make one with 'sbc-harness report')")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise HarnessError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror}") from None
    click.echo(f"Serving {folder} at http://127.0.0.1:{port}/ (matrix: "
               f"http://127.0.0.1:{port}/matrix.html); Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


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
