"""Keeping what real runs observed, to judge the checks again over it without a lab.

With ``SBC_HARNESS_RECORD_EVIDENCE=<folder>`` set, every scenario hands its finished
record to `keep`, and the pytest plugin writes them at the end of each test
(`flush`), named after the test, as `harness.evidence.codec` files. The fixtures of
the checks' unit tests (``tests/fixtures/evidence/``) were made this way from runs of
the default target, its broken copies and the fault-injecting relays. Without the
variable `keep` does nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness.evidence.codec import dump_file

__all__ = ["RECORD_ENV", "flush", "keep"]

RECORD_ENV = "SBC_HARNESS_RECORD_EVIDENCE"

_kept: list[object] = []  # records of the test being run, in the order they finished


def keep(record: object) -> None:
    """Keep `record` for the next `flush` (only while recording)."""
    if os.environ.get(RECORD_ENV) and all(r is not record for r in _kept):
        _kept.append(record)


def flush(test: str) -> list[Path]:
    """Write the records kept since the last flush as ``<test>-<n>.json.gz`` in the
    recording folder; forget them."""
    folder = os.environ.get(RECORD_ENV)
    records, _kept[:] = list(_kept), []
    if not folder or not records:
        return []
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test).strip("_")[:150]
    return [dump_file(r, Path(folder) / f"{stem}-{n}.json.gz") for n, r in enumerate(records)]
