"""The plugin's hooks on a suite of its own (no root, no lab): the graded verdict of every
kind of outcome as the Allure label, the findings attachment, ``--requirement`` and a bad
target file as usage errors in words, and the signal handlers only for harness runs."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from plugin_runs import read_results

from harness.conformance.case import Verdict
from harness.pytest_plugin.fixtures import _interrupt
from harness.report.matrix import build_matrix, render_html
from harness.report.results import read_run

SUITE = '''
import pytest

from harness.conformance.case import case
from harness.conformance.findings import failed, informational, non_strict, ok
from harness.errors import HarnessError
from harness.evidence.preconditions import EARLY_DIALOG, PreconditionUnmet, RoutingMismatch
from harness.media.modes import AnchoredFeature, MediaMode

BYPASS, PROXY, ANCHORED = MediaMode.BYPASS, MediaMode.PROXY, MediaMode.ANCHORED


def meta(*rids, **kw):
    return case(*rids, title=f"case of {rids[0]}", reference="RFC 3264 section 6",
                expectation="what the requirement says", **kw)


@meta("MM-BYPASS-1", mode=BYPASS)
def test_ok(judge):
    judge(ok("media went end to end", ["caller -> callee: 10 packets"]))


@meta("MM-PROXY-1", mode=PROXY)
def test_failed(judge):
    judge(ok("the call was set up"), failed("nothing went through the target", ["no flow"]))


@meta("MM-PROXY-2", mode=PROXY)
def test_broken_by_the_harness(judge):
    raise HarnessError("the lab broke")


@meta("MM-PROXY-2", mode=PROXY)
def test_broken_by_anything_else(judge):
    raise RuntimeError("a bug in a check")


@meta("MM-LAT-1", mode=BYPASS, informational=True)
def test_informational(judge):
    judge(informational("median forwarding delay 0.2 ms"))


@meta("MM-BYPASS-2", mode=BYPASS)
def test_non_strict(judge):
    judge(ok("the SDP passed"), non_strict("a SHOULD was missed", ["a=ptime dropped"]))


@meta("MM-BYPASS-3", mode=BYPASS)
def test_non_strict_and_failed(judge):
    judge(non_strict("a SHOULD was missed"), failed("a MUST was missed"))


@meta("MM-LAT-2", mode=BYPASS, informational=True)
def test_informational_and_non_strict(judge):
    judge(informational("measured"), non_strict("above what it SHOULD be"))


@meta("MM-ANCHOR-1", mode=ANCHORED)
def test_mode_not_claimed(judge):
    raise AssertionError("an UNSUPPORTED case must not run")


@meta("MM-ANCHOR-2", features=(AnchoredFeature.TRANSCODING,))
def test_feature_not_claimed(judge):
    raise AssertionError("an UNSUPPORTED case must not run")


@meta("KZ-1", profile="kazoo")
def test_profile_missing(judge):
    raise AssertionError("an UNSUPPORTED case must not run")


@meta("SIP-FORK-1", mode=PROXY, forking=True)
def test_no_forking(judge):
    raise AssertionError("an UNSUPPORTED case must not run")


@meta("MM-PROXY-3", mode=PROXY)
def test_deviation_shows(judge):
    judge(failed("the payload changed on the way"))


@meta("MM-PROXY-3", mode=PROXY)
def test_deviation_fixed(judge):
    judge(ok("the payload arrived unchanged"))


@meta("MM-PROXY-3", mode=PROXY)
def test_deviation_otherwise(judge):
    judge(failed("no media reached the callee"))


@meta("MM-PROXY-3", mode=PROXY)
def test_deviation_and_more(judge):
    judge(failed("the payload changed on the way"), failed("packets were lost"))


@meta("MM-PROXY-3", mode=PROXY)
def test_deviation_broken(judge):
    raise RuntimeError("a declared deviation hides no harness bug")


@meta("MM-PROXY-4", mode=PROXY)
def test_skipped(judge):
    pytest.skip("not today")


@meta("SFB-3", needs=(EARLY_DIALOG,))
def test_inconclusive(judge):
    raise PreconditionUnmet(EARLY_DIALOG, "caller: the 183 did not arrive within 0.5 s")


@meta("SIP-EARLY-1")
def test_precondition_judged(judge):
    raise PreconditionUnmet(EARLY_DIALOG, "caller: the 183 did not arrive within 0.5 s")


@meta("SIP-FORK-2", "SIP-EARLY-1")
def test_precondition_judged_by_one(judge):
    raise PreconditionUnmet(EARLY_DIALOG, "caller: no 18x with SDP from any callee")


def _astray():
    return RoutingMismatch("callee1", ("198.18.0.21", 5060), "callee1: no INVITE in 2.0 s",
                           request_uri="sip:proxy@198.18.0.21:5060",
                           sent_to=("198.18.0.30:5060",))


@meta("MM-PROXY-2", mode=PROXY)
def test_misrouted(judge):
    raise _astray()


@meta("KZ-2", mode=PROXY, judges_routing=True)
def test_misrouted_where_routing_is_judged(judge):
    raise _astray()


def test_not_a_case():
    pass
'''

#: Test function -> (graded verdict label, Allure status), as D6 has them.
EXPECTED = {
    "test_ok": ("OK", "passed"),
    "test_failed": ("FAILED", "failed"),
    "test_broken_by_the_harness": ("BROKEN", "broken"),
    "test_broken_by_anything_else": ("BROKEN", "broken"),
    "test_informational": ("INFORMATIONAL", "passed"),
    "test_non_strict": ("NON-STRICT", "passed"),
    "test_non_strict_and_failed": ("FAILED", "failed"),
    "test_informational_and_non_strict": ("NON-STRICT", "passed"),
    "test_mode_not_claimed": ("UNSUPPORTED", "skipped"),
    "test_feature_not_claimed": ("UNSUPPORTED", "skipped"),
    "test_profile_missing": ("UNSUPPORTED", "skipped"),
    "test_no_forking": ("UNSUPPORTED", "skipped"),
    "test_deviation_shows": ("KNOWN DEVIATION", "skipped"),
    "test_deviation_fixed": ("OK", "passed"),
    # a failure the declaration does not name is the target's: FAILED
    "test_deviation_otherwise": ("FAILED", "failed"),
    "test_deviation_and_more": ("FAILED", "failed"),
    "test_deviation_broken": ("BROKEN", "broken"),
    "test_skipped": ("SKIPPED", "skipped"),
    # a precondition the case declares did not hold: INCONCLUSIVE (skipped, with why)
    "test_inconclusive": ("INCONCLUSIVE", "skipped"),
    # ... one it does not declare is one it judges: FAILED
    "test_precondition_judged": ("FAILED", "failed"),
    "test_precondition_judged_by_one": ("FAILED", "failed"),
    # a call the target routed elsewhere: a wrong dial plan (BROKEN) unless the case
    # judges where calls go
    "test_misrouted": ("BROKEN", "broken"),
    "test_misrouted_where_routing_is_judged": ("FAILED", "failed"),
}
REQUIREMENTS = ["KZ-1", "KZ-2", "MM-ANCHOR-1", "MM-ANCHOR-2", "MM-BYPASS-1", "MM-BYPASS-2",
                "MM-BYPASS-3", "MM-LAT-1", "MM-LAT-2", "MM-PROXY-1", "MM-PROXY-2",
                "MM-PROXY-3", "MM-PROXY-4", "SFB-3", "SIP-EARLY-1", "SIP-FORK-1", "SIP-FORK-2"]
TESTS = len(EXPECTED) + 1  # and test_not_a_case


def _run(pytester: pytest.Pytester, target: Path, *args: str) -> pytest.RunResult:
    """The suite in a pytest of its own: the plugin as any run gets it (entry point)."""
    return pytester.runpytest_subprocess(
        f"--target={target}", f"--results-dir={pytester.path / 'results'}",
        "-p", "no:cacheprovider", *args,
    )


@pytest.fixture
def graded(suite_dir: pytest.Pytester, mini_target: Path) -> tuple[pytest.RunResult, Path]:
    suite_dir.makepyfile(test_suite=SUITE)
    alluredir = suite_dir.path / "allure-results"
    return _run(suite_dir, mini_target, f"--alluredir={alluredir}", "-rs"), alluredir


def test_every_outcome_gets_its_graded_verdict(graded: tuple[pytest.RunResult, Path]) -> None:
    result, alluredir = graded
    result.assert_outcomes(passed=6, failed=11, skipped=6, xfailed=1, xpassed=0,
                           warnings=0)
    results = read_results(alluredir)
    seen = {name: (r.verdicts, r.status) for name, r in results.items() if name in EXPECTED}
    assert seen == {name: ([verdict], status) for name, (verdict, status) in EXPECTED.items()}
    assert "verdict" not in results["test_not_a_case"].labels
    assert "requirement" not in results["test_not_a_case"].labels
    # What the report reads back is the same, as the enum.
    cases = {c.full_name.rsplit("#", 1)[-1]: c.verdict for c in read_run(alluredir).cases}
    assert cases == {name: Verdict(verdict) for name, (verdict, _) in EXPECTED.items()}


def test_an_unmet_precondition_is_counted_where_it_is_judged(
    graded: tuple[pytest.RunResult, Path],
) -> None:
    """The INCONCLUSIVE case says which precondition did not hold, what happened and where
    the failure is counted (also in the JUnit-style skip reason pytest reports); a case that
    judges the precondition with another requirement FAILS only at the one that judges it."""
    result, alluredir = graded
    results = read_results(alluredir)
    why = results["test_inconclusive"].message
    assert "INCONCLUSIVE: SFB-3 not observed: precondition 'early-dialog'" in why
    assert "counted at SIP-EARLY-1" in why and "the 183 did not arrive" in why
    result.stdout.fnmatch_lines(["*SKIPPED*INCONCLUSIVE: SFB-3 not observed*"])
    assert results["test_precondition_judged_by_one"].labels["requirement_verdict"] == [
        "SIP-FORK-2=INCONCLUSIVE"]
    assert "requirement_verdict" not in results["test_precondition_judged"].labels
    rows = {r.id: r for r in build_matrix(read_run(alluredir)).rows}
    assert rows["SFB-3"].verdict is Verdict.INCONCLUSIVE
    assert rows["SIP-EARLY-1"].verdict is Verdict.FAILED
    assert rows["SIP-FORK-2"].verdict is Verdict.INCONCLUSIVE
    page = render_html(build_matrix(read_run(alluredir)))
    assert "precondition &#x27;early-dialog&#x27; did not hold" in page


def test_a_call_routed_elsewhere_says_to_check_the_dial_plan(
    graded: tuple[pytest.RunResult, Path],
) -> None:
    _, alluredir = graded
    results = read_results(alluredir)
    for name in ("test_misrouted", "test_misrouted_where_routing_is_judged"):
        assert ("the target sent the INVITE to 198.18.0.30:5060, expected callee1 at "
                "198.18.0.21:5060: check the dial plan in the target file (the caller "
                "dialled sip:proxy@198.18.0.21:5060)") in results[name].message, name


def test_unsupported_says_why_and_names_the_target_file(
    graded: tuple[pytest.RunResult, Path], mini_target: Path
) -> None:
    result, alluredir = graded
    results = read_results(alluredir)
    path = str(mini_target.resolve())
    why = {
        "test_mode_not_claimed": "does not claim media mode 'anchored' "
                                 f"(capabilities.media_modes in {path})",
        "test_feature_not_claimed": "does not claim anchored feature 'transcoding' "
                                    f"(capabilities.anchored_features in {path})",
        "test_profile_missing": f"declares no kazoo profile (no [kazoo] in {path})",
        "test_no_forking": f"declares no way to fork a call (no [forking] table in {path})",
    }
    for name, reason in why.items():
        message = results[name].message
        assert f"UNSUPPORTED: target mini-sbc {reason}" in message, (name, message)
    # The terminal summary (-rs) says it too, and the known deviation names its note.
    result.stdout.fnmatch_lines(["*UNSUPPORTED: target mini-sbc does not claim media mode*"])
    deviation = results["test_deviation_shows"].message
    assert f"KNOWN DEVIATION of mini-sbc (MM-PROXY-3, declared in {path})" in deviation
    assert "rewrites the payload in proxy mode" in deviation
    # A declared case failing otherwise, or beyond what was declared, is FAILED, saying so.
    for name, unnamed in (("test_deviation_otherwise", 1), ("test_deviation_and_more", 1)):
        message = results[name].message
        assert "Not the known deviation(s) declared for this case (MM-PROXY-3)" in message
        assert f"no declaration names {unnamed} of these failed finding(s)" in message


def test_cases_carry_their_labels_and_findings(graded: tuple[pytest.RunResult, Path]) -> None:
    _, alluredir = graded
    results = read_results(alluredir)
    failed = results["test_failed"]
    assert failed.labels["requirement"] == ["MM-PROXY-1"]
    assert failed.labels["feature"] == ["Media handling modes"]
    assert failed.labels["story"] == ["case of MM-PROXY-1"]
    assert "proxy" in failed.labels["tag"]
    findings = failed.attachments["findings"]
    assert findings.startswith("Findings of the case judging MM-PROXY-1:")
    assert "[OK] check: the call was set up" in findings
    assert "[FAILED] check: nothing went through the target\n    no flow" in findings
    non_strict = results["test_non_strict"].attachments["findings"]
    assert "judging MM-BYPASS-2" in non_strict and "[NON-STRICT]" in non_strict
    assert "a=ptime dropped" in non_strict
    # Cases that handed the judge nothing have no findings to show.
    assert "findings" not in results["test_broken_by_anything_else"].attachments
    # An UNSUPPORTED case, skipped at collection, still has its requirement and story.
    assert results["test_profile_missing"].labels["requirement"] == ["KZ-1"]
    assert results["test_profile_missing"].labels["story"] == ["case of KZ-1"]


def test_the_run_writes_its_environment(graded: tuple[pytest.RunResult, Path]) -> None:
    result, alluredir = graded
    env = (alluredir / "environment.properties").read_text()
    assert "target.name=mini-sbc\n" in env and "target.media_modes=bypass,proxy\n" in env
    assert (alluredir / "executor.json").is_file()
    declared = alluredir.parent / "results" / "target.json"  # for the matrix
    assert '"MM-PROXY-3"' in declared.read_text()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_requirement_keeps_only_its_cases(suite_dir: pytest.Pytester, mini_target: Path) -> None:
    suite_dir.makepyfile(test_suite=SUITE)
    result = _run(suite_dir, mini_target, "--requirement", "MM-PROXY-3")
    result.assert_outcomes(xfailed=1, passed=1, failed=3, deselected=TESTS - 5)
    two = _run(suite_dir, mini_target, "--requirement", "MM-BYPASS-1",
               "--requirement=MM-PROXY-1")
    two.assert_outcomes(passed=1, failed=1, deselected=TESTS - 2)


def test_an_unknown_requirement_is_a_usage_error(
    suite_dir: pytest.Pytester, mini_target: Path
) -> None:
    suite_dir.makepyfile(test_suite=SUITE)
    result = _run(suite_dir, mini_target, "--requirement", "XX-NOPE-1",
                  "--requirement", "MM-PROXY-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        f"*--requirement XX-NOPE-1: no case checks it (cases check: {', '.join(REQUIREMENTS)})"
    ])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(("toml", "says"), [
    ('[target]\nname = "x"\n[capabilities]\nmedia_modes = ["bypass"]\n',
     "target file error: {path}:4: capabilities.media_modes claims bypass but there is no "
     "[modes.bypass] table saying how to dial it"),
    ('[target]\nname = "x"\n[capabilities]\nmedia_mode = ["bypass"]\n',
     "target file error: {path}:4: capabilities.media_mode: Extra inputs are not permitted"),
    ('[target\nname = "x"\n', "target file error: {path}:1: not valid TOML: "),
])
def test_a_bad_target_file_is_a_usage_error_in_words(
    suite_dir: pytest.Pytester, toml: str, says: str
) -> None:
    suite_dir.makepyfile(test_suite=SUITE)
    bad = suite_dir.path / "bad.toml"
    bad.write_text(toml)
    result = _run(suite_dir, bad)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {says.format(path=bad)}" in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_missing_target_file_is_a_usage_error(suite_dir: pytest.Pytester) -> None:
    suite_dir.makepyfile(test_suite=SUITE)
    missing = suite_dir.path / "nowhere"
    result = _run(suite_dir, missing)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*target file error: {missing}: no such target file*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


class _SeenHandlers:
    """A plugin for an in-process run: the SIGTERM/SIGINT handlers each test ran under."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, Any]] = []

    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self.seen.append((signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)))


