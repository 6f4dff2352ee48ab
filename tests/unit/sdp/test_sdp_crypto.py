"""SDES crypto attributes (RFC 4568): parse, render, generate, validate."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from harness.sdp import (
    SUITES,
    CryptoAttribute,
    KeyParam,
    SdpParseError,
    SessionDescription,
    validate_crypto,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sdp"

# Values in the shape of RFC 4568 sections 4 and 8.1.
RFC_EXAMPLES = [
    "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
    "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 "
    "FEC_ORDER=FEC_SRTP",
    "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32",
    "1 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4;"
    "inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4",
    "2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj KDR=1 "
    "UNENCRYPTED_SRTCP",
    "3 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:1",
    "4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1048576",
]


@pytest.mark.parametrize("value", RFC_EXAMPLES)
def test_rfc_examples_round_trip_and_validate(value: str) -> None:
    attr = CryptoAttribute.parse(value)
    assert str(attr) == value
    assert validate_crypto(attr) == []


def test_key_param_fields() -> None:
    kp = KeyParam.parse("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4")
    assert kp.method == "inline"
    assert len(kp.key_salt) == 30
    assert (kp.lifetime, kp.lifetime_packets, kp.mki, kp.mki_length) == ("2^20", 2**20, 1, 4)
    mki_only = KeyParam.parse("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:1")
    assert (mki_only.lifetime, mki_only.mki, mki_only.mki_length) == (None, 1, 1)
    bare = KeyParam.parse("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
    assert (bare.lifetime, bare.mki) == (None, None)
    decimal = KeyParam.parse("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1048576")
    assert decimal.lifetime_packets == 1048576


def test_multiple_keys_and_session_params() -> None:
    attr = CryptoAttribute.parse(RFC_EXAMPLES[3])
    assert [kp.mki for kp in attr.key_params] == [1, 2]
    attr = CryptoAttribute.parse(RFC_EXAMPLES[4])
    assert attr.session_params == ["KDR=1", "UNENCRYPTED_SRTCP"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1 AES_CM_128_HMAC_SHA1_80",
        "x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64!",
        "1 AES_CM_128_HMAC_SHA1_80 inline:",
        "1 AES_CM_128_HMAC_SHA1_80 PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^x",
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:1|2^20",
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1|2|3",
    ],
)
def test_malformed_crypto_raises(value: str) -> None:
    with pytest.raises(SdpParseError):
        CryptoAttribute.parse(value)


@pytest.mark.parametrize("suite", [name for name, s in SUITES.items() if s.supported])
def test_generate_round_trips_and_validates(suite: str) -> None:
    attr = CryptoAttribute.generate(7, suite, lifetime="2^31", mki=1)
    info = SUITES[suite]
    assert len(attr.key_params[0].key_salt) == info.key_length + info.salt_length
    assert attr.key_params[0].mki_length == 1
    again = CryptoAttribute.parse(str(attr))
    assert again == attr
    assert validate_crypto(again) == []


def test_generate_uses_the_random_source() -> None:
    attr = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80", random_bytes=lambda n: b"\0" * n)
    assert str(attr) == "1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40
    with pytest.raises(ValueError):
        CryptoAttribute.generate(1, "ROT13_HMAC")


def test_forty_character_key_for_30_byte_suites() -> None:
    assert SUITES["AES_CM_128_HMAC_SHA1_80"].key_salt_length == 30
    key = base64.b64encode(bytes(range(30))).decode()
    assert len(key) == 40
    good = CryptoAttribute.parse(f"1 AES_CM_128_HMAC_SHA1_80 inline:{key}")
    assert validate_crypto(good) == []
    short = CryptoAttribute.parse(f"1 AES_CM_128_HMAC_SHA1_80 inline:{key[:36]}")
    problems = validate_crypto(short)
    assert any("27 bytes" in p for p in problems)
    assert any("36 base64 characters" in p for p in problems)


def test_validate_reports_padding_suite_and_lengths() -> None:
    gcm = base64.b64encode(bytes(28)).decode()
    assert gcm.endswith("==")
    unpadded = CryptoAttribute.parse(f"1 AEAD_AES_128_GCM inline:{gcm.rstrip('=')}")
    assert str(unpadded).endswith(gcm.rstrip("="))
    assert any("padded" in p for p in validate_crypto(unpadded))
    wrong = CryptoAttribute.parse(f"1 AES_256_CM_HMAC_SHA1_80 inline:{gcm}")
    assert any("needs 32 + 14 = 46" in p for p in validate_crypto(wrong))
    unknown = CryptoAttribute.parse(f"1 FOO inline:{gcm}")
    assert any("unknown" in p for p in validate_crypto(unknown))
    f8 = CryptoAttribute.parse("1 F8_128_HMAC_SHA1_80 inline:" + "A" * 40)
    assert validate_crypto(f8) == ["crypto suite F8_128_HMAC_SHA1_80 is not supported"]
    big_mki = CryptoAttribute.parse("1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40 + "|300:1")
    assert any("does not fit" in p for p in validate_crypto(big_mki))
    long_life = CryptoAttribute.parse("1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40 + "|2^60")
    assert any("exceeds" in p for p in validate_crypto(long_life))
    two_keys = CryptoAttribute.parse(
        "1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40 + ";inline:" + "B" * 40)
    assert any("MKI" in p for p in validate_crypto(two_keys))


def test_rtpengine_srtp_offer_has_many_suites() -> None:
    sd = SessionDescription.parse((FIXTURES / "offer_rtpengine_srtp.sdp").read_bytes())
    lines = sd.media[0].crypto()
    assert [c.tag for c in lines] == list(range(1, 13))
    usable = [c.suite for c in lines if validate_crypto(c) == []]
    assert "AES_CM_128_HMAC_SHA1_80" in usable and "AEAD_AES_256_GCM" in usable
    assert "F8_128_HMAC_SHA1_80" not in usable
