"""The bypass-policy checks pass on the default target and FAIL on copies of it configured
the ways a real mediation server or SBC gets it wrong: the bypass ID compared with the
wrong site's, Always Bypass ignored or applied to every client, external clients not
detected, a=x-bypassid left out of the answers, the callee's bypass_media flag ignored,
a 488 turned into a fallback that rings into silence, media relayed without latching."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from peer_copies import started, with_define

from harness.conformance import Verdict
from harness.conformance import policy_checks as pc
from harness.conformance.findings import Finding
from harness.conformance.media_checks import audio_both_ways
from harness.evidence.call import CallOutcome, Side
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.scenarios.cac import cac_scenario
from harness.scenarios.captured import captured_call, plan_call
from harness.scenarios.sfb import plan_sfb_call
from harness.sdp import PCMA, PCMU
from harness.targets.base import Target


async def _sfb(lab: Lab, target: Target, tmp_path: Path, client: str, gateway: str,
               id_of: str | None, *, always: bool = False, inbound: bool = False,
               ) -> CallOutcome:
    out = plan_sfb_call(lab, target, client=client, gateway=gateway, id_of=id_of,
                          pcap=tmp_path / f"{client}-{gateway}.pcap", always=always,
                          inbound=inbound)
    return await captured_call(out, lab, target)


@pytest.mark.parametrize("inbound", [False, True])
async def test_comparing_with_the_main_sites_id_fails_sfb_1(tmp_path: Path,
                                                            inbound: bool) -> None:
    async with started(with_define(tmp_path, SFB_COMPARE="main"), tmp_path) as (lab, target):
        local = await _sfb(lab, target, tmp_path, "branch1", "branch2", "branch",
                           inbound=inbound)
        across = await _sfb(lab, target, tmp_path, "caller", "branch2", "main",
                            inbound=inbound)
    found = pc.media_decision(local, bypass=True, why="same branch ID")
    assert found.verdict is Verdict.FAILED and "the wire shows PROXY" in found.summary
    found = pc.media_decision(across, bypass=False, why="IDs differ")
    assert found.verdict is Verdict.FAILED and "the wire shows BYPASS" in found.summary


@pytest.mark.parametrize(("setting", "client", "id_of", "check", "summary"), [
    ("off", "branch1", "branch",
     lambda o: pc.media_decision(o, bypass=True, why="Always Bypass"),
     "the wire shows PROXY"),
    ("all-clients", "caller", None,
     lambda o: pc.media_decision(o, bypass=False, why="unsupported client"),
     "the wire shows BYPASS"),
])
async def test_always_bypass_misapplied_fails(
    tmp_path: Path, setting: str, client: str, id_of: str | None,
    check: Callable[[CallOutcome], Finding], summary: str,
) -> None:
    async with started(with_define(tmp_path, SFB_ALWAYS_BYPASS=setting), tmp_path) as (
            lab, target):
        out = await _sfb(lab, target, tmp_path, client, "callee1", id_of, always=True)
    found = check(out)
    assert found.verdict is Verdict.FAILED and summary in found.summary, found


async def test_external_clients_taken_for_internal_fail_sfb_8(tmp_path: Path) -> None:
    async with started(with_define(tmp_path, SFB_CHECK_EXTERNAL="no"), tmp_path) as (
            lab, target):
        out = await _sfb(lab, target, tmp_path, "natted", "callee1", "main")
    found = pc.media_decision(out, bypass=False, why="external client")
    assert found.verdict is Verdict.FAILED and "the wire shows" in found.summary


async def test_answers_without_the_bypass_id_fail_sfb_3(tmp_path: Path) -> None:
    async with started(with_define(tmp_path, SFB_MARK_ANSWERS="no"), tmp_path) as (
            lab, target):
        out = await _sfb(lab, target, tmp_path, "caller", "callee1", "main")
    found = pc.bypass_id_carried(out, target.loaded.spec.skype_for_business.bypass_ids["main"])  # type: ignore[union-attr]
    assert found.verdict is Verdict.FAILED
    assert "183 (at caller) has no a=x-bypassid" in found.summary
    assert "200 (at caller) has no a=x-bypassid" in found.summary
    assert "INVITE" not in found.summary  # the client's own ID still reaches the gateway


async def test_transcoded_media_fails_sfb_6(lab: Lab, target: Target, tmp_path: Path) -> None:
    # The default target's anchored mode offers PCMA to a caller that offered PCMU only:
    # rtpengine transcodes, so what arrives is not what was sent.
    out = await captured_call(plan_call(lab, target, MediaMode.ANCHORED,
                                        pcap=tmp_path / "anchored.pcap",
                                        caller=Side(codecs=(PCMU,))), lab, target)
    found = pc.g711_untouched(out)
    assert found.verdict is Verdict.FAILED and "changed on the way" in found.summary, found


async def _kazoo(lab: Lab, target: Target, tmp_path: Path, user: str,
                 final_timeout: float | None = None, **sides: Side) -> CallOutcome:
    profile = target.loaded.spec.kazoo
    assert profile is not None
    out = plan_call(lab, target, MediaMode.BYPASS, pcap=tmp_path / f"{user}.pcap",
                      request_uri=profile.request_uri.format(
                          callee=user, callee_address=lab.address("callee1"),
                          callee_port=5060), final_timeout=final_timeout,
                      **sides)  # type: ignore[arg-type]
    return await captured_call(out, lab, target)


async def test_an_ignored_bypass_media_flag_fails_kz_1(tmp_path: Path) -> None:
    async with started(with_define(tmp_path, KZ_BYPASS_MEDIA="^$"), tmp_path) as (lab, target):
        out = await _kazoo(lab, target, tmp_path, "alice")
    found = pc.media_decision(out, bypass=True, why="alice: bypass_media true")
    assert found.verdict is Verdict.FAILED and "the wire shows" in found.summary


async def test_a_488_turned_into_a_ringing_fallback_fails_kz_2(tmp_path: Path) -> None:
    async with started(with_define(tmp_path, KZ_ON_488="fallback"), tmp_path) as (
            lab, target):
        out = await _kazoo(lab, target, tmp_path, "alice", caller=Side(codecs=(PCMU,)),
                           callee=Side(codecs=(PCMA,)), final_timeout=3.0)
    found = pc.clean_failure_without_common_codec(out)
    assert found.verdict is Verdict.FAILED, found


async def test_relaying_without_latching_fails_mm_nat_1(tmp_path: Path) -> None:
    flags = "replace-origin replace-session-connection ICE=remove DTLS=off asymmetric"
    async with started(with_define(tmp_path, PROXY_FLAGS=flags), tmp_path) as (lab, target):
        out = await captured_call(plan_call(lab, target, MediaMode.PROXY,
                                            pcap=tmp_path / "nat.pcap", callee_host="natted"),
                                  lab, target)
    found = pc.nat_audio(out)
    assert found.verdict is Verdict.FAILED and "ONE-WAY" in found.summary, found
    assert "caller -> natted" in found.summary


@pytest.mark.parametrize(("defines", "summary"), [
    ({"SFB_CAC_COUNTS": "all"}, "bypassed calls were counted"),
    ({"SFB_CAC_KBIT": "10000"}, "call 3 across the full WAN link was accepted"),
])
async def test_cac_misconfigurations_fail_sfb_7(
    tmp_path: Path, defines: dict[str, str], summary: str,
) -> None:
    async with started(with_define(tmp_path, **defines), tmp_path) as (lab, target):
        out = await cac_scenario(lab, target, tmp_path / "cac.pcap")
    found = pc.admission_control(out)
    assert found.verdict is Verdict.FAILED and summary in found.summary, found


async def test_a_peer_that_takes_media_only_from_the_signalling_host_fails_sfb_4(
    tmp_path: Path,
) -> None:
    # rtpengine sending to, and accepting from, only the SIP source (the mediation server).
    flags = ("replace-origin replace-session-connection ICE=remove DTLS=off "
             "SIP-source-address asymmetric strict-source")
    async with started(with_define(tmp_path, PROXY_FLAGS=flags), tmp_path) as (lab, target):
        out = await captured_call(plan_call(lab, target, MediaMode.PROXY,
                                            pcap=tmp_path / "peer.pcap", caller_host="medsrv",
                                            caller_media_host="caller"), lab, target)
    found = audio_both_ways(out)
    assert found.verdict is Verdict.FAILED
    assert "caller heard nothing" in found.summary and "callee1 heard nothing" in found.summary


async def test_an_inbound_offer_without_the_gateways_id_fails_sfb_3(tmp_path: Path) -> None:
    async with started(with_define(tmp_path, SFB_MARK_ANSWERS="no"), tmp_path) as (
            lab, target):
        out = await _sfb(lab, target, tmp_path, "branch1", "branch2", "branch", inbound=True)
    branch = target.loaded.spec.skype_for_business.bypass_ids["branch"]  # type: ignore[union-attr]
    found = pc.bypass_id_carried(out, branch, branch)
    assert found.verdict is Verdict.FAILED
    assert "INVITE (at branch1) has no a=x-bypassid" in found.summary
