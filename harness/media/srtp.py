"""SRTP/SRTCP protection through pylibsrtp (libsrtp 2), behind a small typed wrapper.

One `SrtpSession` protects (outbound) or unprotects (inbound) the packets of
any SSRC with one master key + salt, the way an SDES (RFC 4568) ``a=crypto``
line keys one direction of a call. Authentication and replay failures, and inbound
packets libsrtp cannot take at all (too short, over its 1500-byte buffer), become
`SrtpError`, a `ValueError`: that is wire input from the target being wrong
(an agent turns it into a TargetViolation with the packet as evidence).

Suites (RFC 4568 names, pylibsrtp profiles, master key + salt lengths):

===========================  =======  ======================
AES_CM_128_HMAC_SHA1_80      1        16 + 14 = 30 bytes
AES_CM_128_HMAC_SHA1_32      2        16 + 14 = 30 bytes
AEAD_AES_128_GCM             7        16 + 12 = 28 bytes
AEAD_AES_256_GCM             8        32 + 12 = 44 bytes
===========================  =======  ======================

MKI (RFC 3711 §3.1, SDES ``|<value>:<length>``): pylibsrtp 1.0 does not expose
libsrtp's MKI support, so it is done here at the byte level. The MKI is not part of
the authenticated portion: it sits between the encrypted portion (for SRTCP: after
the E flag and index) and the authentication tag. So a packet is protected by libsrtp
without MKI and the MKI spliced in before the tag; an inbound packet has its MKI
checked and cut out before libsrtp sees it. The AEAD suites carry their tag inside
the encrypted portion (RFC 7714 §9): their MKI goes last.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import pylibsrtp

__all__ = ["SRTP_SUITES", "SrtpDirection", "SrtpError", "SrtpSession", "SrtpSuite"]


class SrtpError(ValueError):
    """A packet failed SRTP processing (authentication, replay, malformed)."""


class SrtpDirection(enum.Enum):
    """Which way the session works: protect what we send, or unprotect what we receive."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class SrtpSuite(NamedTuple):
    """One row of the suite table; tag lengths in bytes (0: inside the AEAD ciphertext)."""

    name: str
    profile: int
    key_salt_len: int
    rtp_tag: int
    rtcp_tag: int


SRTP_SUITES: dict[str, SrtpSuite] = {
    s.name: s
    for s in (
        SrtpSuite("AES_CM_128_HMAC_SHA1_80", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
                  30, 10, 10),
        SrtpSuite("AES_CM_128_HMAC_SHA1_32", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
                  30, 4, 10),
        SrtpSuite("AEAD_AES_128_GCM", pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
                  28, 0, 0),
        SrtpSuite("AEAD_AES_256_GCM", pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
                  44, 0, 0),
    )
}


class SrtpSession:
    """Protect or unprotect SRTP/SRTCP for any SSRC with one master key and salt.

    `mki`: the master key identifier every packet carries (SDES ``|1:1`` is
    ``mki=b"\\x01"``), or None. Raise `ValueError` for an unknown suite or a key of the
    wrong length (our set-up), `SrtpError` for a packet that fails (the peer's).
    """

    def __init__(
        self, suite: str, key_salt: bytes, direction: SrtpDirection | str,
        *, mki: bytes | None = None,
    ) -> None:
        try:
            self.suite = SRTP_SUITES[suite]
        except KeyError:
            raise ValueError(
                f"unsupported SRTP suite {suite!r}; supported: {', '.join(SRTP_SUITES)}"
            ) from None
        if len(key_salt) != self.suite.key_salt_len:
            raise ValueError(
                f"{suite} needs {self.suite.key_salt_len} bytes of master key + salt, "
                f"got {len(key_salt)}"
            )
        self.direction = SrtpDirection(direction)
        self.mki = bytes(mki) if mki else b""
        ssrc_type = (
            pylibsrtp.Policy.SSRC_ANY_OUTBOUND
            if self.direction is SrtpDirection.OUTBOUND
            else pylibsrtp.Policy.SSRC_ANY_INBOUND
        )
        policy = pylibsrtp.Policy(
            key=bytes(key_salt), ssrc_type=ssrc_type, srtp_profile=self.suite.profile
        )
        self._session = pylibsrtp.Session(policy)

    def _check(self, wanted: SrtpDirection) -> None:
        if self.direction is not wanted:
            raise ValueError(f"this SRTP session is {self.direction.value}")

    def _apply(self, wanted: SrtpDirection, what: str, data: bytes) -> bytes:
        self._check(wanted)
        name = what.replace("_rtcp", " (SRTCP)")
        tag = self.suite.rtcp_tag if what.endswith("_rtcp") else self.suite.rtp_tag
        if self.mki and wanted is SrtpDirection.INBOUND:
            data = self._cut_mki(data, tag, name)
        operation = getattr(self._session, what)
        # Inbound, pylibsrtp's ValueError ("packet is too long": over its 1500-byte buffer)
        # is the peer's packet being wrong too; outbound it is ours, and stays a ValueError.
        peer_errors = (pylibsrtp.Error, ValueError) if wanted is SrtpDirection.INBOUND else (
            pylibsrtp.Error,)
        try:
            result = bytes(operation(data))
        except peer_errors as exc:
            raise SrtpError(f"SRTP {name} failed ({len(data)} bytes): {exc}") from exc
        if self.mki and wanted is SrtpDirection.OUTBOUND:
            cut = len(result) - tag
            result = result[:cut] + self.mki + result[cut:]
        return result

    def _cut_mki(self, data: bytes, tag: int, name: str) -> bytes:
        end = len(data) - tag
        start = end - len(self.mki)
        if start < 12:
            raise SrtpError(f"SRTP {name} failed ({len(data)} bytes): too short for a "
                            f"{len(self.mki)}-byte MKI and a {tag}-byte tag")
        if data[start:end] != self.mki:
            raise SrtpError(f"SRTP {name} failed ({len(data)} bytes): MKI "
                            f"{data[start:end].hex()} is not the keyed {self.mki.hex()}")
        return data[:start] + data[end:]

    def protect(self, rtp: bytes) -> bytes:
        """Encrypt and authenticate one RTP packet (outbound sessions)."""
        return self._apply(SrtpDirection.OUTBOUND, "protect", rtp)

    def unprotect(self, srtp: bytes) -> bytes:
        """Authenticate and decrypt one SRTP packet (inbound sessions); `SrtpError` on failure."""
        return self._apply(SrtpDirection.INBOUND, "unprotect", srtp)

    def protect_rtcp(self, rtcp: bytes) -> bytes:
        """Encrypt and authenticate one RTCP packet (outbound sessions)."""
        return self._apply(SrtpDirection.OUTBOUND, "protect_rtcp", rtcp)

    def unprotect_rtcp(self, srtcp: bytes) -> bytes:
        """Authenticate and decrypt one SRTCP packet (inbound sessions); `SrtpError` on failure."""
        return self._apply(SrtpDirection.INBOUND, "unprotect_rtcp", srtcp)
