"""Report tests: real runs against the default target (and a violating copy of it), the real
Allure 3 command line, and headless Chromium. They need root (the lab), Node.js with Allure
installed in reports/node_modules, and Debian's chromium. Missing one, they are skipped with
the reason; under CI (CI=true) that is a failure instead: CI installs all of them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "report tests need root (they run the suites in the lab)"
    if shutil.which("node") is None:
        return "Node.js is not installed (run ./bootstrap setup)"
    if not (ROOT / "reports" / "node_modules" / "allure" / "cli.js").is_file():
        return "Allure 3 is not installed in reports/node_modules (run ./bootstrap setup)"
    if not CHROMIUM.is_file():
        return "Debian's chromium is not installed (run ./bootstrap setup)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e .[test])"
    return None


@pytest.fixture(autouse=True)
def _report_tools() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"report tests must run in CI, but: {reason}")
    pytest.skip(reason)
