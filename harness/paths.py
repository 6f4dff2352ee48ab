"""Where the project's folders are, for the CLI and the pytest plugin alike."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TARGET = PROJECT_ROOT / "peers" / "kamailio-rtpengine"
SUITES = PROJECT_ROOT / "suites"
REPORTS = PROJECT_ROOT / "reports"
