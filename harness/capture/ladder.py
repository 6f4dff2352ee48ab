"""Render the SIP packets of a capture as a text ladder, one line per message.

::

         0.000 ms  caller -> target  INVITE sip:callee1@198.18.0.2  [SDP]  Call-ID 3f2a91c0
         0.412 ms  target -> caller  100 Trying  Call-ID 3f2a91c0

Only the start line and a few headers are read, by hand, so that the ladder
does not depend on (and cannot be broken by) the full SIP parser; a message
the target mangled still gets its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from harness.capture.classify import PacketKind, classify
from harness.capture.pcap import CapturedPacket

__all__ = ["sip_ladder", "sip_summary_line"]

_CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)
_CONTENT_TYPE = re.compile(rb"^(?:content-type|c)[ \t]*:[ \t]*application/sdp", re.I | re.M)
_CALL_ID_CHARS = 8


def sip_summary_line(payload: bytes) -> str:
    """The start line of a SIP message (without the version), plus ``[SDP]`` and a short Call-ID."""
    head, _, body = payload.partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if first.startswith("SIP/2.0 "):
        first = first[len("SIP/2.0 "):]
    elif first.endswith(" SIP/2.0"):
        first = first[: -len(" SIP/2.0")]
    parts = [first]
    if _CONTENT_TYPE.search(head) or body.startswith(b"v=0"):
        parts.append("[SDP]")
    m = _CALL_ID.search(head)
    if m:
        parts.append("Call-ID " + m.group(1)[:_CALL_ID_CHARS].decode("ascii", "replace"))
    return "  ".join(parts)


def sip_ladder(packets: Iterable[CapturedPacket], names: Mapping[str, str]) -> str:
    """One line per SIP packet: time since the first one in ms, lanes, summary.

    `names` maps IP addresses to lane names (e.g. ``{"198.18.0.10": "caller",
    "198.18.0.2": "target"}``); an address not in it is shown as ``ip:port``.
    """
    sip = [p for p in packets if classify(p.payload) is PacketKind.SIP]
    if not sip:
        return "(no SIP packets)"
    t0 = sip[0].ts

    def lane(addr: tuple[str, int]) -> str:
        return names.get(addr[0], f"{addr[0]}:{addr[1]}")

    width = max(len(lane(a)) for p in sip for a in (p.src, p.dst))
    lines = [
        f"{(p.ts - t0) * 1e3:10.3f} ms  {lane(p.src):<{width}} -> {lane(p.dst):<{width}}  "
        f"{sip_summary_line(p.payload)}"
        for p in sip
    ]
    return "\n".join(lines)
