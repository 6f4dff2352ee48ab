"""The report's pure parts: the requirement catalogue, the matrix, run comparison, and
making Allure 3's page offline (on the index.html Allure 3.18 really generates)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from harness.conformance.case import Verdict
from harness.errors import SetupError
from harness.report.allure_html import strip_trackers
from harness.report.catalogue import load_catalogue
from harness.report.compare import compare, load_matrix
from harness.report.matrix import (
    COLOURS,
    RANK,
    Matrix,
    build_matrix,
    render_html,
    worst,
    write_matrix,
)
from harness.report.results import CaseResult, RunResults, parse_verdict, read_run

OK, FAILED, BROKEN = Verdict.OK, Verdict.FAILED, Verdict.BROKEN
INFORMATIONAL, UNSUPPORTED = Verdict.INFORMATIONAL, Verdict.UNSUPPORTED
KNOWN_DEVIATION, NOT_RUN = Verdict.KNOWN_DEVIATION, Verdict.NOT_RUN

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "report"


def test_the_catalogue_has_every_area_and_requirement_of_the_list() -> None:
    catalogue = load_catalogue()
    ids = [r.id for r in catalogue]
    assert len(ids) == len(set(ids)) >= 50
    assert {"MM-BYPASS-1", "SIP-REINV-3", "DR-ICE-1", "ROB-3"} <= set(ids)
    areas = list(dict.fromkeys(r.area for r in catalogue))
    assert areas[:2] == ["Media handling modes", "SIP call flows"]
    mm = next(r for r in catalogue if r.id == "MM-PROXY-4")
    assert "a=crypto" in mm.must and mm.sources == "001, 000, 004"


def test_a_requirement_takes_its_worst_case_verdict() -> None:
    assert worst([OK, INFORMATIONAL]) is OK
    assert worst([OK, KNOWN_DEVIATION]) is KNOWN_DEVIATION
    assert worst([KNOWN_DEVIATION, FAILED, BROKEN]) is FAILED
    assert worst([UNSUPPORTED, OK]) is OK
    assert worst([OK, Verdict.NON_STRICT]) is Verdict.NON_STRICT
    assert worst([]) is NOT_RUN
    assert parse_verdict("SOMETHING NEW") is BROKEN  # an unknown verdict is never a pass


def test_every_verdict_has_its_rank_and_colour_and_its_label() -> None:
    assert sorted(RANK, key=lambda v: v.name) == sorted(Verdict, key=lambda v: v.name)
    assert set(COLOURS) == set(Verdict)
    assert [v.value for v in RANK] == ["FAILED", "BROKEN", "KNOWN DEVIATION", "INCONCLUSIVE",
                                       "NON-STRICT", "OK", "INFORMATIONAL", "UNSUPPORTED",
                                       "SKIPPED", "NOT RUN"]
    assert all(parse_verdict(v.value) is v for v in Verdict)


def _case(name: str, verdict: Verdict, *rids: str, mode: str | None = "proxy") -> CaseResult:
    status = {OK: "passed", FAILED: "failed", BROKEN: "broken"}.get(verdict, "skipped")
    return CaseResult(name, f"suites.x#{name}", status, verdict, rids, mode)


def _run(tmp_path: Path, name: str, *cases: CaseResult) -> Path:
    run = RunResults(tmp_path / name, list(cases), {"target.name": "t", "target.version": name})
    matrix_dir = tmp_path / name
    write_matrix(build_matrix(run), matrix_dir)
    return matrix_dir


def test_the_matrix_lists_every_requirement_and_escapes_what_it_shows(tmp_path: Path) -> None:
    run = RunResults(tmp_path, [
        _case("a <b> & c", OK, "MM-PROXY-1"),
        _case("d", FAILED, "MM-PROXY-1", "MM-PROXY-2"),
        _case("e", OK, "XX-NEW-1"),
    ], {"target.name": "kam<ailio"})
    matrix = build_matrix(run)
    rows = {r.id: r for r in matrix.rows}
    assert rows["MM-PROXY-1"].verdict is FAILED and rows["MM-PROXY-2"].verdict is FAILED
    assert rows["MM-BYPASS-1"].verdict is NOT_RUN and rows["MM-BYPASS-1"].cases == []
    assert rows["XX-NEW-1"].area == "Other"  # a case's requirement not in the list still shows
    page = render_html(matrix)
    assert "a &lt;b&gt; &amp; c" in page and "kam&lt;ailio" in page and "<script" not in page
    assert page.count("<tr id=") == len(matrix.rows)
    assert ">FAILED</span>" in page and ">NOT RUN</span>" in page
    assert matrix.counts()["FAILED"] == 2  # by label, as the command line prints them


def test_matrix_json_has_the_labels_and_reads_back(tmp_path: Path) -> None:
    run = RunResults(tmp_path, [_case("k", KNOWN_DEVIATION, "MM-PROXY-1"),
                                _case("n", Verdict.NON_STRICT, "MM-PROXY-2")])
    matrix = build_matrix(run)
    data = json.loads(matrix.to_json())
    rows = {r["id"]: r for r in data["rows"]}
    assert rows["MM-PROXY-1"]["verdict"] == "KNOWN DEVIATION"
    assert rows["MM-PROXY-1"]["cases"] == [
        {"name": "k", "mode": "proxy", "verdict": "KNOWN DEVIATION", "message": ""}]
    assert rows["MM-PROXY-2"]["verdict"] == "NON-STRICT"
    assert rows["MM-BYPASS-1"]["verdict"] == "NOT RUN"
    again = Matrix.from_json(matrix.to_json())
    assert again.rows == matrix.rows and again.tally() == matrix.tally()


def test_compare_finds_regressions_fixes_and_other_changes(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", _case("p1", OK, "MM-PROXY-1"), _case("p2", FAILED, "MM-PROXY-2"),
             _case("b1", OK, "MM-BYPASS-1"), _case("l", INFORMATIONAL, "MM-LAT-1"))
    b = _run(tmp_path, "b", _case("p1", FAILED, "MM-PROXY-1"), _case("p2", OK, "MM-PROXY-2"),
             _case("b1", UNSUPPORTED, "MM-BYPASS-1"),
             _case("l", KNOWN_DEVIATION, "MM-LAT-1"))
    result = compare(a, b)
    assert result.regressions == [("MM-PROXY-1", OK, FAILED),
                                  ("MM-LAT-1", INFORMATIONAL, KNOWN_DEVIATION)]
    assert result.fixes == [("MM-PROXY-2", FAILED, OK)]
    assert result.other == [("MM-BYPASS-1", OK, UNSUPPORTED)]
    assert "MM-PROXY-1     OK -> FAILED" in result.render()
    assert "MM-LAT-1       INFORMATIONAL -> KNOWN DEVIATION" in result.render()
    assert compare(a, a).regressions == []
    # A matrix.json file works as well as its folder.
    assert compare(a / "matrix.json", b / "matrix.json").regressions == result.regressions


def test_a_requirement_no_longer_observed_is_not_one_more_regression(tmp_path: Path) -> None:
    """A target that stops sending its 183: SIP-EARLY-1 regresses where it is judged; SFB-3,
    whose case needed the 183, is listed as no longer observed; and a case of two
    requirements that failed on the precondition only one of them judges leaves the other
    INCONCLUSIVE."""
    inconclusive = Verdict.INCONCLUSIVE
    a = _run(tmp_path, "a", _case("e", OK, "SIP-EARLY-1"), _case("s", OK, "SFB-3"),
             _case("f", OK, "SIP-FORK-2", "SIP-EARLY-1"))
    both = dataclasses.replace(_case("f", FAILED, "SIP-FORK-2", "SIP-EARLY-1"),
                               judged=(("SIP-FORK-2", inconclusive),))
    b = _run(tmp_path, "b", _case("e", FAILED, "SIP-EARLY-1"), _case("s", inconclusive, "SFB-3"),
             both)
    result = compare(a, b)
    assert result.regressions == [("SIP-EARLY-1", OK, FAILED)]
    assert result.unobserved == [("SIP-FORK-2", OK, inconclusive), ("SFB-3", OK, inconclusive)]
    assert "No longer observed (passed in A, INCONCLUSIVE in B): 2" in result.render()
    rows = {r.id: r for r in load_matrix(b).rows}
    assert [c.verdict for c in rows["SIP-FORK-2"].cases] == [inconclusive]
    assert [c.verdict for c in rows["SIP-EARLY-1"].cases] == [FAILED, FAILED]


def test_results_are_read_back_from_allure_files(tmp_path: Path) -> None:
    allure = tmp_path / "allure-results"
    allure.mkdir()
    (allure / "1-result.json").write_text(json.dumps({
        "name": "Proxy: x [MM-PROXY-1]", "fullName": "suites.m#test_x", "status": "skipped",
        "statusDetails": {"message": "XFAIL KNOWN DEVIATION of t"},
        "labels": [{"name": "requirement", "value": "MM-PROXY-1"},
                   {"name": "tag", "value": "proxy"}, {"name": "tag", "value": "asyncio"}],
    }))
    (allure / "2-result.json").write_text(json.dumps({"name": "helper", "status": "passed"}))
    (allure / "environment.properties").write_text("target.name=t\nbackend=process\n")
    run = read_run(tmp_path)
    assert run.environment == {"target.name": "t", "backend": "process"}
    (case,) = run.cases  # the result without a requirement label is not a case
    assert case.verdict is KNOWN_DEVIATION and case.mode == "proxy"


def test_the_verdict_label_wins_over_the_status(tmp_path: Path) -> None:
    allure = tmp_path / "allure-results"
    allure.mkdir()
    for n, (status, label) in enumerate([("passed", "NON-STRICT"), ("passed", None),
                                         ("skipped", "UNSUPPORTED"), ("unknown", None),
                                         ("passed", "SOMETHING NEW")]):
        labels = [{"name": "requirement", "value": f"MM-PROXY-{n + 1}"}]
        if label is not None:
            labels.append({"name": "verdict", "value": label})
        (allure / f"{n}-result.json").write_text(json.dumps(
            {"name": str(n), "status": status, "labels": labels}))
    verdicts = [c.verdict for c in read_run(tmp_path).cases]
    assert verdicts == [Verdict.NON_STRICT, OK, UNSUPPORTED, BROKEN, BROKEN]


def test_allures_tag_manager_is_stripped_and_the_app_kept(tmp_path: Path) -> None:
    index = tmp_path / "index.html"
    shutil.copy(FIXTURES / "allure3_18_index.html", index)
    assert "googletagmanager" in index.read_text()
    assert strip_trackers(index) == 2  # the external script and the inline gtag set-up
    text = index.read_text()
    assert "googletagmanager" not in text and "gtag(" not in text and "dataLayer" not in text
    assert 'src="app-' in text and "allureReportDataReady" in text
    assert strip_trackers(index) == 0  # idempotent


def test_anything_else_loaded_from_outside_is_an_error(tmp_path: Path) -> None:
    index = tmp_path / "index.html"
    index.write_text('<html><head><link rel="stylesheet" href="https://cdn.example/x.css">'
                     "</head></html>")
    with pytest.raises(SetupError, match="still loads something from outside"):
        strip_trackers(index)
