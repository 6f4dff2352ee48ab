"""The pytest plugin of sbc-harness: one module per concern.

Loaded through the package's ``pytest11`` entry point (``sbc_harness``) wherever the
package is installed: no conftest lists it.

- `options`: command-line options and the run's configuration
- `fixtures`: lab and target per session, teardown on failure and Ctrl-C
- `reporting`: case metadata to markers, skips and Allure labels; environment
- `calls`: the ``media_call``, ``fork_call`` and ``dr_call`` fixtures the suites use to
  place captured calls
- `policies`: ``sfb_call``, ``kazoo_call`` and ``cac_run``, calls through the bypass-policy
  profiles
- `verdicts`: ``judge``, which keeps a case's findings and fails it on a FAILED one
- `load`: ``load_run`` (``sbc-harness load``) and its side-by-side table at the end
- `leftovers`: at each case's end the target holds no call of it; a leftover is
  reported on the case that left it
- `target_log`: errors in the target's log during a case break it (or are attached to
  it as evidence)
"""

from harness.pytest_plugin.calls import dr_call, fork_call, media_call
from harness.pytest_plugin.fixtures import (
    harness_config,
    lab,
    pytest_collection_finish,
    pytest_configure,
    pytest_unconfigure,
    target,
)
from harness.pytest_plugin.leftovers import (
    no_call_left_behind,
    pytest_runtest_call_leftovers,
)
from harness.pytest_plugin.load import load_run, pytest_terminal_summary
from harness.pytest_plugin.options import pytest_addoption
from harness.pytest_plugin.policies import cac_run, kazoo_call, sfb_call, wan_run
from harness.pytest_plugin.recording import pytest_runtest_teardown
from harness.pytest_plugin.reporting import (
    pytest_collection_modifyitems,
    pytest_runtest_makereport,
    pytest_sessionfinish,
)
from harness.pytest_plugin.target_log import pytest_runtest_call_target_log
from harness.pytest_plugin.verdicts import judge, pytest_runtest_call

__all__ = [
    "no_call_left_behind", "pytest_runtest_call_leftovers",
    "cac_run", "dr_call", "fork_call", "harness_config", "kazoo_call", "lab",
    "load_run", "media_call", "pytest_terminal_summary", "pytest_addoption", "sfb_call",
    "pytest_collection_finish", "pytest_collection_modifyitems", "pytest_configure",
    "pytest_runtest_call", "pytest_runtest_call_target_log", "pytest_runtest_makereport",
    "pytest_runtest_teardown", "pytest_sessionfinish", "pytest_unconfigure", "target",
    "wan_run", "judge",
]
