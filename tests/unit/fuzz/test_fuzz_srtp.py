"""Fuzzing SRTP/SRTCP unprotection: whatever arrives, `SrtpSession.unprotect` and
`unprotect_rtcp` return the packet or raise `SrtpError`, never a bare ValueError or
`pylibsrtp.Error` from the C library. Seeds are real SRTP packets of a call through
rtpengine (with their SDES keys) and packets we protect ourselves, with and without MKI."""

from __future__ import annotations

import base64

from fuzz_support import CAPTURE_SRTP_KEYS, captured_packets, fuzz_settings, mutated
from hypothesis import example, given
from hypothesis import strategies as st

from harness.media.rtp import RtcpPacket, RtpPacket
from harness.media.srtp import SRTP_SUITES, SrtpError, SrtpSession

SUITE = "AES_CM_128_HMAC_SHA1_80"
MKIS = [None, b"\x01", b"\x00\x00\x00\x07"]


def key_of(suite: str) -> bytes:
    return bytes(range(SRTP_SUITES[suite].key_salt_len))


def protected(suite: str, mki: bytes | None) -> list[tuple[bool, bytes]]:
    """(is RTCP, packet) protected by an outbound session with the suite's test key."""
    tx = SrtpSession(suite, key_of(suite), "outbound", mki=mki)
    out = [(False, tx.protect(bytes(RtpPacket(payload_type=0, sequence=n, timestamp=160 * n,
                                              ssrc=0x42, payload=b"\xd5" * 160))))
           for n in range(2)]
    out.append((True, tx.protect_rtcp(bytes(RtcpPacket(200, 0, 0x42, 6)))))
    return out


def real_srtp() -> list[tuple[str, bytes]]:
    """(base64 key, packet) for every SRTP packet of the real capture."""
    return [(CAPTURE_SRTP_KEYS[p.src], p.payload) for p in captured_packets()
            if p.src in CAPTURE_SRTP_KEYS and p.payload[:1] == b"\x80"]


def unprotect(suite: str, key: bytes, mki: bytes | None, rtcp: bool, data: bytes) -> None:
    rx = SrtpSession(suite, key, "inbound", mki=mki)
    try:
        plain = rx.unprotect_rtcp(data) if rtcp else rx.unprotect(data)
    except SrtpError as exc:
        assert str(exc).startswith("SRTP")
    else:
        assert isinstance(plain, bytes)


@fuzz_settings(400)
@given(st.sampled_from(sorted(SRTP_SUITES)), st.sampled_from(MKIS), st.booleans(),
       st.binary(max_size=200) | st.binary(min_size=1400, max_size=1700))
@example(SUITE, None, False, b"\x80" + bytes(1600))  # over libsrtp's 1500-byte buffer
@example(SUITE, None, True, b"\x80" + bytes(1600))
@example(SUITE, b"\x01", False, b"\x80" + bytes(1600) + b"\x01" + bytes(10))
def test_any_bytes_unprotect_or_raise_srtp_error(
    suite: str, mki: bytes | None, rtcp: bool, data: bytes
) -> None:
    unprotect(suite, key_of(suite), mki, rtcp, data)


@st.composite
def damaged_own(draw: st.DrawFn) -> tuple[str, bytes | None, bool, bytes]:
    suite = draw(st.sampled_from(sorted(SRTP_SUITES)))
    mki = draw(st.sampled_from(MKIS))
    rtcp, packet = draw(st.sampled_from(protected(suite, mki)))
    return suite, mki, rtcp, draw(mutated([packet], text=False, max_ops=2))


@fuzz_settings(400)
@given(damaged_own())
def test_damaged_packets_of_ours_unprotect_or_raise_srtp_error(
    case: tuple[str, bytes | None, bool, bytes],
) -> None:
    suite, mki, rtcp, data = case
    unprotect(suite, key_of(suite), mki, rtcp, data)


@fuzz_settings(300)
@given(st.sampled_from(real_srtp()).flatmap(
    lambda kp: st.tuples(st.just(kp[0]), mutated([kp[1]], text=False, max_ops=2))))
def test_damaged_real_srtp_unprotects_or_raises_srtp_error(case: tuple[str, bytes]) -> None:
    key, data = case
    unprotect(SUITE, base64.b64decode(key), None, False, data)


def test_the_real_srtp_seeds_decrypt() -> None:
    packets = real_srtp()
    assert len(packets) >= 2
    for key, data in packets:
        assert RtpPacket.parse(SrtpSession(SUITE, base64.b64decode(key), "inbound")
                               .unprotect(data)).payload_type == 0
