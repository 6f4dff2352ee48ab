"""The robustness checks pass on the default target (its suite shows that) and FAIL on
copies that get it wrong: a server that stops working after a malformed request, a relay
without strict-source that forwards a stranger's RTP, a relay that keeps a call's ports
after its BYE."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from peer_copies import copy_default_peer, started, with_define

from harness.conformance import Verdict
from harness.conformance import robust_checks as rc
from harness.errors import TargetViolation
from harness.evidence.call import CallOutcome
from harness.evidence.preconditions import RoutingMismatch
from harness.media.modes import MediaMode
from harness.scenarios.captured import captured_call, plan_call
from harness.scenarios.robust import probe_relay, send_torture


async def test_a_server_wedged_by_malformed_sip_fails_rob_1(tmp_path: Path) -> None:
    async with started(with_define(tmp_path, ON_MALFORMED="wedge"), tmp_path) as (
            lab, target):
        sent, answered = await send_torture(lab, target, "unknown methods")
        plan = plan_call(lab, target, MediaMode.PROXY, pcap=tmp_path / "after.pcap")
        seen: list[CallOutcome] = []
        try:
            call = await captured_call(plan, lab, target, on_evidence=seen.append)
        # What the call left behind, and why it ended: the wedged target routes nothing
        # (a RoutingMismatch, which ROB-1 judges: the case FAILS on it).
        except (TargetViolation, RoutingMismatch) as exc:
            call = dataclasses.replace(seen[-1], notes=(*seen[-1].notes, str(exc)))
    found = rc.survives_torture("unknown methods", sent, answered, call)
    assert found.verdict is Verdict.FAILED
    assert "no longer answers OPTIONS" in found.summary
    assert "the next call failed" in found.summary


async def test_a_relay_without_strict_source_fails_rob_2(tmp_path: Path) -> None:
    flags = "replace-origin replace-session-connection ICE=remove DTLS=off"
    async with started(with_define(tmp_path, PROXY_FLAGS=flags), tmp_path) as (lab, target):
        probe = await probe_relay(lab, target, tmp_path, mode=MediaMode.PROXY)
    found = rc.no_media_from_strangers(probe)
    assert found.verdict is Verdict.FAILED and "were relayed" in found.summary, found
    garbage = rc.survives_malformed_media(probe)
    assert garbage.verdict is Verdict.FAILED and "were relayed" in garbage.summary, garbage
    assert rc.no_media_after_bye(probe).verdict is Verdict.OK


async def test_the_silent_side_probe_fails_on_the_default_relay_and_passes_without_learning(
        tmp_path: Path) -> None:
    # The default target re-learns a silent side's address from a stranger's first packet
    # (its declared deviation); with endpoint learning off it takes nothing from strangers.
    async with started(copy_default_peer(tmp_path / "a"), tmp_path / "a") as (lab, target):
        hijacked = await probe_relay(lab, target, tmp_path, silent_side=True)
    garbage = rc.survives_malformed_media(hijacked)
    assert garbage.verdict is Verdict.FAILED, garbage
    assert "were relayed" in garbage.summary and "stopped reaching the callee" in \
        garbage.summary, garbage
    peer = copy_default_peer(tmp_path / "b")
    toml = peer / "target.toml"
    toml.write_text(toml.read_text().replace(
        '"--delete-delay=0",', '"--delete-delay=0", "--endpoint-learning=off",'))
    async with started(peer, tmp_path / "b") as (lab, target):
        strict = await probe_relay(lab, target, tmp_path, silent_side=True)
    assert rc.survives_malformed_media(strict).verdict is Verdict.OK
    assert rc.no_media_from_strangers(strict).verdict is Verdict.OK


async def test_a_relay_that_keeps_ended_calls_fails_rob_3(tmp_path: Path) -> None:
    # Kamailio no longer tells rtpengine to delete the session on BYE.
    peer = copy_default_peer(tmp_path)
    cfg = peer / "kamailio.cfg"
    text = cfg.read_text()
    bye = '\tif (is_method("BYE")) {\n\t\troute(MEDIA_DELETE);\n'
    assert bye in text
    cfg.write_text(text.replace(bye, '\tif (is_method("BYE")) {\n\t\txlog("L_INFO", "kept");\n'))
    async with started(peer, tmp_path) as (lab, target):
        probe = await probe_relay(lab, target, tmp_path, mode=MediaMode.PROXY)
    found = rc.no_media_after_bye(probe)
    assert found.verdict is Verdict.FAILED and "still forwarded" in found.summary, found
