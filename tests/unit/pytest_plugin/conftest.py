"""The plugin's own tests: small suites written into a `pytester` folder, run against a
tiny target file, never a lab.

`pytester` itself is enabled by the root conftest (pytest takes ``pytest_plugins``
only from a top-level conftest); the plugin comes from its entry point, as in any run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: A minimal target file: two modes claimed, one known deviation, no profile table, no
#: [forking], no backend (nothing is ever started).
TARGET_TOML = """\
[target]
name = "mini-sbc"
version = "0.1"

[capabilities]
media_modes = ["bypass", "proxy"]

[modes.bypass]
request_uri = "sip:bypass@{callee_address}:{callee_port}"

[modes.proxy]
request_uri = "sip:proxy@{callee_address}:{callee_port}"

[[known_deviations]]
requirement = "MM-PROXY-3"
modes = ["proxy"]
findings = ["the payload changed on the way"]
note = "rewrites the payload in proxy mode"
"""

#: In the pytester folder: a `lab` that fails loudly, so no test here can start one (the
#: plugin's `target` needs it too).
GUARD_CONFTEST = """\
import pytest


@pytest.fixture(scope="session")
def lab():
    raise AssertionError("the plugin's own tests must never start the lab")
"""

PYTEST_INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
"""


@pytest.fixture
def mini_target(pytester: pytest.Pytester) -> Path:
    peer = pytester.path / "peers" / "mini-sbc"
    peer.mkdir(parents=True)
    (peer / "target.toml").write_text(TARGET_TOML)
    return peer / "target.toml"


@pytest.fixture
def suite_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    """The pytester folder with the lab guard and an ini; the test writes its suite."""
    pytester.makeconftest(GUARD_CONFTEST)
    pytester.makefile(".ini", pytest=PYTEST_INI)
    return pytester
