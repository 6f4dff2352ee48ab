"""Whole runs against copies of the default target that each break one requirement the way
real SBCs get it wrong: the verdicts name that requirement FAILED, and the cases that could
not get as far as their own requirement INCONCLUSIVE with the unmet precondition named, not
FAILED each (issue 14: blame must not spread)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from peer_copies import (
    TEAMS_OFFER_ONLY_32,
    TEAMS_OFFER_UNENCRYPTED,
    copy_default_peer,
    with_define,
    without_early_media,
)

from harness.conformance.case import Verdict
from harness.report.compare import load_matrix
from harness.report.results import read_run

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "harness.cli"]


def _run(peer: Path, results: Path, *pytest_args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "run", "--target", str(peer / "target.toml"), "--results", str(results),
         *pytest_args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _verdicts(results: Path) -> dict[str, Verdict]:
    return {row.id: row.verdict for row in load_matrix(results).rows}


def test_no_early_media_fails_sip_early_1_only(tmp_path: Path) -> None:
    """The copy drops every 183: SIP-EARLY-1 FAILED; SfB, Teams and fork cases that needed
    the 183 for something else INCONCLUSIVE, naming it; nothing else fails or breaks."""
    proc = _run(without_early_media(tmp_path), tmp_path / "results")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    verdicts = _verdicts(tmp_path / "results")
    failed = sorted(rid for rid, v in verdicts.items() if v in (Verdict.FAILED, Verdict.BROKEN))
    assert failed == ["SIP-EARLY-1"], proc.stdout[-6000:]
    inconclusive = {rid for rid, v in verdicts.items() if v is Verdict.INCONCLUSIVE}
    assert {"SFB-3", "SIP-FORK-1", "SIP-FORK-2", "DR-ICE-7", "DR-EM-1"} <= inconclusive
    for case in read_run(tmp_path / "results").cases:
        if case.verdict is Verdict.INCONCLUSIVE:
            assert "precondition 'early-dialog' did not hold" in case.message, case.name
            assert "counted at SIP-EARLY-1" in case.message, case.name
    # The basic calls, with no 183 in them, are untouched.
    assert verdicts["MM-PROXY-1"] is Verdict.OK and verdicts["MM-ANCHOR-1"] is Verdict.OK


@pytest.mark.parametrize("flags, unmet", [
    pytest.param(TEAMS_OFFER_ONLY_32, False, id="only-the-32-suite"),
    pytest.param(TEAMS_OFFER_UNENCRYPTED, True, id="unencrypted-srtp"),
])
def test_a_wrong_sdes_offer_toward_teams_fails_dr_srtp_1_only(
    tmp_path: Path, flags: str, unmet: bool,
) -> None:
    """The Teams cases against a copy that offers only AES_CM_128_HMAC_SHA1_32 toward Teams
    (the agent takes it and keys it: every other case passes) or puts UNENCRYPTED_SRTP on
    its line (Teams refuses the offer with 488: the cases that needed a call INCONCLUSIVE,
    naming the SDES precondition): DR-SRTP-1 FAILED, nothing else."""
    peer = with_define(tmp_path, TEAMS_SIDE_OFFER_FLAGS=flags)
    proc = _run(peer, tmp_path / "results", "-k", "test_dr_")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    verdicts = {rid: v for rid, v in _verdicts(tmp_path / "results").items()
                if rid.startswith("DR-") and v is not Verdict.NOT_RUN}
    failed = sorted(rid for rid, v in verdicts.items() if v in (Verdict.FAILED, Verdict.BROKEN))
    assert failed == ["DR-SRTP-1"], proc.stdout[-6000:]
    inconclusive = [c for c in read_run(tmp_path / "results").cases
                    if c.verdict is Verdict.INCONCLUSIVE]
    if unmet:
        assert {"DR-ICE-1", "DR-ICE-4", "DR-EM-3"} <= {r for c in inconclusive
                                                      for r in c.requirements}
        assert all("precondition 'teams-sdes' did not hold" in c.message
                   and "UNENCRYPTED_SRTP" in c.message for c in inconclusive)
    else:
        assert inconclusive == []
        assert verdicts["DR-ICE-4"] is Verdict.OK and verdicts["DR-SRTP-2"] is Verdict.OK


def test_a_wrong_dial_plan_breaks_the_case_with_what_to_fix(tmp_path: Path) -> None:
    """The target file dials the proxy mode with a port the callee does not listen on, so
    the target (correctly) routes the INVITE there: not the target's fault, so the case is
    BROKEN naming where the INVITE went and the dial plan to check, never FAILED."""
    peer = copy_default_peer(tmp_path)
    toml = peer / "target.toml"
    text = toml.read_text()
    dialled = 'request_uri = "sip:proxy@{callee_address}:{callee_port}"'
    assert text.count(dialled) == 1
    toml.write_text(text.replace(dialled, 'request_uri = "sip:proxy@{callee_address}:5999"'))
    results = tmp_path / "results"
    proc = _run(peer, results, "-k", "test_proxy_sdp_untouched")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    (case,) = read_run(results).cases
    assert case.verdict is Verdict.BROKEN, case.message
    assert "the target sent the INVITE to callee1 198.18.0.21:5999, expected callee1 at " \
           "198.18.0.21:5060: check the dial plan in the target file" in case.message
