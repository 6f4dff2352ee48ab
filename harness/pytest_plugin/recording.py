"""Evidence recording: at the end of each test, write what its scenarios kept
(`harness.evidence.recording`, only with SBC_HARNESS_RECORD_EVIDENCE set)."""

from __future__ import annotations

import pytest

from harness.evidence.recording import flush


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    flush(item.nodeid.split("/")[-1].replace(".py::", "__"))
