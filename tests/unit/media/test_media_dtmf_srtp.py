"""RFC 4733 telephone events and the SRTP wrapper."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.media.dtmf import DtmfEvent, DtmfParseError, digit_of, event_of
from harness.media.rtp import RtpPacket
from harness.media.srtp import SrtpDirection, SrtpError, SrtpSession


def test_dtmf_round_trip() -> None:
    ev = DtmfEvent(event=event_of("#"), end=True, volume=10, duration=1280)
    data = bytes(ev)
    assert data == b"\x0b\x8a\x05\x00"
    assert DtmfEvent.parse(data) == ev and ev.digit == "#"
    assert DtmfEvent.parse_all(data + bytes(DtmfEvent(5))) == [ev, DtmfEvent(5)]
    assert digit_of(16) is None and event_of("d") == 15
    with pytest.raises(DtmfParseError):
        DtmfEvent.parse(b"\x01\x02")
    with pytest.raises(DtmfParseError):
        DtmfEvent.parse_all(b"\x01\x02\x03\x04\x05")
    with pytest.raises(ValueError):
        bytes(DtmfEvent(event=1, volume=64))
    with pytest.raises(ValueError):
        event_of("x")


@given(st.integers(0, 255), st.booleans(), st.booleans(), st.integers(0, 63),
       st.integers(0, 0xFFFF))
def test_dtmf_round_trip_property(event: int, end: bool, r: bool, vol: int, dur: int) -> None:
    ev = DtmfEvent(event, end, vol, dur, r)
    assert DtmfEvent.parse(bytes(ev)) == ev


KEY = bytes(range(30))


@pytest.mark.parametrize(("suite", "tag"), [("AES_CM_128_HMAC_SHA1_80", 10),
                                            ("AES_CM_128_HMAC_SHA1_32", 4)])
def test_srtp_protect_unprotect(suite: str, tag: int) -> None:
    tx = SrtpSession(suite, KEY, SrtpDirection.OUTBOUND)
    rx = SrtpSession(suite, KEY, "inbound")
    wrong = SrtpSession(suite, bytes(30), "inbound")
    for seq in range(3):
        rtp = bytes(RtpPacket(payload_type=0, sequence=seq, timestamp=160 * seq, ssrc=0x42,
                              payload=b"\xd5" * 160))
        srtp = tx.protect(rtp)
        assert len(srtp) == len(rtp) + tag and srtp[:12] == rtp[:12] and srtp[12:] != rtp[12:]
        assert rx.unprotect(srtp) == rtp
        with pytest.raises(SrtpError):
            wrong.unprotect(srtp)
        with pytest.raises(SrtpError):  # replay
            rx.unprotect(srtp)


def test_srtcp_and_misuse() -> None:
    tx = SrtpSession("AES_CM_128_HMAC_SHA1_80", KEY, "outbound")
    rx = SrtpSession("AES_CM_128_HMAC_SHA1_80", KEY, "inbound")
    rtcp = b"\x80\xc9\x00\x01\x00\x00\x00\x42"
    assert rx.unprotect_rtcp(tx.protect_rtcp(rtcp)) == rtcp
    with pytest.raises(SrtpError):
        rx.unprotect(b"\x80\x00" + bytes(30))
    with pytest.raises(ValueError, match="outbound"):
        tx.unprotect(b"")
    with pytest.raises(ValueError, match="needs 30"):
        SrtpSession("AES_CM_128_HMAC_SHA1_80", bytes(16), "outbound")
    with pytest.raises(ValueError, match="unsupported"):
        SrtpSession("F8_128_HMAC_SHA1_80", KEY, "outbound")
    gcm_tx = SrtpSession("AEAD_AES_128_GCM", bytes(28), "outbound")
    gcm_rx = SrtpSession("AEAD_AES_128_GCM", bytes(28), "inbound")
    rtp = bytes(RtpPacket(ssrc=7, payload=b"abc"))
    assert gcm_rx.unprotect(gcm_tx.protect(rtp)) == rtp


@pytest.mark.parametrize(("suite", "rtp_tag", "rtcp_tag"), [("AES_CM_128_HMAC_SHA1_80", 10, 10),
                                                            ("AES_CM_128_HMAC_SHA1_32", 4, 10)])
def test_mki_sits_between_the_authenticated_portion_and_the_tag(
    suite: str, rtp_tag: int, rtcp_tag: int
) -> None:
    # AES-CM is deterministic for one key and index: the MKI packet with its MKI cut out
    # must be byte for byte the packet libsrtp makes without MKI (RFC 3711 §3.1, Figure 1).
    plain_tx = SrtpSession(suite, KEY, "outbound")
    mki_tx = SrtpSession(suite, KEY, "outbound", mki=b"\x01")
    rx = SrtpSession(suite, KEY, "inbound", mki=b"\x01")
    rtp = bytes(RtpPacket(payload_type=8, sequence=9, timestamp=1440, ssrc=0x99,
                          payload=b"\x55" * 160))
    plain, with_mki = plain_tx.protect(rtp), mki_tx.protect(rtp)
    assert len(with_mki) == len(plain) + 1
    assert with_mki[-rtp_tag - 1] == 1
    assert with_mki[:-rtp_tag - 1] + with_mki[-rtp_tag:] == plain
    assert rx.unprotect(with_mki) == rtp
    rtcp = b"\x80\xc9\x00\x01\x00\x00\x00\x99"
    plain_c, mki_c = plain_tx.protect_rtcp(rtcp), mki_tx.protect_rtcp(rtcp)
    assert mki_c[:-rtcp_tag - 1] + mki_c[-rtcp_tag:] == plain_c and mki_c[-rtcp_tag - 1] == 1
    assert rx.unprotect_rtcp(mki_c) == rtcp


def test_mki_that_is_not_the_keyed_one_is_refused() -> None:
    tx = SrtpSession("AES_CM_128_HMAC_SHA1_80", KEY, "outbound", mki=b"\x02")
    rx = SrtpSession("AES_CM_128_HMAC_SHA1_80", KEY, "inbound", mki=b"\x01")
    rtp = bytes(RtpPacket(ssrc=5, payload=b"\xd5" * 20))
    with pytest.raises(SrtpError, match="MKI 02 is not the keyed 01"):
        rx.unprotect(tx.protect(rtp))
    with pytest.raises(SrtpError, match="too short"):
        rx.unprotect(b"\x80" * 14)
