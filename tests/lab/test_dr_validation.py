"""The Teams Direct Routing checks pass on the default target's profile and FAIL on copies of
it configured the ways a real SBC gets it wrong: not ICE-Lite (it sends checks of its own),
several crypto suites offered, an RTCP candidate besides the RTP one, no ICE at all, no
rtcp-mux; and, for what no configuration breaks, through the fault-injecting shim: new ICE
credentials or a new crypto key in the 200, m=video dropped from the answer."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from peer_copies import SDES_NO_BUT_80, started, with_define
from typing_extensions import Unpack

from harness.conformance import Verdict
from harness.conformance import dr_checks as dc
from harness.conformance.findings import Finding
from harness.evidence.teams import DrOutcome
from harness.faults.media_relay import MediaRelay, RelayFault
from harness.faults.shim import Fault, SipShim
from harness.lab import Lab
from harness.scenarios.teams import captured_to_teams_call, plan_teams_call
from harness.scenarios.teams.parties import DrKnobs
from harness.targets.base import Target

BASE = "replace-origin replace-session-connection RTP/SAVP DTLS=off"
GOOD = f"{BASE} ICE=force ICE-lite=forward rtcp-mux-require {SDES_NO_BUT_80}"


async def _call(lab: Lab, target: Target, tmp_path: Path, name: str) -> DrOutcome:
    out = plan_teams_call(lab, target, pcap=tmp_path / f"{name}.pcap")
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
    out = await captured_to_teams_call(
        plan_teams_call(lab, target, pcap=tmp_path / "dr.pcap",
                        nomination=nomination),  # type: ignore[arg-type]
        lab, target)
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


# --------------------------------------------------------------------------- from Teams, shim


async def _from_teams_via(lab: Lab, target: Target, tmp_path: Path, fault: Fault
                          ) -> tuple[DrOutcome, int]:
    """The call from Teams (with a re-INVITE after media) with the shim between the Teams
    caller and the target, on its in-dialog path too."""
    async with SipShim(lab, downstream=target.sip_address, fault=fault, in_dialog=True) as shim:
        out = await captured_to_teams_call(
            plan_teams_call(lab, target, pcap=tmp_path / f"{fault.value}.pcap",
                            direction="from-teams", video=True, reinvite=True),
            lab, target, via=shim.address)
        return out, shim.fired


OUT_CHECKS = (dc.ice_stable_183_to_200, dc.no_checks_needed_after_200,
              dc.one_offered_suite_answered, dc.non_audio_rejected, dc.checks_answered,
              dc.no_checks_from_target, dc.reinvite_without_restart)


async def test_from_teams_checks_pass_through_a_faultless_shim(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    out, fired = await _from_teams_via(lab, target, tmp_path, Fault.NONE)
    assert fired == 0
    for check in OUT_CHECKS:
        assert check(out).verdict is Verdict.OK, check(out)


async def test_new_ice_credentials_in_the_200_fail_dr_ice_7_and_8(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    out, fired = await _from_teams_via(lab, target, tmp_path, Fault.NEW_ICE_CREDENTIALS_IN_200)
    assert fired >= 1  # the first 200 (and the re-INVITE's)
    found = dc.ice_stable_183_to_200(out)
    assert found.verdict is Verdict.FAILED and "changed from the 183 to the 200" in found.summary
    again = dc.no_checks_needed_after_200(out)
    assert again.verdict is Verdict.FAILED and "would have to check again" in again.summary


async def test_a_dropped_video_line_fails_dr_sdp_1(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    out, fired = await _from_teams_via(lab, target, tmp_path, Fault.DROP_NON_AUDIO_MEDIA)
    assert fired >= 1
    found = dc.non_audio_rejected(out)
    assert found.verdict is Verdict.FAILED and "2 m-lines offered, 1 answered" in found.summary


async def test_a_new_key_in_the_200_fails_dr_srtp_3(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    out, fired = await _from_teams_via(lab, target, tmp_path, Fault.NEW_CRYPTO_KEY_IN_200)
    assert fired >= 1  # the first 200 (and the re-INVITE's)
    found = dc.one_offered_suite_answered(out)
    assert found.verdict is Verdict.FAILED
    assert "did not decrypt with the answered key" in found.summary


async def test_an_ice_restart_in_the_reinvite_answer_fails_dr_reinv_1(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    out, fired = await _from_teams_via(lab, target, tmp_path,
                                       Fault.NEW_ICE_CREDENTIALS_IN_REINVITE_ANSWER)
    assert fired == 1
    assert dc.ice_stable_183_to_200(out).verdict is Verdict.OK  # only the re-INVITE's answer
    found = dc.reinvite_without_restart(out)
    assert found.verdict is Verdict.FAILED and "ICE restart" in found.summary


async def _to_teams_callee_side(
    lab: Lab, target: Target, tmp_path: Path, fault: Fault,
    relay_fault: RelayFault | None = None, **knobs: Unpack[DrKnobs],
) -> tuple[DrOutcome, int]:
    """The call toward Teams with the shim between the target and the Teams callee: the
    target dials the shim, which relays to callee1 and carries the Teams answer back.
    With `relay_fault` the shim (RELAY_MEDIA) also puts a `MediaRelay` in the media path.
    Returns the outcome and how many times the fault (of the relay, if any) fired."""
    async with AsyncExitStack() as stack:
        shim = await stack.enter_async_context(SipShim(
            lab, downstream=(lab.address("callee1"), 5060),
            fault=Fault.RELAY_MEDIA if relay_fault is not None else fault))
        relay = None
        if relay_fault is not None:
            relay = await stack.enter_async_context(
                MediaRelay(lab, shim.state, fault=relay_fault))
        plan = plan_teams_call(lab, target, pcap=tmp_path / f"{fault.value}.pcap", **knobs)
        dial = target.loaded.spec.teams_direct_routing
        assert dial is not None
        plan = dataclasses.replace(plan, request_uri=dial.to_teams.request_uri.format(
            callee_address=shim.address[0], callee_port=shim.address[1]))
        out = await captured_to_teams_call(plan, lab, target)
        return out, (relay.fired if relay is not None else shim.fired)


@pytest.mark.parametrize(("fault", "verdict"), [(Fault.NONE, Verdict.OK),
                                                (Fault.STRIP_MKI, Verdict.FAILED)])
async def test_a_target_deaf_to_the_mki_fails_dr_srtp_2(
    lab: Lab, target: Target, tmp_path: Path, fault: Fault, verdict: Verdict,
) -> None:
    # With the MKI taken out of the answer the target reads it as a key without MKI, as a
    # target that ignores MKI would: the Teams side's packets no longer authenticate.
    out, fired = await _to_teams_callee_side(lab, target, tmp_path, fault,
                                             several_crypto=True)
    assert fired == (0 if fault is Fault.NONE else 2)  # the 183 and the 200
    found = dc.several_crypto_lines_accepted(out)
    assert found.verdict is verdict, found
    if verdict is Verdict.FAILED:
        assert "the PSTN side did not hear the other side's 1300 Hz tone" in found.summary


# --------------------------------------------------------------------------- media relay


STUN_AND_PATH_CHECKS = (dc.unknown_attribute_ignored, dc.malformed_stun_discarded,
                        dc.nominated_pair_carries_media, dc.checks_answered)


async def test_stun_and_path_checks_pass_through_a_faultless_media_relay(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    out, fired = await _to_teams_callee_side(lab, target, tmp_path, Fault.RELAY_MEDIA,
                                             RelayFault.NONE, stun_probes=True)
    assert fired == 0
    for check in STUN_AND_PATH_CHECKS:
        assert check(out).verdict is Verdict.OK, check(out)


@pytest.mark.parametrize(("relay_fault", "check", "summary"), [
    (RelayFault.DROP_ANSWER_TO_UNKNOWN_ATTRIBUTE, dc.unknown_attribute_ignored,
     "the check with an unknown optional attribute was not answered properly: no response"),
    (RelayFault.ANSWER_MALFORMED, dc.malformed_stun_discarded,
     "the target answered the check with a wrong MESSAGE-INTEGRITY with a success response"),
    (RelayFault.MEDIA_FROM_ANOTHER_PORT, dc.nominated_pair_carries_media,
     "not only from the nominated"),
])
async def test_a_relay_fault_fails_its_stun_or_path_check(
    lab: Lab, target: Target, tmp_path: Path, relay_fault: RelayFault,
    check: Callable[[DrOutcome], Finding], summary: str,
) -> None:
    out, fired = await _to_teams_callee_side(lab, target, tmp_path, Fault.RELAY_MEDIA,
                                             relay_fault, stun_probes=True)
    assert fired >= 1
    found = check(out)
    assert found.verdict is Verdict.FAILED and summary in found.summary, found
    # The STUN faults leave the call's media alone (DR-STUN-2 also judges that media).
    if relay_fault is not RelayFault.MEDIA_FROM_ANOTHER_PORT:
        assert dc.nominated_pair_carries_media(out).verdict is Verdict.OK


# --------------------------------------------------------------------------- early media paths


async def _early_paths(tmp_path: Path, **defines: str) -> DrOutcome:
    async with started(with_define(tmp_path, **defines), tmp_path) as (lab, target):
        out = plan_teams_call(lab, target, pcap=tmp_path / "paths.pcap", early_paths=True)
        return await captured_to_teams_call(out, lab, target)


async def test_early_media_paths_on_the_default_profile(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    """rtpengine 10.5 as ICE-Lite sends early media to the offer's default candidate before
    nomination (DR-EM-2 fails: its known deviation), then moves to the nominated one."""
    out = await captured_to_teams_call(
        plan_teams_call(lab, target, pcap=tmp_path / "paths.pcap", early_paths=True),
        lab, target)
    em2 = dc.early_media_on_highest_priority(out)
    assert em2.verdict is Verdict.FAILED, em2
    assert "to a lower-priority candidate (15 to the default)" in em2.summary
    em4 = dc.early_media_follows_nomination(out)
    assert em4.verdict is Verdict.OK and "(it moved there)" in em4.summary, em4


async def test_a_full_ice_target_meets_dr_em_2_but_sends_checks(tmp_path: Path) -> None:
    # Without ICE-lite=backward rtpengine is a full agent toward Teams: it picks the
    # highest-priority candidate (DR-EM-2 passes on a real target) but checks on its own.
    out = await _early_paths(tmp_path, PSTN_SIDE_OFFER_FLAGS="replace-origin "
                             "replace-session-connection ICE=remove RTP/AVP rtcp-mux-demux")
    assert dc.early_media_on_highest_priority(out).verdict is Verdict.OK
    assert dc.early_media_follows_nomination(out).verdict is Verdict.OK
    assert dc.no_checks_from_target(out).verdict is Verdict.FAILED


async def test_a_target_without_ice_toward_teams_fails_both_early_media_paths(
    tmp_path: Path,
) -> None:
    out = await _early_paths(tmp_path, TEAMS_SIDE_ANSWER_FLAGS="replace-origin "
                             "replace-session-connection DTLS=off ICE=remove")
    assert dc.early_media_on_highest_priority(out).verdict is Verdict.FAILED
    found = dc.early_media_follows_nomination(out)
    assert found.verdict is Verdict.FAILED and "no nomination succeeded" in found.summary


async def test_early_dtmf_fails_when_the_target_strips_telephone_event(tmp_path: Path) -> None:
    peer = with_define(tmp_path, TEAMS_SIDE_OFFER_FLAGS=f"{GOOD} codec-strip=telephone-event")
    async with started(peer, tmp_path) as (lab, target):
        out = await captured_to_teams_call(
            plan_teams_call(lab, target, pcap=tmp_path / "dtmf.pcap", early_dtmf="159#"),
            lab, target)
    found = dc.early_dtmf_to_teams(out)
    assert found.verdict is Verdict.FAILED
    assert "telephone-event" in found.summary, found


async def test_forked_checks_find_rtpengines_deviations(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    """Against two forked Teams devices rtpengine 10.5 breaks three ways, each caught: the
    first packet after the 200 reaches the device that did not answer; when the second
    device answers no media flows at all; and it sends Binding requests of its own."""
    first = await captured_to_teams_call(
        plan_teams_call(lab, target, pcap=tmp_path / "first.pcap", devices=2),
        lab, target)
    found = dc.forked_devices_converge(first)
    assert found.verdict is Verdict.FAILED
    assert "went to callee2, which did not answer, after the 200" in found.summary
    second = await captured_to_teams_call(
        plan_teams_call(lab, target, pcap=tmp_path / "second.pcap", devices=2,
                     answering_device=1), lab, target)
    found = dc.forked_devices_converge(second)
    assert found.verdict is Verdict.FAILED
    assert "the answering device callee2 received 0 media packet(s)" in found.summary
    own = dc.no_checks_from_target(second)
    assert own.verdict is Verdict.FAILED and "198.18.0.22" in "\n".join(own.evidence)
    # Each device's checks were answered all the same (what DR-ICE-6 asks first).
    assert all(c.succeeded for d in second.devices for c in d.checks)


async def test_forked_early_media_latching_fails_on_rtpengine(
    lab: Lab, target: Target, tmp_path: Path,
) -> None:
    """rtpengine 10.5 forwards no early media between the PSTN side and two forked Teams
    devices before they nominate (its known deviation of DR-EM-1), although the device
    streamed and the PSTN side sent toward the target's 183, as the capture shows."""
    out = await captured_to_teams_call(
        plan_teams_call(lab, target, pcap=tmp_path / "latch.pcap", devices=2,
                     early_media_device=1), lab, target)
    found = dc.early_media_latches(out)
    assert found.verdict is Verdict.FAILED
    assert "sent none of the PSTN side's early media to callee2" in found.summary
    assert "callee2 streamed 15 early-media packet(s)" in found.evidence[0]
    lo, hi = out.marks["early media"], out.marks["early media ended"]
    assert sum(1 for r in out.pstn_rtp if r.direction == "sent" and lo <= r.time < hi) == 15
