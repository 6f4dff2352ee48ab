"""Rows of the checks' unit tests: a check, the recorded evidence it judges, and what it
must conclude (verdict and words of the summary).

The evidence is what real lab runs observed (`tests/fixtures/evidence/`, written by
`harness.evidence.recording` from runs of the default target, its broken copies and the
fault-injecting relays), loaded with `harness.evidence.codec`. A row may `derive` the
record actually judged from the loaded ones (pick one call of a scenario, or make the
one change a fault would make, with `dataclasses.replace`: records are never mutated).

Each test module of this folder lists its rows in ``ROWS``; `test_every_check_is_judged`
makes sure every registered check has at least one row passing and one failing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.conformance.case import Verdict
from harness.conformance.findings import Finding
from harness.evidence.codec import load_file

EVIDENCE = Path(__file__).resolve().parents[2] / "fixtures" / "evidence"


@functools.cache
def evidence(name: str) -> Any:
    """The record of a fixture file, by its path under tests/fixtures/evidence/
    (loaded once per test session; records are frozen or, where not yet, never changed)."""
    return load_file(EVIDENCE / name)


@dataclass(frozen=True)
class Row:
    """`check(*derive(*records), *args, **kwargs)` must give `verdict` with each of `words`
    in its summary. Without `derive`, the records are passed as loaded."""

    id: str
    check: Callable[..., Finding]
    fixtures: Sequence[str]
    verdict: Verdict
    words: Sequence[str]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    derive: Callable[..., tuple[Any, ...]] | None = None

    def judge(self) -> Finding:
        records = tuple(evidence(name) for name in self.fixtures)
        if self.derive is not None:
            records = self.derive(*records)
        return self.check(*records, *self.args, **self.kwargs)


#: What differs from one recording of the same run to the next: ports, tags, SSRCs,
#: sequence numbers and measured milliseconds. Words are matched with these by shape, so
#: re-recording the fixtures keeps the rows; everything else must match as written.
_VOLATILE = (
    (re.compile(r"(?<=\d):\d{2,5}\b"), ":PORT"),
    (re.compile(r"\b0x[0-9a-f]+\b"), "0xN"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "TAG"),
    (re.compile(r"\bseq \d+"), "seq N"),
    (re.compile(r"\b\d+\.\d+ ms\b"), "N ms"),
)


def shape(text: str) -> str:
    """`text` with its volatile values replaced by placeholders."""
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def run(row: Row) -> Finding:
    """Judge `row` and assert its verdict and words; the finding, for further asserts."""
    found = row.judge()
    assert found.verdict is row.verdict, f"{row.id}: {found}"
    for words in row.words:
        assert shape(words) in shape(found.summary), (
            f"{row.id}: {words!r} not in {found.summary!r}")
    assert found.check == getattr(row.check, "__name__", ""), found.check
    return found
