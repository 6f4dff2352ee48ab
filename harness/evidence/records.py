"""What the harness's endpoints saw on the wire, one frozen record per message or packet.

Each record is written once, by the endpoint that sent or received the bytes, with the
time on the agents' clock (the event loop's), the peer's address and the raw bytes;
the conformance checks read nothing else of the endpoints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from harness.media.rtp import RtpPacket

__all__ = [
    "Address", "CheckResult", "RtpRecord", "SentOrReceived", "SipRecord", "StunRecord",
    "fields_of", "frozen_fields",
]

Address = tuple[str, int]
SentOrReceived = Literal["sent", "received"]


@dataclass(frozen=True)
class SipRecord:
    """One SIP datagram as an agent sent or received it."""

    time: float
    agent: str
    direction: SentOrReceived
    peer: Address
    data: bytes


@dataclass(frozen=True)
class RtpRecord:
    """One packet as an RTP endpoint sent or received it."""

    time: float
    direction: SentOrReceived
    peer: Address
    raw: bytes
    packet: RtpPacket | None  # plain RTP (decrypted if SRTP); None if it did not decode
    error: str | None = None
    local_port: int = 0  # the endpoint's own port (an agent may move to a new one mid-call)


@dataclass(frozen=True)
class StunRecord:
    """One STUN message on a media port, as the ICE agent sent or received it."""

    time: float
    direction: SentOrReceived
    peer: Address
    data: bytes
    kind: str  # "request", "success", "error", "invalid: <why>"
    transaction_id: bytes = b""
    local_port: int = 0  # which of the endpoint's candidates (siblings share one list)


@dataclass(frozen=True)
class CheckResult:
    """One connectivity check and what came back (no `response` yet: still in flight, or
    never answered, which `problems` then says)."""

    remote: Address
    use_candidate: bool
    sent_at: float
    request: bytes
    response: bytes | None = None
    answered_at: float | None = None
    problems: tuple[str, ...] = ()
    mapped: Address | None = None
    attributes: tuple[int, ...] = ()  # attribute types in the response

    @property
    def succeeded(self) -> bool:
        return self.response is not None and not self.problems


def fields_of(record: Any) -> dict[str, Any]:
    """A record's fields by name, as they are (a plan's, to make its outcome from)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def frozen_fields(draft: Any) -> dict[str, Any]:
    """The fields of a scenario's working record by name, lists as tuples: what its
    frozen evidence record is made of."""
    return {f.name: tuple(v) if isinstance(v := getattr(draft, f.name), list) else v
            for f in dataclasses.fields(draft)}
