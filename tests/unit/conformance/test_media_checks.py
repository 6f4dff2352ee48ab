"""The media-mode checks (`harness.conformance.media_checks`) over recorded evidence.

Passing rows are calls of the conformance suites against the default target
(Kamailio + rtpengine) and the passing halves of the lab self-tests; failing rows are
the calls the self-tests made to violate each check (the same target dialled in another
mode, broken copies of it) and the known deviation MM-NAT-1 (a bypassed call to a
callee behind NAT is one-way). Every failing row is recorded evidence: none is derived.
The bespoke tests below assert evidence lines the lab tests asserted, and the BROKEN
verdict of the checks that clear an address when unread frames involve it.
"""

from __future__ import annotations

import dataclasses

import pytest
from evidence_rows import Row, evidence, run

from harness.capture.pcap import UnreadFrame
from harness.conformance import media_checks as mc
from harness.conformance.case import Verdict
from harness.evidence.call import CallOutcome

OK, FAILED, INFORMATIONAL, BROKEN = (Verdict.OK, Verdict.FAILED, Verdict.INFORMATIONAL,
                                     Verdict.BROKEN)

TARGET, CALLER, CALLEE, CALLEE2 = "198.18.0.2", "198.18.0.10", "198.18.0.21", "198.18.0.22"


def suite(test: str, n: int = 0) -> str:
    """A call of suites/test_media_modes.py."""
    return f"suites/test_media_modes__{test}-{n}.json.gz"


def lab(test: str, n: int = 0, file: str = "test_self_validation") -> str:
    """A call of a lab self-test (tests/lab/<file>.py), the n-th to finish."""
    return f"selftests/{file}__{test}-{n}.json.gz"


# The calls of tests/lab/test_self_validation.py, by what the lab test made of them.
BYPASSED = lab("test_bypass_media_path_fails_when_media_is_relayed", 0)
RELAYED_IN_BYPASS = lab("test_bypass_media_path_fails_when_media_is_relayed", 1)
SDP_BYPASSED = lab("test_bypass_sdp_fails_when_the_target_rewrites_c", 0)
SDP_REWRITTEN = lab("test_bypass_sdp_fails_when_the_target_rewrites_c", 1)
PROXIED = lab("test_relay_check_fails_when_media_bypasses", 0)
BYPASSED_NOT_RELAYED = lab("test_relay_check_fails_when_media_bypasses", 1)
UNTOUCHED = lab("test_relay_check_reports_whether_the_target_reoriginated", 0)
REORIGINATED = lab("test_relay_check_reports_whether_the_target_reoriginated", 1)
SDP_PROXIED = lab("test_proxy_sdp_check_fails_when_the_target_changes_codecs", 0)
CODECS_CHANGED = lab("test_proxy_sdp_check_fails_when_the_target_changes_codecs", 1)
SDP_NOT_REWRITTEN = lab("test_proxy_sdp_check_fails_when_the_sdp_is_not_rewritten", 0)
PAYLOADS_PROXIED = lab("test_payload_check_fails_when_the_target_transcodes", 0)
TRANSCODED = lab("test_payload_check_fails_when_the_target_transcodes", 1)
TRANSCODING = lab("test_transcoding_check_fails_without_transcoding", 0)
NO_COMMON_CODEC = lab("test_transcoding_check_fails_without_transcoding", 1)  # proxy: 488
WRONG_TONE = lab("test_tone_check_fails_when_the_wrong_tone_arrives", 0)
SRTP_BRIDGED = lab("test_srtp_bridge_check_fails_when_srtp_passes_end_to_end", 0)
SRTP_REFUSED = lab("test_srtp_bridge_check_fails_when_srtp_passes_end_to_end", 1)  # 488
SRTP_END_TO_END = lab("test_srtp_bridge_check_fails_when_srtp_passes_end_to_end", 2)
CALLER_LEG_PLAIN = lab("test_srtp_bridge_check_fails_when_the_caller_leg_is_plain", 0)
DELAY_PROXIED = lab("test_delay_measurement_fails_without_relayed_media", 0)  # 20 packets
DELAY_BYPASSED = lab("test_delay_measurement_fails_without_relayed_media", 1)
SECURE_PROXIED = lab("test_security_attribute_check_fails_when_the_target_terminates_srtp", 0)
SECURE_ANCHORED = lab("test_security_attribute_check_fails_when_the_target_terminates_srtp", 1)
SUITES_ADDED = lab("test_security_attribute_check_fails_when_the_target_adds_crypto_suites")
SUITE_STRIPPED = lab(
    "test_security_attribute_check_fails_when_the_target_strips_an_offered_suite")
