"""The report as a certification engineer sees it: made by the README's main command from
real runs, served from 127.0.0.1 and opened in headless Chromium.

Two runs of the bypass cases: the default target (they pass) and a copy whose bypass dial
plan relays (they fail). The failing case must show its SIP ladder and media path drawn,
its pcap (a real capture file), the SDP of each leg with the differences marked, the
findings and the target's log; the matrix must say FAILED; comparing the runs must find
the regression. A screenshot of the failed case is kept in results/test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "harness.cli"]
ARTIFACTS = ROOT / "results" / "test-artifacts"
BYPASS = ["--requirement", "MM-BYPASS-1", "--requirement", "MM-BYPASS-2"]
PCAP_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a")


def _run(results: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "run", "--results", str(results), *extra, *BYPASS], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    good = _run(base / "good")
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-2000:]
    peer = base / "relaying-peer"
    shutil.copytree(ROOT / "peers" / "kamailio-rtpengine", peer)
    toml = peer / "target.toml"
    toml.write_text(toml.read_text().replace(
        'request_uri = "sip:bypass@{callee_address}:{callee_port}"',
        'request_uri = "sip:proxy@{callee_address}:{callee_port}"'))
    bad = _run(base / "bad", "--target", str(peer))
    assert bad.returncode == 1, bad.stdout[-3000:] + bad.stderr[-2000:]
    assert "HTML report:" in bad.stdout and "Matrix:" in bad.stdout
    return base / "good", base / "bad"


@pytest.fixture(scope="module")
def served(runs: tuple[Path, Path]) -> Iterator[str]:
    """The failing run's report over HTTP on 127.0.0.1 (an ephemeral port)."""
    handler = functools.partial(_QuietHandler, directory=str(runs[1] / "report"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def _result(report: Path, requirement: str) -> dict[str, Any]:
    for path in (report / "data" / "test-results").glob("*.json"):
        data = json.loads(path.read_text())
        if f"[{requirement}]" in data.get("name", ""):
            return data
    raise AssertionError(f"no test result for {requirement} in {report}")


def _attachments(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["link"]["name"]: s["link"] for s in result.get("steps", [])
            if s.get("type") == "attachment"}


def test_a_failed_case_shows_its_ladder_pcap_and_sdp_diff(
    runs: tuple[Path, Path], served: str, page: Page,
) -> None:
    report = runs[1] / "report"
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((served, "blob:", "data:", "about:")) else None)
    failed = _result(report, "MM-BYPASS-2")
    assert failed["status"] == "failed"
    page.goto(f"{served}/#{failed['id']}")
    page.get_by_text("[MM-BYPASS-2]").first.wait_for(timeout=20_000)
    text = page.inner_text("body")
    assert "Failed" in text and "FAILED" in text  # the status and the graded verdict label
    for name in ("bypass: capture (pcap)", "bypass: SIP ladder (diagram)",
                 "bypass: media path (diagram)", "bypass: SDP per leg, sent vs received",
                 "findings", "target log: kamailio"):
        assert name in text, f"{name!r} is not on the failed case's page"

    # The ladder is drawn: its SVG opens as an image with the lanes in it.
    page.get_by_text("bypass: SIP ladder (diagram)").first.click()
    image = page.locator("img[src^='blob:']").first
    image.wait_for(timeout=10_000)
    svg = page.evaluate("src => fetch(src).then(r => r.text())", image.get_attribute("src"))
    assert "<svg" in svg and ">caller<" in svg and ">target<" in svg and ">callee1<" in svg

    # The SDP page marks what the target changed: c= and the port of each leg.
    page.get_by_text("bypass: SDP per leg, sent vs received").first.click()
    page.wait_for_timeout(1000)
    frames = [f for f in page.frames if "as received" in _frame_text(f)]
    assert frames, "the SDP attachment did not open"
    sdp_page = frames[0]
    changed = sdp_page.locator("td.chg").all_inner_texts()
    assert any(line.startswith("c=IN IP4 198.18.0.2") for line in changed), changed
    assert "connection" in _frame_text(sdp_page)  # the semantic difference, in words

    # The pcap behind the download button is a real capture file.
    pcap = _attachments(failed)["bypass: capture (pcap)"]
    body = page.request.get(f"{served}/data/attachments/{pcap['id']}{pcap['ext']}").body()
    assert body[:4] in PCAP_MAGIC and len(body) == pcap["contentLength"]

    page.get_by_text("bypass: SIP ladder (diagram)").first.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-failed-case.png"), full_page=True)
    assert outside == [], f"the report loaded things from outside: {outside[:5]}"


def _frame_text(frame: Any) -> str:
    try:
        return str(frame.inner_text("body"))
    except Exception:  # a frame that is gone or not a document
        return ""


def test_the_matrix_says_failed_and_is_in_the_report(
    runs: tuple[Path, Path], served: str, page: Page,
) -> None:
    page.goto(f"{served}/matrix.html")
    row = page.locator("tr#MM-BYPASS-1")
    assert "FAILED" in row.inner_text() and "KNOWN DEVIATION" not in row.inner_text()
    assert "kamailio-rtpengine" in page.inner_text("dl")
    assert "NOT RUN" in page.locator("tr#SIP-FORK-1").inner_text()  # not selected in this run
    page.goto(f"{served}/")
    page.get_by_text("Global Attachments").first.wait_for(timeout=20_000)
    assert "Global Attachments\n1" in page.inner_text("body") or \
        "Global Attachments 1" in page.inner_text("body")


def test_comparing_the_runs_finds_the_regression_and_the_fix(runs: tuple[Path, Path]) -> None:
    good, bad = runs
    worse = subprocess.run([*CLI, "report", "--compare", str(good), str(bad)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "MM-BYPASS-1    OK -> FAILED" in worse.stdout
    assert "MM-BYPASS-2    OK -> FAILED" in worse.stdout
    better = subprocess.run([*CLI, "report", "--compare", str(bad / "report" / "matrix.json"),
                             str(good)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert better.returncode == 0 and "Fixed (failed in A, passes in B): 2" in better.stdout
