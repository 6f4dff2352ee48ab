"""What a session description says about the media of its first stream: the codec it
settles on, where its media goes, its telephone-event payload type, its ICE parameters.

Pure readings of a parsed `SessionDescription`, shared by the agents (which act on what
they received) and the checks (which compare it with the wire).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SdpParseError
from .model import SessionDescription, effective_address, effective_direction
from .offer_answer import Codec

__all__ = ["RemoteIce", "media_address", "negotiated_codec", "remote_ice",
           "sends", "telephone_event_pt"]


def negotiated_codec(sd: SessionDescription) -> Codec | None:
    """The first codec of the first audio stream that can carry a call."""
    if not sd.media or sd.media[0].port == 0:
        return None
    maps = sd.media[0].rtpmaps()
    for fmt in sd.media[0].formats:
        rtpmap = maps.get(fmt)
        if rtpmap is None:
            continue
        codec = Codec(rtpmap.payload_type, rtpmap.encoding, rtpmap.clock_rate, rtpmap.channels)
        if not codec.auxiliary:
            return codec
    return None


def telephone_event_pt(sd: SessionDescription | None) -> int | None:
    """The payload type of telephone-event/8000 in the first stream, if negotiated."""
    if sd is None or not sd.media:
        return None
    for rtpmap in sd.media[0].rtpmaps().values():
        if rtpmap.encoding.lower() == "telephone-event" and rtpmap.clock_rate == 8000:
            return rtpmap.payload_type
    return None


def media_address(sd: SessionDescription) -> tuple[str, int]:
    """Where the first stream's media goes: its effective c= address and its m= port."""
    return effective_address(sd, 0), sd.media[0].port


@dataclass(frozen=True)
class RemoteIce:
    """A peer's ICE parameters as its SDP gave them."""

    ufrag: str
    pwd: str
    candidates: tuple[tuple[str, int], ...]
    lite: bool


def remote_ice(sd: SessionDescription) -> RemoteIce | None:
    """The ICE parameters of the first stream (media level, else session level)."""
    if not sd.media:
        return None
    md = sd.media[0]
    session_ufrag, session_pwd = sd.get_attribute("ice-ufrag"), sd.get_attribute("ice-pwd")
    ufrag = md.ice_ufrag or (session_ufrag.value if session_ufrag else None)
    pwd = md.ice_pwd or (session_pwd.value if session_pwd else None)
    if not ufrag or not pwd:
        return None
    try:
        candidates = tuple((c.ip, c.port) for c in md.candidates()
                           if c.component == 1 and c.transport.upper() == "UDP")
    except SdpParseError:
        candidates = ()
    lite = sd.has_attribute("ice-lite") or md.has_attribute("ice-lite")
    return RemoteIce(str(ufrag), str(pwd), candidates, lite)


def sends(local: SessionDescription | None, remote: SessionDescription | None) -> bool:
    """Whether the side holding `local` (its SDP) and `remote` (the peer's) may send."""
    if local is None or remote is None or not local.media or not remote.media:
        return False
    if local.media[0].port == 0 or remote.media[0].port == 0:
        return False
    return effective_direction(local, 0).sends and effective_direction(remote, 0).receives