DTMF_ANCHORED = lab("test_dtmf_check_fails_when_the_target_masks_telephone_event", 0)
DTMF_MASKED = lab("test_dtmf_check_fails_when_the_target_masks_telephone_event", 1)
# The lab test's last claim was kept: dtmf_sent says 200 ms per digit, 100 ms were sent.
DTMF_DURATIONS = lab("test_dtmf_check_fails_when_digits_or_durations_differ", 0)
UNREAD_TO_TARGET = lab("test_bypass_check_is_broken_when_frames_to_the_target_go_unread")
# tests/lab/test_policy_validation.py: broken copies of the target's SfB and NAT profiles
PEER_DEAF_TO_CLIENT = lab(
    "test_a_peer_that_takes_media_only_from_the_signalling_host_fails_sfb_4",
    file="test_policy_validation")
NO_LATCHING = lab("test_relaying_without_latching_fails_mm_nat_1", file="test_policy_validation")
RINGING_FALLBACK = lab("test_a_488_turned_into_a_ringing_fallback_fails_kz_2",
                       file="test_policy_validation")  # no final response in 3 s
# Known deviation MM-NAT-1 (bypass): the caller cannot reach the NATed callee's address.
NAT_BYPASSED = "suites/test_bypass_policies__test_nat_callee_bypassed-0.json.gz"

