"""Whether the SRTP of a Teams call is encrypted, and whether the target's a=crypto lines
are ones the Teams profile allows: pure functions over a `DrOutcome`.

"The SRTP decrypts" used to mean "libsrtp rejected none of it". That proves little: AES
in counter mode turns any bytes into other bytes, so media sent in clear under a valid
tag (what UNENCRYPTED_SRTP asks for, RFC 4568 §6.3.2) "decrypts" too, into noise. So
`srtp_encrypted` shows it per direction of each Teams leg, from the capture: the payload
on the wire is not the plaintext the sender produced (it was encrypted), and decrypting
the wire bytes with the key the SDP negotiated gives back that plaintext (it was
encrypted with that key). Toward Teams the plaintext is what the PSTN side sent on its
plain-RTP leg: the target relays the payload between SRTP and RTP, so it is found again
by its bytes (never by sequence number, which the target may rewrite). From the Teams
side it is what the Teams agent put into its packets before protecting them.

The lines themselves are read whole (`crypto_lines_for_teams`): suite, key parameters
with lifetime and MKI, and session parameters, of which the profile forbids those that
turn encryption or authentication off.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.capture.classify import PacketKind, classify
from harness.conformance.findings import Finding, check, failed, ok
from harness.evidence.records import Address, RtpRecord
from harness.evidence.teams import DrOutcome
from harness.media.rtp import RtpPacket, RtpParseError
from harness.media.srtp import SrtpError, SrtpSession
from harness.sdp import CryptoAttribute, SdpParseError, SessionDescription
from harness.sdp.crypto import ParamEffect, answered_crypto, session_param

__all__ = ["TEAMS_SUITE", "crypto_lines_for_teams", "describe_line", "srtp_encrypted"]

#: The one suite the Teams profile asks the target to offer (seed 003).
TEAMS_SUITE = "AES_CM_128_HMAC_SHA1_80"

_INLINE = re.compile(r"^inline:([A-Za-z0-9+/=]+)(\|[^|]+)?(\|\d+:\d+)?$")


# --------------------------------------------------------------------------- the lines


def describe_line(attr: CryptoAttribute) -> str:
    """One line as read: tag, suite, each key's lifetime and MKI, the session parameters."""
    keys = [f"lifetime {k.lifetime or 'none'}, MKI "
            + (f"{k.mki}:{k.mki_length}" if k.mki is not None else "none")
            for k in attr.key_params]
    params = ", ".join(str(session_param(p)) for p in attr.session_params) or "none"
    return f"a=crypto:{attr.tag} {attr.suite}: {'; '.join(keys)}; session parameters: {params}"


def _key_problem(text: str) -> str | None:
    """The key parameters as the profile wants them: ``inline:<40 base64>[|lifetime]``
    (an MKI may follow), decoding to 30 bytes of key and salt."""
    params = text.split(" ")[2] if len(text.split(" ")) > 2 else ""
    m = _INLINE.match(params)
    if m is None:
        return f"key parameters {params!r} are not inline:<key||salt>[|lifetime]"
    b64 = m.group(1)
    try:
        raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(b64.rstrip("=")) != 40 or len(raw) != 30:
        return (f"key {b64[:8]}... is {len(b64)} base64 characters decoding to {len(raw)} "
                "bytes, not 40 decoding to 30")
    return None


def crypto_lines_for_teams(values: Sequence[str]) -> tuple[list[str], list[str]]:
    """(problems, evidence) of the target's a=crypto values toward Teams, each read whole:
    the suite must be AES_CM_128_HMAC_SHA1_80 with an inline key of 30 bytes, and no
    session parameter may turn encryption or authentication off (UNENCRYPTED_SRTP,
    UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP). Lifetime, MKI and the other session
    parameters are reported as found."""
    problems: list[str] = []
    evidence: list[str] = []
    for text in values:
        try:
            attr = CryptoAttribute.parse(text)
        except SdpParseError as exc:
            problems.append(f"a=crypto:{text} does not parse: {exc}")
            continue
        evidence.append(describe_line(attr))
        if attr.suite != TEAMS_SUITE:
            problems.append(f"suite {attr.suite} offered; the profile asks for {TEAMS_SUITE}")
            continue
        if (key := _key_problem(text)) is not None:
            problems.append(key)
        for param in map(session_param, attr.session_params):
            if param.effect is ParamEffect.PROTECTION_OFF:
                problems.append(f"a=crypto:{attr.tag} {attr.suite} carries {param.text} "
                                f"({param.meaning}), which the Teams profile forbids")
    return problems, evidence


