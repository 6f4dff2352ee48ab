"""How the Teams agent takes the target's SDES and keys its SRTP with it (issue 14 part 4):
the line it takes, the 488 precondition when it can take none, and the keys of both
directions in the suite the exchange settled on (_32 included, MKI included)."""

from __future__ import annotations

from harness.endpoints.rtp import RtpEndpoint
from harness.evidence.preconditions import TEAMS_SDES
from harness.media.rtp import RtpPacket
from harness.media.srtp import SrtpSession
from harness.scenarios.teams.inbound import _several_crypto_lines
from harness.scenarios.teams.outbound import teams_srtp
from harness.scenarios.teams.parties import key_srtp, sdes_refused, teams_crypto
from harness.sdp import PCMU, CryptoAttribute, SessionDescription, make_answer, make_offer

PLAIN = bytes(RtpPacket(payload_type=0, sequence=7, timestamp=160, ssrc=0x1234,
                        payload=b"\xff" * 160))


def offer_with(*lines: CryptoAttribute) -> SessionDescription:
    return make_offer("198.18.0.2", 30000, (PCMU,), crypto=lines)


def endpoint() -> RtpEndpoint:
    return RtpEndpoint("teams", None, "198.18.0.21")  # never opened: no socket


def test_an_offer_of_only_32_is_taken_and_keys_both_ways_in_32() -> None:
    theirs = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_32")
    pick = teams_crypto(offer_with(theirs))
    assert pick.line == theirs and not pick.passed_over
    mine = CryptoAttribute.generate(theirs.tag, theirs.suite)
    rtp = endpoint()
    key_srtp(rtp, mine=mine, theirs=theirs)
    assert rtp.tx_srtp is not None and rtp.rx_srtp is not None
    sent = rtp.tx_srtp.protect(PLAIN)
    assert len(sent) == len(PLAIN) + 4  # the _32 tag: 4 bytes
    peer_rx = SrtpSession(theirs.suite, mine.key_params[0].key_salt, "inbound")
    assert peer_rx.unprotect(sent) == PLAIN
    peer_tx = SrtpSession(theirs.suite, theirs.key_params[0].key_salt, "outbound")
    assert rtp.rx_srtp.unprotect(peer_tx.protect(PLAIN)) == PLAIN


def test_a_line_turning_encryption_off_is_passed_over_for_the_next() -> None:
    off = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80",
                                   session_params=["UNENCRYPTED_SRTP"])
    good = CryptoAttribute.generate(2, "AES_CM_128_HMAC_SHA1_32")
    pick = teams_crypto(offer_with(off, good))
    assert pick.line == good and pick.passed_over[0][0] == off


def test_no_line_to_take_is_the_teams_sdes_precondition_naming_it() -> None:
    off = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80",
                                   session_params=["UNENCRYPTED_SRTP"])
    pick = teams_crypto(offer_with(off))
    assert pick.line is None
    unmet = sdes_refused(pick)
    assert unmet.precondition is TEAMS_SDES
    assert unmet.detail == (f"the Teams side refused the offer with 488: a=crypto:{off} "
                            "refused: UNENCRYPTED_SRTP turns protection off: SRTP payloads "
                            "travel unencrypted")
    assert teams_crypto(make_offer("198.18.0.2", 30000, (PCMU,))).reason == \
        "no a=crypto line offered"


def test_the_answer_with_several_lines_keeps_the_answered_suite_and_its_mki() -> None:
    theirs = CryptoAttribute.generate(3, "AES_CM_128_HMAC_SHA1_32")
    offer = offer_with(theirs)
    answer = make_answer(offer, "198.18.0.21", 40000, (PCMU,),
                         crypto_choice=lambda _: CryptoAttribute.generate(3, theirs.suite))
    _several_crypto_lines(answer)
    first, second = answer.media[0].crypto()
    assert (first.tag, first.suite, second.tag, second.suite) == (3, theirs.suite, 4,
                                                                   theirs.suite)
    assert (first.key_params[0].lifetime, first.key_params[0].mki_bytes) == ("2^31", b"\x01")
    rtp = endpoint()
    key_srtp(rtp, mine=first, theirs=theirs)
    assert rtp.tx_srtp is not None and rtp.tx_srtp.mki == b"\x01"
    sent = rtp.tx_srtp.protect(PLAIN)
    peer_rx = SrtpSession(theirs.suite, first.key_params[0].key_salt, "inbound", mki=b"\x01")
    assert peer_rx.unprotect(sent) == PLAIN


def test_from_teams_the_answer_tag_picks_our_key_and_its_own_mki() -> None:
    ours32 = CryptoAttribute.generate(0, "AES_CM_128_HMAC_SHA1_32", lifetime="2^31")
    ours80 = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80", lifetime="2^31")
    offer = offer_with(ours32, ours80)
    target = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80", mki=2, mki_length=1)
    rtp = endpoint()
    assert teams_srtp(rtp, offer, offer_with(target))
    assert rtp.tx_srtp is not None and rtp.rx_srtp is not None
    assert rtp.tx_srtp.suite.name == "AES_CM_128_HMAC_SHA1_80" and rtp.rx_srtp.mki == b"\x02"
    peer_rx = SrtpSession(ours80.suite, ours80.key_params[0].key_salt, "inbound")
    assert peer_rx.unprotect(rtp.tx_srtp.protect(PLAIN)) == PLAIN
    # An answer under a tag we never offered keys nothing.
    stray = CryptoAttribute.generate(5, "AES_CM_128_HMAC_SHA1_80")
    other = endpoint()
    assert not teams_srtp(other, offer, offer_with(stray))
    assert other.tx_srtp is None and other.rx_srtp is None
