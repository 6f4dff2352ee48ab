"""SDP Security Descriptions for media streams (SDES, RFC 4568), plus later suites.

``a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]``::

    key-params = key-param *(";" key-param)
    key-param  = "inline:" base64(key || salt) ["|" lifetime] ["|" MKI ":" MKI-length]
    lifetime   = ["2^"] 1*DIGIT        ; in SRTP packets
    session-param = KDR=n / UNENCRYPTED_SRTP / UNENCRYPTED_SRTCP / UNAUTHENTICATED_SRTP /
                    FEC_ORDER=... / FEC_KEY=... / WSH=n / extensions

Key and salt lengths per suite are data (``SUITES``), and so is what each session
parameter does (``SESSION_PARAMS``). ``validate_crypto`` reports what a strict peer
would complain about instead of raising, so a check can grade a target's offer;
``refusal`` says why an SRTP stack that runs only some suites, and keeps encryption and
authentication on, cannot take a line, and ``pick_crypto`` picks the first line it
can; ``answered_crypto`` pairs an answer's line with the offered line it took.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from .errors import SdpParseError

__all__ = [
    "CryptoAttribute",
    "CryptoPick",
    "CryptoSuite",
    "KeyParam",
    "PROTECTION_OFF",
    "SESSION_PARAMS",
    "SUITES",
    "ParamEffect",
    "SessionParam",
    "answered_crypto",
    "pick_crypto",
    "refusal",
    "session_param",
    "validate_crypto",
]


@dataclass(frozen=True)
class CryptoSuite:
    """One SRTP crypto suite as SDES names it."""

    name: str
    key_length: int
    salt_length: int
    supported: bool
    rfc: str
    max_lifetime: int = 2**48

    @property
    def key_salt_length(self) -> int:
        """Length in bytes of the concatenated master key and master salt."""
        return self.key_length + self.salt_length


# RFC 4568 section 6.2, RFC 6188 (AES-192/256), RFC 7714 section 12 (AEAD GCM).
# "supported" = the harness's SRTP stack can run it; the rest are parsed and graded only.
SUITES: dict[str, CryptoSuite] = {
    s.name: s
    for s in (
        CryptoSuite("AES_CM_128_HMAC_SHA1_80", 16, 14, True, "RFC 4568"),
        CryptoSuite("AES_CM_128_HMAC_SHA1_32", 16, 14, True, "RFC 4568"),
        CryptoSuite("F8_128_HMAC_SHA1_80", 16, 14, False, "RFC 4568"),
        CryptoSuite("F8_128_HMAC_SHA1_32", 16, 14, False, "rtpengine extension"),
        CryptoSuite("AES_192_CM_HMAC_SHA1_80", 24, 14, False, "RFC 6188"),
        CryptoSuite("AES_192_CM_HMAC_SHA1_32", 24, 14, False, "RFC 6188"),
        CryptoSuite("AES_256_CM_HMAC_SHA1_80", 32, 14, True, "RFC 6188"),
        CryptoSuite("AES_256_CM_HMAC_SHA1_32", 32, 14, True, "RFC 6188"),
        CryptoSuite("AEAD_AES_128_GCM", 16, 12, True, "RFC 7714"),
        CryptoSuite("AEAD_AES_256_GCM", 32, 12, True, "RFC 7714"),
        CryptoSuite("NULL_HMAC_SHA1_80", 16, 14, False, "rtpengine extension"),
        CryptoSuite("NULL_HMAC_SHA1_32", 16, 14, False, "rtpengine extension"),
    )
}


def _decimal(text: str, what: str, line: int) -> int:
    if not text.isascii() or not text.isdigit():
        raise SdpParseError(line, f"crypto {what} is not a decimal number: {text!r}")
    if len(text) > 40:
        raise SdpParseError(line, f"crypto {what} has too many digits")
    return int(text)


@dataclass
class KeyParam:
    """One ``inline:`` key parameter.

    ``key_salt`` is the decoded master key followed by the master salt.
    ``lifetime`` keeps its spelling (``"2^31"`` or ``"1048576"``). ``encoded``
    is the base64 text as received; it is rendered again while ``key_salt``
    still matches it, so a sloppy (unpadded, over-long) encoding survives
    parse/str and can be graded by ``validate_crypto``.
    """

    method: str = "inline"
    key_salt: bytes = b""
    lifetime: str | None = None
    mki: int | None = None
    mki_length: int | None = None
    encoded: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, *, line: int = 0) -> KeyParam:
        """Parse ``inline:<b64>[|<lifetime>][|<mki>:<length>]``."""
        method, sep, info = text.partition(":")
        if not sep or not method:
            raise SdpParseError(line, f"crypto key-param needs '<method>:<info>': {text!r}")
        if method != "inline":
            # Unknown key methods are allowed by the grammar; keep the info opaque.
            return cls(method=method, key_salt=info.encode("utf-8", "surrogateescape"))
        parts = info.split("|")
        if len(parts) > 3:
            raise SdpParseError(line, f"crypto key-param has too many '|' parts: {text!r}")
        b64 = parts[0]
        try:
            key_salt = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SdpParseError(line, f"crypto key is not base64: {b64!r}") from exc
        if not key_salt:
            raise SdpParseError(line, "crypto key is empty")
        lifetime: str | None = None
        mki: int | None = None
        mki_length: int | None = None
        for i, part in enumerate(parts[1:], start=1):
            if ":" in part:
                if i != len(parts) - 1:
                    raise SdpParseError(line, f"crypto MKI must come last: {text!r}")
                value, _, length = part.partition(":")
                mki = _decimal(value, "MKI value", line)
                mki_length = _decimal(length, "MKI length", line)
            elif i == 1:
                exponent = part[2:] if part.startswith("2^") else part
                _decimal(exponent, "lifetime", line)
                lifetime = part
            else:
                raise SdpParseError(line, f"crypto key-param part {part!r} is not an MKI")
        return cls("inline", key_salt, lifetime, mki, mki_length, encoded=b64)

    @property
    def base64(self) -> str:
        """The key as it is (or would be) written on the wire."""
        if self.encoded is not None and self._decodes_to_key(self.encoded):
            return self.encoded
        return base64.b64encode(self.key_salt).decode("ascii")

    def _decodes_to_key(self, text: str) -> bool:
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4)) == self.key_salt
        except (binascii.Error, ValueError):
            return False

    @property
    def mki_bytes(self) -> bytes | None:
        """The MKI as every SRTP packet carries it (RFC 3711 §3.1): the value in
        `mki_length` bytes, big-endian; None without an MKI (or one that does not fit)."""
        if self.mki is None:
            return None
        length = self.mki_length if self.mki_length is not None else 1
        try:
            return self.mki.to_bytes(length, "big")
        except OverflowError:
            return None

    @property
    def lifetime_packets(self) -> int | None:
        """The lifetime as a number of packets (``2^31`` -> 2147483648)."""
        if self.lifetime is None:
            return None
        if self.lifetime.startswith("2^"):
            return int(2 ** min(int(self.lifetime[2:]), 1024))
        return int(self.lifetime)

    def __str__(self) -> str:
        if self.method != "inline":
            return f"{self.method}:{self.key_salt.decode('utf-8', 'surrogateescape')}"
        text = f"inline:{self.base64}"
        if self.lifetime is not None:
            text += f"|{self.lifetime}"
        if self.mki is not None:
            text += f"|{self.mki}:{self.mki_length if self.mki_length is not None else 1}"
        return text


@dataclass
class CryptoAttribute:
    """The value of one ``a=crypto`` line (RFC 4568 section 9.1)."""

    tag: int
    suite: str
    key_params: list[KeyParam]
    session_params: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, value: str, *, line: int = 0) -> CryptoAttribute:
        """Parse ``<tag> <suite> <key-params> [<session-params>...]``."""
        tokens = value.split()
        if len(tokens) < 3:
            raise SdpParseError(line, f"crypto needs '<tag> <suite> <key-params>': {value!r}")
        tag = _decimal(tokens[0], "tag", line)
        keys = [KeyParam.parse(kp, line=line) for kp in tokens[2].split(";")]
        return cls(tag, tokens[1], keys, tokens[3:])

    def __str__(self) -> str:
        keys = ";".join(str(kp) for kp in self.key_params)
        return " ".join([str(self.tag), self.suite, keys, *self.session_params])

    @classmethod
    def generate(
        cls,
        tag: int,
        suite: str,
        *,
        lifetime: str | None = None,
        mki: int | None = None,
        mki_length: int | None = None,
        session_params: list[str] | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> CryptoAttribute:
        """A fresh crypto line for ``suite`` with a random key of the right length.

        ``mki_length`` defaults to the fewest bytes that hold ``mki`` (at least 1).
        Raises ``ValueError`` for a suite not in ``SUITES``.
        """
        info = SUITES.get(suite)
        if info is None:
            raise ValueError(f"unknown crypto suite {suite!r}")
        if mki is not None and mki_length is None:
            mki_length = max(1, (mki.bit_length() + 7) // 8)
        key = KeyParam("inline", random_bytes(info.key_salt_length), lifetime, mki, mki_length)
        return cls(tag, suite, [key], list(session_params or []))


def validate_crypto(attr: CryptoAttribute) -> list[str]:
    """Problems a strict SDES peer would reject; an empty list means acceptable."""
    problems: list[str] = []
    if not 0 <= attr.tag <= 999_999_999:
        problems.append(f"tag {attr.tag} is longer than 9 digits")
    suite = SUITES.get(attr.suite)
    if suite is None:
        problems.append(f"unknown crypto suite {attr.suite}")
    elif not suite.supported:
        problems.append(f"crypto suite {attr.suite} is not supported")
    if not attr.key_params:
        problems.append("no key parameters")
    if len(attr.key_params) > 1 and any(kp.mki is None for kp in attr.key_params):
        problems.append("several keys but not every key has an MKI (RFC 4568 section 6.1)")
    for n, kp in enumerate(attr.key_params, start=1):
        where = f"key {n}"
        if kp.method != "inline":
            problems.append(f"{where}: key method {kp.method!r} is not 'inline'")
            continue
        text = kp.base64
        if suite is not None and len(kp.key_salt) != suite.key_salt_length:
            problems.append(
                f"{where}: {len(kp.key_salt)} bytes of key and salt, {attr.suite} needs "
                f"{suite.key_length} + {suite.salt_length} = {suite.key_salt_length}"
            )
        canonical = base64.b64encode(kp.key_salt).decode("ascii")
        if text != canonical:
            problems.append(
                f"{where}: base64 {text!r} is not the padded encoding ({len(canonical)} chars)"
            )
        if suite is not None and suite.key_salt_length == 30 and len(text) != 40:
            problems.append(f"{where}: key is {len(text)} base64 characters, {attr.suite} needs 40")
        packets = kp.lifetime_packets
        if packets is not None and suite is not None and packets > suite.max_lifetime:
            problems.append(f"{where}: lifetime {kp.lifetime} exceeds 2^48 packets")
        if packets == 0:
            problems.append(f"{where}: lifetime is zero")
        if kp.mki is not None:
            length = kp.mki_length
            if length is None or not 1 <= length <= 128:
                problems.append(f"{where}: MKI length {length} is not within 1..128")
            elif kp.mki.bit_length() > 8 * length:
                problems.append(f"{where}: MKI {kp.mki} does not fit in {length} bytes")
    return problems


# --------------------------------------------------------------------------- session parameters


class ParamEffect(enum.Enum):
    """What an SRTP session parameter (RFC 4568 §6.3) does to the protection of a stream,
    as far as a peer deciding whether to take the line is concerned."""

    PROTECTION_OFF = "turns protection off"
    """Encryption or authentication of SRTP or SRTCP is switched off (§6.3.2)."""
    REKEYING = "asks for key re-derivation"
    """KDR (§6.3.1): session keys derived again every 2^n packets, which a stack that
    derives them once (libsrtp 2, through pylibsrtp) cannot follow."""
    HARMLESS = "does not change the protection"
    """A hint (WSH, §6.3.5) or FEC settings (FEC_ORDER, FEC_KEY, §6.3.3-4) that change
    nothing for a stream that carries no FEC."""
    UNKNOWN = "not understood"
    """An extension: it may change the transform, so a line carrying it is not taken."""


@dataclass(frozen=True)
class SessionParam:
    """One session parameter as written on a line, with what it does."""

    text: str
    name: str
    effect: ParamEffect
    meaning: str

    def __str__(self) -> str:
        return f"{self.text} ({self.meaning})"


# Name (before any "=") -> (effect, meaning), in the words of RFC 4568 §6.3.
SESSION_PARAMS: dict[str, tuple[ParamEffect, str]] = {
    "UNENCRYPTED_SRTP": (ParamEffect.PROTECTION_OFF,
                         "SRTP payloads travel unencrypted"),
    "UNENCRYPTED_SRTCP": (ParamEffect.PROTECTION_OFF,
                          "SRTCP packets travel unencrypted"),
    "UNAUTHENTICATED_SRTP": (ParamEffect.PROTECTION_OFF,
                             "SRTP packets carry no authentication tag"),
    "KDR": (ParamEffect.REKEYING, "session keys re-derived every 2^n packets"),
    "WSH": (ParamEffect.HARMLESS, "a hint for the size of the replay window"),
    "FEC_ORDER": (ParamEffect.HARMLESS, "the order of FEC and SRTP processing"),
    "FEC_KEY": (ParamEffect.HARMLESS, "a master key for FEC packets"),
}

#: The session parameters that switch encryption or authentication off.
PROTECTION_OFF = frozenset(name for name, (effect, _) in SESSION_PARAMS.items()
                           if effect is ParamEffect.PROTECTION_OFF)


def session_param(text: str) -> SessionParam:
    """What the session parameter `text` (``KDR=3``, ``UNENCRYPTED_SRTP``, ...) does.
    Names are matched without regard to case: a target may write them either way."""
    name = text.partition("=")[0].upper()
    effect, meaning = SESSION_PARAMS.get(name, (ParamEffect.UNKNOWN, "an unknown extension"))
    return SessionParam(text, name, effect, meaning)


def refusal(attr: CryptoAttribute, supported: Collection[str]) -> str | None:
    """Why an SRTP peer that runs only the `supported` suites, with one master key per
    direction and encryption and authentication always on, cannot take `attr`; None when
    it can. Each reason names what on the line is wrong."""
    suite = SUITES.get(attr.suite)
    if attr.suite not in supported or suite is None:
        return f"suite {attr.suite} is not one the agent runs ({', '.join(supported)})"
    if len(attr.key_params) != 1:
        return f"{len(attr.key_params)} master keys: the agent keys one per direction"
    key = attr.key_params[0]
    if key.method != "inline":
        return f"key method {key.method!r} is not inline"
    if len(key.key_salt) != suite.key_salt_length:
        return (f"{len(key.key_salt)} bytes of key and salt, {attr.suite} needs "
                f"{suite.key_salt_length}")
    if key.mki is not None and key.mki_bytes is None:
        return f"MKI {key.mki} does not fit in {key.mki_length} byte(s)"
    wrong = [p for p in map(session_param, attr.session_params)
             if p.effect is not ParamEffect.HARMLESS]
    if wrong:
        return "; ".join(f"{p.text} {p.effect.value}: {p.meaning}" for p in wrong)
    return None


@dataclass(frozen=True)
class CryptoPick:
    """The offered line a peer takes (None: none), and each line it passed over, why."""

    line: CryptoAttribute | None
    passed_over: tuple[tuple[CryptoAttribute, str], ...] = ()

    @property
    def reason(self) -> str:
        """In words, why no line was taken (or which were passed over)."""
        if not self.passed_over:
            return "no a=crypto line offered" if self.line is None else ""
        return "; ".join(f"a=crypto:{line} refused: {why}" for line, why in self.passed_over)


def pick_crypto(offered: Sequence[CryptoAttribute], supported: Collection[str]) -> CryptoPick:
    """The first of the `offered` lines that `refusal` lets a peer running `supported`
    take (RFC 4568 §7.1.2 leaves the answerer to choose; the offer's order is its
    preference), with the lines before it that were refused and why."""
    passed: list[tuple[CryptoAttribute, str]] = []
    for line in offered:
        why = refusal(line, supported)
        if why is None:
            return CryptoPick(line, tuple(passed))
        passed.append((line, why))
    return CryptoPick(None, tuple(passed))


def answered_crypto(offered: Sequence[CryptoAttribute], answered: Sequence[CryptoAttribute]
                    ) -> tuple[CryptoAttribute, CryptoAttribute] | None:
    """(offered line, answer line) of the first answer line whose tag names an offered
    line of the same suite: the answer's tag says which offer it took (RFC 4568 §7.1.2);
    its key keys the answerer's direction, the offered one the offerer's."""
    by_tag = {line.tag: line for line in offered}
    for line in answered:
        mine = by_tag.get(line.tag)
        if mine is not None and mine.suite == line.suite:
            return mine, line
    return None
