"""The requirement matrix: every numbered requirement with its verdict in one run.

One row per requirement of the catalogue, grouped by area, with the cases that
check it and their graded verdicts; a requirement's verdict is its worst
case's (FAILED before BROKEN before KNOWN DEVIATION before INCONCLUSIVE before
OK...), so a requirement is OK only if every case that checks it is; one that a
case could not observe (a precondition of it did not hold) is INCONCLUSIVE, with
the precondition named. Requirements no case checks yet are listed as NOT RUN:
the page shows what was *not* certified too.

Written as ``matrix.json`` (what ``compare`` reads) and ``matrix.html``, one
self-contained page (no script, no external resource) that a certification
engineer can print and sign.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.conformance.case import Verdict
from harness.report.catalogue import Requirement, load_catalogue
from harness.report.results import CaseResult, RunResults, parse_verdict

__all__ = ["COLOURS", "MATRIX_JSON", "PASSING", "RANK", "Matrix", "Row", "RowCase",
           "build_matrix", "render_html", "worst", "write_matrix"]

MATRIX_JSON = "matrix.json"
MATRIX_HTML = "matrix.html"

# Worst first: a requirement takes the verdict of its worst case.
RANK: tuple[Verdict, ...] = (
    Verdict.FAILED, Verdict.BROKEN, Verdict.KNOWN_DEVIATION, Verdict.INCONCLUSIVE,
    Verdict.NON_STRICT, Verdict.OK,
    Verdict.INFORMATIONAL, Verdict.UNSUPPORTED, Verdict.SKIPPED, Verdict.NOT_RUN,
)
PASSING = frozenset({Verdict.OK, Verdict.INFORMATIONAL, Verdict.NON_STRICT})
COLOURS: dict[Verdict, str] = {
    Verdict.FAILED: "#c62828", Verdict.BROKEN: "#ef6c00", Verdict.KNOWN_DEVIATION: "#8e24aa",
    Verdict.INCONCLUSIVE: "#6d4c41",
    Verdict.NON_STRICT: "#f9a825", Verdict.OK: "#2e7d32", Verdict.INFORMATIONAL: "#1565c0",
    Verdict.UNSUPPORTED: "#757575", Verdict.SKIPPED: "#9e9e9e", Verdict.NOT_RUN: "#bdbdbd",
}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    ranked = list(verdicts)
    return min(ranked, key=RANK.index) if ranked else Verdict.NOT_RUN


@dataclass
class RowCase:
    """One case that checks a requirement, as its row lists it."""

    name: str
    mode: str | None
    verdict: Verdict
    message: str = ""


@dataclass
class Row:
    id: str
    area: str
    must: str
    observed: str
    verdict: Verdict
    cases: list[RowCase] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """As written to matrix.json: the verdicts as their labels."""
        return {**asdict(self), "verdict": self.verdict.value,
                "cases": [{**asdict(c), "verdict": c.verdict.value} for c in self.cases]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        cases = [RowCase(str(c["name"]), c.get("mode"), parse_verdict(str(c["verdict"])),
                         str(c.get("message") or "")) for c in data.get("cases", [])]
        return cls(str(data["id"]), str(data["area"]), str(data["must"]),
                   str(data["observed"]), parse_verdict(str(data["verdict"])), cases)


@dataclass
class Matrix:
    environment: dict[str, str]
    target: dict[str, object]
    rows: list[Row]

    def tally(self) -> dict[Verdict, int]:
        """How many requirements have each verdict (worst first; none left out)."""
        out = dict.fromkeys(RANK, 0)
        for row in self.rows:
            out[row.verdict] += 1
        return {k: v for k, v in out.items() if v}

    def counts(self) -> dict[str, int]:
        """`tally` by label, for printing."""
        return {k.value: v for k, v in self.tally().items()}

    def to_json(self) -> str:
        return json.dumps({"environment": self.environment, "target": self.target,
                           "rows": [r.to_dict() for r in self.rows]}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Matrix:
        data = json.loads(text)
        return cls(data.get("environment", {}), data.get("target", {}),
                   [Row.from_dict(r) for r in data.get("rows", [])])


def build_matrix(run: RunResults, catalogue: list[Requirement] | None = None) -> Matrix:
    """Rows for every requirement of the catalogue plus any other one a case names."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    by_req: dict[str, list[CaseResult]] = {}
    for case in run.cases:
        for rid in case.requirements:
            by_req.setdefault(rid, []).append(case)
    known = {r.id for r in catalogue}
    extra = [Requirement(rid, "(not in the requirement list)", "", "Other")
             for rid in sorted(by_req) if rid not in known]
    rows = []
    for req in [*catalogue, *extra]:
        cases = by_req.get(req.id, [])
        rows.append(Row(
            req.id, req.area, req.must, req.observed, worst(c.verdict_for(req.id) for c in cases),
            [RowCase(c.name, c.mode, c.verdict_for(req.id), c.message[:300]) for c in cases],
        ))
    return Matrix(dict(run.environment), dict(run.target), rows)


