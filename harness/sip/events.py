"""Events the endpoint reports: frozen dataclasses, named in the past tense.

``SipEndpoint.next_events()`` drains them in the order things happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.sip.dialog import Dialog
from harness.sip.errors import SipParseError
from harness.sip.message import Request, Response

__all__ = [
    "AckReceived",
    "CancelReceived",
    "DialogConfirmed",
    "DialogTerminated",
    "EarlyDialogCreated",
    "Event",
    "MessageMalformed",
    "RequestReceived",
    "ResponseReceived",
    "StrayResponseReceived",
    "TransactionTimedOut",
]

Address = tuple[str, int]


@dataclass(frozen=True)
class RequestReceived:
    """A new request arrived (retransmissions are absorbed by the transaction)."""

    request: Request
    source: Address


@dataclass(frozen=True)
class ResponseReceived:
    """A response to ``request`` arrived (ACKs for non-2xx are already sent).

    ``retransmission`` is True for a 2xx with a To-tag already seen for this
    INVITE (the endpoint has re-sent the ACK it sent before, if any), and for a
    byte-identical repeat of another response.
    """

    response: Response
    request: Request
    source: Address
    retransmission: bool = False


@dataclass(frozen=True)
class StrayResponseReceived:
    """A response that matches no client transaction (late, or never asked for)."""

    response: Response
    source: Address


@dataclass(frozen=True)
class EarlyDialogCreated:
    """A 1xx with a new To-tag created an early dialog (UAC), or we sent one (UAS)."""

    dialog: Dialog
    response: Response


@dataclass(frozen=True)
class DialogConfirmed:
    """A dialog became confirmed: ``message`` is the 2xx received or sent."""

    dialog: Dialog
    message: Request | Response


@dataclass(frozen=True)
class DialogTerminated:
    """A dialog ended; ``reason`` says why (``"BYE received"``, ``"487 Request Terminated"``...)."""

    dialog: Dialog
    reason: str


@dataclass(frozen=True)
class TransactionTimedOut:
    """No final response to ``request`` (Timer B or F), or no ACK for a final (Timer H)."""

    request: Request


@dataclass(frozen=True)
class CancelReceived:
    """A CANCEL arrived for a pending INVITE; the endpoint answered 200 and 487."""

    request: Request


@dataclass(frozen=True)
class MessageMalformed:
    """A datagram did not parse; nothing was answered."""

    data: bytes
    source: Address
    error: SipParseError


@dataclass(frozen=True)
class AckReceived:
    """The ACK for a 2xx we sent, in ``dialog`` (2xx retransmissions stop)."""

    request: Request
    dialog: Dialog


Event = (
    RequestReceived
    | ResponseReceived
    | StrayResponseReceived
    | EarlyDialogCreated
    | DialogConfirmed
    | DialogTerminated
    | TransactionTimedOut
    | CancelReceived
    | MessageMalformed
    | AckReceived
)
