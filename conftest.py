"""Loads the sbc-harness pytest plugin for the suites and the harness's own tests."""

pytest_plugins = ("harness.pytest_plugin",)