ROWS: list[Row] = [
    # call_established
    Row("call_established/ok/bypass", mc.call_established, [suite("test_bypass_media_path")],
        OK, ["call set up: 200 OK"]),
    Row("call_established/ok/anchored-srtp", mc.call_established,
        [suite("test_anchored_bridges_srtp")], OK, ["call set up: 200 OK"]),
    Row("call_established/failed/488-no-common-codec-in-proxy", mc.call_established,
        [NO_COMMON_CODEC], FAILED, ["was not set up: 488 Not Acceptable Here"]),
    Row("call_established/failed/488-srtp-refused", mc.call_established, [SRTP_REFUSED],
        FAILED, ["call through the target to sip:proxy@", "not set up: 488"]),
    Row("call_established/failed/no-final-response", mc.call_established,
        [RINGING_FALLBACK], FAILED, ["was not set up: no final response"]),
    # bypass_media_path (MM-BYPASS-1)
    Row("bypass_media_path/ok/suite", mc.bypass_media_path, [suite("test_bypass_media_path")],
        OK, ["media flowed endpoint to endpoint both ways, none via the target"]),
    Row("bypass_media_path/ok/selftest", mc.bypass_media_path, [BYPASSED], OK,
        ["media flowed endpoint to endpoint both ways, none via the target"]),
    Row("bypass_media_path/failed/relayed", mc.bypass_media_path, [RELAYED_IN_BYPASS], FAILED,
        ["4 media flow(s) to or from the target in bypass mode"]),
    Row("bypass_media_path/failed/one-way-to-nat", mc.bypass_media_path, [NAT_BYPASSED],
        FAILED, ["media did not flow endpoint to endpoint both ways (path: ONE-WAY (media in "
                 "one direction only))"]),
    # bypass_sdp (MM-BYPASS-2)
    Row("bypass_sdp/ok/suite", mc.bypass_sdp, [suite("test_bypass_sdp_end_to_end")], OK,
        ["connection address and port passed end to end both ways"]),
    Row("bypass_sdp/ok/selftest", mc.bypass_sdp, [SDP_BYPASSED], OK,
        ["connection address and port passed end to end both ways"]),
    Row("bypass_sdp/failed/c-rewritten", mc.bypass_sdp, [SDP_REWRITTEN], FAILED,
        [f"offer (caller -> callee): sent {CALLER}:", f"received {TARGET}:",
         f"answer (callee -> caller): sent {CALLEE}:"]),
    # relayed (MM-PROXY-1, MM-ANCHOR-1)
    Row("relayed/ok/proxy", mc.relayed, [suite("test_proxy_relays")], OK,
        ["PROXY (relayed through the target, unchanged) both ways"]),
    Row("relayed/ok/anchored", mc.relayed, [suite("test_anchored_terminates_media")], OK,
        ["through the target, unchanged) both ways"]),
    Row("relayed/ok/untouched", mc.relayed, [UNTOUCHED], OK,
        ["unchanged) both ways: same SSRC, sequence and payload on both legs"]),
    Row("relayed/ok/reoriginated", mc.relayed, [REORIGINATED], OK,
        ["ANCHORED (relayed through the target, re-originated by it) both ways: SSRC/sequence "
         "or payload differ leg to leg"]),
    Row("relayed/failed/bypassed", mc.relayed, [BYPASSED_NOT_RELAYED], FAILED,
        ["media flowed endpoint to endpoint, around the target"]),
    Row("relayed/failed/peer-deaf-to-the-client", mc.relayed, [PEER_DEAF_TO_CLIENT], FAILED,
        ["no relayed media in direction(s) caller->callee1, callee1->caller"]),
    Row("relayed/failed/no-latching", mc.relayed, [NO_LATCHING], FAILED,
        ["no relayed media in direction(s) caller->natted"]),
    # proxy_sdp_untouched (MM-PROXY-2)
    Row("proxy_sdp_untouched/ok/suite", mc.proxy_sdp_untouched,
        [suite("test_proxy_sdp_untouched")], OK,
        ["only origin, connection address and ports changed"]),
    Row("proxy_sdp_untouched/ok/selftest", mc.proxy_sdp_untouched, [SDP_PROXIED], OK,
        ["only origin, connection address and ports changed"]),
    Row("proxy_sdp_untouched/failed/codecs-changed", mc.proxy_sdp_untouched, [CODECS_CHANGED],
        FAILED, ["offer (caller -> callee) changed beyond transport: media 0 audio: codecs",
                 "telephone-event"]),
    Row("proxy_sdp_untouched/failed/not-rewritten", mc.proxy_sdp_untouched,
        [SDP_NOT_REWRITTEN], FAILED,
        [f"offer (caller -> callee): received c= {CALLER} is not the target's address",
         f"answer (callee -> caller): received c= {CALLEE} is not the target's address"]),
    # security_attributes_unchanged (MM-PROXY-4)
    Row("security_attributes_unchanged/ok/suite", mc.security_attributes_unchanged,
        [suite("test_proxy_security_attributes")], OK,
        ["a=crypto and a=zrtp-hash arrived unchanged both ways"]),
    Row("security_attributes_unchanged/ok/selftest", mc.security_attributes_unchanged,
        [SECURE_PROXIED], OK, ["a=crypto and a=zrtp-hash arrived unchanged both ways"]),
    Row("security_attributes_unchanged/failed/srtp-terminated",
        mc.security_attributes_unchanged, [SECURE_ANCHORED], FAILED,
        ["offer (caller -> callee): 2 security line(s) removed or changed, 0 added",
         "answer (callee -> caller): 0 security line(s) removed or changed, 1 added"]),
    Row("security_attributes_unchanged/failed/suites-added", mc.security_attributes_unchanged,
        [SUITES_ADDED], FAILED,
        ["offer (caller -> callee): 0 security line(s) removed or changed, 10 added"]),
    Row("security_attributes_unchanged/failed/suite-stripped",
        mc.security_attributes_unchanged, [SUITE_STRIPPED], FAILED,
        ["offer (caller -> callee): 1 security line(s) removed or changed, 0 added"]),
    Row("security_attributes_unchanged/failed/nothing-offered",
        mc.security_attributes_unchanged, [suite("test_proxy_relays")], FAILED,
        ["nothing to judge, the sender offered no security attribute"]),
    # payloads_unchanged (MM-PROXY-3)
    Row("payloads_unchanged/ok/g711", mc.payloads_unchanged,
        [suite("test_proxy_payload_unchanged", 0)], OK,
        ["payloads byte-equal and in order on both legs, both ways"]),
    Row("payloads_unchanged/ok/unknown-codec", mc.payloads_unchanged,
        [suite("test_proxy_payload_unchanged", 1)], OK,
        ["payloads byte-equal and in order on both legs, both ways"]),
    Row("payloads_unchanged/ok/selftest", mc.payloads_unchanged, [PAYLOADS_PROXIED], OK,
        ["payloads byte-equal and in order on both legs, both ways"]),
    Row("payloads_unchanged/failed/transcoded", mc.payloads_unchanged, [TRANSCODED], FAILED,
        ["caller->callee1: payloads changed between the legs",
         "callee1->caller: payloads changed between the legs"]),
    Row("payloads_unchanged/failed/bypassed", mc.payloads_unchanged, [BYPASSED_NOT_RELAYED],
        FAILED, ["caller->callee1: not relayed; callee1->caller: not relayed"]),
    # audio_both_ways (MM-ANCHOR-2; SFB-4, KZ-1 with the policy cases)
    Row("audio_both_ways/ok/transcoded-suite", mc.audio_both_ways,
        [suite("test_anchored_transcodes")], OK,
        ["each side heard the other's tone in its own codec"]),
    Row("audio_both_ways/ok/transcoded-selftest", mc.audio_both_ways, [TRANSCODING], OK,
        ["each side heard the other's tone in its own codec"]),
    Row("audio_both_ways/ok/the-tone-it-was-sent", mc.audio_both_ways, [WRONG_TONE], OK,
        ["each side heard the other's tone in its own codec"]),
    Row("audio_both_ways/failed/wrong-tone", mc.audio_both_ways, [WRONG_TONE], FAILED,
        ["caller did not hear the 2000 Hz tone", "dominant 1300.0 Hz"],
        derive=lambda call: (_expecting_tone(call, 2000.0),)),
    Row("audio_both_ways/failed/no-common-codec", mc.audio_both_ways, [NO_COMMON_CODEC],
        FAILED, ["caller: no codec negotiated; callee1: no codec negotiated"]),
    Row("audio_both_ways/failed/peer-deaf-to-the-client", mc.audio_both_ways,
        [PEER_DEAF_TO_CLIENT], FAILED, ["caller heard nothing", "callee1 heard nothing"]),
    Row("audio_both_ways/failed/one-way-to-nat", mc.audio_both_ways, [NAT_BYPASSED], FAILED,
        ["natted heard nothing"]),
    # srtp_bridged (MM-ANCHOR-3)
    Row("srtp_bridged/ok/suite", mc.srtp_bridged, [suite("test_anchored_bridges_srtp")], OK,
        ["SRTP on the caller leg, RTP on the callee leg, audio both ways"]),
    Row("srtp_bridged/ok/selftest", mc.srtp_bridged, [SRTP_BRIDGED], OK,
        ["SRTP on the caller leg, RTP on the callee leg, audio both ways"]),
    Row("srtp_bridged/failed/srtp-end-to-end", mc.srtp_bridged, [SRTP_END_TO_END], FAILED,
        ["offer received by the callee is RTP/SAVP with 1 crypto line(s); expected plain "
         "RTP/AVP"]),
    Row("srtp_bridged/failed/caller-leg-plain", mc.srtp_bridged, [CALLER_LEG_PLAIN], FAILED,
        ["offer sent by the caller is RTP/AVP with 0 crypto line(s); expected SRTP with SDES",
         "packet(s) to the caller carried plain audio, not SRTP"]),
    Row("srtp_bridged/failed/refused", mc.srtp_bridged, [SRTP_REFUSED], FAILED,
        ["answer received by the caller: missing"]),
    # dtmf_delivered (MM-ANCHOR-4)
    Row("dtmf_delivered/ok/suite", mc.dtmf_delivered, [suite("test_anchored_carries_dtmf")],
        OK, ["4 DTMF event(s) arrived with their digits and durations"]),
    Row("dtmf_delivered/ok/selftest", mc.dtmf_delivered, [DTMF_ANCHORED], OK,
        ["4 DTMF event(s) arrived with their digits and durations"]),
    Row("dtmf_delivered/failed/telephone-event-masked", mc.dtmf_delivered, [DTMF_MASKED],
        FAILED, ["no DTMF could be sent: the caller's answer negotiated no telephone-event"]),
    Row("dtmf_delivered/ok/as-sent", mc.dtmf_delivered, [DTMF_DURATIONS], OK,
        ["4 DTMF event(s) arrived with their digits and durations"]),
    Row("dtmf_delivered/failed/durations", mc.dtmf_delivered, [DTMF_DURATIONS], FAILED,
        ["digit 1: duration 100 ms, sent 200 ms", "digit #: duration 100 ms, sent 200 ms"],
        derive=lambda call: (_claiming_sent(call, tuple((d, 1600) for d in "159#")),)),
    Row("dtmf_delivered/failed/digits", mc.dtmf_delivered, [DTMF_DURATIONS], FAILED,
        ["digits sent '1590', received '159#'"],
        derive=lambda call: (_claiming_sent(call, (("1", 800), ("5", 800), ("9", 800),
                                                    ("0", 800))),)),
    # forwarding_delay (MM-LAT-1)
    Row("forwarding_delay/informational/suite", mc.forwarding_delay,
        [suite("test_forwarding_delay")], INFORMATIONAL,
        ["forwarding delay measured from capture timestamps"]),
    Row("forwarding_delay/informational/selftest", mc.forwarding_delay, [DELAY_PROXIED],
        INFORMATIONAL, ["forwarding delay measured from capture timestamps"]),
    Row("forwarding_delay/failed/bypassed", mc.forwarding_delay, [DELAY_BYPASSED], FAILED,
        ["no relayed packet could be matched in caller->callee1, callee1->caller"]),
]

