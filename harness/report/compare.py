"""Compare two runs requirement by requirement: what regressed, what was fixed.

A run is a results directory (its ``matrix.json`` if `sbc-harness report` made
one, else its Allure results) or a ``matrix.json`` file. A *regression* is a
requirement that passed in run A (OK, INFORMATIONAL, NON-STRICT) and does not
in run B (FAILED, BROKEN or KNOWN DEVIATION); a *fix* is the reverse. A
requirement that passed in A and is INCONCLUSIVE in B (a precondition of its
cases failed, and is counted as a regression where it is judged) is listed as
*no longer observed*, not as one more regression. Other changes (a mode no
longer claimed, a requirement not run) are listed apart: they are not verdicts
on the target's behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.conformance.case import Verdict
from harness.errors import HarnessError
from harness.report.matrix import MATRIX_JSON, PASSING, Matrix, build_matrix
from harness.report.results import read_run

__all__ = ["Comparison", "compare", "load_matrix"]

FAILING = frozenset({Verdict.FAILED, Verdict.BROKEN, Verdict.KNOWN_DEVIATION})


def load_matrix(where: Path) -> Matrix:
    """The matrix of a run directory or a matrix.json file."""
    if where.is_file():
        try:
            return Matrix.from_json(where.read_text(encoding="utf-8"))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise HarnessError(f"{where}: not a requirement matrix ({exc})") from None
    if not where.exists():
        raise HarnessError(f"{where}: no such run directory or matrix file")
    for candidate in (where / MATRIX_JSON, where / "report" / MATRIX_JSON):
        if candidate.is_file():
            return load_matrix(candidate)
    return build_matrix(read_run(where))


@dataclass
class Comparison:
    a: str
    b: str
    regressions: list[tuple[str, Verdict, Verdict]] = field(default_factory=list)  # id, was, now
    fixes: list[tuple[str, Verdict, Verdict]] = field(default_factory=list)
    unobserved: list[tuple[str, Verdict, Verdict]] = field(default_factory=list)
    other: list[tuple[str, Verdict, Verdict]] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"A: {self.a}", f"B: {self.b}", ""]
        for title, items in (("Regressions (passed in A, not in B)", self.regressions),
                             ("Fixed (failed in A, passes in B)", self.fixes),
                             ("No longer observed (passed in A, INCONCLUSIVE in B)",
                              self.unobserved),
                             ("Other changes", self.other)):
            lines.append(f"{title}: {len(items)}")
            lines += [f"  {rid:14} {was.value} -> {now.value}" for rid, was, now in items]
        return "\n".join(lines)


def _label(m: Matrix, where: Path) -> str:
    env = m.environment
    name = env.get("target.name")
    return f"{where} ({name} {env.get('target.version', '')})".strip() if name else str(where)


def compare(a_path: Path, b_path: Path) -> Comparison:
    a, b = load_matrix(a_path), load_matrix(b_path)
    before = {r.id: r.verdict for r in a.rows}
    after = {r.id: r.verdict for r in b.rows}
    out = Comparison(_label(a, a_path), _label(b, b_path))
    for rid in [*before, *(r for r in after if r not in before)]:
        was, now = before.get(rid, Verdict.NOT_RUN), after.get(rid, Verdict.NOT_RUN)
        if was == now:
            continue
        if was in PASSING and now in FAILING:
            out.regressions.append((rid, was, now))
        elif was in FAILING and now in PASSING:
            out.fixes.append((rid, was, now))
        elif was in PASSING and now is Verdict.INCONCLUSIVE:
            out.unobserved.append((rid, was, now))
        else:
            out.other.append((rid, was, now))
    return out
