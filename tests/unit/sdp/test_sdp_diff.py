"""Semantic SDP diff: what a media proxy changed, by meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Attribute,
    CryptoAttribute,
    Difference,
    DiffField,
    SessionDescription,
    diff_sdp,
    make_offer,
    only_transport_changes,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sdp"


def load(name: str) -> SessionDescription:
    return SessionDescription.parse((FIXTURES / name).read_bytes())


def fields(diffs: list[Difference]) -> list[DiffField]:
    return [d.field for d in diffs]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.sdp")), ids=lambda p: p.name)
def test_identical_bodies_have_no_difference(path: Path) -> None:
    sd = SessionDescription.parse(path.read_bytes())
    assert diff_sdp(sd, sd.copy()) == []


def test_rtpengine_relay_answer_changes_only_transport() -> None:
    diffs = diff_sdp(load("answer_sipp_pcmu.sdp"), load("answer_rtpengine_relay.sdp"))
    assert sorted(d.field.value for d in diffs) == ["connection", "origin", "port", "rtcp"]
    assert only_transport_changes(diffs)
    by_field = {d.field: d for d in diffs}
    assert str(by_field[DiffField.CONNECTION]) == (
        "media 0 audio: connection 198.18.0.20 -> 198.18.0.2")
    assert str(by_field[DiffField.RTCP]) == "media 0 audio: rtcp (none) -> 30011"
    assert str(by_field[DiffField.PORT]) == "media 0 audio: port 6000 -> 30010"
    assert by_field[DiffField.ORIGIN].scope == "session"


def test_rtpengine_relay_offer_changes_only_transport() -> None:
    diffs = diff_sdp(load("offer_harness_pcmu.sdp"), load("offer_rtpengine_relay.sdp"))
    assert only_transport_changes(diffs)
    assert DiffField.RTCP in fields(diffs)


def test_reordered_attributes_and_explicit_sendrecv_are_no_difference() -> None:
    a = load("answer_sipp_pcmu.sdp")
    b = a.copy()
    b.media[0].attributes.reverse()
    b.media[0].add_attribute("sendrecv")
    assert diff_sdp(a, b) == []
    b.media[0].direction = "sendonly"
    assert [str(d) for d in diff_sdp(a, b)] == ["media 0 audio: direction sendrecv -> sendonly"]


def test_session_level_direction_defaulting() -> None:
    a = load("answer_sipp_pcmu.sdp")
    b = a.copy()
    b.add_attribute("inactive")
    assert fields(diff_sdp(a, b)) == [DiffField.DIRECTION]
    c = a.copy()
    c.media[0].direction = "inactive"
    assert diff_sdp(b, c) == []


def test_changed_codec_list_is_reported() -> None:
    a = make_offer("198.18.0.10", 40000, [PCMU, PCMA, TELEPHONE_EVENT], session_id=1)
    b = make_offer("198.18.0.10", 40000, [PCMU, TELEPHONE_EVENT], session_id=1)
    diffs = diff_sdp(a, b)
    assert [str(d) for d in diffs] == ["media 0 audio: codecs 8 PCMA/8000 -> (none)"]
    assert not only_transport_changes(diffs)
    c = b.copy()
    c.media[0].remove_attributes("fmtp")
    c.media[0].add_attribute("fmtp", "101 0-15")
    assert [str(d) for d in diff_sdp(b, c)] == [
        "media 0 audio: codecs 101 telephone-event/8000 (0-16) -> "
        "101 telephone-event/8000 (0-15)"
    ]


def test_static_payload_type_with_or_without_rtpmap_is_the_same_codec() -> None:
    a = make_offer("198.18.0.10", 40000, [PCMU], session_id=1)
    b = a.copy()
    b.media[0].remove_attributes("rtpmap")
    assert diff_sdp(a, b) == []


def test_stripped_crypto_line_is_reported() -> None:
    a = load("offer_rtpengine_srtp.sdp")
    b = a.copy()
    gone = b.media[0].get_attributes("crypto")[-1]
    b.media[0].attributes.remove(gone)
    diffs = diff_sdp(a, b)
    assert fields(diffs) == [DiffField.CRYPTO]
    assert diffs[0].before == f"a=crypto:{gone.value}" and diffs[0].after is None


def test_rekeyed_crypto_pairs_by_tag() -> None:
    old = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80")
    new = CryptoAttribute.generate(1, "AES_CM_128_HMAC_SHA1_80")
    a = make_offer("198.18.0.10", 40000, [PCMU], crypto=[old], session_id=1)
    b = make_offer("198.18.0.10", 40000, [PCMU], crypto=[new], session_id=1)
    (diff,) = diff_sdp(a, b)
    assert (diff.field, diff.before, diff.after) == (
        DiffField.CRYPTO, f"a=crypto:{old}", f"a=crypto:{new}")


def test_ice_differences() -> None:
    a = load("answer_teams_ice.sdp")
    b = a.copy()
    b.media[0].remove_attributes("candidate")
    ufrag = b.media[0].get_attribute("ice-ufrag")
    assert ufrag is not None
    ufrag.value = "XXXX"
    diffs = diff_sdp(a, b)
    assert set(fields(diffs)) == {DiffField.ICE}
    assert len(diffs) == 7
    assert "media 0 audio: ice a=ice-ufrag:KLhC -> a=ice-ufrag:XXXX" in [str(d) for d in diffs]


def test_ice_attributes_moved_to_session_level_are_no_difference() -> None:
    a = load("answer_teams_ice.sdp")
    b = a.copy()
    for name in ("ice-ufrag", "ice-pwd"):
        attr = b.media[0].get_attribute(name)
        assert attr is not None
        b.media[0].remove_attributes(name)
        b.attributes.append(Attribute(attr.name, attr.value))
    assert diff_sdp(a, b) == []


def test_other_kinds_of_difference() -> None:
    a = load("offer_polycom_video.sdp")
    b = a.copy()
    b.media[1].proto = "RTP/AVPF"
    b.media[1].add_attribute("rtcp-mux")
    b.media[0].add_attribute("ptime", "30")
    b.bandwidths[0].bandwidth = 1024
    attr = b.media[1].get_attribute("content")
    assert attr is not None
    attr.value = "slides"
    b.media[1].add_attribute("framerate", "30")
    got = {str(d) for d in diff_sdp(a, b)}
    assert got == {
        "session: bandwidth b=AS:2048 -> b=AS:1024",
        "media 0 audio: ptime (none) -> 30",
        "media 1 video: proto RTP/AVP -> RTP/AVPF",
        "media 1 video: rtcp-mux (none) -> a=rtcp-mux",
        "media 1 video: attribute a=content:main -> a=content:slides",
        "media 1 video: attribute (none) -> a=framerate:30",
    }


def test_media_lines_added_or_removed() -> None:
    a = load("offer_polycom_video.sdp")
    b = a.copy()
    del b.media[1]
    diffs = diff_sdp(a, b)
    assert [str(d) for d in diffs] == ["session: media audio video -> audio"]
    c = a.copy()
    c.media[1].kind = "image"
    assert fields(diff_sdp(a, c)) == [DiffField.MEDIA]


def test_connection_moved_between_levels_is_no_difference() -> None:
    a = load("answer_sipp_pcmu.sdp")
    b = a.copy()
    b.media[0].connection = b.connection
    b.connection = None
    assert diff_sdp(a, b) == []


def test_unparsable_values_compare_as_text() -> None:
    a = load("answer_sipp_pcmu.sdp")
    b = a.copy()
    b.media[0].add_attribute("crypto", "garbage")
    b.media[0].add_attribute("rtcp", "x")
    (crypto, rtcp) = sorted(diff_sdp(a, b), key=lambda d: d.field.value)
    assert (crypto.field, crypto.after) == (DiffField.CRYPTO, "a=crypto:garbage")
    assert (rtcp.field, rtcp.after) == (DiffField.RTCP, "x")


def test_codec_reordering_is_a_change() -> None:
    """RFC 3264: the format order is a preference; a proxy must not reorder it."""
    from harness.sdp import PCMA, PCMU, make_offer

    a = make_offer("198.18.0.10", 40000, (PCMU, PCMA), session_id=1)
    b = make_offer("198.18.0.10", 40000, (PCMA, PCMU), session_id=1)
    diffs = diff_sdp(a, b)
    assert [d.field for d in diffs] == [DiffField.CODECS]
    assert "order 0 8" in str(diffs[0]) and "order 8 0" in str(diffs[0])
    assert not only_transport_changes(diffs)