BY_ID = {row.id: row for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_media_checks(row: Row) -> None:
    run(row)


def test_relayed_call_in_bypass_names_the_target_flows() -> None:
    found = run(BY_ID["bypass_media_path/failed/relayed"])
    at_target = [line for line in found.evidence if TARGET in line and "RTP packets" in line]
    assert len(at_target) == 4, found


def test_security_attribute_lines_removed_and_added_are_named() -> None:
    terminated = run(BY_ID["security_attributes_unchanged/failed/srtp-terminated"])
    assert any("removed a=crypto:1" in line for line in terminated.evidence), terminated
    added = run(BY_ID["security_attributes_unchanged/failed/suites-added"])
    assert sum("added   a=crypto:" in line for line in added.evidence) >= 5, added
    stripped = run(BY_ID["security_attributes_unchanged/failed/suite-stripped"])
    assert any("removed a=crypto:2 AES_CM_128_HMAC_SHA1_32" in line
               for line in stripped.evidence), stripped


def test_forwarding_delay_reports_each_direction() -> None:
    for name in ("suite", "selftest"):
        found = run(BY_ID[f"forwarding_delay/informational/{name}"])
        assert [line.split(":")[0] for line in found.evidence] == [
            "caller->callee1", "callee1->caller"], found
        assert all("median" in line and "p99" in line and "jitter" in line
                   for line in found.evidence), found
    assert "caller->callee1: 50 packets" in run(
        BY_ID["forwarding_delay/informational/suite"]).evidence[0]


# Unread frames (harness.capture.pcap.UnreadFrame) and the checks that clear an address.


def _fragments(rec: CallOutcome, *pairs: tuple[str, str]) -> CallOutcome:
    """`rec` with one unread IP fragment per (src, dst) pair in place of its own."""
    ts = rec.packets[len(rec.packets) // 2].ts
    frames = [UnreadFrame(index=1000 + n, ts=ts, reason="ip_fragment", src=src, dst=dst,
                          protocol="udp") for n, (src, dst) in enumerate(pairs)]
    return dataclasses.replace(rec, unread=frames)


def test_bypass_media_path_is_broken_when_frames_to_the_target_go_unread() -> None:
    """The real recording: the first fragment of a datagram from the caller to the target
    whose other fragments never came (a whole fragmented datagram beside it was read)."""
    rec = evidence(UNREAD_TO_TARGET)
    assert [len(p.fragments) for p in rec.packets if p.fragments] == [3]
    found = mc.bypass_media_path(rec)
    assert found.verdict is BROKEN, found
    assert found.check == "bypass_media_path"
    assert f"1 captured frame(s) involving {TARGET} could not be read" in found.summary
    assert "no media went to or from the target" in found.summary
    assert list(found.evidence) == [u.describe() for u in rec.unread]
    assert all(f"ip_fragment {CALLER} -> {TARGET} (udp)" in line for line in found.evidence)


def test_bypass_media_path_decides_when_unread_frames_spare_the_target() -> None:
    def elsewhere(rec: CallOutcome) -> tuple[CallOutcome]:
        """The same fragments, sent to another lab host (callee2) instead of the target."""
        return (dataclasses.replace(rec, unread=[dataclasses.replace(u, dst=CALLEE2)
                                                 for u in rec.unread]),)

    run(Row("bypass_media_path/ok/unread-elsewhere", mc.bypass_media_path, [UNREAD_TO_TARGET],
            OK, ["media flowed endpoint to endpoint both ways, none via the target"],
            derive=elsewhere))


def test_unread_frames_do_not_hide_media_at_the_target() -> None:
    def relayed_and_unread(rec: CallOutcome) -> tuple[CallOutcome]:
        """A relayed call whose capture also lost fragments from the caller to the target."""
        return (_fragments(rec, (CALLER, TARGET)),)

    run(Row("bypass_media_path/failed/relayed-and-unread", mc.bypass_media_path,
            [RELAYED_IN_BYPASS], FAILED,
            ["4 media flow(s) to or from the target in bypass mode"],
            derive=relayed_and_unread))


def test_relayed_is_broken_when_frames_between_the_endpoints_go_unread() -> None:
    def direct_fragments(rec: CallOutcome) -> tuple[CallOutcome]:
        """A relayed call during which the caller sent a datagram too big for the lab's MTU
        straight to the callee: IP fragments the capture reader does not read."""
        return (_fragments(rec, (CALLER, CALLEE), (CALLER, CALLEE)),)

    found = run(Row("relayed/broken/unread-endpoint-to-endpoint", mc.relayed,
                    [suite("test_proxy_relays")], BROKEN,
                    [f"2 captured frame(s) involving {CALLER}, {CALLEE} could not be read",
                     "no media went endpoint to endpoint"], derive=direct_fragments))
    assert list(found.evidence) == [f"frame {n}: ip_fragment {CALLER} -> {CALLEE} (udp)"
                                    for n in (1000, 1001)]


def test_relayed_decides_when_unread_frames_spare_the_endpoints() -> None:
    def target_to_elsewhere(rec: CallOutcome) -> tuple[CallOutcome]:
        """Fragments between the target and a host not in the call (callee2)."""
        return (_fragments(rec, (TARGET, CALLEE2), (CALLEE2, TARGET)),)

    run(Row("relayed/ok/unread-elsewhere", mc.relayed, [suite("test_proxy_relays")], OK,
            ["through the target, unchanged) both ways"], derive=target_to_elsewhere))


def test_relayed_decides_when_only_the_targets_frames_to_an_endpoint_go_unread() -> None:
    """Unread fragments of the target's own INVITE to the callee (frames with the target
    at one end) cannot be media endpoint to endpoint: the check still decides."""
    rec = evidence(SUITES_ADDED)
    invite = next(p for p in rec.packets if p.fragments)
    lost = dataclasses.replace(rec, unread=tuple(
        UnreadFrame(index=n, ts=invite.ts, reason="ip_fragment", src=TARGET, dst=CALLEE,
                    protocol="udp") for n in invite.fragments))
    found = mc.relayed(lost)
    assert found.verdict is OK, found


def test_the_targets_fragmented_invite_is_read_whole() -> None:
    """rtpengine's ten added crypto suites made the INVITE to the callee bigger than the
    lab's MTU: it crossed the bridge in two fragments, which the reader reassembled, so
    nothing goes unread and the checks conclude; its bytes are those the callee got."""
    rec = evidence(SUITES_ADDED)
    assert not rec.unread
    invite = [r for r in rec.sip if r.agent == "callee1" and r.direction == "received"
              and r.data.startswith(b"INVITE ")]
    assert len(invite) == 1 and len(invite[0].data) > 1500
    wire = [p for p in rec.packets if p.fragments]
    assert [(p.src[0], p.dst[0], len(p.fragments)) for p in wire] == [(TARGET, CALLEE, 2)]
    assert wire[0].payload == invite[0].data
    assert mc.payloads_unchanged(rec).verdict is OK
    assert mc.forwarding_delay(rec).verdict is INFORMATIONAL


def _expecting_tone(call: CallOutcome, hz: float) -> CallOutcome:
    """The lab test's fault: the caller expects a tone the callee never sent."""
    return dataclasses.replace(call, callee_tone_hz=hz)


def _claiming_sent(call: CallOutcome, sent: tuple[tuple[str, int], ...]) -> CallOutcome:
    """The lab test's fault: other digits or durations claimed sent than those that were."""
    return dataclasses.replace(call, dtmf_sent=sent)
