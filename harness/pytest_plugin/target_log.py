"""The target's log is evidence during the run: errors it shows during a case break it.

A target can go wrong without a word on the wire: Kamailio logged "cannot apply msg
changes after adding record-route header" on every call, did not do what its
configuration asked, and the run was green, because the log was read only at start-up.
So around every conformance case (a test with `@case` data) the plugin marks the
target's logs when the case starts and, when it ends, matches the target file's error
patterns (each program's `runtime_errors` and `config_errors`) over the lines written
in between (`Target.log_errors`):

- a case that passed is BROKEN (`HarnessError`), its message naming the lines and the
  log each came from: its verdict would rest on a target whose set-up is wrong;
- a case that did not pass (FAILED, KNOWN DEVIATION, INCONCLUSIVE, BROKEN) keeps its
  verdict, which already says something did not hold; the lines are attached as evidence;
- a case declared ``@case(..., expects_target_errors=True)`` (robustness cases send
  malformed input on purpose) keeps its verdict; the lines are attached.

Why a wrapper of the call phase and not an autouse fixture whose teardown raises: the
report grades every phase that did not pass (`reporting.pytest_runtest_makereport`),
so a teardown error would leave the case with two verdict labels, OK then BROKEN, and
pytest would count it "passed" and "error" at once; raised in the call phase, the case
has one verdict, BROKEN, and Allure's status, message and attachments are the case's
own. The mark is taken after the fixtures are set up, so the target's start-up (judged
by `config_errors` when it starts) is never blamed on the first case. The hook has a
name of its own (``specname``), so it does not shadow another module's
``pytest_runtest_call`` in the package's namespace (docs/decisions.md D34).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import cast

import allure
import pytest

from harness.errors import HarnessError
from harness.pytest_plugin.verdicts import case_of
from harness.targets.base import Target

__all__ = ["SHOWN_LINES", "TargetLogError", "error_message", "pytest_runtest_call_target_log"]

#: At most this many matching lines in a case's message; all of them are attached.
SHOWN_LINES = 10


class TargetLogError(HarnessError):
    """The target's log shows errors during a case that does not expect them."""


def _watched(item: pytest.Item) -> Target | None:
    """The target a conformance case works on (its ``target`` fixture); None for a test
    that is not a case, or a case that never asked for the target."""
    if case_of(item) is None or not isinstance(item, pytest.Function):
        return None
    if "target" not in item.fixturenames:
        return None
    return cast(Target, item.funcargs.get("target"))


def error_message(lines: Sequence[str], target_file: str) -> str:
    """What a case broken by its target's log says: the lines (each named by its log),
    where the patterns come from, and how a case that provokes errors says so."""
    more = len(lines) - SHOWN_LINES
    shown = [f"  {line}" for line in lines[:SHOWN_LINES]]
    if more > 0:
        shown.append(f"  ... and {more} more line(s) (attachment 'target log: errors "
                     "during the case')")
    return "\n".join([
        f"the target's log shows {len(lines)} error line(s) during the case "
        f"(<log>: <line>; the runtime_errors and config_errors patterns of {target_file}):",
        *shown,
        "The target's set-up is wrong, so no verdict is given on the requirement. A case "
        "that provokes such errors on purpose declares @case(..., expects_target_errors=True).",
    ])


def _attach(lines: Sequence[str], why: str) -> None:
    allure.attach("\n".join([why, "", *lines]), name="target log: errors during the case",
                  attachment_type=allure.attachment_type.TEXT)


def _errors(target: Target, mark: dict[str, int]) -> list[str]:
    """The error lines since `mark`; a log that cannot be read is no evidence either way."""
    try:
        return target.log_errors(mark)
    except OSError:
        return []


@pytest.hookimpl(wrapper=True, tryfirst=True, specname="pytest_runtest_call")
def pytest_runtest_call_target_log(item: pytest.Item) -> Generator[None, None, None]:
    """Mark the target's logs before the case runs; after it, break a case that passed
    when the lines written meanwhile show errors, or attach them to one that did not."""
    target = _watched(item)
    if target is None:
        return (yield)
    mark = target.log_mark()
    try:
        result = yield
    except (Exception, pytest.skip.Exception, pytest.fail.Exception):
        lines = _errors(target, mark)
        if lines:
            _attach(lines, "The target's log during this case, which did not pass:")
        raise
    lines = _errors(target, mark)
    meta = case_of(item)
    if lines and meta is not None and meta.expects_target_errors:
        _attach(lines, "The target's log during this case (it provokes errors on purpose: "
                       "expects_target_errors):")
    elif lines:
        _attach(lines, "The target's log during this case, which it breaks:")
        raise TargetLogError(error_message(lines, str(target.loaded.path)))
    return result
