"""Build offers and answers (RFC 3264) for the harness's user agents.

Valid by default: ``make_offer`` and ``make_answer`` produce what a careful
UA would send. To send something wrong on purpose, build the SDP and then
edit the returned object (``sd.media[0].proto = "RTP/AVP"``), or pass an
explicit ``proto``: explicit values are sent as given.

Answer rules implemented here (RFC 3264 section 6):

- one m-line per offered m-line, same order, same media kind and proto;
- codecs are the offered ones we support, in the offer's order, with the
  offer's payload type numbers (matching by encoding name, clock rate and
  channels); ``telephone-event``/``CN`` alone are not enough to accept;
- the direction mirrors the offer's (sendonly <-> recvonly), combined with
  what the answerer wants;
- a rejected stream (no common codec, unsupported kind or transport, no
  usable crypto, or port 0 in the offer) gets port 0 and the offered formats;
- RTP/SAVP: the first offered crypto line whose suite we support is
  answered with a fresh key under the same tag (RFC 4568 section 7.1.2).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .attributes import Direction, RtpMap
from .crypto import SUITES, CryptoAttribute
from .lines import Attribute, Connection, Origin, Timing
from .model import MediaDescription, SessionDescription, effective_direction

__all__ = [
    "AUXILIARY_ENCODINGS",
    "Codec",
    "CryptoChoice",
    "G722",
    "G729",
    "OPUS",
    "PCMA",
    "PCMU",
    "TELEPHONE_EVENT",
    "choose_first_supported",
    "make_answer",
    "make_media",
    "make_offer",
    "next_version",
    "prefer_suites",
    "with_direction",
]

CryptoChoice = Callable[[Sequence[CryptoAttribute]], CryptoAttribute | None]
"""Given the offered crypto lines, return the answer's crypto line or None to reject."""

SECURE_PROTOS = frozenset({"RTP/SAVP", "RTP/SAVPF"})
ANSWERABLE_PROTOS = frozenset({"RTP/AVP", "RTP/AVPF"}) | SECURE_PROTOS
AUXILIARY_ENCODINGS = frozenset({"telephone-event", "cn", "red", "rtx", "ulpfec"})