def write_matrix(matrix: Matrix, out_dir: Path, html_page: str | None = None
                 ) -> tuple[Path, Path]:
    """matrix.json and matrix.html in `out_dir` (`html_page`: the page if already rendered)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, page = out_dir / MATRIX_JSON, out_dir / MATRIX_HTML
    js.write_text(matrix.to_json(), encoding="utf-8")
    page.write_text(html_page if html_page is not None else render_html(matrix),
                    encoding="utf-8")
    return js, page


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #212121; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.6em; font-size: 1.2em; }
table { border-collapse: collapse; width: 100%; margin-top: .5em; }
th, td { border: 1px solid #e0e0e0; padding: .35em .5em; vertical-align: top; text-align: left; }
th { background: #f5f5f5; } td.id { white-space: nowrap; font-family: monospace; }
.badge { display: inline-block; padding: .1em .5em; border-radius: .8em; color: #fff;
         font-size: .85em; white-space: nowrap; }
.cases { margin: 0; padding-left: 1.1em; } .muted { color: #757575; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: 600; } .summary .badge { margin-right: .4em; }
.sign { margin-top: 3em; display: flex; gap: 4em; } .sign div { border-top: 1px solid #000;
         padding-top: .3em; min-width: 16em; }
@media print { body { margin: 1cm; } }
"""


def _badge(verdict: Verdict) -> str:
    colour = COLOURS[verdict]
    return (f'<span class="badge" style="background:{colour}">'
            f'{html.escape(verdict.value)}</span>')


def _declaration(matrix: Matrix) -> str:
    env, target = matrix.environment, matrix.target
    raw = target.get("capabilities")
    caps: dict[str, object] = raw if isinstance(raw, dict) else {}
    items = [
        ("Target", f"{env.get('target.name', '?')} — {env.get('target.version', '')}"),
        ("Target file", env.get("target.file", "")),
        ("Backend", env.get("backend", "")),
        ("Harness", f"sbc-harness {env.get('harness.version', '?')} on {env.get('host', '?')}"),
        ("Run finished", env.get("run.finished", "?")),
    ]
    for key, value in sorted(caps.items()):
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        items.append((f"declares {key}", shown or "(none)"))
    deviations = target.get("known_deviations", [])
    if isinstance(deviations, list):
        for dev in deviations:
            if isinstance(dev, dict):
                modes = ", ".join(dev.get("modes") or []) or "all modes"
                scope = ", forking only" if dev.get("forking_only") else ""
                if dev.get("cases"):
                    scope += ", only in " + ", ".join(map(str, dev["cases"]))
                items.append(("known deviation", f"{dev.get('requirement')} ({modes}{scope}): "
                                                 f"{dev.get('note', '')}"))
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>"
                            for k, v in items) + "</dl>"


def _why_inconclusive(case: RowCase) -> str:
    """For an INCONCLUSIVE case, the precondition that did not hold (its reason up to
    what happened, which the case's own page shows in full)."""
    if case.verdict is not Verdict.INCONCLUSIVE:
        return ""
    why = case.message.removeprefix("Skipped: ").split(" What happened:", 1)[0]
    return f"<br><span class='muted'>{html.escape(why)}</span>"


def render_html(matrix: Matrix) -> str:
    areas: dict[str, list[Row]] = {}
    for row in matrix.rows:
        areas.setdefault(row.area, []).append(row)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Requirement matrix — "
        f"{html.escape(matrix.environment.get('target.name', 'target'))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Requirement matrix</h1>",
        _declaration(matrix),
        "<p class='summary'>" + "".join(f"{_badge(v)}{n} " for v, n in matrix.tally().items())
        + "</p>",
    ]
    for area, rows in areas.items():
        parts.append(f"<h2>{html.escape(area)}</h2><table><tr><th>Requirement</th>"
                     "<th>The target must</th><th>Observed as</th><th>Verdict</th>"
                     "<th>Cases</th></tr>")
        for row in rows:
            cases = "".join(
                f"<li>{_badge(c.verdict)} {html.escape(c.name)}"
                + (f" <span class='muted'>({html.escape(c.mode)})</span>" if c.mode else "")
                + _why_inconclusive(c) + "</li>"
                for c in row.cases
            ) or "<li class='muted'>no case checks this yet</li>"
            parts.append(
                f"<tr id='{html.escape(row.id)}'><td class='id'>{html.escape(row.id)}</td>"
                f"<td>{html.escape(row.must)}</td><td>{html.escape(row.observed)}</td>"
                f"<td>{_badge(row.verdict)}</td><td><ul class='cases'>{cases}</ul></td></tr>"
            )
        parts.append("</table>")
    parts.append("<div class='sign'><div>Tested by, date</div><div>Approved by, date</div></div>")
    parts.append("</body></html>")
    return "\n".join(parts)
