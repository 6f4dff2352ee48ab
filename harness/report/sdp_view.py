"""SDP as sent against SDP as received, per leg, with the differences marked (HTML).

For each leg (the offer from the caller's side to the callee's, the answer
back, one early dialog's 183...) two columns side by side: the SDP as the
sending agent wrote it and as the receiving agent got it across the target,
aligned line by line (difflib), changed lines highlighted; under them the
semantic differences of `harness.sdp.diff` (which ignore attribute order and
name what changed: c=, port, codec order, a=crypto...). One self-contained
page, no script: Allure shows it as an HTML attachment.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence

from harness.sdp import SessionDescription, diff_sdp

__all__ = ["Leg", "sdp_legs_html"]

Leg = tuple[str, SessionDescription | None, SessionDescription | None]
"""(title, as sent, as received)."""

_CSS = """
body { font: 13px/1.35 system-ui, sans-serif; margin: 1em; color: #212121; }
h2 { font-size: 1.05em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
td, th { font-family: ui-monospace, monospace; font-size: 12px; padding: 1px 6px;
         vertical-align: top; white-space: pre-wrap; word-break: break-all; }
th { font-family: system-ui, sans-serif; text-align: left; background: #f5f5f5; }
td.del { background: #ffebee; } td.ins { background: #e8f5e9; }
td.chg { background: #fff8e1; } td.none { background: #fafafa; }
ul { margin: .3em 0 0; } .same { color: #2e7d32; }
"""


def _lines(sd: SessionDescription | None) -> list[str]:
    if sd is None:
        return []
    return bytes(sd).decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n").split("\n")


def _rows(sent: list[str], received: list[str]) -> list[str]:
    rows = []
    matcher = difflib.SequenceMatcher(a=sent, b=received, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        left, right = sent[a0:a1], received[b0:b1]
        for i in range(max(len(left), len(right))):
            a = left[i] if i < len(left) else None
            b = right[i] if i < len(right) else None
            if op == "equal":
                classes = ("", "")
            elif a is None:
                classes = ("none", "ins")
            elif b is None:
                classes = ("del", "none")
            else:
                classes = ("chg", "chg")
            rows.append(
                f"<tr><td class='{classes[0]}'>{html.escape(a or '')}</td>"
                f"<td class='{classes[1]}'>{html.escape(b or '')}</td></tr>"
            )
    return rows


def sdp_legs_html(legs: Sequence[Leg], *, title: str = "SDP per leg") -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_CSS}</style></head><body>"]
    for name, sent, received in legs:
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if sent is None or received is None:
            missing = "as sent" if sent is None else "as received"
            parts.append(f"<p>no SDP {missing}</p>")
        parts.append("<table><tr><th>as sent</th><th>as received</th></tr>")
        parts += _rows(_lines(sent), _lines(received))
        parts.append("</table>")
        if sent is not None and received is not None:
            diffs = diff_sdp(sent, received)
            if diffs:
                parts.append("<ul>" + "".join(f"<li>{html.escape(str(d))}</li>" for d in diffs)
                             + "</ul>")
            else:
                parts.append("<p class='same'>no semantic difference</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
