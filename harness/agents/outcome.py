"""What one captured call left behind: the data every check reads.

A `CallOutcome` holds the SIP final answer, the SDP as each side sent and
received it, each endpoint's record of RTP, and the capture with its
media-path analysis. Checks are pure functions of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.agents.media import RtpRecord
from harness.agents.sip_agent import SipRecord
from harness.capture.mediapath import MediaPathReport
from harness.capture.pcap import CapturedPacket
from harness.sdp import Codec, SessionDescription
from harness.targets.spec import MediaMode


@dataclass(frozen=True)
class Side:
    """What one user agent offers or accepts, and the tone it sends."""

    codecs: tuple[Codec, ...] | None = None  # None: PCMU and PCMA
    srtp: bool = False  # caller: offer RTP/SAVP; callee: accept RTP/SAVP
    tone_hz: float | None = None  # None: the caller 700 Hz, the callee 1300 Hz
    # extra media-level attributes for its offer or answer, e.g. ("zrtp-hash", "1.10 ab..")
    attributes: tuple[tuple[str, str | None], ...] = ()
    dtmf: str = ""  # digits the side sends as RFC 4733 events after its tone


@dataclass
class CallOutcome:
    mode: MediaMode
    label: str
    request_uri: str
    caller: str
    callee: str
    caller_side: Side
    callee_side: Side
    caller_tone_hz: float
    callee_tone_hz: float
    final_status: int | None = None
    final_reason: str = ""
    offer_sent: SessionDescription | None = None  # caller -> target
    offer_received: SessionDescription | None = None  # target -> callee
    answer_sent: SessionDescription | None = None  # callee -> target
    answer_received: SessionDescription | None = None  # target -> caller
    caller_codec: Codec | None = None  # what the caller ended up sending
    callee_codec: Codec | None = None  # what the callee ended up sending
    dtmf_sent: list[tuple[str, int]] = field(default_factory=list)  # (digit, duration in ts)
    caller_rtp: list[RtpRecord] = field(default_factory=list)
    callee_rtp: list[RtpRecord] = field(default_factory=list)
    sip: list[SipRecord] = field(default_factory=list)
    hosts: dict[str, str] = field(default_factory=dict)  # name -> address
    target_addresses: frozenset[str] = frozenset()
    pcap: Path | None = None
    packets: list[CapturedPacket] = field(default_factory=list)
    path: MediaPathReport | None = None
    ladder: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def established(self) -> bool:
        return self.final_status is not None and 200 <= self.final_status < 300
