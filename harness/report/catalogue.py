"""The numbered requirements: id, what the target must do, how it is observed, area.

Read from the Markdown tables of ``docs/REQUIREMENTS.md`` (the project's copy of
the requirement list): each ``## Area (sources)`` heading opens an area, each
table row whose first cell looks like ``MM-PROXY-1`` is a requirement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.conformance.case import REQUIREMENT_RE
from harness.paths import PROJECT_ROOT

__all__ = ["CATALOGUE", "Requirement", "load_catalogue"]

CATALOGUE = PROJECT_ROOT / "docs" / "REQUIREMENTS.md"
_HEADING = re.compile(r"^##\s+(.*?)\s*(?:\(([^)]*)\))?\s*$")


@dataclass(frozen=True)
class Requirement:
    id: str
    must: str  # "the target must ..."
    observed: str  # "observed as ..."
    area: str
    sources: str = ""  # the seeds the area comes from, e.g. "001, 000, 004"


def load_catalogue(path: Path = CATALOGUE) -> list[Requirement]:
    """Every requirement in the file, in its order; an empty list if there is no file."""
    if not path.is_file():
        return []
    area, sources = "Other", ""
    found: list[Requirement] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = _HEADING.match(line)
        if heading:
            area, sources = heading.group(1), heading.group(2) or ""
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and REQUIREMENT_RE.match(cells[0]):
            found.append(Requirement(cells[0], cells[1], cells[2], area, sources))
    return found
