"""Sans-IO SIP core: messages, header values, transactions, dialogs, a UA endpoint.

No module here does I/O or reads a clock: bytes and ``now`` go in, bytes and
events come out (the h11 / aioquic model). See :mod:`harness.sip.endpoint`.
"""

from __future__ import annotations

from harness.sip.dialog import Dialog, DialogId, DialogState
from harness.sip.endpoint import SipEndpoint
from harness.sip.errors import SipParseError, SipUsageError
from harness.sip.events import (
    AckReceived,
    CancelReceived,
    DialogConfirmed,
    DialogTerminated,
    EarlyDialogCreated,
    Event,
    MessageMalformed,
    RequestReceived,
    ResponseReceived,
    StrayResponseReceived,
    TransactionTimedOut,
)
from harness.sip.headers import (
    MAGIC_COOKIE,
    CSeq,
    NameAddr,
    SipUri,
    Via,
    new_branch,
    new_call_id,
    new_tag,
)
from harness.sip.message import (
    HEADER_TABLE,
    REASON_PHRASES,
    Headers,
    HeaderSpec,
    Message,
    Request,
    Response,
    build_request,
    build_response,
    parse_message,
)
from harness.sip.transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    TxState,
)

__all__ = [
    "HEADER_TABLE",
    "MAGIC_COOKIE",
    "REASON_PHRASES",
    "AckReceived",
    "CSeq",
    "CancelReceived",
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "Dialog",
    "DialogConfirmed",
    "DialogId",
    "DialogState",
    "DialogTerminated",
    "EarlyDialogCreated",
    "Event",
    "HeaderSpec",
    "Headers",
    "Message",
    "MessageMalformed",
    "NameAddr",
    "Request",
    "RequestReceived",
    "Response",
    "ResponseReceived",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "SipEndpoint",
    "SipParseError",
    "SipUri",
    "SipUsageError",
    "StrayResponseReceived",
    "TransactionTimedOut",
    "TxState",
    "Via",
    "build_request",
    "build_response",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_message",
]
