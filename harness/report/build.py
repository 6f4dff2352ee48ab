"""One call for the whole report of a run: matrix, Allure 3 HTML, matrix inside it.

The requirement matrix is written next to the HTML report (``matrix.html``,
``matrix.json``) and also put into the Allure report as a *global attachment*
(Allure 3 reads ``*-globals.json`` from the results folder), so the one page a
certification engineer signs is one click away in the report itself.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from harness.report.allure_html import AllureReport, generate_html
from harness.report.matrix import Matrix, build_matrix, render_html, write_matrix
from harness.report.results import read_run

__all__ = ["MadeReport", "make_report"]

GLOBAL_MATRIX = "sbc-harness-matrix-attachment.html"
GLOBALS_FILE = "sbc-harness-matrix-globals.json"


@dataclass(frozen=True)
class MadeReport:
    allure: AllureReport
    matrix: Matrix
    matrix_page: Path
    matrix_json: Path


def make_report(results: Path, output: Path) -> MadeReport:
    """The report of the run in `results` (with allure-results/) into `output`."""
    run = read_run(results)
    matrix = build_matrix(run)
    allure_results = results / "allure-results"
    html_page = render_html(matrix)
    (allure_results / GLOBAL_MATRIX).write_text(html_page, encoding="utf-8")
    (allure_results / GLOBALS_FILE).write_text(json.dumps({"attachments": [{
        "name": "Requirement matrix", "source": GLOBAL_MATRIX, "type": "text/html",
        "timestamp": int(time.time() * 1000),
    }]}), encoding="utf-8")
    made = generate_html(allure_results, output)
    js, page = write_matrix(matrix, output, html_page)
    return MadeReport(made, matrix, page, js)
