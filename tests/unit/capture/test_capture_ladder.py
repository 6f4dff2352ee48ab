"""SIP ladder rendering."""

from __future__ import annotations

import re

from harness.capture.ladder import sip_ladder, sip_summary_line
from harness.capture.pcap import CapturedPacket

CALLER, TARGET, OTHER = ("198.18.0.10", 5060), ("198.18.0.2", 5060), ("198.18.0.77", 5062)
INVITE = (b"INVITE sip:callee1@198.18.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n"
          b"Call-ID: 3f2a91c0deadbeef@x\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n")
RINGING = b"SIP/2.0 183 Session Progress\r\ni: 3f2a91c0deadbeef@x\r\n\r\n"


def test_summary_line() -> None:
    assert sip_summary_line(INVITE) == "INVITE sip:callee1@198.18.0.2  [SDP]  Call-ID 3f2a91c0"
    assert sip_summary_line(RINGING) == "183 Session Progress  Call-ID 3f2a91c0"


def test_ladder() -> None:
    pkts = [
        CapturedPacket(1, 100.0, CALLER, TARGET, INVITE),
        CapturedPacket(2, 100.0005, TARGET, CALLER, b"\x80" + bytes(20)),  # RTP: not shown
        CapturedPacket(3, 100.0015, TARGET, CALLER, RINGING),
        CapturedPacket(4, 100.25, OTHER, TARGET, b"BYE sip:x SIP/2.0\r\n\r\n"),
    ]
    text = sip_ladder(pkts, {"198.18.0.10": "caller", "198.18.0.2": "target"})
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("     0.000 ms  caller")
    assert re.match(r"\s+0\.000 ms  caller +-> target +INVITE sip:callee1", lines[0])
    assert lines[1].split()[:5] == ["1.500", "ms", "target", "->", "caller"]
    assert "198.18.0.77:5062 -> target" in lines[2] and lines[2].strip().startswith("250.000")
    assert sip_ladder([], {}) == "(no SIP packets)"
