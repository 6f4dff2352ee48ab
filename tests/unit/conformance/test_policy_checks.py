"""The bypass-policy checks (`harness.conformance.policy_checks`: SFB-1..8, KZ-1, KZ-2,
MM-NAT-1 and the measured bypass benefit) judged again over what real lab runs recorded.

Passing rows are the suite's calls against the default target
(suites/test_bypass_policies.py), with the `bypass`/`why` and bypass IDs the suite passes.
Failing rows are the calls of tests/lab/test_policy_validation.py against copies of the
target configured the ways a mediation server or SBC gets it wrong, and the default
target's declared deviation (MM-NAT-1 in bypass), with the words those tests assert.

Derived: only wan_quality's failing row (no recorded WAN run lost its media). The
BROKEN tests at the end give media_decision capture gaps: the real recording of IP
fragments to the target during a bypassed call, and fragments added to a relayed call.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from evidence_rows import Row, evidence, run

from harness.capture.mediapath import MediaPath
from harness.capture.pcap import UnreadFrame
from harness.conformance.case import Verdict
from harness.conformance.policy_checks import (
    admission_control,
    bypass_id_carried,
    clean_failure_without_common_codec,
    g711_untouched,
    media_decision,
    nat_audio,
    wan_quality,
)
from harness.evidence.call import CallOutcome
from harness.evidence.policy import CallQuality, Impairment
from harness.media.modes import MediaMode

OK, FAILED, BROKEN = Verdict.OK, Verdict.FAILED, Verdict.BROKEN

TARGET_FILE = Path(__file__).resolve().parents[3] / "peers" / "kamailio-rtpengine" / "target.toml"
IDS = tomllib.loads(TARGET_FILE.read_text())["skype_for_business"]["bypass_ids"]
IMPAIRMENT = str(Impairment(delay_ms=40, loss=0.02))  # what the suite's WAN case passes

POLICIES = "suites/test_bypass_policies__test_"
LAB = "selftests/test_policy_validation__test_"
COMPARE_MAIN = f"{LAB}comparing_with_the_main_sites_id_fails_sfb_1"  # _False (out), _True (in)
ALWAYS_MISAPPLIED = f"{LAB}always_bypass_misapplied_fails_"
CAC_COUNTS_ALL = f"{LAB}cac_misconfigurations_fail_sfb_7_defines0-bypassed_calls_were_counted"
CAC_NO_LIMIT = (f"{LAB}cac_misconfigurations_fail_sfb_7_defines1-call_3_across_the_full_WAN_"
                "link_was_accepted")
UNREAD = ("selftests/test_self_validation__test_bypass_check_is_broken_when_frames_to_the_"
          "target_go_unread-0.json.gz")
WAN = f"{POLICIES}measured_bypass_benefit_over_wan-2.json.gz"
OTHER_SITE = f"{POLICIES}sfb_other_site_is_anchored-0.json.gz"

BYPASSED = MediaPath.BYPASS.words
PROXIED = MediaPath.PROXY.words
THROUGH = "media through the target (PROXY or ANCHORED)"


def _decision(id: str, fixture: str, verdict: Verdict, words: list[str], *, bypass: bool,
              why: str) -> Row:
    return Row(id, media_decision, [fixture], verdict, words,
               kwargs={"bypass": bypass, "why": why})


def _anchored_media_lost(results: list[CallQuality]) -> tuple[list[CallQuality]]:
    """Stands for a WAN link that drops all RTP to and from the target's relay ports (a
    firewall on the branch's link, SIP still passing): the anchored call is set up, every
    packet its legs send toward the target is lost and the target has nothing to forward."""
    def lost(result: CallQuality) -> CallQuality:
        legs = [dataclasses.replace(leg, received=0, delay_ms_median=None, delay_ms_p95=None,
                                    jitter_ms=0.0,
                                    sent=0 if leg.name.startswith("target") else leg.sent)
                for leg in result.legs]
        return dataclasses.replace(result, legs=legs)

    return ([lost(r) if r.mode is MediaMode.ANCHORED else r for r in results],)


ROWS: list[Row] = [
    # SFB-1, SFB-2, SFB-8, KZ-1: the wire follows the policy's decision
    _decision("decision/sfb-same-site", f"{POLICIES}sfb_same_site_bypasses-0.json.gz", OK,
              [f"{BYPASSED}, as the policy decides (same bypass ID (main site))"],
              bypass=True, why="same bypass ID (main site)"),
    _decision("decision/sfb-branch-local", f"{POLICIES}sfb_branch_local_bypasses-0.json.gz",
              OK, [f"{BYPASSED}, as the policy decides"], bypass=True,
              why="same bypass ID (branch site)"),
    _decision("decision/sfb-other-site", OTHER_SITE, OK,
              [f"{THROUGH}, as the policy decides (bypass IDs differ)"],
              bypass=False, why="bypass IDs differ"),
    _decision("decision/sfb-main-client-to-branch-gateway",
              f"{POLICIES}sfb_main_client_to_branch_gateway_is_anchored-0.json.gz", OK,
              ["media through the target"], bypass=False, why="bypass IDs differ"),
    _decision("decision/sfb-inbound-same-site",
              f"{POLICIES}sfb_inbound_same_site_bypasses-0.json.gz", OK,
              [f"{BYPASSED}, as the policy decides"], bypass=True, why="same site (branch)"),
    _decision("decision/sfb-inbound-other-site",
              f"{POLICIES}sfb_inbound_other_site_is_anchored-0.json.gz", OK,
              ["media through the target"], bypass=False, why="sites differ"),
    _decision("decision/sfb-unsupported-client",
              f"{POLICIES}sfb_unsupported_client_anchored-0.json.gz", OK,
              ["media through the target"], bypass=False, why="client without bypass support"),
    _decision("decision/sfb-external-client",
              f"{POLICIES}sfb_external_client_anchored-0.json.gz", OK,
              [f"{THROUGH}, as the policy decides (external client)"],
              bypass=False, why="external client"),
    _decision("decision/sfb-always-bypass-main",
              f"{POLICIES}sfb_always_bypass_every_subnet-0.json.gz", OK,
              [f"{BYPASSED}, as the policy decides"], bypass=True,
              why="Always Bypass, main client"),
    _decision("decision/sfb-always-bypass-branch",
              f"{POLICIES}sfb_always_bypass_every_subnet-1.json.gz", OK,
              [f"{BYPASSED}, as the policy decides"], bypass=True,
              why="Always Bypass, branch client"),
    _decision("decision/sfb-always-bypass-unsupported-client",
              f"{POLICIES}sfb_always_bypass_unsupported_client-0.json.gz", OK,
              ["media through the target"], bypass=False, why="client without bypass support"),
    _decision("decision/kazoo-device-flag-true", f"{POLICIES}kazoo_device_flag-0.json.gz", OK,
              [f"{BYPASSED}, as the policy decides (device alice: bypass_media true)"],
              bypass=True, why="device alice: bypass_media true"),
    _decision("decision/kazoo-device-flag-false", f"{POLICIES}kazoo_device_flag-1.json.gz",
              OK, ["media through the target"], bypass=False,
              why="device bob: bypass_media false"),
    _decision("decision/kazoo-resource-flag-true", f"{POLICIES}kazoo_resource_flag-0.json.gz",
              OK, [f"{BYPASSED}, as the policy decides"], bypass=True,
              why="resource carrier-a: bypass_media true"),
    _decision("decision/kazoo-resource-flag-false",
              f"{POLICIES}kazoo_resource_flag-1.json.gz", OK, ["media through the target"],
              bypass=False, why="resource carrier-b: bypass_media false"),
    _decision("decision/compared-with-main-id-local", f"{COMPARE_MAIN}_False-0.json.gz",
              FAILED, ["s"
                       f"ame branch ID: expected {BYPASSED}; the wire shows {PROXIED}"],
              bypass=True, why="same branch ID"),
    _decision("decision/compared-with-main-id-across", f"{COMPARE_MAIN}_False-1.json.gz",
              FAILED, ["I"
                       f"Ds differ: expected {THROUGH}; the wire shows BYPASS"],
              bypass=False, why="IDs differ"),
    _decision("decision/compared-with-main-id-inbound-local", f"{COMPARE_MAIN}_True-0.json.gz",
              FAILED, ["the wire shows PROXY"], bypass=True, why="same branch ID"),
    _decision("decision/compared-with-main-id-inbound-across",
              f"{COMPARE_MAIN}_True-1.json.gz", FAILED, ["the wire shows BYPASS"],
              bypass=False, why="IDs differ"),
    _decision("decision/always-bypass-off",
              f"{ALWAYS_MISAPPLIED}off-branch1-branch-_lambda_-the_wire_shows_PROXY-0.json.gz",
              FAILED, ["A"
                       f"lways Bypass: expected {BYPASSED}; the wire shows {PROXIED}"], bypass=True,
              why="Always Bypass"),
    _decision("decision/always-bypass-for-all-clients",
              f"{ALWAYS_MISAPPLIED}all-clients-caller-None-_lambda_-the_wire_shows_BYPASS-0"
              ".json.gz", FAILED, ["the wire shows BYPASS"], bypass=False,
              why="unsupported client"),
    _decision("decision/external-client-taken-for-internal",
              f"{LAB}external_clients_taken_for_internal_fail_sfb_8-0.json.gz", FAILED,
              [f"external client: expected {THROUGH}; the wire shows "
               f"{MediaPath.ONE_WAY.words}"],
              bypass=False, why="external client"),
    _decision("decision/kazoo-flag-ignored",
              f"{LAB}an_ignored_bypass_media_flag_fails_kz_1-0.json.gz", FAILED,
              ["a"
               f"lice: bypass_media true: expected {BYPASSED}; the wire shows {PROXIED}"],
              bypass=True, why="alice: bypass_media true"),
    # SFB-3
    Row("bypass-id/outbound", bypass_id_carried,
        [f"{POLICIES}sfb_bypass_id_in_three_sdps-0.json.gz"], OK,
        ["a=x-bypassid in the INVITE, the 183 and the 200"], args=(IDS["main"],)),
    Row("bypass-id/inbound", bypass_id_carried, [f"{POLICIES}sfb_inbound_bypass_ids-0.json.gz"],
        OK, ["a=x-bypassid in the INVITE, the 183 and the 200"],
        args=(IDS["branch"], IDS["branch"])),
    Row("bypass-id/answers-unmarked", bypass_id_carried,
        [f"{LAB}answers_without_the_bypass_id_fail_sfb_3-0.json.gz"], FAILED,
        ["183 (at caller) has no a=x-bypassid", "200 (at caller) has no a=x-bypassid"],
        args=(IDS["main"],)),
    Row("bypass-id/inbound-offer-unmarked", bypass_id_carried,
        [f"{LAB}an_inbound_offer_without_the_gateways_id_fails_sfb_3-0.json.gz"], FAILED,
        ["INVITE (at branch1) has no a=x-bypassid"], args=(IDS["branch"], IDS["branch"])),
    # SFB-6
    Row("g711/bypassed", g711_untouched, [f"{POLICIES}sfb_g711_untouched-0.json.gz"], OK,
        ["G.711 end to end: every packet arrived byte for byte"]),
    Row("g711/transcoded", g711_untouched, [f"{LAB}transcoded_media_fails_sfb_6-0.json.gz"],
        FAILED, ["caller -> callee1: 10 packet(s) changed on the way (seq 32109: payload type "
                 "0 -> 8, 160 bytes)", "callee1 -> caller: 10 packet(s) changed on the way"]),
    # a bypassed call whose one direction never arrives (the external client's, SFB-8)
    Row("g711/one-direction-lost", g711_untouched,
        [f"{LAB}external_clients_taken_for_internal_fail_sfb_8-0.json.gz"], FAILED,
        ["callee1 -> natted: nothing arrived"]),
    # MM-NAT-1
    Row("nat/relayed", nat_audio, [f"{POLICIES}nat_callee_relayed-0.json.gz"], OK,
        ["audio both ways with the callee behind NAT"]),
    Row("nat/known-deviation-bypassed", nat_audio, [f"{POLICIES}nat_callee_bypassed-0.json.gz"],
        FAILED, ["ONE-WAY audio: caller -> natted: 10 packet(s) sent to "
                 "['198.19.2.10:43566'] went unanswered"]),
    Row("nat/relayed-without-latching", nat_audio,
        [f"{LAB}relaying_without_latching_fails_mm_nat_1-0.json.gz"], FAILED,
        ["ONE-WAY", "caller -> natted"]),
    # no side heard the other (the SFB-4 peer that takes media only from the signalling host;
    # no callee behind NAT there, but the same judgement of what each side heard)
    Row("nat/dead-air", nat_audio,
        [f"{LAB}a_peer_that_takes_media_only_from_the_signalling_host_fails_sfb_4-0.json.gz"],
        FAILED, ["DEAD AIR: ", "callee1 -> medsrv: 10 packet(s) sent to ['198.18.0.2:30000'] "
                 "went unanswered", "medsrv -> callee1: 10 packet(s)"]),
    # KZ-2
    Row("no-common-codec/488", clean_failure_without_common_codec,
        [f"{POLICIES}kazoo_no_common_codec-0.json.gz"], OK,
        ["failed cleanly with 488 Not Acceptable Here"]),
    Row("no-common-codec/fallback-never-answers", clean_failure_without_common_codec,
        [f"{LAB}a_488_turned_into_a_ringing_fallback_fails_kz_2-0.json.gz"], FAILED,
        ["the caller got no final response instead of a clean failure"]),
    # SFB-7
    Row("cac/default-target", admission_control,
        [f"{POLICIES}sfb_cac_counts_only_anchored_calls-7.json.gz"], OK,
        ["the WAN link took 2 calls and refused the next (503 Call admission control: WAN "
         "link full); bypassed calls were neither refused nor counted"]),
    Row("cac/bypassed-calls-counted", admission_control, [f"{CAC_COUNTS_ALL}-7.json.gz"],
        FAILED, ["a bypassed call was refused while the WAN link was full (503 Call admission "
                 "control: WAN link full)", "with 2 bypassed call(s) up, a WAN call was "
                 "refused", "bypassed calls were counted"]),
    Row("cac/no-limit", admission_control, [f"{CAC_NO_LIMIT}-7.json.gz"], FAILED,
        ["call 3 across the full WAN link was accepted (200 OK)"]),
    # measured benefit (informational)
    Row("wan/measured", wan_quality, [WAN], Verdict.INFORMATIONAL,
        ["end-to-end one-way delay per direction: bypass 0.1 ms, anchored 80.4 ms"],
        args=(IMPAIRMENT,)),
    Row("wan/anchored-media-lost", wan_quality, [WAN], FAILED,
        ["the anchored call carried no media to measure"], args=(IMPAIRMENT,),
        derive=_anchored_media_lost),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_policy_checks(row: Row) -> None:
    run(row)


def _with_unread(call: CallOutcome, *frames: tuple[str, str]) -> CallOutcome:
    """`call` with IP fragments (src, dst) the capture reader could not read."""
    ts = call.packets[-1].ts if call.packets else 0.0
    start = len(call.packets) + 1
    return dataclasses.replace(call, unread=[
        UnreadFrame(index=start + i, ts=ts, reason="ip_fragment", src=src, dst=dst,
                    protocol="udp") for i, (src, dst) in enumerate(frames)])


def test_bypass_decision_is_broken_when_frames_to_the_target_go_unread() -> None:
    """The real recording: during a bypassed call the caller sent the target the first
    fragment of a datagram whose other fragments never came, which the reader cannot
    read (a whole fragmented datagram beside it was reassembled and read)."""
    call = evidence(UNREAD)
    found = media_decision(call, bypass=True, why="same bypass ID (main site)")
    assert found.verdict is BROKEN, found
    assert "1 captured frame(s) involving 198.18.0.2 could not be read" in found.summary
    assert "no media went to or from the target" in found.summary
    assert found.evidence == tuple(u.describe() for u in call.unread)
    assert [u.reason for u in call.unread] == ["ip_fragment"]


def test_bypass_decision_clears_when_the_unread_frames_miss_the_target() -> None:
    call = evidence(UNREAD)
    elsewhere = dataclasses.replace(call, unread=[
        dataclasses.replace(u, dst=call.hosts["callee1"]) for u in call.unread])
    found = media_decision(elsewhere, bypass=True, why="same bypass ID (main site)")
    assert found.verdict is OK, found
    assert f"{BYPASSED}, as the policy decides" in found.summary


def test_relayed_decision_is_broken_when_frames_between_the_endpoints_go_unread() -> None:
    call = evidence(OTHER_SITE)
    gap = _with_unread(call, (call.hosts["branch1"], call.hosts["callee1"]))
    found = media_decision(gap, bypass=False, why="bypass IDs differ")
    assert found.verdict is BROKEN, found
    assert "could not be read" in found.summary
    assert "no media went endpoint to endpoint" in found.summary
    assert "198.18.0.21, 198.19.1.10" in found.summary  # the two endpoints it could not clear
    assert found.evidence == (f"frame {len(call.packets) + 1}: ip_fragment 198.19.1.10 -> "
                              "198.18.0.21 (udp)",)


def test_relayed_decision_clears_when_the_unread_frames_miss_the_endpoints() -> None:
    call = evidence(OTHER_SITE)
    gap = _with_unread(call, ("198.18.0.2", "198.18.0.23"), ("198.18.0.23", "198.18.0.2"))
    found = media_decision(gap, bypass=False, why="bypass IDs differ")
    assert found.verdict is OK, found


def test_a_wrong_media_path_fails_even_with_unread_frames() -> None:
    """FAILED beats BROKEN: what the capture did read already shows the wrong path."""
    call = evidence(f"{COMPARE_MAIN}_False-0.json.gz")
    gap = _with_unread(call, (call.hosts["branch1"], "198.18.0.2"))
    found = media_decision(gap, bypass=True, why="same branch ID")
    assert found.verdict is FAILED and "the wire shows PROXY" in found.summary, found


def test_bypass_id_answers_unmarked_leaves_the_invite_alone() -> None:
    found = bypass_id_carried(evidence(f"{LAB}answers_without_the_bypass_id_fail_sfb_3-0.json.gz"),
                              IDS["main"])
    assert "INVITE" not in found.summary  # the client's own ID still reaches the gateway
    assert f"INVITE (at callee1): a=x-bypassid ['{IDS['main']}']" in found.evidence


def test_cac_evidence_lists_every_call() -> None:
    found = admission_control(evidence(f"{CAC_NO_LIMIT}-7.json.gz"))
    assert found.evidence[0] == "limit: 2 call(s) with media across the WAN link"
    assert "WAN call 3 (over the limit): 200 OK" in found.evidence
    assert len(found.evidence) == 1 + 7


def test_the_fallback_call_shows_it_got_only_100_trying() -> None:
    found = clean_failure_without_common_codec(
        evidence(f"{LAB}a_488_turned_into_a_ringing_fallback_fails_kz_2-0.json.gz"))
    assert "provisional responses at the caller: [100]" in found.evidence
    assert "the caller offered ['PCMU'], the callee accepts ['PCMA']" in found.evidence


def test_wan_quality_reports_every_leg() -> None:
    found = wan_quality(evidence(WAN), IMPAIRMENT)
    assert found.evidence[0] == "WAN link: 40 ms one-way delay, 2% loss per direction"
    assert f"bypass (media path {BYPASSED}):" \
        in found.evidence
    assert f"anchored (media path {PROXIED}):" in found.evidence
    assert sum(line.startswith("  ") for line in found.evidence) == 2 + 4  # legs
