"""The encryption of a Teams call's SRTP (`harness.conformance.srtp_checks`, issue 14 part
4) and the reading of whole a=crypto lines, judged over recorded calls: the suite's calls
against the default target (every suite and direction encrypted: _80 toward Teams, _32
from Teams, an MKI on the Teams side's key), and tests/lab/test_srtp_copies.py's calls
against copies offering only _32 or UNENCRYPTED_SRTP and through a relay that sends the
target's media on in clear, with a valid tag or with none.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from evidence_rows import Row, evidence, run

from harness.conformance import dr_checks as dc
from harness.conformance import srtp_checks as sc
from harness.conformance.case import Verdict
from harness.evidence.teams import DrOutcome
from harness.media.rtp import RtpPacket
from harness.sdp import CryptoAttribute, SessionDescription

OK, FAILED = Verdict.OK, Verdict.FAILED


def suite(name: str) -> str:
    """The call of suites/test_teams_dr.py's case ``test_dr_<name>``."""
    return f"suites/test_teams_dr__test_dr_{name}-0.json.gz"


def copies(name: str, n: int = 0) -> str:
    """The `n`-th call of tests/lab/test_srtp_copies.py's ``test_<name>``."""
    return f"selftests/test_srtp_copies__test_{name}-{n}.json.gz"


def dr_lab(name: str, n: int = 0) -> str:
    """The `n`-th call of tests/lab/test_dr_validation.py's ``test_<name>``."""
    return f"selftests/test_dr_validation__test_{name}-{n}.json.gz"


ONLY_32 = copies("only_the_32_suite_toward_teams_fails_dr_srtp_1_alone")  # a plain call
ONLY_32_MKI = copies("only_the_32_suite_toward_teams_fails_dr_srtp_1_alone", 1)
UNENCRYPTED = copies("unencrypted_srtp_toward_teams_fails_dr_srtp_1_and_ends_in_488")
CLEAR_TAGGED = copies("plaintext_toward_teams_fails_the_encryption_check_valid_tag")
CLEAR_UNTAGGED = copies("plaintext_toward_teams_fails_the_encryption_check_no_tag")
NEW_KEY_IN_200 = dr_lab("a_new_key_in_the_200_fails_dr_srtp_3")
MKI_STRIPPED = dr_lab("a_target_deaf_to_the_mki_fails_dr_srtp_2_Fault.STRIP_MKI-Verdict.FAILED")
FORKED_SECOND = dr_lab("forked_checks_find_rtpengines_deviations", 1)

ENCRYPTED = ("SRTP encrypted both ways on the Teams leg: every packet on the wire differs "
             "from its sender's plaintext and decrypts to it with the negotiated key")
IN_CLEAR = ("target -> Teams: 15 of 15 packet(s) carry the PSTN side's plaintext payload on "
            "the wire: not encrypted")


def teams_in_clear(out: DrOutcome) -> tuple[DrOutcome]:
    """The Teams side's own packets put on the wire as the plain RTP it produced: what the
    harness's agent did before issue 14 when it answered a suite it could not key (an
    AEAD_AES_256_GCM or _32 answer, then plain RTP), with no tag at all."""
    teams, sent = out.teams_address, [r for r in out.teams_rtp if r.direction == "sent"]
    plain = iter(bytes(r.packet) for r in sent if r.packet is not None)
    packets = tuple(dataclasses.replace(p, payload=next(plain, p.payload))
                    if p.src == teams and p.payload[:1] == b"\x80" else p
                    for p in out.packets)
    return (dataclasses.replace(out, packets=packets),)


def _with_crypto(sd: SessionDescription | None, edit: Any) -> SessionDescription:
    """A copy of `sd` whose first a=crypto line is `edit(line)`."""
    assert sd is not None
    copy = sd.copy()
    attr = copy.media[0].get_attributes("crypto")[0]
    attr.value = str(edit(CryptoAttribute.parse(attr.value or "")))
    return copy


def teams_key_changed(out: DrOutcome) -> tuple[DrOutcome]:
    """The Teams answer names another key than the one the Teams side sent with: what the
    capture shows of a sender keyed otherwise than its SDP says."""
    answer = _with_crypto(out.answer_from_teams,
                          lambda line: CryptoAttribute.generate(line.tag, line.suite))
    return (dataclasses.replace(out, answer_from_teams=answer),)


