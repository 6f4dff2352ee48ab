"""SDP, sans I/O: a session model that round-trips byte-exact, offer/answer
(RFC 3264), SDES crypto (RFC 4568), ICE attributes (RFC 8839) and a semantic diff.

Modules: ``model`` (SessionDescription, MediaDescription, effective_*),
``lines`` (one class per line type), ``attributes`` (typed attribute values),
``crypto``, ``offer_answer``, ``diff``, ``errors`` (SdpParseError).
"""

from __future__ import annotations

from .attributes import Candidate, Direction, RtcpAttribute, RtpMap
from .crypto import SUITES, CryptoAttribute, CryptoSuite, KeyParam, validate_crypto
from .diff import Difference, DiffField, diff_sdp, only_transport_changes
from .errors import SdpParseError
from .lines import Attribute, Bandwidth, Connection, Origin, RawLine, Timing
from .model import (
    MediaDescription,
    SessionDescription,
    effective_address,
    effective_connection,
    effective_direction,
)
from .offer_answer import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    make_answer,
    make_offer,
    next_version,
    with_direction,
)

__all__ = [
    "PCMA",
    "PCMU",
    "SUITES",
    "TELEPHONE_EVENT",
    "Attribute",
    "Bandwidth",
    "Candidate",
    "Codec",
    "Connection",
    "CryptoAttribute",
    "CryptoSuite",
    "DiffField",
    "Difference",
    "Direction",
    "KeyParam",
    "MediaDescription",
    "Origin",
    "RawLine",
    "RtcpAttribute",
    "RtpMap",
    "SdpParseError",
    "SessionDescription",
    "Timing",
    "diff_sdp",
    "effective_address",
    "effective_connection",
    "effective_direction",
    "make_answer",
    "make_offer",
    "next_version",
    "only_transport_changes",
    "validate_crypto",
    "with_direction",
]
