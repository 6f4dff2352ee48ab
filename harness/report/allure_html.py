"""The Allure 3 HTML report, generated offline with the npm package ``allure``.

The package is pinned in ``reports/package.json`` (with its lock file) and
installed into ``reports/node_modules`` by ``./bootstrap``; this module runs
its command line with the machine's Node.js, then makes the page work
offline and leak nothing: Allure 3 puts a Google tag-manager script (and its
inline ``gtag`` set-up) into ``index.html``; both are removed, and any other
script or stylesheet loaded from outside the report is refused as an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import MissingToolError, SetupError
from harness.paths import REPORTS

__all__ = ["AllureReport", "allure_cli", "generate_html", "strip_trackers"]

NODE_MIN_MAJOR = 20
_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>\s*", re.I)
_INLINE = re.compile(r"<script\b[^>]*>(.*?)</script>\s*", re.I | re.S)
_EXTERNAL_ANY = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](https?:)?//[^>]*>", re.I)


@dataclass(frozen=True)
class AllureReport:
    index: Path
    seconds: float
    removed: int  # tracker scripts taken out of index.html


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise MissingToolError("node", "nodejs")
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    version = out.stdout.strip().lstrip("v")
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major < NODE_MIN_MAJOR:
        raise SetupError(f"Node.js {version or '?'} at {node} is too old for Allure 3 "
                         f"(needs {NODE_MIN_MAJOR} or newer)")
    return node


def allure_cli(reports: Path = REPORTS) -> Path:
    """The Allure 3 command-line script installed under reports/node_modules."""
    cli = reports / "node_modules" / "allure" / "cli.js"
    if not cli.is_file():
        raise SetupError(
            f"Allure 3 is not installed ({cli} is missing): run ./bootstrap setup, or "
            f"'npm ci --prefix {reports}'")
    return cli


def strip_trackers(index: Path) -> int:
    """Remove external scripts and the inline gtag set-up from `index`; return how many.

    Raises SetupError if anything else would still load from outside the report."""
    text = index.read_text(encoding="utf-8")
    text, external = _EXTERNAL_SCRIPT.subn("", text)
    inline = 0

    def drop_gtag(match: re.Match[str]) -> str:
        nonlocal inline
        if "gtag(" in match.group(1) or "dataLayer" in match.group(1):
            inline += 1
            return ""
        return match.group(0)

    text = _INLINE.sub(drop_gtag, text)
    left = _EXTERNAL_ANY.search(text)
    if left is not None:
        raise SetupError(f"{index} still loads something from outside the report: "
                         f"{left.group(0)[:120]}")
    index.write_text(text, encoding="utf-8")
    return external + inline


def generate_html(
    results: Path, output: Path, *, name: str = "sbc-harness conformance report",
    timeout: float = 120.0,
) -> AllureReport:
    """Run ``allure generate`` on `results` (an allure-results folder) into `output`."""
    node, cli = _node(), allure_cli()
    if output.exists():
        shutil.rmtree(output)
    start = time.perf_counter()
    proc = subprocess.run(
        [node, str(cli), "generate", str(results), "--output", str(output),
         "--config", str(REPORTS / "allurerc.mjs"), "--report-name", name],
        cwd=REPORTS, capture_output=True, text=True, timeout=timeout, check=False,
        env={"PATH": str(Path(node).parent), "HOME": str(REPORTS), "NO_COLOR": "1",
             "CI": "", "ALLURE_NO_ANALYTICS": "1"},
    )
    index = output / "index.html"
    if proc.returncode != 0 or not index.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise SetupError(f"allure generate failed (exit {proc.returncode}) for {results}:\n"
                         + "\n".join(tail))
    removed = strip_trackers(index)
    return AllureReport(index, time.perf_counter() - start, removed)