ROWS: list[Row] = [
    Row("encrypted: _80 toward Teams", sc.srtp_encrypted, [suite("sdes_offer")], OK,
        [ENCRYPTED]),
    Row("encrypted: _32 from Teams", sc.srtp_encrypted, [suite("sdes_answer")], OK,
        [ENCRYPTED]),
    Row("encrypted: the Teams key with MKI", sc.srtp_encrypted,
        [suite("several_crypto_lines_with_mki")], OK, [ENCRYPTED]),
    Row("encrypted: only _32 offered toward Teams", sc.srtp_encrypted, [ONLY_32], OK,
        [ENCRYPTED]),
    Row("encrypted: only _32, MKI", sc.srtp_encrypted, [ONLY_32_MKI], OK, [ENCRYPTED]),
    Row("encrypted: the target deaf to the MKI", sc.srtp_encrypted, [MKI_STRIPPED], OK,
        [ENCRYPTED]),
    Row("encrypted: forked, first answers", sc.srtp_encrypted,
        [suite("forked_first_device_answers")], OK, [ENCRYPTED]),
    Row("encrypted: plaintext with a valid tag", sc.srtp_encrypted, [CLEAR_TAGGED], FAILED,
        [IN_CLEAR, "target -> Teams: 15 of 15 packet(s) decrypted with the offered key "
         "(a=crypto:1 AES_CM_128_HMAC_SHA1_80) to payloads the PSTN side never sent"]),
    Row("encrypted: plaintext, no tag", sc.srtp_encrypted, [CLEAR_UNTAGGED], FAILED,
        [IN_CLEAR, "target -> Teams: 15 of 15 packet(s) did not decrypt with the offered key "
         "(a=crypto:1 AES_CM_128_HMAC_SHA1_80)"]),
    Row("encrypted: the Teams side in clear", sc.srtp_encrypted, [suite("sdes_offer")],
        FAILED, ["Teams -> target: 15 of 15 packet(s) carry the Teams side's plaintext "
                 "payload on the wire: not encrypted", "Teams -> target: 15 of 15 packet(s) "
                 "did not decrypt with the answered key"], derive=teams_in_clear),
    Row("encrypted: keyed otherwise than the SDP", sc.srtp_encrypted, [suite("sdes_offer")],
        FAILED, ["Teams -> target: 15 of 15 packet(s) did not decrypt with the answered key"],
        derive=teams_key_changed),
    Row("encrypted: a new key in the 200", sc.srtp_encrypted, [NEW_KEY_IN_200], FAILED,
        ["target -> Teams: 30 of 30 packet(s) did not decrypt with the answered key "
         "(a=crypto:0 AES_CM_128_HMAC_SHA1_32)"]),
    Row("encrypted: forked, no media to the answering device", sc.srtp_encrypted,
        [FORKED_SECOND], FAILED, ["target -> Teams (callee2): no media on the wire"]),
    Row("encrypted: refused with 488", sc.srtp_encrypted, [UNENCRYPTED], FAILED,
        ["no SRTP crossed the Teams leg: nothing shows it encrypted"]),
    Row("encrypted: forked, every device refused with 488", sc.srtp_encrypted,
        [copies("unencrypted_srtp_toward_teams_fails_dr_srtp_1_and_ends_in_488", 1)], FAILED,
        ["no Teams leg with an SDP answer to judge (the call ended before it)"]),
]


def answer_unencrypted(out: DrOutcome) -> tuple[DrOutcome]:
    """The target's 200 answers the Teams offer with UNENCRYPTED_SRTP on its line: what a
    target configured with rtpengine's SDES-unencrypted_srtp toward Teams answers."""
    answer = _with_crypto(out.teams_got_200, lambda line: dataclasses.replace(
        line, session_params=["UNENCRYPTED_SRTP"]))
    return (dataclasses.replace(out, teams_got_200=answer),)


UNENCRYPTED_NAMED = ("a=crypto:1 AES_CM_128_HMAC_SHA1_80 carries UNENCRYPTED_SRTP (SRTP "
                     "payloads travel unencrypted), which the Teams profile forbids")

