"""The project's root conftest.

The sbc-harness pytest plugin (`harness.pytest_plugin`) is not listed here: it comes
from the package's ``pytest11`` entry point (``sbc_harness`` in pyproject.toml), so
it loads wherever the package is installed (``pip install -e '.[test]'``), also for a
suite run from another folder. Listing it here as well would register it twice, which
pytest refuses.

``pytester`` is enabled here, for the plugin's own tests (tests/unit/pytest_plugin/):
pytest accepts ``pytest_plugins`` only in a top-level conftest.
"""

pytest_plugins = ("pytester",)
