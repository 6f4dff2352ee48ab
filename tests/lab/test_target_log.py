"""The target's log is evidence during the run (issue 14, part 5; D34): a copy of the
default target whose Kamailio logs a run-time error on every call ("cannot apply msg
changes after adding record-route header") and routes on as if nothing happened. Every
call succeeds, yet every case that placed one comes out BROKEN with that line; a
robustness case that expects errors in the log keeps its verdict, and nothing FAILED."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from peer_copies import with_runtime_error

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "harness.cli"]
ERROR = "cannot apply msg changes after adding record-route header"

# One case of each kind of call fixture: a plain call (media_call), a call toward Teams
# (dr_call), a call through the SfB profile (sfb_call), and a ROB-1 case that sends
# malformed SIP on purpose (expects_target_errors) before its call.
BROKEN = ("test_bypass_sdp_end_to_end", "test_proxy_relays", "test_dr_sdes_offer",
          "test_sfb_same_site_bypasses")
EXPECTS_ERRORS = "test_target_survives_malformed_sip[bad SDP]"
SELECTION = " or ".join([*BROKEN, "(test_target_survives_malformed_sip and SDP)"])


def _results(allure_dir: Path) -> dict[str, dict[str, Any]]:
    """The run's Allure results by test name (with its parameter)."""
    out = {}
    for path in allure_dir.glob("*-result.json"):
        data = json.loads(path.read_text())
        name = data["fullName"].rsplit("#", 1)[-1]
        params = [p["value"].strip("'") for p in data.get("parameters", [])]
        out[name + (f"[{params[0]}]" if params else "")] = data
    return out


def _verdicts(result: dict[str, Any]) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == "verdict"]


def _attachment(allure_dir: Path, result: dict[str, Any], name: str) -> str:
    for attachment in result.get("attachments", []):
        if attachment["name"] == name:
            return (allure_dir / attachment["source"]).read_text()
    raise AssertionError(f"{result['name']}: no attachment {name!r}")


def test_a_runtime_error_on_every_call_breaks_each_case(tmp_path: Path) -> None:
    peer = with_runtime_error(tmp_path)
    out = tmp_path / "results"
    proc = subprocess.run(
        [*CLI, "run", "--target", str(peer / "target.toml"), "--results", str(out),
         "--no-report", "-k", SELECTION], cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )
    log = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 1, log  # some cases did not pass; the run itself worked
    allure_dir = out / "allure-results"
    results = _results(allure_dir)
    assert set(results) == {*BROKEN, EXPECTS_ERRORS}, log
    for name in BROKEN:
        result = results[name]
        message = result["statusDetails"]["message"]
        assert (result["status"], _verdicts(result)) == ("broken", ["BROKEN"]), (name, message)
        assert "TargetLogError: the target's log shows" in message, (name, message)
        assert "kamailio: " in message and ERROR in message, (name, message)
        assert str(peer / "target.toml") in message, (name, message)
        evidence = _attachment(allure_dir, result, "target log: errors during the case")
        assert ERROR in evidence
    # The robustness case provokes errors on purpose: its verdict stands, the lines are
    # attached (its call after the malformed SIP logged the error too).
    rob = results[EXPECTS_ERRORS]
    assert (rob["status"], _verdicts(rob)) == ("passed", ["OK"]), rob.get("statusDetails")
    evidence = _attachment(allure_dir, rob, "target log: errors during the case")
    assert "expects_target_errors" in evidence and ERROR in evidence
    # Nothing FAILED: the target's set-up is wrong, no requirement was judged violated.
    assert not [n for n, r in results.items() if "FAILED" in _verdicts(r)]
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == (str(len(results)), str(len(BROKEN)))
