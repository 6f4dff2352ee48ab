"""Every media-mode check can fail: each is run against the real target in a mode
(configuration) that violates it and must FAIL, and in the mode it judges and must pass.

The target is the default one (Kamailio + rtpengine); the mode of each call is
chosen by the dialled user, so the "violating configuration" is the same
target dialled in another mode, e.g. the proxy checks on a bypassed call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
from pathlib import Path

from peer_copies import OLD_ANCHOR_OFFER_FLAGS, OLD_PROXY_FLAGS, started, with_define

from harness.conformance import Verdict
from harness.conformance import media_checks as mc
from harness.evidence.call import CallOutcome, Side
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.net import netns, udp_socket
from harness.pytest_plugin.calls import MediaCall
from harness.pytest_plugin.options import HarnessConfig
from harness.scenarios.call import LiveCall
from harness.scenarios.captured import captured_call, plan_call
from harness.sdp import PCMA, PCMU, TELEPHONE_EVENT, CryptoAttribute
from harness.targets.base import Target

BYPASS, PROXY, ANCHORED = MediaMode.BYPASS, MediaMode.PROXY, MediaMode.ANCHORED


def verdict(finding: mc.Finding) -> Verdict:
    return finding.verdict


async def test_bypass_media_path_fails_when_media_is_relayed(media_call: MediaCall) -> None:
    assert verdict(mc.bypass_media_path(await media_call(BYPASS))) is Verdict.OK
    relayed = mc.bypass_media_path(await media_call(PROXY))
    assert relayed.verdict is Verdict.FAILED
    assert "to or from the target" in relayed.summary
    assert any("198.18.0.2" in line for line in relayed.evidence)


async def test_bypass_sdp_fails_when_the_target_rewrites_c(media_call: MediaCall) -> None:
    assert verdict(mc.bypass_sdp(await media_call(BYPASS))) is Verdict.OK
    rewritten = mc.bypass_sdp(await media_call(PROXY))
    assert rewritten.verdict is Verdict.FAILED
    assert "198.18.0.2" in rewritten.summary


async def test_relay_check_fails_when_media_bypasses(media_call: MediaCall) -> None:
    # The one check of MM-PROXY-1 and MM-ANCHOR-1.
    assert mc.relayed(await media_call(PROXY)).verdict is Verdict.OK
    found = mc.relayed(await media_call(BYPASS))
    assert found.verdict is Verdict.FAILED
    assert "around the target" in found.summary


async def test_relay_check_reports_whether_the_target_reoriginated(
    media_call: MediaCall,
) -> None:
    proxied = mc.relayed(await media_call(PROXY))
    assert "PROXY (relayed through the target, unchanged) both ways" in proxied.summary
    transcoded = await media_call(ANCHORED, caller=Side(codecs=(PCMU,)))
    assert "re-originated" in mc.relayed(transcoded).summary


async def test_proxy_sdp_check_fails_when_the_target_changes_codecs(
    media_call: MediaCall,
) -> None:
    assert mc.proxy_sdp_untouched(await media_call(PROXY)).verdict is Verdict.OK
    # The anchored profile offers its own codec list (PCMA first) to the callee.
    anchored = mc.proxy_sdp_untouched(await media_call(ANCHORED))
    assert anchored.verdict is Verdict.FAILED
    assert "codecs" in anchored.summary.lower()


async def test_proxy_sdp_check_fails_when_the_sdp_is_not_rewritten(
    media_call: MediaCall,
) -> None:
    found = mc.proxy_sdp_untouched(await media_call(BYPASS))
    assert found.verdict is Verdict.FAILED
    assert "not the target's address" in found.summary


async def test_payload_check_fails_when_the_target_transcodes(media_call: MediaCall) -> None:
    assert mc.payloads_unchanged(await media_call(PROXY)).verdict is Verdict.OK
    # A PCMU-only caller makes the anchored profile transcode toward the callee (PCMA).
    found = mc.payloads_unchanged(await media_call(ANCHORED, caller=Side(codecs=(PCMU,))))
    assert found.verdict is Verdict.FAILED
    assert "payloads changed" in found.summary


async def test_transcoding_check_fails_without_transcoding(media_call: MediaCall) -> None:
    pcmu_only, pcma_only = Side(codecs=(PCMU,)), Side(codecs=(PCMA,))
    anchored = await media_call(ANCHORED, caller=pcmu_only, callee=pcma_only)
    assert mc.audio_both_ways(anchored).verdict is Verdict.OK
    proxied = await media_call(PROXY, caller=pcmu_only, callee=pcma_only)
    assert mc.call_established(proxied).verdict is Verdict.FAILED
    assert proxied.final_status == 488
    assert mc.audio_both_ways(proxied).verdict is Verdict.FAILED


async def test_tone_check_fails_when_the_wrong_tone_arrives(media_call: MediaCall) -> None:
    call = await media_call(PROXY)
    assert mc.audio_both_ways(call).verdict is Verdict.OK
    # what the caller "should" have heard: it did not
    assert mc.audio_both_ways(dataclasses.replace(call, callee_tone_hz=2000.0)).verdict \
        is Verdict.FAILED


async def test_srtp_bridge_check_fails_when_srtp_passes_end_to_end(
    media_call: MediaCall,
) -> None:
    bridged = await media_call(ANCHORED, caller=Side(srtp=True), callee=Side(srtp=False))
    assert mc.srtp_bridged(bridged).verdict is Verdict.OK
    # Proxy mode passes the SAVP offer through: a callee that refuses SRTP answers 488 ...
    refused = await media_call(PROXY, caller=Side(srtp=True), callee=Side(srtp=False))
    assert refused.final_status == 488
    # ... and one that accepts it gets SRTP on its leg too: not bridged.
    end_to_end = await media_call(PROXY, caller=Side(srtp=True), callee=Side(srtp=True))
    assert end_to_end.established
    found = mc.srtp_bridged(end_to_end)
    assert found.verdict is Verdict.FAILED
    assert "offer received by the callee is RTP/SAVP" in found.summary


async def test_srtp_bridge_check_fails_when_the_caller_leg_is_plain(
    media_call: MediaCall,
) -> None:
    found = mc.srtp_bridged(await media_call(ANCHORED))
    assert found.verdict is Verdict.FAILED
    assert "expected SRTP with SDES" in found.summary


async def test_delay_measurement_fails_without_relayed_media(media_call: MediaCall) -> None:
    relayed = mc.forwarding_delay(await media_call(PROXY, packets=20))
    assert relayed.verdict is Verdict.INFORMATIONAL
    assert all("median" in line for line in relayed.evidence)
    assert mc.forwarding_delay(await media_call(BYPASS)).verdict is Verdict.FAILED


SECOND_SUITE = ("crypto", str(CryptoAttribute.generate(2, "AES_CM_128_HMAC_SHA1_32")))
SECURE_CALLER = Side(srtp=True, attributes=(("zrtp-hash", "1.10 " + "a1" * 32), SECOND_SUITE))
SECURE_CALLEE = Side(srtp=True, attributes=(("zrtp-hash", "1.10 " + "c3" * 32),))


async def test_security_attribute_check_fails_when_the_target_terminates_srtp(
    media_call: MediaCall,
) -> None:
    proxied = await media_call(PROXY, caller=SECURE_CALLER, callee=SECURE_CALLEE)
    assert mc.security_attributes_unchanged(proxied).verdict is Verdict.OK
    anchored = mc.security_attributes_unchanged(
        await media_call(ANCHORED, caller=SECURE_CALLER, callee=SECURE_CALLEE)
    )
    assert anchored.verdict is Verdict.FAILED
    assert any("removed a=crypto:1" in line for line in anchored.evidence)


async def test_security_attribute_check_fails_when_the_target_adds_crypto_suites(
    tmp_path: Path,
) -> None:
    """A real misconfiguration: rtpengine's proxy flags without the SDES-no-* of the
    suites the caller did not offer make it offer ten more crypto suites of its own."""
    peer = with_define(tmp_path, PROXY_SDES="as-rtpengine-likes")
    call = await _call_through(peer, tmp_path, PROXY, SECURE_CALLER, SECURE_CALLEE)
    found = mc.security_attributes_unchanged(call)
    assert found.verdict is Verdict.FAILED
    assert "added" in found.summary
    assert sum("added   a=crypto:" in line for line in found.evidence) >= 5


async def test_security_attribute_check_fails_when_the_target_strips_an_offered_suite(
    tmp_path: Path,
) -> None:
    """The default target's earlier fix (D11): a fixed SDES-no-<suite> list stops rtpengine
    adding suites but also strips those suites when the caller offers them."""
    peer = with_define(tmp_path, PROXY_SDES="as-rtpengine-likes", PROXY_FLAGS=OLD_PROXY_FLAGS)
    call = await _call_through(peer, tmp_path, PROXY, SECURE_CALLER, SECURE_CALLEE)
    found = mc.security_attributes_unchanged(call)
    assert found.verdict is Verdict.FAILED
    assert any("removed a=crypto:2 AES_CM_128_HMAC_SHA1_32" in line for line in found.evidence)


async def _call_through(
    peer: Path, tmp_path: Path, mode: MediaMode, caller: Side, callee: Side
) -> CallOutcome:
    """One captured call through a target started from `peer` in a lab of its own."""
    async with started(peer, tmp_path) as (lab, target):
        call = plan_call(lab, target, mode, pcap=tmp_path / "call.pcap",
                           caller=caller, callee=callee)
        return await captured_call(call, lab, target)


DTMF_CALLER = Side(codecs=(PCMU, TELEPHONE_EVENT), dtmf="159#")
DTMF_CALLEE = Side(codecs=(PCMA, TELEPHONE_EVENT))


async def test_dtmf_check_fails_when_the_target_masks_telephone_event(
    media_call: MediaCall, tmp_path: Path
) -> None:
    """A real misconfiguration (the default target's first anchored profile): masking all
    of the caller's codecs masked telephone-event too, so no RFC 4733 reached the callee."""
    assert mc.dtmf_delivered(await media_call(ANCHORED, caller=DTMF_CALLER,
                                              callee=DTMF_CALLEE)).verdict is Verdict.OK
    peer = with_define(tmp_path, ANCHOR_OFFER_FLAGS=OLD_ANCHOR_OFFER_FLAGS)
    found = mc.dtmf_delivered(await _call_through(peer, tmp_path, ANCHORED, DTMF_CALLER,
                                                  DTMF_CALLEE))
    assert found.verdict is Verdict.FAILED
    assert "negotiated no telephone-event" in found.summary


async def test_dtmf_check_fails_when_digits_or_durations_differ(media_call: MediaCall) -> None:
    call = await media_call(ANCHORED, caller=DTMF_CALLER, callee=DTMF_CALLEE)
    assert mc.dtmf_delivered(call).verdict is Verdict.OK
    # What arrived is judged against what was sent: claim other digits or durations were sent.
    wrong_digit = mc.dtmf_delivered(dataclasses.replace(
        call, dtmf_sent=(("1", 800), ("5", 800), ("9", 800), ("0", 800))))
    assert wrong_digit.verdict is Verdict.FAILED and "received '159#'" in wrong_digit.summary
    wrong_length = mc.dtmf_delivered(dataclasses.replace(
        call, dtmf_sent=tuple((d, 1600) for d in "159#")))
    assert wrong_length.verdict is Verdict.FAILED
    assert "duration 100 ms, sent 200 ms" in wrong_length.summary


async def test_bypass_check_is_broken_when_frames_to_the_target_go_unread(
    lab: Lab, target: Target, harness_config: HarnessConfig,
) -> None:
    """The first fragment of a UDP datagram whose other fragments never follow, sent from
    the caller to the target during a bypassed call: the capture reader cannot read it
    (a datagram it cannot reassemble), so MM-BYPASS-1 cannot clear the target: BROKEN
    with the frame named, not OK (and not FAILED: nothing readable went through the
    target). A fragmented datagram that does arrive whole is reassembled and read."""
    plan = plan_call(lab, target, BYPASS,
                     pcap=harness_config.results_dir / "pcaps" / "unread-fragment.pcap")
    to = next(iter(target.addresses))

    async def lone_fragment(live: LiveCall, packets: int) -> None:
        whole = udp_socket(lab.netns("caller"), lab.address("caller"))
        with netns(lab.netns("caller")):
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            whole.sendto(b"\x7f" * 3000, (to, 9))  # three fragments, all of them
            udp = struct.pack("!HHHH", 40000, 9, 8 + 3000, 0) + b"\x7f" * 1472
            header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x5EED,
                                 0x2000,  # more fragments follow (they never do)
                                 64, socket.IPPROTO_UDP, 0,
                                 socket.inet_aton(lab.address("caller")), socket.inet_aton(to))
            raw.sendto(header + udp, (to, 0))
        finally:
            whole.close()
            raw.close()
        await asyncio.sleep(0.05)

    outcome = await captured_call(plan, lab, target, then=lone_fragment)
    assert [u.reason for u in outcome.unread] == ["ip_fragment"]
    whole = [p for p in outcome.packets if p.dst == (to, 9)]
    assert len(whole) == 1 and len(whole[0].payload) == 3000 and len(whole[0].fragments) == 3
    found = mc.bypass_media_path(outcome)
    assert found.verdict is Verdict.BROKEN, found
    assert "could not be read" in found.summary
    assert any("ip_fragment" in line and to in line for line in found.evidence)
