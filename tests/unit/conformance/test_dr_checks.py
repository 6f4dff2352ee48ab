"""The Teams Direct Routing checks of the SDP, the STUN and the nominated pair
(`harness.conformance.dr_checks`, DR-ICE-*, DR-SRTP-*, DR-STUN-*, DR-SDP-1, DR-REINV-1),
judged over recorded calls: the suite's calls against the default target (passing, except
DR-ICE-3 with forking, a known deviation) and the lab self-tests' calls through broken
copies of the target, the fault-injecting SIP shim and the media relay (failing the way
tests/lab/test_dr_validation.py asserts). The early-media, forking and audio checks are in
test_dr_media_checks.py.
"""

from __future__ import annotations

import dataclasses

import pytest
from evidence_rows import Row, evidence, run, shape

from harness.capture.pcap import UnreadFrame
from harness.conformance import dr_checks as dc
from harness.conformance.case import Verdict

OK, FAILED = Verdict.OK, Verdict.FAILED


def suite(name: str) -> str:
    """The call of suites/test_teams_dr.py's case ``test_dr_<name>``."""
    return f"suites/test_teams_dr__test_dr_{name}-0.json.gz"


def lab(name: str, n: int = 0) -> str:
    """The `n`-th call of tests/lab/test_dr_validation.py's ``test_<name>``."""
    return f"selftests/test_dr_validation__test_{name}-{n}.json.gz"


RELAY = "a_relay_fault_fails_its_stun_or_path_check_RelayFault."
FULL_ICE = lab("a_full_ice_target_fails_lite_and_no_checks")  # ICE-lite=forward removed
FULL_ICE_PATHS = lab("a_full_ice_target_meets_dr_em_2_but_sends_checks")
NO_ICE = lab("no_ice_fails_the_candidate_and_check_requirements")  # ICE=remove
EVERY_SUITE = lab("offering_every_suite_fails_the_sdes_format")  # SDES-no-* flags removed
RTCP_CANDIDATE = lab("an_rtcp_candidate_fails_exactly_one_candidate")  # rtcp-mux-offer
NO_MUX = lab("no_rtcp_mux_fails_the_bypass_offer")  # rtcp-mux-require removed
GOOD_SHIM = lab("from_teams_checks_pass_through_a_faultless_shim")
NEW_ICE_IN_200 = lab("new_ice_credentials_in_the_200_fail_dr_ice_7_and_8")
DROPPED_VIDEO = lab("a_dropped_video_line_fails_dr_sdp_1")
NEW_KEY_IN_200 = lab("a_new_key_in_the_200_fails_dr_srtp_3")
REINVITE_RESTART = lab("an_ice_restart_in_the_reinvite_answer_fails_dr_reinv_1")
MKI_KEPT = lab("a_target_deaf_to_the_mki_fails_dr_srtp_2_Fault.NONE-Verdict.OK")
MKI_STRIPPED = lab("a_target_deaf_to_the_mki_fails_dr_srtp_2_Fault.STRIP_MKI-Verdict.FAILED")
GOOD_RELAY = lab("stun_and_path_checks_pass_through_a_faultless_media_relay")
DROP_UNKNOWN = lab(RELAY + "DROP_ANSWER_TO_UNKNOWN_ATTRIBUTE-unknown_attribute_ignored-"
                   "the_check_wi")
ANSWER_MALFORMED = lab(RELAY + "ANSWER_MALFORMED-malformed_stun_discarded-"
                       "the_target_answered_the_check")
OTHER_PORT = lab(RELAY + "MEDIA_FROM_ANOTHER_PORT-nominated_pair_carries_media-"
                 "not_only_from_the_")
NO_ICE_TO_TEAMS = lab("a_target_without_ice_toward_teams_fails_both_early_media_paths")
FORKED_SECOND = lab("forked_checks_find_rtpengines_deviations", 1)  # the second device answers

