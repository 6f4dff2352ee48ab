"""The README's main command, end to end: results written, every case passing,
nothing left behind — also when interrupted with Ctrl-C (SIGINT) mid-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.lab import list_netns
from harness.lab.netns import STATE_DIR

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "harness.cli"]


def _our_namespaces() -> list[str]:
    return [n for n in list_netns() if n.startswith("sh") and "-" in n]


def _harness_state_files() -> list[Path]:
    return sorted(STATE_DIR.glob("*.json")) if STATE_DIR.is_dir() else []


def test_run_writes_allure_and_junit_and_every_case_passes(tmp_path: Path) -> None:
    before = set(_our_namespaces())
    proc = subprocess.run(
        [*CLI, "run", "--results", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) >= 15
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    results = [
        json.loads(p.read_text()) for p in (tmp_path / "allure-results").glob("*-result.json")
    ]
    assert len(results) >= 15
    # Everything passes except what the target file declares as a known deviation.
    assert {r["status"] for r in results} == {"passed", "skipped"}
    deviations = [r for r in results if r["status"] == "skipped"]
    assert sorted(r["name"] for r in deviations) == [
        "Anchored: early media of forked dialogs stays separate [SIP-EARLY-1]",
        "From Teams: early media before nomination goes to the highest-priority checked "
        "candidate [DR-EM-2]",
        "NAT: a bypassed call to a callee behind NAT [MM-NAT-1]",
        "Proxy: each forked branch's a=crypto reaches the caller unchanged [MM-PROXY-4]",
        "Proxy: early media of forked dialogs stays separate [SIP-EARLY-1]",
        "The relay port of a side that has gone silent takes no media from strangers "
        "[ROB-2]",
        "To Teams, forked: the ICE-Lite target sends no checks of its own [DR-ICE-3]",
        "To Teams, forked: the device that answers gets the media, and only it (the first "
        "device answers) [DR-ICE-6]",
        "To Teams, forked: the device that answers gets the media, and only it (the second "
        "device answers) [DR-ICE-6]",
        "To Teams, forked: the target latches to the device that streams early media first "
        "[DR-EM-1]",
    ]
    for deviation in deviations:
        assert "KNOWN DEVIATION" in deviation["statusDetails"]["message"]
        assert "[FAILED]" in deviation["statusDetails"]["trace"]
    labels = {(lab["name"], lab["value"]) for r in results for lab in r["labels"]}
    for rid in ("MM-BYPASS-1", "MM-PROXY-3", "MM-ANCHOR-3", "MM-LAT-1"):
        assert ("requirement", rid) in labels
    attachments = [a["name"] for r in results for a in r.get("attachments", [])]
    assert any("pcap" in a for a in attachments)
    assert any("SIP ladder" in a for a in attachments)
    assert any("SDP offer received by callee" in a for a in attachments)
    assert (tmp_path / "allure-results" / "environment.properties").is_file()
    assert (tmp_path / "allure-results" / "categories.json").is_file()
    assert len(list((tmp_path / "pcaps").glob("*.pcap"))) >= 9
    assert set(_our_namespaces()) == before


def test_ctrl_c_mid_run_leaves_nothing_behind(tmp_path: Path) -> None:
    before_ns = set(_our_namespaces())
    before_state = set(_harness_state_files())
    proc = subprocess.Popen(
        [*CLI, "run", "--results", str(tmp_path), "-k", "LAT or PROXY"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    # Interrupt once the first call's capture exists: target up, a call under way.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "pcaps").glob("*.pcap")):
        time.sleep(0.05)
    assert list((tmp_path / "pcaps").glob("*.pcap")), "the run never got to a call"
    new_state = set(_harness_state_files()) - before_state
    pids = [p["pid"] for s in new_state for p in json.loads(s.read_text())["processes"]]
    assert pids, "the run registered no process"
    os.kill(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert set(_our_namespaces()) == before_ns, out[-3000:]
    assert set(_harness_state_files()) == before_state
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} survived Ctrl-C"


def test_select_cases_by_requirement(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "run", "--results", str(tmp_path), "--requirement", "MM-LAT-1",
         "--requirement", "MM-BYPASS-2"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    names = {tc.get("name") for tc in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    assert names == {"test_forwarding_delay", "test_bypass_sdp_end_to_end"}
    bad = subprocess.run([*CLI, "run", "--results", str(tmp_path), "--requirement", "MM-XX-9"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "--requirement MM-XX-9: no case checks it" in bad.stdout + bad.stderr


def test_a_target_file_of_another_name_is_the_one_run(tmp_path: Path) -> None:
    """`--target folder/other-name.toml` runs that file, not the folder's target.toml
    (here a file that does not even parse, so running it would fail the run)."""
    peer = tmp_path / "peer"
    shutil.copytree(ROOT / "peers" / "kamailio-rtpengine", peer)
    text = (peer / "target.toml").read_text()
    assert text.count('name = "kamailio-rtpengine"') == 1
    (peer / "lab-copy.toml").write_text(
        text.replace('name = "kamailio-rtpengine"', 'name = "kamailio-rtpengine-copy"'))
    (peer / "target.toml").write_text("this is [not a target file\n")
    results = tmp_path / "results"
    proc = subprocess.run(
        [*CLI, "run", "--target", str(peer / "lab-copy.toml"), "--results", str(results),
         "--requirement", "MM-PROXY-1"], cwd=ROOT, capture_output=True, text=True,
        timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "target kamailio-rtpengine-copy" in proc.stdout
    env = (results / "allure-results" / "environment.properties").read_text()
    assert "target.name=kamailio-rtpengine-copy\n" in env
    assert f"target.file={peer / 'lab-copy.toml'}\n" in env
