"""Which offered a=crypto line an SRTP peer can take (`refusal`, `pick_crypto`), what each
session parameter does (RFC 4568 §6.3), and which offered line an answer took
(`answered_crypto`)."""

from __future__ import annotations

import pytest

from harness.media.srtp import SRTP_SUITES
from harness.sdp import CryptoAttribute
from harness.sdp.crypto import (
    PROTECTION_OFF,
    KeyParam,
    ParamEffect,
    answered_crypto,
    pick_crypto,
    refusal,
    session_param,
)

KEY = "inline:9Qt329qNP6Z/4mkoK+mbsd8FWF/vAJ5QNW1nFjJ0"  # 30 bytes


def line(text: str) -> CryptoAttribute:
    return CryptoAttribute.parse(text)


def test_the_three_parameters_that_turn_protection_off() -> None:
    assert PROTECTION_OFF == {"UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP"}
    assert session_param("unencrypted_srtp").effect is ParamEffect.PROTECTION_OFF


@pytest.mark.parametrize(("text", "effect"), [
    ("KDR=3", ParamEffect.REKEYING), ("WSH=128", ParamEffect.HARMLESS),
    ("FEC_ORDER=SRTP_FEC", ParamEffect.HARMLESS), (f"FEC_KEY={KEY}", ParamEffect.HARMLESS),
    ("X_VENDOR=1", ParamEffect.UNKNOWN), ("-FOO", ParamEffect.UNKNOWN),
])
def test_what_each_session_parameter_does(text: str, effect: ParamEffect) -> None:
    found = session_param(text)
    assert found.effect is effect and found.text == text
    assert str(found).startswith(f"{text} (")


def test_an_80_and_a_32_line_are_taken_as_they_are() -> None:
    for suite in ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"):
        assert refusal(line(f"1 {suite} {KEY}|2^31|1:1 WSH=64"), SRTP_SUITES) is None


@pytest.mark.parametrize(("text", "words"), [
    (f"1 AES_CM_128_HMAC_SHA1_80 {KEY} UNENCRYPTED_SRTP",
     "UNENCRYPTED_SRTP turns protection off: SRTP payloads travel unencrypted"),
    (f"1 AES_CM_128_HMAC_SHA1_80 {KEY} UNAUTHENTICATED_SRTP",
     "UNAUTHENTICATED_SRTP turns protection off: SRTP packets carry no authentication tag"),
    (f"1 AES_CM_128_HMAC_SHA1_80 {KEY} UNENCRYPTED_SRTCP", "UNENCRYPTED_SRTCP turns"),
    (f"1 AES_CM_128_HMAC_SHA1_80 {KEY} KDR=2", "KDR=2 asks for key re-derivation"),
    (f"1 AES_CM_128_HMAC_SHA1_80 {KEY} X_VENDOR", "X_VENDOR not understood"),
    (f"1 F8_128_HMAC_SHA1_80 {KEY}", "suite F8_128_HMAC_SHA1_80 is not one the agent runs"),
    (f"1 AES_256_CM_HMAC_SHA1_80 {KEY}", "suite AES_256_CM_HMAC_SHA1_80 is not one"),
    ("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "3 bytes of key and salt"),
    (f"1 AES_CM_128_HMAC_SHA1_80 {KEY}|1:1;{KEY}|2:1", "2 master keys"),
    (f"1 AES_CM_128_HMAC_SHA1_80 {KEY}|300:1", "MKI 300 does not fit in 1 byte(s)"),
])
def test_a_line_the_agent_cannot_take_says_why(text: str, words: str) -> None:
    why = refusal(line(text), SRTP_SUITES)
    assert why is not None and words in why, why


def test_the_first_line_that_can_be_taken_is_picked() -> None:
    offered = [line(f"1 AES_CM_128_HMAC_SHA1_80 {KEY} UNENCRYPTED_SRTP"),
               line(f"2 F8_128_HMAC_SHA1_80 {KEY}"),
               line(f"3 AES_CM_128_HMAC_SHA1_32 {KEY}"),
               line(f"4 AES_CM_128_HMAC_SHA1_80 {KEY}")]
    pick = pick_crypto(offered, SRTP_SUITES)
    assert pick.line is offered[2]
    assert [passed.tag for passed, _ in pick.passed_over] == [1, 2]
    assert pick.reason.startswith(f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 {KEY} UNENCRYPTED_SRTP "
                                  "refused: UNENCRYPTED_SRTP turns protection off")


def test_no_line_to_take_names_each_one() -> None:
    assert pick_crypto([], SRTP_SUITES).reason == "no a=crypto line offered"
    pick = pick_crypto([line(f"1 AES_CM_128_HMAC_SHA1_32 {KEY} UNAUTHENTICATED_SRTP")],
                       SRTP_SUITES)
    assert pick.line is None
    assert pick.reason == (f"a=crypto:1 AES_CM_128_HMAC_SHA1_32 {KEY} UNAUTHENTICATED_SRTP "
                           "refused: UNAUTHENTICATED_SRTP turns protection off: SRTP packets "
                           "carry no authentication tag")


def test_the_answer_names_the_offered_line_by_tag_and_suite() -> None:
    offered = [line(f"0 AES_CM_128_HMAC_SHA1_32 {KEY}"), line(f"1 AES_CM_128_HMAC_SHA1_80 {KEY}")]
    answer = line(f"1 AES_CM_128_HMAC_SHA1_80 {KEY}|2^31|1:1")
    assert answered_crypto(offered, [answer]) == (offered[1], answer)
    # A tag offered under another suite, or not offered at all, names nothing.
    assert answered_crypto(offered, [line(f"0 AES_CM_128_HMAC_SHA1_80 {KEY}")]) is None
    assert answered_crypto(offered, [line(f"7 AES_CM_128_HMAC_SHA1_80 {KEY}")]) is None


@pytest.mark.parametrize(("text", "mki"), [
    (f"{KEY}|1:1", b"\x01"), (f"{KEY}|2^31|258:2", b"\x01\x02"), (KEY, None),
    (f"{KEY}|256:1", None),
])
def test_the_mki_as_packets_carry_it(text: str, mki: bytes | None) -> None:
    assert KeyParam.parse(text).mki_bytes == mki