# The DR checks that read whole lines or the encryption, over the copies' calls; and what
# the Teams agent itself used to fail against an offer of only _32, passing now.
ROWS += [
    Row("sdes format: only _32 offered", dc.sdes_offer_format, [ONLY_32], FAILED,
        ["suite AES_CM_128_HMAC_SHA1_32 offered; the profile asks for "
         "AES_CM_128_HMAC_SHA1_80"]),
    Row("sdes format: UNENCRYPTED_SRTP offered", dc.sdes_offer_format, [UNENCRYPTED],
        FAILED, [UNENCRYPTED_NAMED]),
    Row("sdes format: plaintext with a valid tag", dc.sdes_offer_format, [CLEAR_TAGGED],
        FAILED, [IN_CLEAR]),
    Row("one suite answered: UNENCRYPTED_SRTP answered", dc.one_offered_suite_answered,
        [suite("sdes_answer")], FAILED, ["answered a=crypto:0 AES_CM_128_HMAC_SHA1_32 carries "
                                         "UNENCRYPTED_SRTP (SRTP payloads travel unencrypted)"],
        derive=answer_unencrypted),
    Row("several crypto lines: only _32 offered", dc.several_crypto_lines_accepted,
        [ONLY_32_MKI], OK, ["answer with two crypto lines (MKI |1:1 on the one used) "
                            "accepted; SRTP both ways"]),
    Row("nominated pair: only _32 offered", dc.nominated_pair_carries_media, [ONLY_32], OK,
        ["media flowed both ways on the nominated pair"]),
    Row("audio: only _32 offered", dc.audio_both_ways_dr, [ONLY_32], OK, ["audio both ways"]),
    Row("malformed stun: only _32 offered", dc.malformed_stun_discarded,
        [copies("only_the_32_suite_toward_teams_fails_dr_srtp_1_alone", 2)], OK,
        ["malformed STUN got no success response and the call worked"]),
    Row("early dtmf: only _32 offered", dc.early_dtmf_to_teams,
        [copies("only_the_32_suite_toward_teams_fails_dr_srtp_1_alone", 3)], OK,
        ["4 DTMF event(s) arrived with their digits and durations"]),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_srtp_checks(row: Row) -> None:
    run(row)


# --------------------------------------------------------------------------- the evidence


def test_each_direction_says_how_many_packets_differ_and_decrypt() -> None:
    found = run(ROWS[0])
    assert found.evidence[:2] == (
        "Teams -> target: 15 packet(s) on the wire, 15 differ from the Teams side's "
        "plaintext, 15 decrypt to it with the answered key (a=crypto:1 "
        "AES_CM_128_HMAC_SHA1_80)",
        "target -> Teams: 15 packet(s) on the wire, 15 differ from the PSTN side's "
        "plaintext, 15 decrypt to it with the offered key (a=crypto:1 "
        "AES_CM_128_HMAC_SHA1_80)")


def test_the_mki_of_the_teams_key_is_named() -> None:
    found = run(ROWS[2])
    assert any("with the answered key (a=crypto:1 AES_CM_128_HMAC_SHA1_80, MKI 1:1)" in line
               for line in found.evidence), found


def test_plaintext_with_a_valid_tag_passes_libsrtp_but_not_the_check() -> None:
    # What "SRTP decrypts" used to count: no packet rejected. The payloads are noise.
    out = evidence(CLEAR_TAGGED)
    got = [r for r in out.teams_rtp if r.direction == "received"]
    assert got and all(r.packet is not None for r in got)
    sent = {r.packet.payload for r in out.pstn_rtp if r.direction == "sent" and r.packet}
    assert not any(isinstance(r.packet, RtpPacket) and r.packet.payload in sent for r in got)
    assert sc.srtp_encrypted(out).verdict is FAILED


# --------------------------------------------------------------------------- whole lines

KEY = "inline:9Qt329qNP6Z/4mkoK+mbsd8FWF/vAJ5QNW1nFjJ0"


@pytest.mark.parametrize("param", ["UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP",
                                   "UNAUTHENTICATED_SRTP"])
def test_a_session_parameter_turning_protection_off_fails_naming_the_line(param: str) -> None:
    problems, _ = sc.crypto_lines_for_teams([f"1 AES_CM_128_HMAC_SHA1_80 {KEY}",
                                             f"2 AES_CM_128_HMAC_SHA1_80 {KEY} {param}"])
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"a=crypto:2 AES_CM_128_HMAC_SHA1_80 carries {param} (")
    assert problems[0].endswith("which the Teams profile forbids")


def test_lifetime_mki_and_other_session_parameters_are_reported_as_found() -> None:
    problems, found = sc.crypto_lines_for_teams(
        [f"1 AES_CM_128_HMAC_SHA1_80 {KEY}|2^31|1:1 WSH=128 KDR=0 FEC_ORDER=FEC_SRTP"])
    assert problems == []
    assert found == ["a=crypto:1 AES_CM_128_HMAC_SHA1_80: lifetime 2^31, MKI 1:1; session "
                     "parameters: WSH=128 (a hint for the size of the replay window), KDR=0 "
                     "(session keys re-derived every 2^n packets), FEC_ORDER=FEC_SRTP (the "
                     "order of FEC and SRTP processing)"]


def test_a_line_that_does_not_parse_is_a_problem() -> None:
    problems, found = sc.crypto_lines_for_teams(["1 AES_CM_128_HMAC_SHA1_80 inline:!!"])
    assert found == [] and problems and "does not parse" in problems[0]
