"""Each forking check FAILS through the fault-injecting shim with its matching fault, and
passes through the same shim without it (Fault.NONE), against the real target."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.conformance import Verdict
from harness.conformance import fork_checks as fc
from harness.evidence.fork import ForkOutcome, ForkPlan
from harness.faults.shim import Fault, SipShim
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.scenarios.captured import captured_fork, plan_fork
from harness.targets.base import Target


def _plan(lab: Lab, target: Target, tmp_path: Path, name: str, *,
          dial: dict[int, str] | None = None) -> ForkPlan:
    return plan_fork(lab, target, MediaMode.BYPASS, early_media_s=0.4, dial=dial,
                     pcap=tmp_path / f"{name}.pcap")


async def _through_caller_side_shim(
    lab: Lab, target: Target, tmp_path: Path, fault: Fault
) -> tuple[ForkOutcome, int]:
    async with SipShim(lab, downstream=target.sip_address, fault=fault) as shim:
        out = await captured_fork(_plan(lab, target, tmp_path, fault.name), lab, target,
                                  via=shim.address)
        return out, shim.fired


@pytest.mark.parametrize("fault", [Fault.DROP_18X, Fault.REUSE_TO_TAG])
async def test_fork_dialog_check_fails_when_an_early_dialog_is_lost_or_merged(
    lab: Lab, target: Target, tmp_path: Path, fault: Fault
) -> None:
    clean, fired = await _through_caller_side_shim(lab, target, tmp_path, Fault.NONE)
    assert fired == 0 and fc.early_dialogs_distinct(clean).verdict is Verdict.OK
    out, fired = await _through_caller_side_shim(lab, target, tmp_path, fault)
    assert fired >= 1
    found = fc.early_dialogs_distinct(out)
    assert found.verdict is Verdict.FAILED
    assert "never reached the caller as an early dialog" in found.summary


async def test_fork_cancel_check_fails_when_a_cancel_is_swallowed(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    """The shim sits between the target and callee3; it eats the target's CANCEL."""
    callee3 = (lab.address("callee3"), 5060)
    for fault, expected in ((Fault.NONE, Verdict.OK), (Fault.SWALLOW_CANCEL, Verdict.FAILED)):
        async with SipShim(lab, downstream=callee3, fault=fault) as shim:
            dial = {2: f"{shim.address[0]}:{shim.address[1]}"}  # branch 3 is callee3
            out = await captured_fork(
                _plan(lab, target, tmp_path, f"cancel-{fault.name}", dial=dial), lab, target)
        found = fc.others_ended(out)
        assert found.verdict is expected, found
        if expected is Verdict.FAILED:
            assert shim.fired >= 1
            assert "callee3 did not answer and was never sent CANCEL or BYE" in found.summary


async def test_early_media_check_fails_when_early_media_is_redirected(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    """Bypass mode passes on its own; with the 2nd and 3rd 183s pointing at the 1st branch's
    address, the caller is told media comes from one place and gets it from another."""
    clean, _ = await _through_caller_side_shim(lab, target, tmp_path, Fault.NONE)
    assert fc.early_media_separated(clean).verdict is Verdict.OK
    out, fired = await _through_caller_side_shim(lab, target, tmp_path,
                                                 Fault.REDIRECT_EARLY_MEDIA)
    assert fired == 2
    found = fc.early_media_separated(out)
    assert found.verdict is Verdict.FAILED
    assert "CROSSOVER" in found.summary


async def test_declared_early_dialogs_check_fails_when_one_183_is_lost(
    lab: Lab, target: Target, tmp_path: Path
) -> None:
    n = 4

    def forks(count: int, name: str) -> ForkPlan:
        return plan_fork(lab, target, MediaMode.PROXY, callees=count, early_media_s=0.3,
                         streaming=(), pcap=tmp_path / f"{name}.pcap")

    beyond = await captured_fork(forks(n + 1, "beyond"), lab, target, check_alive=True)
    assert beyond.target_alive_after is True
    declared = await captured_fork(forks(n, "clean"), lab, target)
    assert fc.declared_early_dialogs(declared, beyond).verdict is Verdict.OK
    async with SipShim(lab, downstream=target.sip_address, fault=Fault.DROP_18X) as shim:
        lossy = await captured_fork(forks(n, "lossy"), lab, target, via=shim.address)
    found = fc.declared_early_dialogs(lossy, beyond)
    assert found.verdict is Verdict.FAILED
    assert f"with the {n} forks it declares" in found.summary
    died = dataclasses.replace(beyond, target_alive_after=False)  # as if after N+1 forks
    assert "no longer answers OPTIONS" in fc.declared_early_dialogs(declared, died).summary
