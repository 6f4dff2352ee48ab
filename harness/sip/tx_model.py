"""The vocabulary of the RFC 3261 §17 transaction machines (`harness.sip.transaction`):
states, timers, table inputs and actions, the outputs the engine hands to its user, and
how a message is matched to its transaction (§17.1.3, §17.2.3). Kept apart from the
tables so that the machines' file holds the engine and the four RFC figures with their
tables, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from harness.sip.message import Request, Response

Address = tuple[str, int]


class TxState(Enum):
    """Transaction states; INIT is "created, request not yet handed to the transport"."""

    INIT = auto()
    CALLING = auto()
    TRYING = auto()
    PROCEEDING = auto()
    COMPLETED = auto()
    CONFIRMED = auto()
    ACCEPTED = auto()
    TERMINATED = auto()


class Timer(Enum):
    """RFC 3261 Table 4 timers, plus L and M from RFC 6026."""

    A = auto()
    B = auto()
    D = auto()
    E = auto()
    F = auto()
    G = auto()
    H = auto()
    I = auto()  # noqa: E741 - the RFC's name
    J = auto()
    K = auto()
    L = auto()
    M = auto()


class TxInput(Enum):
    """Inputs to the tables."""

    SEND = auto()  # TU: send the request
    RECV_1XX = auto()  # network: provisional response
    RECV_2XX = auto()  # network: 2xx response
    RECV_300_699 = auto()  # network: final non-2xx response
    RECV_REQUEST = auto()  # network: the request again (retransmission)
    RECV_ACK = auto()  # network: ACK matching an INVITE server transaction
    SEND_1XX = auto()  # TU: provisional response
    SEND_2XX = auto()  # TU: 2xx response
    SEND_300_699 = auto()  # TU: final non-2xx response
    TIMER_A = auto()
    TIMER_B = auto()
    TIMER_D = auto()
    TIMER_E = auto()
    TIMER_F = auto()
    TIMER_G = auto()
    TIMER_H = auto()
    TIMER_I = auto()
    TIMER_J = auto()
    TIMER_K = auto()
    TIMER_L = auto()
    TIMER_M = auto()


class Action(Enum):
    """What a table row does, in order."""

    TRANSMIT_REQUEST = auto()  # (re)send the request
    PASS_UP = auto()  # hand the response to the TU
    SEND_ACK = auto()  # client INVITE: send the ACK for a non-2xx (built once)
    SEND_RESPONSE = auto()  # server: send the TU's response, remember it
    RESEND_RESPONSE = auto()  # server: retransmit the last response sent
    PASS_ACK = auto()  # server INVITE (Accepted): hand the ACK to the TU
    TIME_OUT = auto()  # tell the TU the transaction timed out
    START_A = auto()
    RETRY_A = auto()  # A doubles, no cap
    START_B = auto()
    START_D = auto()
    START_E = auto()
    RETRY_E = auto()  # E doubles, capped at T2 (Trying)
    RETRY_E_T2 = auto()  # E = T2 (Proceeding)
    START_F = auto()
    START_G = auto()
    RETRY_G = auto()  # G doubles, capped at T2
    START_H = auto()
    START_I = auto()
    START_J = auto()
    START_K = auto()
    START_L = auto()
    START_M = auto()


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Transmit:
    """Send ``data`` (the serialised ``message``) to ``destination``."""

    data: bytes
    destination: Address
    message: Request | Response


@dataclass(frozen=True)
class ResponsePassedUp:
    """A client transaction hands a response to the TU."""

    response: Response
    retransmission: bool


@dataclass(frozen=True)
class AckPassedUp:
    """A server INVITE transaction in Accepted hands a matching ACK to the TU."""

    request: Request


@dataclass(frozen=True)
class TimedOut:
    """Timer B, F or H fired: no (final) response, or no ACK."""

    timer: Timer


@dataclass(frozen=True)
class Terminated:
    """The transaction reached Terminated; forget it."""


TxOutput = Transmit | ResponsePassedUp | AckPassedUp | TimedOut | Terminated


# --------------------------------------------------------------------------- matching


def client_key(message: Request | Response) -> tuple[str, str]:
    """§17.1.3: a response matches a client transaction by top-Via branch + CSeq method."""
    return (message.top_via.branch or "", message.cseq.method)


def server_key(request: Request, method: str | None = None) -> tuple[str, ...]:
    """§17.2.3: branch + sent-by + method (ACK counts as INVITE).

    ``method`` overrides the request's method (a CANCEL looks up its INVITE
    with ``method="INVITE"``). Without the magic cookie (RFC 2543 peers) the
    key falls back to Call-ID, From tag, CSeq number, top Via and method.
    """
    if method is None:
        method = "INVITE" if request.method == "ACK" else request.method
    via = request.top_via
    if via.rfc3261_branch:
        host, port = via.sent_by
        return ("3261", via.branch or "", host.lower(), str(port), method)
    return (
        "2543",
        request.call_id,
        request.from_.tag or "",
        str(request.cseq.seq),
        str(via),
        method,
    )
