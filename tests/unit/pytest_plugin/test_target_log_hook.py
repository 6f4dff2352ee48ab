"""Errors in the target's log during a case (`harness.pytest_plugin.target_log`), on a
suite of its own with a target that is one log file the cases write themselves (no root,
no lab): a case during which a matching line is written is BROKEN with the line in its
message, one that expects errors stays OK, one that failed stays FAILED (the lines
attached), and only the lines written during the case count."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_runs import Result, read_results

from harness.report.results import read_run

#: Added to the mini target: one program and its error patterns (never started).
PROGRAM = """
[[process.programs]]
name = "sbc"
command = ["true"]
config_errors = ["bad config file"]
runtime_errors = ['^\\s*\\d+\\(\\d+\\) (CRITICAL|ERROR): ']
"""

#: Added to the lab guard's conftest: a stand-in for the target, whose one log the cases
#: write, matched as ProcessTarget matches its programs' logs.
STAND_IN = '''

from harness.targets.base import matching_lines


class LogFileTarget:
    def __init__(self, loaded, path):
        self.loaded = loaded
        self.path = path
        path.write_text("")

    def write(self, line):
        with self.path.open("a") as log:
            log.write(line + "\\n")

    def log_mark(self):
        return {"sbc": self.path.stat().st_size}

    def logs_since(self, mark):
        with self.path.open("rb") as log:
            log.seek(mark.get("sbc", 0))
            return {"sbc": log.read().decode()}

    def log_errors(self, mark=None):
        patterns = {p.name: [*p.runtime_errors, *p.config_errors]
                    for p in self.loaded.spec.process.programs}
        return matching_lines(self.logs_since(mark or {}), patterns)


@pytest.fixture(scope="session")
def target(harness_config, tmp_path_factory):
    return LogFileTarget(harness_config.loaded, tmp_path_factory.mktemp("run") / "sbc.log")


@pytest.fixture
def no_call_left_behind():
    """The stand-in holds no calls and answers no OPTIONS: the leftover watch (which has
    tests of its own) is not this suite's concern."""
'''

ERROR = (" 1(10797) ERROR: <core> [core/msg_translator.c:3362]: sip_msg_apply_changes(): "
         "cannot apply msg changes after adding record-route header")

SUITE = f'''
from harness.conformance.case import case
from harness.conformance.findings import failed, ok
from harness.media.modes import MediaMode

BYPASS, PROXY = MediaMode.BYPASS, MediaMode.PROXY
ERROR = {ERROR!r}


def meta(*rids, **kw):
    return case(*rids, title=f"case of {{rids[0]}}", reference="RFC 3261 section 16",
                expectation="what the requirement says", **kw)


@meta("MM-BYPASS-1", mode=BYPASS)
def test_error_logged(target, judge):
    target.write(" 1(10797) INFO: routing")
    target.write(ERROR)
    judge(ok("media went end to end"))


@meta("MM-BYPASS-2", mode=BYPASS)
def test_config_error_logged(target, judge):
    target.write("bad config file: line 3")
    judge(ok("the SDP arrived unchanged"))


@meta("MM-PROXY-1", mode=PROXY)
def test_quiet_after_an_error(target, judge):
    target.write(" 2(10798) INFO: routing")
    judge(ok("media went through the target"))


@meta("MM-PROXY-2", mode=PROXY, expects_target_errors=True)
def test_errors_expected(target, judge):
    target.write(" 2(10798) ERROR: <core> parse_headers(): bad header field")
    judge(ok("the target survived"))


@meta("MM-LAT-1", mode=BYPASS)
def test_failed_with_errors(target, judge):
    target.write(ERROR)
    judge(failed("nothing went through the target", ["no flow"]))


@meta("MM-PROXY-3", mode=PROXY)
def test_deviation_with_errors(target, judge):
    target.write(ERROR)
    judge(failed("the payload changed on the way", ["byte 12"]))


def test_not_a_case(target):
    target.write(ERROR)


@meta("MM-BYPASS-3", mode=BYPASS)
def test_without_the_target(judge):
    judge(ok("nothing asked of the target"))
'''

#: Test function -> (verdict labels, Allure status).
EXPECTED = {
    "test_error_logged": (["BROKEN"], "broken"),
    "test_config_error_logged": (["BROKEN"], "broken"),
    "test_quiet_after_an_error": (["OK"], "passed"),
    "test_errors_expected": (["OK"], "passed"),
    "test_failed_with_errors": (["FAILED"], "failed"),
    "test_deviation_with_errors": (["KNOWN DEVIATION"], "skipped"),
    "test_without_the_target": (["OK"], "passed"),
}
EVIDENCE = "target log: errors during the case"


Logged = tuple[pytest.RunResult, dict[str, Result], Path, Path]


@pytest.fixture
def logged(suite_dir: pytest.Pytester, mini_target: Path) -> Logged:
    """The suite's run: its outcome, its Allure results, the target file, the results."""
    mini_target.write_text(mini_target.read_text() + PROGRAM)
    conftest = suite_dir.path / "conftest.py"
    conftest.write_text(conftest.read_text() + STAND_IN)
    suite_dir.makepyfile(test_suite=SUITE)
    alluredir = suite_dir.path / "allure-results"
    result = suite_dir.runpytest_subprocess(
        f"--target={mini_target}", f"--results-dir={suite_dir.path / 'results'}",
        f"--alluredir={alluredir}", "-p", "no:cacheprovider",
    )
    return result, read_results(alluredir), mini_target, alluredir


def test_each_case_gets_one_verdict_from_its_own_log_lines(logged: Logged) -> None:
    result, results, _, alluredir = logged
    result.assert_outcomes(passed=4, failed=3, xfailed=1, errors=0)
    seen = {name: (r.verdicts, r.status) for name, r in results.items() if name in EXPECTED}
    assert seen == EXPECTED
    assert results["test_not_a_case"].status == "passed"  # not a case: not watched
    # What the report and the matrix read back.
    cases = {c.full_name.rsplit("#", 1)[-1]: c.verdict.value for c in read_run(alluredir).cases}
    assert cases == {name: verdicts[0] for name, (verdicts, _) in EXPECTED.items()}


def test_a_broken_case_names_the_line_and_its_log(logged: Logged) -> None:
    _, results, target_file, _ = logged
    broken = results["test_error_logged"]
    assert broken.message.startswith(
        "harness.pytest_plugin.target_log.TargetLogError: the target's log shows 1 error "
        "line(s) during the case")
    assert f"sbc: {ERROR}" in broken.message
    assert "INFO: routing" not in broken.message
    assert str(target_file.resolve()) in broken.message
    assert "expects_target_errors=True" in broken.message
    assert f"sbc: {ERROR}" in broken.attachments[EVIDENCE]
    assert "sbc: bad config file: line 3" in results["test_config_error_logged"].message


def test_the_lines_are_attached_where_the_verdict_stands(logged: Logged) -> None:
    _, results, _, _ = logged
    for name in ("test_failed_with_errors", "test_deviation_with_errors"):
        evidence = results[name].attachments[EVIDENCE]
        assert "which did not pass" in evidence and f"sbc: {ERROR}" in evidence, name
        assert "TargetLogError" not in results[name].message, name
    expected = results["test_errors_expected"].attachments[EVIDENCE]
    assert "expects_target_errors" in expected and "bad header field" in expected
    # Lines of earlier cases are not a later case's.
    for name in ("test_quiet_after_an_error", "test_without_the_target"):
        assert EVIDENCE not in results[name].attachments, name
