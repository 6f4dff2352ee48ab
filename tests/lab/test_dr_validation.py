"""The Teams Direct Routing checks pass on the default target's profile and FAIL on copies of
it configured the ways a real SBC gets it wrong: not ICE-Lite (it sends checks of its own),
several crypto suites offered, an RTCP candidate besides the RTP one, no ICE at all, no
rtcp-mux."""

from __future__ import annotations

from pathlib import Path

import pytest
from peer_copies import SDES_NO_BUT_80, started, with_define

from harness.agents.teams import DrOutcome, captured_to_teams_call, new_to_teams
from harness.conformance import Verdict
from harness.conformance import dr_checks as dc
from harness.lab import Lab
from harness.targets.base import Target

BASE = "replace-origin replace-session-connection RTP/SAVP DTLS=off"
GOOD = f"{BASE} ICE=force ICE-lite=forward rtcp-mux-require {SDES_NO_BUT_80}"


async def _call(lab: Lab, target: Target, tmp_path: Path, name: str) -> DrOutcome:
    out = new_to_teams(lab, target, pcap=tmp_path / f"{name}.pcap")
    return await captured_to_teams_call(out, lab, target)


async def _call_with(flags: str, tmp_path: Path) -> DrOutcome:
    peer = with_define(tmp_path, TEAMS_SIDE_OFFER_FLAGS=flags)
    async with started(peer, tmp_path) as (lab, target):
        return await _call(lab, target, tmp_path, "violating")


ALL_CHECKS = (dc.candidates_ice_lite, dc.checks_answered, dc.no_checks_from_target,
              dc.nominated_pair_carries_media, dc.sdes_offer_format, dc.bypass_offer_attributes,
              dc.audio_both_ways_dr)


@pytest.mark.parametrize("nomination", ["before-200", "after-200"])
async def test_every_dr_check_passes_on_the_default_profile(
    lab: Lab, target: Target, tmp_path: Path, nomination: str,
) -> None:
    out = new_to_teams(lab, target, pcap=tmp_path / "dr.pcap",
                       nomination=nomination)  # type: ignore[arg-type]
    await captured_to_teams_call(out, lab, target)
    for check in ALL_CHECKS:
        assert check(out).verdict is Verdict.OK, check(out)


async def test_a_full_ice_target_fails_lite_and_no_checks(tmp_path: Path) -> None:
    out = await _call_with(f"{BASE} ICE=force rtcp-mux-require {SDES_NO_BUT_80}", tmp_path)
    lite = dc.candidates_ice_lite(out)
    assert lite.verdict is Verdict.FAILED and "no a=ice-lite" in lite.summary
    own = dc.no_checks_from_target(out)
    assert own.verdict is Verdict.FAILED, own
    assert "connectivity check(s) of its own" in own.summary


async def test_offering_every_suite_fails_the_sdes_format(tmp_path: Path) -> None:
    out = await _call_with(f"{BASE} ICE=force ICE-lite=forward rtcp-mux-require", tmp_path)
    found = dc.sdes_offer_format(out)
    assert found.verdict is Verdict.FAILED
    assert "the profile asks for AES_CM_128_HMAC_SHA1_80" in found.summary
    assert dc.candidates_ice_lite(out).verdict is Verdict.OK  # only the suites are wrong


async def test_an_rtcp_candidate_fails_exactly_one_candidate(tmp_path: Path) -> None:
    out = await _call_with(f"{BASE} ICE=force ICE-lite=forward rtcp-mux-offer "
                           f"{SDES_NO_BUT_80}", tmp_path)
    found = dc.candidates_ice_lite(out)
    assert found.verdict is Verdict.FAILED and "2 candidates offered" in found.summary


async def test_no_ice_fails_the_candidate_and_check_requirements(tmp_path: Path) -> None:
    out = await _call_with(f"{BASE} ICE=remove rtcp-mux-require {SDES_NO_BUT_80}", tmp_path)
    assert dc.candidates_ice_lite(out).verdict is Verdict.FAILED
    checks = dc.checks_answered(out)
    assert checks.verdict is Verdict.FAILED and "no connectivity check" in checks.summary
    assert dc.nominated_pair_carries_media(out).verdict is Verdict.FAILED


async def test_no_rtcp_mux_fails_the_bypass_offer(tmp_path: Path) -> None:
    out = await _call_with(f"{BASE} ICE=force ICE-lite=forward {SDES_NO_BUT_80}", tmp_path)
    found = dc.bypass_offer_attributes(out)
    assert found.verdict is Verdict.FAILED and "no a=rtcp-mux" in found.summary
