"""Lab tests need root, iproute2 and the default target's programs; skip in words otherwise."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = [t for t in ("ip", "tcpdump", "kamailio", "rtpengine") if shutil.which(t) is None]
    reason = None
    if os.geteuid() != 0:
        reason = "lab tests need root (network namespaces)"
    elif missing:
        reason = f"lab tests need {', '.join(missing)} (run ./bootstrap setup)"
    for item in items:
        if "tests/lab/" in str(item.path):
            item.add_marker(pytest.mark.lab)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