ALL_CHECKS = "all 2 checks answered with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT"
OWN_CHECKS = "the target sent 2 connectivity check(s) of its own"
PAIR_OK = "media flowed both ways on the nominated pair"
NOT_NOMINATED_PORT = ("media came from ['198.18.0.5:58593'], not only from the nominated "
                      "198.18.0.5:52871")
STABLE = "ufrag, password and candidates identical in the 183 and the 200"
NO_RECHECK = "media flowed after the 200 on the pair nominated before it, with no new check"
MALFORMED_OK = "malformed STUN got no success response and the call worked"
UNKNOWN_OK = "the unknown optional attribute was ignored and the check answered"
SUITE_ANSWERED = "one offered suite answered under its tag; SRTP both ways"
VIDEO_REJECTED = "every non-audio m-line answered with port 0"
NO_RESTART = "answered with the same ICE credentials; media went on"
SEVERAL_CRYPTO = "answer with two crypto lines (MKI |1:1 on the one used) accepted"

ROWS: list[Row] = [
    # DR-ICE-1
    Row("ice-lite: one IPv4 candidate", dc.candidates_ice_lite, [suite("one_candidate_ice_lite")],
        OK, ["one IPv4 candidate, a=ice-lite declared"]),
    Row("ice-lite: only the suites wrong", dc.candidates_ice_lite, [EVERY_SUITE], OK,
        ["one IPv4 candidate, a=ice-lite declared"]),
    Row("ice-lite: full ICE target", dc.candidates_ice_lite, [FULL_ICE], FAILED,
        ["no a=ice-lite: the target does not declare itself ICE-Lite"]),
    Row("ice-lite: RTCP candidate", dc.candidates_ice_lite, [RTCP_CANDIDATE], FAILED,
        ["2 candidates offered, exactly one required"]),
    Row("ice-lite: no ICE", dc.candidates_ice_lite, [NO_ICE], FAILED,
        ["0 candidates offered, exactly one required", "no a=ice-lite"]),
    # DR-ICE-2
    Row("checks answered", dc.checks_answered, [suite("checks_answered")], OK, [ALL_CHECKS]),
    Row("checks answered: faultless shim", dc.checks_answered, [GOOD_SHIM], OK, [ALL_CHECKS]),
    Row("checks answered: faultless relay", dc.checks_answered, [GOOD_RELAY], OK,
        ["all 3 checks answered with XOR-MAPPED-ADDRESS"]),
    Row("checks answered: no ICE", dc.checks_answered, [NO_ICE], FAILED,
        ["no connectivity check could be sent (no candidate or no ice-ufrag/ice-pwd"]),
    Row("checks answered: one check dropped", dc.checks_answered, [DROP_UNKNOWN], FAILED,
        ["1 of 3 check(s) not answered as required: no response from 198.18.0.5:56581"]),
    Row("checks answered: full ICE role conflict", dc.checks_answered, [FULL_ICE], FAILED,
        ["1 of 1 check(s) not answered as required", "(487, 'Role conflict')"]),
    # DR-ICE-3 (the BROKEN verdicts are tested below)
    Row("no own checks", dc.no_checks_from_target, [suite("no_checks_from_target")], OK,
        ["no Binding request from the target in the capture"]),
    Row("no own checks: faultless shim", dc.no_checks_from_target, [GOOD_SHIM], OK,
        ["no Binding request from the target in the capture"]),
    Row("no own checks: full ICE target", dc.no_checks_from_target, [FULL_ICE], FAILED,
        [OWN_CHECKS]),
    Row("no own checks: full ICE, two paths", dc.no_checks_from_target, [FULL_ICE_PATHS],
        FAILED, [OWN_CHECKS]),
    Row("no own checks: forked (known deviation)", dc.no_checks_from_target,
        [suite("forked_no_checks_from_target")], FAILED, [OWN_CHECKS]),
    Row("no own checks: forked, second answers", dc.no_checks_from_target, [FORKED_SECOND],
        FAILED, [OWN_CHECKS]),
    # DR-ICE-4/5
    Row("nominated pair: before 200", dc.nominated_pair_carries_media,
        [suite("nominated_before_200")], OK, [PAIR_OK]),
    Row("nominated pair: after 200", dc.nominated_pair_carries_media,
        [suite("nominated_after_200")], OK, [PAIR_OK]),
    Row("nominated pair: faultless relay", dc.nominated_pair_carries_media, [GOOD_RELAY], OK,
        [PAIR_OK]),
    Row("nominated pair: media from another port", dc.nominated_pair_carries_media,
        [OTHER_PORT], FAILED, [NOT_NOMINATED_PORT]),
    Row("nominated pair: no ICE", dc.nominated_pair_carries_media, [NO_ICE], FAILED,
        ["the nomination did not complete (see DR-ICE-2)"]),
    Row("nominated pair: MKI stripped", dc.nominated_pair_carries_media, [MKI_STRIPPED],
        FAILED, ["only 0 of the 15 packets the Teams endpoint sent on the nominated pair "
                 "reached the PSTN side"]),
    # DR-SRTP-1
    Row("sdes format", dc.sdes_offer_format, [suite("sdes_offer")], OK,
        ["AES_CM_128_HMAC_SHA1_80 inline key of 30 bytes, no session parameter turning "
         "protection off; SRTP encrypted both ways"]),
    Row("sdes format: every suite offered", dc.sdes_offer_format, [EVERY_SUITE], FAILED,
        ["suite AEAD_AES_256_GCM offered; the profile asks for AES_CM_128_HMAC_SHA1_80",
         "suite NULL_HMAC_SHA1_32 offered"]),
    Row("sdes format: no ICE, no SRTP", dc.sdes_offer_format, [NO_ICE], FAILED,
        ["no SRTP crossed the Teams leg: nothing shows it encrypted"]),
    # DR-SRTP-4
    Row("bypass offer", dc.bypass_offer_attributes, [suite("bypass_offer")], OK,
        ["SDES and a=rtcp-mux offered"]),
    Row("bypass offer: no rtcp-mux", dc.bypass_offer_attributes, [NO_MUX], FAILED,
        ["no a=rtcp-mux"]),
    # DR-STUN-1
    Row("unknown attribute", dc.unknown_attribute_ignored, [suite("unknown_stun_attribute")],
        OK, [UNKNOWN_OK]),
    Row("unknown attribute: faultless relay", dc.unknown_attribute_ignored, [GOOD_RELAY], OK,
        [UNKNOWN_OK]),
    Row("unknown attribute: answer dropped", dc.unknown_attribute_ignored, [DROP_UNKNOWN],
        FAILED, ["the check with an unknown optional attribute was not answered properly: "
                 "no response"]),
    # DR-STUN-2
    Row("malformed stun", dc.malformed_stun_discarded, [suite("malformed_stun")], OK,
        [MALFORMED_OK]),
    Row("malformed stun: faultless relay", dc.malformed_stun_discarded, [GOOD_RELAY], OK,
        [MALFORMED_OK]),
    Row("malformed stun: answered", dc.malformed_stun_discarded, [ANSWER_MALFORMED], FAILED,
        ["the target answered the check with a wrong MESSAGE-INTEGRITY with a success "
         "response", "the target answered the truncated check with a success response"]),
    Row("malformed stun: then media from another port", dc.malformed_stun_discarded,
        [OTHER_PORT], FAILED,
        ["after the malformed STUN the call did not carry media: " + NOT_NOMINATED_PORT]),
    # DR-ICE-7
    Row("ice stable", dc.ice_stable_183_to_200, [suite("ice_stable_183_to_200")], OK, [STABLE]),
    Row("ice stable: faultless shim", dc.ice_stable_183_to_200, [GOOD_SHIM], OK, [STABLE]),
    Row("ice stable: only the re-INVITE restarts", dc.ice_stable_183_to_200,
        [REINVITE_RESTART], OK, [STABLE]),
    Row("ice stable: new credentials in 200", dc.ice_stable_183_to_200, [NEW_ICE_IN_200],
        FAILED, ["ICE attributes changed from the 183 to the 200: a=ice-pwd:"]),
    Row("ice stable: no ICE toward Teams", dc.ice_stable_183_to_200, [NO_ICE_TO_TEAMS],
        FAILED, ["the 183 carries no ICE attributes"]),
    # DR-ICE-8
    Row("no recheck", dc.no_checks_needed_after_200, [suite("no_checks_after_200")], OK,
        [NO_RECHECK]),
    Row("no recheck: faultless shim", dc.no_checks_needed_after_200, [GOOD_SHIM], OK,
        [NO_RECHECK]),
    Row("no recheck: new credentials in 200", dc.no_checks_needed_after_200, [NEW_ICE_IN_200],
        FAILED, ["the 200 brings other ICE credentials or candidates than the 183",
                 "the Teams side would have to check again"]),
    Row("no recheck: media from another port", dc.no_checks_needed_after_200, [OTHER_PORT],
        FAILED, ["after the 200, without new checks: " + NOT_NOMINATED_PORT]),
    # DR-SRTP-3
    Row("one suite answered", dc.one_offered_suite_answered, [suite("sdes_answer")], OK,
        [SUITE_ANSWERED]),
    Row("one suite answered: faultless shim", dc.one_offered_suite_answered, [GOOD_SHIM], OK,
        [SUITE_ANSWERED]),
    Row("one suite answered: new key in 200", dc.one_offered_suite_answered, [NEW_KEY_IN_200],
        FAILED, ["target -> Teams: 30 of 30 packet(s) did not decrypt with the answered key "
                 "(a=crypto:0 AES_CM_128_HMAC_SHA1_32)"]),
    # DR-SDP-1
    Row("video rejected", dc.non_audio_rejected, [suite("video_rejected")], OK,
        [VIDEO_REJECTED]),
    Row("video rejected: faultless shim", dc.non_audio_rejected, [GOOD_SHIM], OK,
        [VIDEO_REJECTED]),
    Row("video rejected: video line dropped", dc.non_audio_rejected, [DROPPED_VIDEO], FAILED,
        ["2 m-lines offered, 1 answered"]),
    # DR-REINV-1
    Row("reinvite", dc.reinvite_without_restart, [suite("reinvite_remote_candidates")], OK,
        [NO_RESTART]),
    Row("reinvite: faultless shim", dc.reinvite_without_restart, [GOOD_SHIM], OK, [NO_RESTART]),
    Row("reinvite: ICE restart in its answer", dc.reinvite_without_restart, [REINVITE_RESTART],
        FAILED, ["the answer changed ice-ufrag/ice-pwd: an ICE restart nobody asked for"]),
    Row("reinvite: new credentials in every 200", dc.reinvite_without_restart,
        [NEW_ICE_IN_200], FAILED, ["an ICE restart nobody asked for"]),
    # DR-SRTP-2
    Row("several crypto lines", dc.several_crypto_lines_accepted,
        [suite("several_crypto_lines_with_mki")], OK, [SEVERAL_CRYPTO]),
    Row("several crypto lines: faultless shim", dc.several_crypto_lines_accepted, [MKI_KEPT],
        OK, [SEVERAL_CRYPTO]),
    Row("several crypto lines: MKI stripped", dc.several_crypto_lines_accepted, [MKI_STRIPPED],
        FAILED, ["the PSTN side did not hear the other side's 1300 Hz tone"]),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_dr_checks(row: Row) -> None:
    run(row)


# --------------------------------------------------------------------------- evidence lines


def test_own_checks_are_named_with_the_device_they_went_to() -> None:
    # rtpengine's checks of its own went to the second forked device (as the lab asserts).
    found = run(Row("forked own checks", dc.no_checks_from_target, [FORKED_SECOND], FAILED,
                    [OWN_CHECKS]))
    assert all(line.startswith("frame ") and "Binding request 198.18.0.2:" in line
               for line in found.evidence), found
    assert "198.18.0.22" in "\n".join(found.evidence)


def test_media_from_another_port_is_shown_in_the_evidence() -> None:
    found = run(Row("other port", dc.nominated_pair_carries_media, [OTHER_PORT], FAILED,
                    ["not only from the nominated"]))
    assert shape(found.evidence[0]).startswith(shape("nominated 198.18.0.5:52871 (before 200"))
    assert shape("from ['198.18.0.5:58593']") in shape(found.evidence[1])


def test_every_probe_of_the_malformed_stun_is_reported() -> None:
    found = run(Row("probes", dc.malformed_stun_discarded, [ANSWER_MALFORMED], FAILED,
                    ["with a success response"]))
    probes = [line for line in found.evidence if ": answered with a " in line
              or line.endswith(": no answer")]
    assert len(probes) == len(evidence(ANSWER_MALFORMED).probes)
    assert any("wrong MESSAGE-INTEGRITY: answered with a success response" in line
               for line in probes), probes


# --------------------------------------------------------------------------- unread frames


TARGET, CALLER, TEAMS = "198.18.0.2", "198.18.0.10", "198.18.0.21"


def _unread(*frames: tuple[str, str]) -> list[UnreadFrame]:
    return [UnreadFrame(index=40 + i, ts=1796412000.0 + i / 1000, reason="ip_fragment",
                        src=src, dst=dst, protocol="udp") for i, (src, dst) in enumerate(frames)]


def test_no_checks_from_target_decides_over_the_reassembled_fragments_of_the_target() -> None:
    # The INVITE with twelve crypto lines went from the target to the Teams side in two IP
    # fragments; the reader reassembles them, so nothing of the target goes unread and
    # the check decides. Were they unread, they might have been checks: BROKEN.
    out = evidence(EVERY_SUITE)
    invite = [p for p in out.packets if p.fragments]
    assert len(invite) == 1 and len(invite[0].fragments) == 2
    assert invite[0].payload.startswith(b"INVITE ") and invite[0].src[0] == TARGET
    assert not out.unread and dc.no_checks_from_target(out).verdict is OK
    lost = dataclasses.replace(out, unread=tuple(
        UnreadFrame(index=n, ts=invite[0].ts, reason="ip_fragment", src=TARGET, dst=TEAMS,
                    protocol="udp") for n in invite[0].fragments))
    found = dc.no_checks_from_target(lost)
    assert found.verdict is Verdict.BROKEN, found
    assert "2 captured frame(s) involving 198.18.0.2 could not be read" in found.summary
    assert "cannot show that the target sent no connectivity check" in found.summary


@pytest.mark.parametrize(("src", "dst"), [(TARGET, TEAMS), (TEAMS, TARGET), (CALLER, TARGET)])
def test_no_checks_from_target_is_broken_when_frames_of_the_target_go_unread(
    src: str, dst: str,
) -> None:
    passing = evidence(suite("no_checks_from_target"))
    assert passing.target_addresses == {TARGET}
    found = dc.no_checks_from_target(dataclasses.replace(passing, unread=_unread((src, dst))))
    assert found.verdict is Verdict.BROKEN, found
    assert "could not be read" in found.summary and TARGET in found.summary
    assert found.evidence == (f"frame 40: ip_fragment {src} -> {dst} (udp)",)
    assert found.check == "no_checks_from_target"


def test_no_checks_from_target_is_ok_when_only_other_frames_go_unread() -> None:
    passing = evidence(suite("no_checks_from_target"))
    derived = dataclasses.replace(passing, unread=_unread((CALLER, TEAMS), (TEAMS, CALLER)))
    found = dc.no_checks_from_target(derived)
    assert found.verdict is OK, found
    assert "no Binding request from the target in the capture" in found.summary
    assert not evidence(suite("no_checks_from_target")).unread  # the recording is unchanged


def test_checks_the_capture_shows_fail_whatever_frames_go_unread() -> None:
    # Requests from the target that were read are a violation: unread frames cannot undo it.
    derived = dataclasses.replace(evidence(FULL_ICE), unread=_unread((TARGET, TEAMS)))
    found = dc.no_checks_from_target(derived)
    assert found.verdict is FAILED and OWN_CHECKS in found.summary, found