@dataclass(frozen=True)
class Codec:
    """A payload format a UA offers or accepts."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None
    fmtp: str | None = None
    kind: str = "audio"

    @property
    def rtpmap(self) -> RtpMap:
        """The ``a=rtpmap`` value for this codec."""
        return RtpMap(self.payload_type, self.encoding, self.clock_rate, self.channels)

    @property
    def auxiliary(self) -> bool:
        """True for DTMF, comfort noise and the like, which cannot carry a call alone."""
        return self.encoding.lower() in AUXILIARY_ENCODINGS

    def matches(self, rtpmap: RtpMap) -> bool:
        """Same encoding (case-insensitive), clock rate and channel count."""
        return self.rtpmap.same_codec(rtpmap)


PCMU = Codec(0, "PCMU", 8000)
PCMA = Codec(8, "PCMA", 8000)
G722 = Codec(9, "G722", 8000)
G729 = Codec(18, "G729", 8000, fmtp="annexb=no")
OPUS = Codec(111, "opus", 48000, 2, fmtp="minptime=10;useinbandfec=1")
TELEPHONE_EVENT = Codec(101, "telephone-event", 8000, fmtp="0-16")


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def _new_session_id() -> int:
    # 31 bits: some SBCs store o= numbers in signed 32-bit fields.
    return int.from_bytes(os.urandom(4), "big") >> 1


def make_media(
    kind: str,
    port: int,
    codecs: Sequence[Codec],
    *,
    proto: str = "RTP/AVP",
    direction: Direction | str | None = Direction.SENDRECV,
    crypto: Sequence[CryptoAttribute] = (),
    ptime: int | None = 20,
    extra_attributes: Sequence[Attribute] = (),
) -> MediaDescription:
    """One media section: rtpmap and fmtp per codec, crypto, ptime, direction, extras."""
    md = MediaDescription(kind, port, proto, [str(c.payload_type) for c in codecs])
    for codec in codecs:
        md.add_attribute("rtpmap", str(codec.rtpmap))
        if codec.fmtp is not None:
            md.add_attribute("fmtp", f"{codec.payload_type} {codec.fmtp}")
    for line in crypto:
        md.add_attribute("crypto", str(line))
    if ptime is not None:
        md.add_attribute("ptime", str(ptime))
    if direction is not None:
        md.direction = direction
    for attr in extra_attributes:
        md.add_attribute(Attribute(attr.name, attr.value))
    return md


def _session(address: str, session_id: int | None, username: str) -> SessionDescription:
    sid = _new_session_id() if session_id is None else session_id
    return SessionDescription(
        Origin(username, sid, sid, "IN", _addrtype(address), address),
        "-",
        connection=Connection("IN", _addrtype(address), address),
        times=[Timing(0, 0)],
    )


def make_offer(
    address: str,
    port: int,
    codecs: Sequence[Codec],
    *,
    direction: Direction | str = Direction.SENDRECV,
    proto: str | None = None,
    crypto: Sequence[CryptoAttribute] = (),
    session_id: int | None = None,
    username: str = "harness",
    ptime: int | None = 20,
    extra_attributes: Sequence[Attribute] = (),
    extra_media: Sequence[MediaDescription] = (),
) -> SessionDescription:
    """An offer with one audio stream at ``address:port`` (session-level c=).

    ``proto`` None means RTP/SAVP when ``crypto`` is given, else RTP/AVP.
    ``session_id`` None picks a random one; o= version starts equal to it.
    ``extra_media`` sections are copied and appended after the audio one.
    """
    if not codecs:
        raise ValueError("an offer needs at least one codec")
    chosen = proto if proto is not None else ("RTP/SAVP" if crypto else "RTP/AVP")
    sd = _session(address, session_id, username)
    sd.media.append(
        make_media(
            "audio",
            port,
            codecs,
            proto=chosen,
            direction=direction,
            crypto=crypto,
            ptime=ptime,
            extra_attributes=extra_attributes,
        )
    )
    sd.media += [copy.deepcopy(md) for md in extra_media]
    return sd


def choose_first_supported(
    offered: Sequence[CryptoAttribute],
    *,
    suites: Sequence[str] | None = None,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> CryptoAttribute | None:
    """The default ``CryptoChoice``: first offered line with a supported suite
    (restricted to ``suites`` when given) and a key of the right length,
    answered with a fresh key under the same tag."""
    for line in offered:
        info = SUITES.get(line.suite)
        if info is None or not info.supported:
            continue
        if suites is not None and line.suite not in suites:
            continue
        if any(len(kp.key_salt) != info.key_salt_length for kp in line.key_params):
            continue
        return CryptoAttribute.generate(line.tag, line.suite, random_bytes=random_bytes)
    return None


def prefer_suites(*suites: str) -> CryptoChoice:
    """A ``CryptoChoice`` that accepts only ``suites`` (in the offer's order)."""

    def choose(offered: Sequence[CryptoAttribute]) -> CryptoAttribute | None:
        return choose_first_supported(offered, suites=suites)

    return choose


def _common_codecs(md: MediaDescription, supported: Sequence[Codec]) -> list[Codec]:
    fmtps = md.fmtp()
    common: list[Codec] = []
    for fmt, rtpmap in md.rtpmaps().items():
        mine = next((c for c in supported if c.kind == md.kind and c.matches(rtpmap)), None)
        if mine is not None:
            fmtp = mine.fmtp if mine.fmtp is not None else fmtps.get(fmt)
            common.append(
                Codec(rtpmap.payload_type, rtpmap.encoding, rtpmap.clock_rate,
                      rtpmap.channels, fmtp, md.kind)
            )
    return common


def _rejected(md: MediaDescription) -> MediaDescription:
    return MediaDescription(md.kind, 0, md.proto, list(md.formats))


def make_answer(
    offer: SessionDescription,
    address: str,
    port: int,
    supported: Sequence[Codec],
    *,
    crypto_choice: CryptoChoice | None = None,
    direction: Direction | str | None = None,
    session_id: int | None = None,
    username: str = "harness",
    ptime: int | None = None,
) -> SessionDescription:
    """The answer to ``offer``: see the module docstring for the rules.

    Accepted streams get ``port``, ``port + 2``, ... in order. ``direction``
    is what we want (None = sendrecv); the result is combined with the
    mirror of the offered direction. ``ptime`` None echoes the offer's.
    Raises ``SdpParseError`` when the offer's attributes do not parse.
    """
    sd = _session(address, session_id, username)
    wanted = Direction(direction) if direction is not None else Direction.SENDRECV
    choose = crypto_choice if crypto_choice is not None else choose_first_supported
    next_port = port
    for index, md in enumerate(offer.media):
        if md.port == 0 or md.proto.upper() not in ANSWERABLE_PROTOS:
            sd.media.append(_rejected(md))
            continue
        common = _common_codecs(md, supported)
        if all(c.auxiliary for c in common):
            sd.media.append(_rejected(md))
            continue
        crypto: list[CryptoAttribute] = []
        if md.proto.upper() in SECURE_PROTOS:
            chosen = choose(md.crypto())
            if chosen is None:
                sd.media.append(_rejected(md))
                continue
            crypto.append(chosen)
        mirrored = effective_direction(offer, index).complement()
        sd.media.append(
            make_media(
                md.kind,
                next_port,
                common,
                proto=md.proto,
                direction=mirrored.intersect(wanted),
                crypto=crypto,
                ptime=ptime if ptime is not None else md.ptime,
            )
        )
        next_port += 2
    return sd


def next_version(sd: SessionDescription) -> SessionDescription:
    """A copy for a re-offer: o= sess-version + 1, everything else unchanged."""
    clone = sd.copy()
    clone.origin.sess_version += 1
    return clone


def with_direction(
    sd: SessionDescription, direction: Direction | str, *, media_index: int | None = None
) -> SessionDescription:
    """A copy with ``direction`` on every media section (or only ``media_index``).

    When every section is changed, a session-level direction is removed so
    it cannot contradict.
    """
    clone = sd.copy()
    if media_index is None:
        clone.set_direction(None)
        for md in clone.media:
            md.direction = direction
    else:
        clone.media[media_index].direction = direction
    return clone