def test_a_run_of_something_else_is_left_alone(
    suite_dir: pytest.Pytester, mini_target: Path
) -> None:
    """The entry point loads the plugin into every run (in process here, as pytester's
    own runs are): one without a case or a lab test keeps its signal handlers and gets
    no harness files in its Allure folder; a harness run has its handlers back after."""
    outer = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    if _interrupt in outer:
        # This session is a harness run itself (it has lab tests, as CI's has): start
        # from pytest's own handlers for the inner runs, and give the outer ones back.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _left_alone(suite_dir, mini_target)
    finally:
        signal.signal(signal.SIGTERM, outer[0])
        signal.signal(signal.SIGINT, outer[1])


def _left_alone(suite_dir: pytest.Pytester, mini_target: Path) -> None:
    before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    suite_dir.makepyfile(test_plain="def test_plain():\n    pass\n")
    plain = _SeenHandlers()
    alluredir = suite_dir.path / "plain-allure"
    run = suite_dir.inline_run(f"--target={mini_target}", "test_plain.py",
                               f"--alluredir={alluredir}", plugins=[plain])
    run.assertoutcome(passed=1)
    assert plain.seen == [before]  # not a harness run: pytest's handlers, untouched
    assert not (alluredir / "environment.properties").exists()
    assert not (alluredir / "categories.json").exists()

    suite_dir.makepyfile(test_case='''
from harness.conformance.case import case
from harness.conformance.findings import ok


@case("MM-BYPASS-1", title="t", reference="r", expectation="e")
def test_case(judge):
    judge(ok("fine"))
''')
    harness = _SeenHandlers()
    run = suite_dir.inline_run(f"--target={mini_target}", "test_case.py",
                               f"--results-dir={suite_dir.path / 'results'}", plugins=[harness])
    run.assertoutcome(passed=1)
    assert harness.seen == [(_interrupt, _interrupt)]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
