"""``sbc-harness load`` end to end: SIPp's calls through the default target in every mode,
the side-by-side figures written, nothing left behind; and a target that silently stops
relaying media under load (rtpengine's session limit, Kamailio relaying the INVITE
unchanged when the offer fails) makes the load case FAIL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from peer_copies import copy_default_peer, with_define

from harness.lab import list_netns
from harness.lab.netns import STATE_DIR

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "harness.cli", "load"]
SMALL = ["--calls", "30", "--rate", "30", "--hold", "0.5", "--samples", "1"]


def _ours() -> tuple[list[str], list[Path]]:
    return ([n for n in list_netns() if n.startswith("sh") and "-" in n],
            sorted(STATE_DIR.glob("*.json")) if STATE_DIR.is_dir() else [])


def _load(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    proc = subprocess.run([*CLI, "--results", str(tmp_path), *SMALL, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    summary = tmp_path / "load" / "summary.json"
    rows = json.loads(summary.read_text()) if summary.exists() else []
    return proc, rows


def test_load_in_every_mode_side_by_side(tmp_path: Path) -> None:
    before = _ours()
    # a conformance run's results in the same folder are not touched by a load run
    kept = tmp_path / "allure-results" / "a-result.json"
    kept.parent.mkdir()
    kept.write_text("{}")
    proc, rows = _load(tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert [r["mode"] for r in rows] == ["bypass", "proxy", "anchored"]
    for r in rows:
        assert r["calls ok/placed"] == "30/30", r
        assert r["problems"] == [], r
        assert r["sampled calls ok"] == "1/1", r
        assert r["setup"]["answered"] == 30 and r["setup"]["p99_ms"] < 1000, r
        assert r["cpu_s"] > 0 and r["cpu_processes"] >= 2, r
    bypass, proxy, anchored = rows
    assert all(d["direct_calls"] == 30 and d["streams"] == 0 for d in bypass["media"])
    for relayed in (proxy, anchored):
        assert all(d["streams"] == 30 and d["direct_calls"] == 0 and d["sent"] > 300
                   for d in relayed["media"]), relayed
    # relaying media costs the target more CPU per call than leaving it alone
    assert proxy["cpu_s"] > bypass["cpu_s"]
    assert "load, side by side" in proc.stdout
    assert (tmp_path / "load" / "summary.txt").read_text().startswith("load: 30 calls")
    assert len(list((tmp_path / "load" / "allure-results").glob("*-result.json"))) == 3
    assert _ours() == before, "the load run left namespaces or state files behind"
    assert kept.read_text() == "{}"


def _small_relay(peer: Path) -> Path:
    """The target with rtpengine limited to 3 sessions: a load of 30 calls overruns it."""
    toml = peer / "target.toml"
    toml.write_text(toml.read_text().replace('"--delete-delay=0",',
                                             '"--delete-delay=0", "--max-sessions=3",'))
    return peer


def test_a_target_that_stops_relaying_under_load_fails(tmp_path: Path) -> None:
    # Kamailio lets the INVITE through unchanged when rtpengine refuses the offer.
    peer = _small_relay(with_define(tmp_path, ON_RELAY_FAILURE="pass"))
    proc, rows = _load(tmp_path, "--target", str(peer), "--mode", "proxy")
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-2000:]
    [proxy] = rows
    assert any("endpoint to endpoint (the SDP bypassed the target) in proxy mode" in p
               for p in proxy["problems"]), proxy["problems"]
    assert "under load in proxy mode" in proc.stdout


def test_a_target_that_refuses_calls_under_load_fails(tmp_path: Path) -> None:
    # The default configuration refuses what the full relay cannot take (503).
    peer = _small_relay(copy_default_peer(tmp_path))
    proc, rows = _load(tmp_path, "--target", str(peer), "--mode", "proxy")
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-2000:]
    [proxy] = rows
    assert proxy["setup"]["failed"].get("503", 0) > 0, proxy["setup"]
    assert any("SIPp calls failed" in p for p in proxy["problems"]), proxy["problems"]
    assert not any("endpoint to endpoint" in p for p in proxy["problems"])
