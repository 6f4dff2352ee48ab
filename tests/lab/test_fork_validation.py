"""The forking checks can fail: against the real target where it really misbehaves
(rtpengine's early media in relay mode) and against a copy that does not fork."""

from __future__ import annotations

import re
from pathlib import Path

from peer_copies import OLD_ANCHOR_OFFER_FLAGS, copy_default_peer, started, with_define

from harness.conformance import Verdict
from harness.conformance import fork_checks as fc
from harness.media.modes import MediaMode
from harness.pytest_plugin.calls import ForkCall
from harness.scenarios.captured import captured_fork, plan_fork


async def test_early_media_check_passes_in_bypass_and_finds_rtpengine_crossovers(
    fork_call: ForkCall,
) -> None:
    bypass = await fork_call(MediaMode.BYPASS)
    assert fc.early_media_separated(bypass).verdict is Verdict.OK
    assert fc.early_dialogs_distinct(bypass).verdict is Verdict.OK
    assert fc.others_ended(bypass).verdict is Verdict.OK
    out = await fork_call(MediaMode.PROXY)
    relayed = fc.early_media_separated(out)
    assert relayed.verdict is Verdict.FAILED
    # rtpengine sends every branch's early media to the caller from the port of the branch
    # whose 183 came last, so at least two callees' media arrive from a port not theirs ...
    assert relayed.summary.count("CROSSOVER") >= 2
    assert "early packets reached the caller from" in relayed.summary
    # ... and the caller's early media goes to one of the other branches: rtpengine's last
    # (which 183 it handled last varies run to run, and Kamailio's worker processes may
    # relay the 183s in another order than rtpengine saw them, so which one is not fixed).
    # When that last one is callee1 itself, its dialog's early media arrives as it should.
    crossed = re.search(r"early packets for callee1's dialog reached callee[23]",
                        relayed.summary)
    assert crossed or "for callee1's dialog never reached" not in relayed.summary, relayed


async def test_fork_checks_fail_against_a_target_that_does_not_fork(tmp_path: Path) -> None:
    peer = copy_default_peer(tmp_path)
    cfg = peer / "kamailio.cfg"
    cfg.write_text(cfg.read_text().replace("\troute(FORK);\n", "", 1))
    async with started(peer, tmp_path) as (lab, target):
        out = await captured_fork(plan_fork(lab, target, MediaMode.BYPASS, early_media_s=0.3,
                                            pcap=tmp_path / "fork.pcap"), lab, target)
    dialogs = fc.early_dialogs_distinct(out)
    assert dialogs.verdict is Verdict.FAILED
    assert "callee2 never got the INVITE" in dialogs.summary
    ended = fc.others_ended(out)
    assert ended.verdict is Verdict.FAILED
    assert "callee3 did not answer and was never sent CANCEL or BYE" in ended.summary


async def test_early_dtmf_check_fails_when_the_target_masks_telephone_event(
    fork_call: ForkCall, tmp_path: Path
) -> None:
    """Passes on the default target; fails on the first anchored profile, whose codec mask
    hid telephone-event from the callee (D12), now in the early dialog."""
    good = fc.early_dtmf_delivered(await fork_call(MediaMode.ANCHORED, callees=1,
                                                   early_media_s=0.3, dtmf="159#"))
    assert good.verdict is Verdict.OK, good
    assert "4 DTMF event(s)" in good.summary
    peer = with_define(tmp_path, ANCHOR_OFFER_FLAGS=OLD_ANCHOR_OFFER_FLAGS)
    async with started(peer, tmp_path) as (lab, target):
        out = await captured_fork(plan_fork(lab, target, MediaMode.ANCHORED, callees=1,
                                            early_media_s=0.3, dtmf="159#",
                                            pcap=tmp_path / "early-dtmf.pcap"), lab, target)
    found = fc.early_dtmf_delivered(out)
    assert found.verdict is Verdict.FAILED
    assert "negotiated no telephone-event" in found.summary


async def test_forked_srtp_checks_pass_in_bypass_and_find_rtpengines_shared_key(
    fork_call: ForkCall,
) -> None:
    """Bypass keeps every branch's key; rtpengine in proxy mode hands every early dialog
    the same branch's a=crypto, so the other branches' media does not decrypt."""
    bypass = await fork_call(MediaMode.BYPASS, srtp=True, early_media_s=0.4)
    for check in (fc.fork_crypto_unchanged, fc.early_dialogs_distinct, fc.early_media_separated):
        assert check(bypass).verdict is Verdict.OK, check(bypass)
    proxy = await fork_call(MediaMode.PROXY, srtp=True, early_media_s=0.4)
    keys = fc.fork_crypto_unchanged(proxy)
    assert keys.verdict is Verdict.FAILED
    assert "'s key instead" in keys.summary
    dialogs = fc.early_dialogs_distinct(proxy)
    assert dialogs.verdict is Verdict.FAILED
    assert "SRTP key(s) shared by several early dialogs" in dialogs.summary
    early = fc.early_media_separated(proxy)
    assert early.verdict is Verdict.FAILED
    assert "did not decrypt with the SRTP key of the dialog" in early.summary