# --------------------------------------------------------------------------- the media


@dataclass(frozen=True)
class _Direction:
    """One direction of one Teams leg: what crossed the wire, what keyed it, and the
    plaintext payloads its sender produced."""

    label: str  # "Teams -> target", "target -> Teams" (with the device, when forked)
    wire: tuple[bytes, ...]  # the captured RTP datagrams, in capture order
    key: CryptoAttribute | None  # the negotiated line that keys this direction
    role: str  # "offered" or "answered": which side of the exchange that line is
    plain: frozenset[bytes]  # payloads the sender produced
    sender: str
    required: bool  # the direction must carry media (the call's own leg)


def _first_lines(sd: SessionDescription | None) -> list[CryptoAttribute]:
    return sd.media[0].crypto() if sd is not None and sd.media else []


def _sent_payloads(records: Sequence[RtpRecord]) -> frozenset[bytes]:
    return frozenset(r.packet.payload for r in records
                     if r.direction == "sent" and r.packet is not None and r.packet.payload)


def _rtp(out: DrOutcome, *, src: Address | None = None, dst: Address | None = None
         ) -> tuple[bytes, ...]:
    return tuple(p.payload for p in out.packets
                 if (src is None or p.src == src) and (dst is None or p.dst == dst)
                 and classify(p.payload) is PacketKind.RTP)


def _leg(out: DrOutcome, name: str, teams: Address, offer: SessionDescription | None,
         answer: SessionDescription | None, teams_rtp: Sequence[RtpRecord], *,
         teams_offered: bool, required: bool) -> list[_Direction]:
    """Both directions of the Teams leg at `teams`: the answer's tag names the offered
    line it took (RFC 4568 §7.1.2); each side sends with the key of its own line."""
    pair = answered_crypto(_first_lines(offer), _first_lines(answer))
    offered, answered = pair if pair is not None else (None, None)
    teams_key, target_key = (offered, answered) if teams_offered else (answered, offered)
    teams_role, target_role = ("offered", "answered") if teams_offered else ("answered",
                                                                              "offered")
    where = f" ({name})" if name else ""
    return [
        _Direction(f"Teams{where} -> target", _rtp(out, src=teams), teams_key, teams_role,
                   _sent_payloads(teams_rtp), "the Teams side", required),
        _Direction(f"target -> Teams{where}", _rtp(out, dst=teams), target_key, target_role,
                   _sent_payloads(out.pstn_rtp), "the PSTN side", required),
    ]


def _directions(out: DrOutcome) -> list[_Direction]:
    """Every direction of every Teams leg of the call: the Teams endpoint's, or with the
    call forked each device's (the answering one must carry media both ways)."""
    if out.devices:
        found: list[_Direction] = []
        for index, device in enumerate(out.devices):
            host = out.hosts.get(device.host)
            if host is None or device.answer is None or not device.answer.media:
                continue
            found += _leg(out, device.host, (host, device.answer.media[0].port),
                          device.offer, device.answer, device.rtp, teams_offered=False,
                          required=index == out.answering_device)
        return found
    if out.paths:  # from Teams with two candidates: one leg each, as media went there
        answer = out.teams_got_200 or out.teams_got_183
        return [d for path in out.paths
                for d in _leg(out, path.label, path.address, out.teams_offer, answer,
                              path.rtp, teams_offered=True, required=False)]
    if out.teams_address is None:
        return []
    if out.direction == "from-teams":
        return _leg(out, "", out.teams_address, out.teams_offer, out.teams_got_200,
                    out.teams_rtp, teams_offered=True, required=True)
    return _leg(out, "", out.teams_address, out.offer_to_teams, out.answer_from_teams,
                out.teams_rtp, teams_offered=False, required=True)


