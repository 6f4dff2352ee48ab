"""The SDP-per-leg page marks exactly the lines the target changed, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.sdp_view import sdp_legs_html
from harness.sdp import PCMA, PCMU, make_offer


def test_changed_lines_are_marked_and_the_semantic_difference_named() -> None:
    sent = make_offer("198.18.0.10", 40000, (PCMU, PCMA))
    relayed = sent.copy()
    relayed.connection.address = "198.18.0.2"  # type: ignore[union-attr]
    relayed.media[0].port = 30000
    page = sdp_legs_html([("offer: caller -> callee <1>", sent, relayed),
                          ("answer", sent, None)])
    body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    root = ET.fromstring(f"<div>{body}</div>")  # well-formed and escaped
    changed = [td.text or "" for td in root.iter("td") if td.get("class") == "chg"]
    assert "c=IN IP4 198.18.0.10" in changed and "c=IN IP4 198.18.0.2" in changed
    assert any(t.startswith("m=audio 30000") for t in changed)
    assert not any(t.startswith("a=rtpmap") for t in changed)  # unchanged lines stay plain
    assert "offer: caller -&gt; callee &lt;1&gt;" in page
    assert "no SDP as received" in page
    items = [li.text or "" for li in root.iter("li")]
    assert any("connection" in i and "198.18.0.2" in i for i in items), items
