"""Load: the target carrying SIPp's calls at a set rate in each media mode, side by side.

Run by ``sbc-harness load`` (never by ``sbc-harness run``, which leaves this folder
out). Each mode is one case: the figures (achieved rate, setup-time percentiles,
media loss, forwarding delay and jitter through the target, the target's CPU per
call) are attached, and the case fails when the target failed calls, lost media,
sent malformed SIP or one of the sampled calls (the harness's own, checked in full)
went wrong under the load.
"""

from __future__ import annotations

import allure
import pytest

from harness.errors import TargetViolation
from harness.media.modes import MediaMode
from harness.pytest_plugin.load import LoadRun
from harness.targets.base import Target

MODES = [MediaMode.BYPASS, MediaMode.PROXY, MediaMode.ANCHORED]


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
async def test_load(mode: MediaMode, load_run: LoadRun, target: Target,
                    pytestconfig: pytest.Config) -> None:
    wanted = pytestconfig.getoption("--load-mode")
    if wanted and mode.value not in wanted:
        pytest.skip(f"not asked for (--load-mode {' '.join(wanted)})")
    if mode not in target.loaded.spec.capabilities.media_modes:
        pytest.skip(f"UNSUPPORTED: target {target.loaded.spec.target.name} does not declare "
                    f"{mode.value} mode")
    allure.dynamic.title(f"Load in {mode.value} mode")
    result = await load_run(mode)
    if result.problems:
        raise TargetViolation(f"under load in {mode.value} mode: " + "; ".join(result.problems))