def _payload_offset(data: bytes) -> int | None:
    """Where the payload of an RTP (or SRTP: the header is in clear) packet begins."""
    if len(data) < 12:
        return None
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:  # header extension: 4 bytes, then its length in words
        if len(data) < offset + 4:
            return None
        offset += 4 + 4 * int.from_bytes(data[offset + 2:offset + 4], "big")
    return offset if offset <= len(data) else None


def _in_clear(wire: bytes, plain: frozenset[bytes]) -> bool:
    """The datagram carries one of the sender's plaintext payloads where its payload
    begins: it went out unencrypted (with or without a tag after it)."""
    at = _payload_offset(wire)
    return at is not None and any(wire[at:at + len(p)] == p for p in plain)


def _key_name(d: _Direction) -> str:
    assert d.key is not None
    key = d.key.key_params[0]
    mki = f", MKI {key.mki}:{key.mki_length}" if key.mki is not None else ""
    return f"the {d.role} key (a=crypto:{d.key.tag} {d.key.suite}{mki})"


def _decrypted(d: _Direction, session: SrtpSession) -> tuple[int, int]:
    """(packets that did not authenticate or parse, packets that decrypted to a payload
    the sender never produced), decrypting the wire in capture order."""
    rejected = strangers = 0
    for wire in d.wire:
        try:
            payload = RtpPacket.parse(session.unprotect(wire)).payload
        except (SrtpError, RtpParseError):
            rejected += 1
            continue
        if payload not in d.plain:
            strangers += 1
    return rejected, strangers


def _judge(d: _Direction) -> tuple[list[str], str]:
    """(problems, evidence line) of one direction."""
    n = len(d.wire)
    if n == 0:
        return ([f"{d.label}: no media on the wire"] if d.required else []), \
            f"{d.label}: no media captured"
    if d.key is None:
        return [f"{d.label}: {n} packet(s) on the wire, but the SDP negotiated no a=crypto "
                "line to decrypt them with"], f"{d.label}: {n} packet(s), no negotiated key"
    key = d.key.key_params[0]
    try:
        session = SrtpSession(d.key.suite, key.key_salt, "inbound", mki=key.mki_bytes)
    except ValueError as exc:
        return [f"{d.label}: {_key_name(d)} cannot be run here ({exc})"], \
            f"{d.label}: {n} packet(s), key not usable"
    clear = sum(1 for wire in d.wire if _in_clear(wire, d.plain))
    rejected, strangers = _decrypted(d, session)
    problems = []
    if clear:
        problems.append(f"{d.label}: {clear} of {n} packet(s) carry {d.sender}'s plaintext "
                        "payload on the wire: not encrypted")
    if rejected:
        problems.append(f"{d.label}: {rejected} of {n} packet(s) did not decrypt with "
                        f"{_key_name(d)}")
    if strangers:
        problems.append(f"{d.label}: {strangers} of {n} packet(s) decrypted with "
                        f"{_key_name(d)} to payloads {d.sender} never sent")
    evidence = (f"{d.label}: {n} packet(s) on the wire, {n - clear} differ from "
                f"{d.sender}'s plaintext, {n - rejected - strangers} decrypt to it with "
                f"{_key_name(d)}")
    return problems, evidence


@check
def srtp_encrypted(out: DrOutcome) -> Finding:
    """Per direction of each Teams leg, from the capture: every RTP datagram differs from
    the plaintext its sender produced, and decrypts with the negotiated key to that
    plaintext. Plaintext with a valid tag, plaintext without a tag, media keyed otherwise
    than the SDP says, and a direction of the call's own leg with no media all FAIL."""
    directions = _directions(out)
    if not directions:
        return failed("no Teams leg with an SDP answer to judge (the call ended before it)",
                      out.notes)
    problems: list[str] = []
    evidence: list[str] = []
    for d in directions:
        found, line = _judge(d)
        problems += found
        evidence.append(line)
    evidence.append("the PSTN leg is plain RTP by design: not judged")
    if not any(d.wire for d in directions):
        return failed("no SRTP crossed the Teams leg: nothing shows it encrypted",
                      [*evidence, *out.notes])
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("SRTP encrypted both ways on the Teams leg: every packet on the wire differs "
              "from its sender's plaintext and decrypts to it with the negotiated key",
              evidence)
