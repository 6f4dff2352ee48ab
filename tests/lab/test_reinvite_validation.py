"""Each re-INVITE check FAILS when the target answers a re-INVITE with the old SDP (the shim's
OLD_SDP_IN_REINVITE_ANSWER fault, in the caller's in-dialog path) and passes through the same
shim without the fault, in every media mode, against the real target. MM-BYPASS-3 also
fails on a call the target relays.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.conformance import Verdict
from harness.conformance import reinvite_checks as rc
from harness.evidence.call import CallOutcome, Reinvite
from harness.faults.shim import Fault, SipShim, captured_call_via_shim
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.scenarios.captured import plan_call
from harness.sip import parse_message
from harness.targets.base import Target

EVERY_STEP = tuple(Reinvite)
CHECKS = (rc.hold_resume, rc.media_changed, rc.offerless_reinvite)


async def _call(
    lab: Lab, target: Target, mode: MediaMode, fault: Fault, pcap: Path
) -> tuple[CallOutcome, SipShim]:
    plan = plan_call(lab, target, mode, pcap=pcap, reinvites=EVERY_STEP)
    async with SipShim(lab, downstream=target.sip_address, fault=fault, in_dialog=True) as shim:
        out = await captured_call_via_shim(plan, lab, target, shim)
    return out, shim


@pytest.mark.parametrize("mode", list(MediaMode), ids=lambda m: m.value)
async def test_reinvite_checks_fail_on_an_old_sdp_answer(
    lab: Lab, target: Target, tmp_path: Path, mode: MediaMode
) -> None:
    clean, shim = await _call(lab, target, mode, Fault.NONE, tmp_path / "clean.pcap")
    assert shim.fired == 0
    # In-dialog mode really put the shim on the caller's path: every re-INVITE and the BYE
    # crossed it, with the shim's own Route entry taken off on the way to the target.
    relayed = [r for r in shim.log if r.direction == "downstream"]
    assert sum(r.first_line.startswith("INVITE ") for r in relayed) == 1 + len(EVERY_STEP)
    assert any(r.first_line.startswith("BYE ") for r in relayed)
    for check in CHECKS:
        assert check(clean).verdict is Verdict.OK, check(clean)

    broken, shim = await _call(lab, target, mode, Fault.OLD_SDP_IN_REINVITE_ANSWER,
                               tmp_path / "broken.pcap")
    assert shim.fired == len(EVERY_STEP)  # every 2xx to a re-INVITE got the old SDP
    for check in CHECKS:
        found = check(broken)
        assert found.verdict is Verdict.FAILED, found
    hold = rc.hold_resume(broken)
    assert "[hold] answer callee -> caller: direction recvonly arrived as sendrecv" \
        in hold.summary
    change = rc.media_changed(broken)
    assert "[codec] the caller re-offered" in change.summary


async def test_bypass_reinvite_check_fails_on_old_sdp_and_on_a_relayed_call(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    clean, _ = await _call(lab, target, MediaMode.BYPASS, Fault.NONE, tmp_path / "clean.pcap")
    assert rc.bypass_reinvite(clean).verdict is Verdict.OK, rc.bypass_reinvite(clean)
    broken, _ = await _call(lab, target, MediaMode.BYPASS, Fault.OLD_SDP_IN_REINVITE_ANSWER,
                            tmp_path / "broken.pcap")
    found = rc.bypass_reinvite(broken)
    assert found.verdict is Verdict.FAILED
    assert "answer callee -> caller: media address" in found.summary
    relayed, _ = await _call(lab, target, MediaMode.PROXY, Fault.NONE, tmp_path / "proxy.pcap")
    found = rc.bypass_reinvite(relayed)
    assert found.verdict is Verdict.FAILED
    assert "media flow(s) to or from the target" in found.summary


async def test_the_callee_sees_the_shim_only_through_the_target(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    """The shim's Record-Route goes to the caller only: the callee's route set and the
    requests it receives name the target alone."""
    out, shim = await _call(lab, target, MediaMode.PROXY, Fault.NONE, tmp_path / "c.pcap")
    to_callee = [parse_message(r.data) for r in out.sip
                 if r.agent == out.callee and r.direction == "received"]
    shim_host = shim.address[0]
    assert to_callee
    for message in to_callee:
        routing = message.headers.get_all("Route") + message.headers.get_all("Record-Route")
        assert not any(shim_host in value for value in routing), bytes(message)
