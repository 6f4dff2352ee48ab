"""Offer/answer (RFC 3264): builders, codec intersection, direction, rejection, SAVP."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Attribute,
    Codec,
    CryptoAttribute,
    Direction,
    SessionDescription,
    effective_address,
    make_answer,
    make_offer,
    next_version,
    validate_crypto,
    with_direction,
)
from harness.sdp.offer_answer import G722, OPUS, prefer_suites

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sdp"


def roundtrip(sd: SessionDescription) -> SessionDescription:
    again = SessionDescription.parse(bytes(sd))
    assert bytes(again) == bytes(sd)
    return again


def test_offer_shape() -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU, PCMA, TELEPHONE_EVENT], session_id=3912345678)
    assert bytes(offer) == (FIXTURES / "offer_harness_pcmu.sdp").read_bytes()


def test_offer_options() -> None:
    crypto = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80")
    offer = make_offer(
        "2001:db8::1", 5000, [OPUS], direction="sendonly", crypto=[crypto], ptime=None,
        username="ua", extra_attributes=[Attribute("rtcp-mux")],
    )
    sd = roundtrip(offer)
    md = sd.media[0]
    assert md.proto == "RTP/SAVP"
    assert sd.origin.addrtype == "IP6" and sd.origin.username == "ua"
    assert md.direction == Direction.SENDONLY
    assert md.ptime is None and md.rtcp_mux
    assert md.crypto() == [crypto]
    assert md.fmtp() == {"111": "minptime=10;useinbandfec=1"}
    assert make_offer("198.18.0.1", 1, [PCMU], proto="RTP/AVP", crypto=[crypto]).media[
        0].proto == "RTP/AVP"
    with pytest.raises(ValueError):
        make_offer("198.18.0.1", 1, [])


def test_extra_media_is_copied() -> None:
    video = make_offer("198.18.0.1", 1, [Codec(96, "H264", 90000, kind="video")]).media[0]
    video.kind = "video"
    offer = make_offer("198.18.0.1", 1000, [PCMU], extra_media=[video])
    assert [m.kind for m in offer.media] == ["audio", "video"]
    assert offer.media[1] is not video


def test_answer_picks_common_codecs_in_offer_order() -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU, G722, PCMA, TELEPHONE_EVENT])
    answer = roundtrip(make_answer(offer, "198.18.0.20", 6000, [TELEPHONE_EVENT, PCMA, PCMU]))
    md = answer.media[0]
    assert md.formats == ["0", "8", "101"]
    assert md.port == 6000 and effective_address(answer, 0) == "198.18.0.20"
    assert md.fmtp() == {"101": "0-16"}
    assert md.ptime == 20


def test_answer_keeps_the_offers_payload_type_numbers() -> None:
    dtmf96 = Codec(96, "telephone-event", 8000, fmtp="0-15")
    offer = make_offer("198.18.0.10", 40000, [PCMA, dtmf96])
    answer = make_answer(offer, "198.18.0.20", 6000, [PCMA, TELEPHONE_EVENT])
    assert answer.media[0].formats == ["8", "96"]
    assert str(answer.media[0].rtpmaps()["96"]) == "96 telephone-event/8000"


def test_pcmu_offer_to_pcma_only_callee_is_rejected() -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU, TELEPHONE_EVENT])
    answer = roundtrip(make_answer(offer, "198.18.0.20", 6000, [PCMA, TELEPHONE_EVENT]))
    md = answer.media[0]
    assert md.port == 0
    assert (md.kind, md.proto, md.formats) == ("audio", "RTP/AVP", ["0", "101"])
    assert md.attributes == []


def test_unsupported_kind_and_port_zero_are_rejected() -> None:
    video = make_offer("198.18.0.1", 1, [Codec(96, "H264", 90000, kind="video")]).media[0]
    video.kind = "video"
    offer = make_offer("198.18.0.10", 40000, [PCMU], extra_media=[video])
    answer = make_answer(offer, "198.18.0.20", 6000, [PCMU])
    assert [(m.kind, m.port) for m in answer.media] == [("audio", 6000), ("video", 0)]
    offer.media[0].port = 0
    assert make_answer(offer, "198.18.0.20", 6000, [PCMU]).media[0].port == 0


@pytest.mark.parametrize(
    ("offered", "wanted", "expected"),
    [
        ("sendrecv", None, "sendrecv"),
        ("sendonly", None, "recvonly"),
        ("recvonly", None, "sendonly"),
        ("inactive", None, "inactive"),
        ("sendrecv", "sendonly", "sendonly"),
        ("sendonly", "sendonly", "inactive"),
        ("recvonly", "recvonly", "inactive"),
    ],
)
def test_answer_direction(offered: str, wanted: str | None, expected: str) -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU], direction=offered)
    answer = make_answer(offer, "198.18.0.20", 6000, [PCMU], direction=wanted)
    assert answer.media[0].direction == expected


def test_answer_direction_uses_session_level_fallback() -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU])
    offer.media[0].remove_attributes("sendrecv")
    offer.add_attribute("sendonly")
    answer = make_answer(offer, "198.18.0.20", 6000, [PCMU])
    assert answer.media[0].direction == Direction.RECVONLY


def test_savp_answer_uses_first_supported_suite_with_same_tag() -> None:
    offer = SessionDescription.parse((FIXTURES / "offer_rtpengine_srtp.sdp").read_bytes())
    answer = roundtrip(make_answer(offer, "198.18.0.20", 6000, [PCMU]))
    md = answer.media[0]
    assert md.proto == "RTP/SAVP"
    (chosen,) = md.crypto()
    assert (chosen.tag, chosen.suite) == (1, "AEAD_AES_256_GCM")
    assert validate_crypto(chosen) == []
    offered_key = offer.media[0].crypto()[0].key_params[0].key_salt
    assert chosen.key_params[0].key_salt != offered_key


def test_savp_answer_with_suite_preference_and_rejection() -> None:
    offer = SessionDescription.parse((FIXTURES / "offer_rtpengine_srtp.sdp").read_bytes())
    answer = make_answer(offer, "198.18.0.20", 6000, [PCMU],
                         crypto_choice=prefer_suites("AES_CM_128_HMAC_SHA1_80"))
    (chosen,) = answer.media[0].crypto()
    assert (chosen.tag, chosen.suite) == (7, "AES_CM_128_HMAC_SHA1_80")

    def refuse(offered: Sequence[CryptoAttribute]) -> CryptoAttribute | None:
        return None

    rejected = make_answer(offer, "198.18.0.20", 6000, [PCMU], crypto_choice=refuse)
    assert rejected.media[0].port == 0


def test_savp_without_usable_crypto_is_rejected() -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU],
                       crypto=[CryptoAttribute.generate(1, "F8_128_HMAC_SHA1_80")])
    assert make_answer(offer, "198.18.0.20", 6000, [PCMU]).media[0].port == 0


def test_dtls_proto_is_rejected() -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU], proto="UDP/TLS/RTP/SAVPF")
    md = make_answer(offer, "198.18.0.20", 6000, [PCMU]).media[0]
    assert (md.port, md.proto) == (0, "UDP/TLS/RTP/SAVPF")


def test_next_version_and_with_direction_return_copies() -> None:
    offer = make_offer("198.18.0.10", 40000, [PCMU], session_id=5)
    reoffer = next_version(offer)
    assert (offer.origin.sess_version, reoffer.origin.sess_version) == (5, 6)
    assert reoffer.origin.sess_id == 5
    held = with_direction(reoffer, "sendonly")
    assert held.media[0].direction == Direction.SENDONLY
    assert reoffer.media[0].direction == Direction.SENDRECV
    assert bytes(held).count(b"a=sendonly") == 1 and b"a=sendrecv" not in bytes(held)


def test_with_direction_on_a_parsed_fixture_keeps_other_lines() -> None:
    data = (FIXTURES / "answer_sipp_pcmu.sdp").read_bytes()
    held = with_direction(SessionDescription.parse(data), Direction.INACTIVE)
    assert bytes(held) == data + b"a=inactive\r\n"
