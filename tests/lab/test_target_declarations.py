"""What the target declares is honoured: unclaimed modes are UNSUPPORTED (skipped, never
passed), and a misconfiguration that only shows in the target's log fails the run."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from peer_copies import copy_default_peer, started

from harness.media.modes import MediaMode
from harness.scenarios.captured import captured_call, plan_call

ROOT = Path(__file__).resolve().parents[2]


def test_unclaimed_modes_are_skipped_as_unsupported(tmp_path: Path) -> None:
    peer = copy_default_peer(tmp_path)
    toml = peer / "target.toml"
    toml.write_text(toml.read_text().replace(
        'media_modes = ["bypass", "proxy", "anchored"]', 'media_modes = ["bypass"]'
    ))
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--target", str(peer), "--results",
         str(results)], cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    cases = ET.parse(results / "junit.xml").getroot().iter("testcase")
    outcome = {}
    for tc in cases:
        skipped = tc.find("skipped")
        outcome[tc.get("name")] = None if skipped is None else skipped.get("message", "")
    assert outcome["test_bypass_media_path"] is None  # ran and passed
    assert outcome["test_bypass_sdp_end_to_end"] is None
    for name in ("test_proxy_relays", "test_anchored_transcodes", "test_forwarding_delay"):
        reason = outcome[name]
        assert reason is not None and "UNSUPPORTED" in reason, (name, reason)
        assert "does not claim media mode" in reason
    # The report keeps them as UNSUPPORTED, with their requirement (never as passes).
    matrix = {row["id"]: row for row in
              json.loads((results / "report" / "matrix.json").read_text())["rows"]}
    assert matrix["MM-PROXY-1"]["verdict"] == "UNSUPPORTED"
    assert matrix["MM-BYPASS-1"]["verdict"] == "OK"
    assert matrix["MM-ANCHOR-2"]["cases"][0]["verdict"] == "UNSUPPORTED"


async def test_unknown_rtpengine_flag_in_the_config_is_reported(tmp_path: Path) -> None:
    peer = copy_default_peer(tmp_path)
    cfg = peer / "kamailio.cfg"
    cfg.write_text(cfg.read_text().replace(
        '#!define PROXY_FLAGS "replace-origin', '#!define PROXY_FLAGS "no-such-flag replace-origin'
    ))
    async with started(peer, tmp_path) as (lab, target):
        assert target.config_errors() == []
        mark = target.log_mark()
        await captured_call(plan_call(lab, target, MediaMode.PROXY, pcap=tmp_path / "call.pcap"),
                            lab, target, packets=2)
        problems = target.config_errors(mark)
    assert problems, "the unknown flag went unnoticed"
    assert any("no-such-flag" in p and p.startswith("rtpengine:") for p in problems)


@pytest.mark.parametrize("mode", [MediaMode.BYPASS])
def test_claimed_mode_needs_a_dial_plan(tmp_path: Path, mode: MediaMode) -> None:
    peer = copy_default_peer(tmp_path)
    toml = peer / "target.toml"
    toml.write_text(toml.read_text().replace(
        '[modes.bypass]\nrequest_uri = "sip:bypass@{callee_address}:{callee_port}"\n', ''
    ))
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--target", str(peer), "--results",
         str(tmp_path / "r")], cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert f"claims {mode.value} but there is no [modes.{mode.value}] table" in proc.stderr


def test_a_violating_target_gets_failed_verdicts_with_evidence(tmp_path: Path) -> None:
    """A target that claims bypass but relays: the bypass cases fail (not break), and each
    failed result carries the findings, the pcap, the ladder and the target's log tail."""
    peer = copy_default_peer(tmp_path)
    toml = peer / "target.toml"
    toml.write_text(toml.read_text().replace(
        'request_uri = "sip:bypass@{callee_address}:{callee_port}"',
        'request_uri = "sip:proxy@{callee_address}:{callee_port}"',
    ))
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--target", str(peer), "--results",
         str(results), "--requirement", "MM-BYPASS-1", "--requirement", "MM-BYPASS-2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    failed = [
        r for r in (json.loads(p.read_text())
                    for p in (results / "allure-results").glob("*-result.json"))
        if r["status"] == "failed"
    ]
    assert {lab["value"] for r in failed for lab in r["labels"] if lab["name"] == "requirement"} \
        == {"MM-BYPASS-1", "MM-BYPASS-2"}
    for result in failed:
        assert "TargetViolation" in result["statusDetails"]["message"]
        names = [a["name"] for a in result["attachments"]]
        assert "findings" in names
        assert any(n.endswith("capture (pcap)") for n in names)
        assert any(n.endswith("SIP ladder") for n in names)
        assert "target log: kamailio" in names and "target log: rtpengine" in names
    bypass1 = next(r for r in failed if "MM-BYPASS-1" in r["name"])
    assert "media flow(s) to or from the target" in bypass1["statusDetails"]["message"]
