"""Reading back what a pytester run of the plugin wrote: its Allure result files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    """One Allure result file, read back."""

    function: str
    status: str
    labels: dict[str, list[str]]
    message: str
    attachments: dict[str, str]  # name -> text

    @property
    def verdicts(self) -> list[str]:
        return self.labels.get("verdict", [])


def read_results(alluredir: Path) -> dict[str, Result]:
    """The run's Allure results by test function name."""
    out = {}
    for path in alluredir.glob("*-result.json"):
        data = json.loads(path.read_text())
        labels: dict[str, list[str]] = {}
        for label in data.get("labels", []):
            labels.setdefault(label["name"], []).append(label["value"])
        attachments = {a["name"]: (alluredir / a["source"]).read_text(errors="replace")
                       for a in data.get("attachments", [])}
        function = data["fullName"].rsplit("#", 1)[-1]
        out[function] = Result(function, data["status"], labels,
                               (data.get("statusDetails") or {}).get("message", ""),
                               attachments)
    return out
