"""The UA core: transactions and dialogs glued together, sans-IO.

:class:`SipEndpoint` never touches a socket or a clock. Feed it datagrams
(``receive_datagram(data, addr, now)``) and timer ticks (``handle_timer(now)``
at ``get_timer()``); take what it wants sent from ``datagrams_to_send()`` and
what happened from ``next_events()``. Requests and responses the application
sends go through ``send_request``/``send_in_dialog``/``send_ack``/``cancel``/
``respond``. Every method taking ``now`` expects the caller's clock, seconds.

What the endpoint does by itself (everything else is the application's call):

* answers a retransmitted request from its server transaction, ACKs non-2xx
  finals (client INVITE transaction), retransmits our 2xx to INVITE until the
  ACK arrives (§13.3.1.4) and re-sends our ACK when a 2xx is retransmitted;
* sends 100 Trying for an INVITE at once (``auto_trying=True``);
* CANCEL: 200 to the CANCEL, 487 to the INVITE if it has no final response yet
  (:class:`CancelReceived`); 481 when there is no such INVITE;
* a request with a To-tag for an unknown (or terminated) dialog gets 481; one
  whose CSeq is lower than the dialog's last gets 500;
* a CANCEL asked for before any provisional response is held back until one
  arrives (§9.1) and dropped if a final response comes first;
* responses to received requests go back to the address the request came
  from (right for UDP with rport); ``received``/``rport`` are filled into
  the top Via of the response (RFC 3261 §18.2.1, RFC 3581).

It does *not* answer BYE, OPTIONS, re-INVITE, UPDATE, INFO...: those arrive as
:class:`RequestReceived` and the application calls ``respond()``. After 64*T1
without an ACK for our 2xx it reports :class:`DialogTerminated` and leaves
sending the BYE to the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from harness.sip.dialog import TARGET_REFRESH_METHODS, Dialog, DialogId, DialogState
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
from harness.sip.headers import CSeq, NameAddr, RandomBytes, SipUri, Via, new_branch, new_call_id
from harness.sip.headers import new_tag as _new_tag
from harness.sip.message import Request, Response, build_request, build_response
from harness.sip.message import parse_message as _parse_message
from harness.sip.transaction import (
    AckPassedUp,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ResponsePassedUp,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    Terminated,
    TimedOut,
    Transaction,
    Transmit,
    TxState,
    client_key,
    headers_from_invite,
    server_key,
)

__all__ = ["SipEndpoint"]

Address = tuple[str, int]
ClientTx = ClientInviteTransaction | ClientNonInviteTransaction
ServerTx = ServerInviteTransaction | ServerNonInviteTransaction


class _TimerArgs(TypedDict):
    t1: float
    t2: float
    t4: float


@dataclass
class _Pending2xx:
    """A 2xx to an INVITE we keep retransmitting until its ACK (§13.3.1.4)."""

    data: bytes
    destination: Address
    dialog: Dialog
    deadline: float
    interval: float
    give_up: float


@dataclass
class _SentAck:
    request: Request
    data: bytes
    destination: Address
    expires: float


def _hostport(addr: Address) -> str:
    host, port = addr
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _as_name_addr(text: str) -> NameAddr:
    """A URI or a full name-addr string as a NameAddr."""
    text = text.strip()
    if text.startswith(("<", '"')) or "<" in text:
        return NameAddr.parse(text)
    return NameAddr(SipUri.parse(text))


class SipEndpoint:
    """A SIP user agent (UAC and UAS at once) over UDP, without I/O.

    ``dialogs`` maps :data:`DialogId` to every dialog this endpoint has seen,
    terminated ones included (their ``state`` says so). ``t1``/``t2``/``t4``
    are the RFC 3261 timer values; ``rand`` (``n -> n random bytes``) makes
    tags, branches and Call-IDs reproducible in tests.
    """

    def __init__(
        self,
        local_addr: Address,
        *,
        user: str = "harness",
        display_name: str | None = None,
        user_agent: str | None = "sbc-harness",
        t1: float = 0.5,
        t2: float = 4.0,
        t4: float = 5.0,
        auto_trying: bool = True,
        rand: RandomBytes | None = None,
        contact_addr: Address | None = None,
    ) -> None:
        self.local_addr = local_addr
        self.contact_addr = contact_addr
        self.user = user
        self.display_name = display_name
        self.user_agent = user_agent
        self.t1, self.t2, self.t4 = t1, t2, t4
        self.auto_trying = auto_trying
        self._rand = rand
        self.dialogs: dict[DialogId, Dialog] = {}
        self._client: dict[tuple[str, str], ClientTx] = {}
        self._server: dict[tuple[str, ...], ServerTx] = {}
        self._uas_tags: dict[tuple[str, ...], str] = {}
        self._pending_2xx: dict[tuple[DialogId, int], _Pending2xx] = {}
        self._acked: set[tuple[DialogId, int]] = set()
        self._acks: dict[tuple[DialogId, int], _SentAck] = {}
        self._held_cancels: dict[tuple[str, str], Request] = {}
        self._cancelled: set[tuple[str, str]] = set()
        self._out: list[tuple[bytes, Address]] = []
        self._events: list[Event] = []
        self._source: Address = local_addr

    # ------------------------------------------------------------------ identity

    @property
    def contact_uri(self) -> str:
        """Our Contact URI, ``sip:user@host:port``: the local address, or ``contact_addr``
        when one is given (an agent reached through a relay names the relay)."""
        return f"sip:{self.user}@{_hostport(self.contact_addr or self.local_addr)}"

    def new_via(self) -> Via:
        """A Via for a new client transaction: our address, a fresh branch, ``rport``."""
        host, port = self.local_addr
        host = f"[{host}]" if ":" in host else host
        return Via(host, port, "UDP", {"branch": new_branch(self._rand), "rport": None})

    def new_tag(self) -> str:
        """A fresh tag from this endpoint's random source."""
        return _new_tag(self._rand)

    # ------------------------------------------------------------------ building

    def create_request(
        self,
        method: str,
        request_uri: str,
        *,
        to_uri: str | None = None,
        from_uri: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        route: Sequence[str] = (),
        extra: Sequence[tuple[str, str]] = (),
    ) -> Request:
        """Build an out-of-dialog request (not sent): new Call-ID, From-tag, branch, CSeq 1."""
        local = SipUri.parse(from_uri) if from_uri else SipUri.parse(self.contact_uri)
        from_ = NameAddr(local, self.display_name, {"tag": self.new_tag()})
        to = _as_name_addr(to_uri or request_uri)
        headers = list(extra)
        if self.user_agent and not any(n.lower() == "user-agent" for n, _ in headers):
            headers.append(("User-Agent", self.user_agent))
        return build_request(
            method,
            request_uri,
            via=self.new_via(),
            from_=from_,
            to=to,
            call_id=new_call_id(self.local_addr[0], self._rand),
            cseq=CSeq(1, method),
            contact=f"<{self.contact_uri}>",
            route=route,
            body=body,
            content_type=content_type if body else None,
            extra=headers,
        )

    def create_invite(
        self,
        request_uri: str,
        *,
        to_uri: str | None = None,
        from_uri: str | None = None,
        body: bytes = b"",
        content_type: str | None = "application/sdp",
        route: Sequence[str] = (),
        extra: Sequence[tuple[str, str]] = (),
    ) -> Request:
        """Build an initial INVITE (not sent); Content-Type only if there is a body."""
        return self.create_request(
            "INVITE", request_uri, to_uri=to_uri, from_uri=from_uri, body=body,
            content_type=content_type, route=route, extra=extra,
        )

    # ------------------------------------------------------------------ sending (UAC)

    def send_request(self, request: Request, destination: Address, now: float) -> None:
        """Send a request through a new client transaction (ACK: sent as is, no transaction)."""
        if request.method == "ACK":
            self._out.append((bytes(request), destination))
            return
        key = client_key(request)
        if key in self._client:
            raise SipUsageError(f"a client transaction for {key} exists already")
        tx: ClientTx
        if request.method == "INVITE":
            tx = ClientInviteTransaction(request, destination, **self._timers())
        else:
            tx = ClientNonInviteTransaction(request, destination, **self._timers())
        self._client[key] = tx
        tx.send(now)
        self._drain(tx, key, now)

    def send_in_dialog(
        self,
        dialog: Dialog,
        method: str,
        now: float,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        extra: Sequence[tuple[str, str]] = (),
    ) -> Request:
        """Send BYE, re-INVITE, UPDATE, INFO... in ``dialog`` (§12.2.1.1); returns the request."""
        if method in ("ACK", "CANCEL"):
            raise SipUsageError(f"use send_ack()/cancel() for {method}")
        self.dialogs.setdefault(dialog.id, dialog)  # a dialog made up by a test counts too
        request, destination = dialog.create_request(
            method, via=self.new_via(), body=body, content_type=content_type, extra=extra
        )
        if method == "INVITE":
            dialog.invite_cseq = request.cseq.seq
        self.send_request(request, destination, now)
        return request

    def send_ack(
        self,
        dialog: Dialog,
        invite_cseq: int,
        now: float,
        *,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """Send the ACK for a 2xx to the INVITE with CSeq ``invite_cseq``.

        Asked again for the same INVITE, the same ACK is re-sent byte for byte.
        The endpoint also re-sends it by itself on each 2xx retransmission.
        """
        key = (dialog.id, invite_cseq)
        sent = self._acks.get(key)
        if sent is None:
            request, destination = dialog.create_ack(
                invite_cseq, via=self.new_via(), body=body, content_type=content_type
            )
            sent = _SentAck(request, bytes(request), destination, now + 64 * self.t1)
            self._acks[key] = sent
        self._out.append((sent.data, sent.destination))
        return sent.request

    def cancel(self, invite: Request, now: float) -> Request:
        """CANCEL a pending INVITE (§9.1); held back until a provisional response arrives."""
        tx = self._client.get(client_key(invite))
        if not isinstance(tx, ClientInviteTransaction):
            raise SipUsageError("no client INVITE transaction for this request")
        headers = headers_from_invite(invite, "CANCEL")
        if self.user_agent:
            headers.add("User-Agent", self.user_agent)
        headers.add("Content-Length", "0")
        request = Request("CANCEL", invite.uri, headers)
        self._cancelled.add(client_key(invite))
        if tx.state is TxState.CALLING:
            self._held_cancels[client_key(invite)] = request
        else:
            self.send_request(request, tx.destination, now)
        return request

    def send_raw(self, data: bytes, destination: Address) -> None:
        """Queue arbitrary bytes (deliberately wrong messages); no transaction, no checks."""
        self._out.append((data, destination))

    # ------------------------------------------------------------------ responding (UAS)

    def respond(
        self,
        request: Request,
        status: int,
        now: float,
        *,
        reason: str | None = None,
        to_tag: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        extra: Sequence[tuple[str, str]] = (),
    ) -> Response:
        """Answer a received request through its server transaction.

        Outside a dialog, responses other than 100 carry a To-tag: ``to_tag``
        if given, else one chosen per transaction (the same for 18x and 200).
        For an INVITE, 101-299 creates or confirms the UAS dialog (events
        :class:`EarlyDialogCreated` / :class:`DialogConfirmed`) and a 2xx is
        retransmitted until its ACK. A 2xx to BYE terminates the dialog.
        """
        key = server_key(request)
        tx = self._server.get(key)
        if tx is None or request.method == "ACK":
            raise SipUsageError(f"no server transaction for {request.method} {request.uri}")
        in_dialog = request.to.tag is not None
        if in_dialog or status == 100:
            tag = None
        else:
            tag = to_tag or self._uas_tags.get(key) or self.new_tag()
            self._uas_tags[key] = tag
        contact = None
        if request.method in TARGET_REFRESH_METHODS and 100 < status < 300:
            contact = f"<{self.contact_uri}>"
        response = build_response(
            request, status, reason, to_tag=tag, contact=contact, body=body,
            content_type=content_type, extra=extra,
        )
        self._stamp_via(request, response, tx.destination)
        tx.send_response(response, now)
        self._drain(tx, key, now)
        self._uas_dialog_effects(request, response, now, tx.destination)
        return response

    def _stamp_via(self, request: Request, response: Response, source: Address) -> None:
        """Fill ``received``/``rport`` into the response's top Via (§18.2.1, RFC 3581)."""
        top = request.top_via
        if top.host == source[0] and not top.rport_requested:
            return
        if top.host != source[0]:
            top.params["received"] = source[0]
        if top.rport_requested:
            for name in list(top.params):
                if name.lower() == "rport":
                    top.params[name] = str(source[1])
        values = request.headers.get_all("Via")
        response.headers.remove("Via")
        for i, value in enumerate([str(top), *values[1:]]):
            response.headers.insert(i, "Via", value)

    def _uas_dialog_effects(
        self, request: Request, response: Response, now: float, destination: Address
    ) -> None:
        status = response.status
        if request.method == "INVITE":
            seq = request.cseq.seq
            tag = response.to.tag
            if request.to.tag is None and tag is not None and 100 < status < 300:
                did = (request.call_id, tag, request.from_.tag or "")
                dialog = self.dialogs.get(did)
                if dialog is None:
                    state = DialogState.EARLY if status < 200 else DialogState.CONFIRMED
                    dialog = Dialog.from_uas_request(
                        request, tag, state=state, local_target=self.contact_uri
                    )
                    self.dialogs[did] = dialog
                    if status < 200:
                        self._events.append(EarlyDialogCreated(dialog, response))
                    else:
                        self._events.append(DialogConfirmed(dialog, response))
                elif dialog.state is DialogState.EARLY and status >= 200:
                    dialog.confirm()
                    self._events.append(DialogConfirmed(dialog, response))
            elif request.to.tag is None and status >= 300:
                self._end_early_dialogs(
                    request, f"{status} {response.reason}", uac=False
                )
            if 200 <= status < 300 and tag is not None:
                did = (request.call_id, tag, request.from_.tag or "")
                dialog_2xx = self.dialogs.get(did)
                if dialog_2xx is not None and (did, seq) not in self._acked:
                    self._pending_2xx[(did, seq)] = _Pending2xx(
                        bytes(response), destination, dialog_2xx,
                        now + self.t1, self.t1, now + 64 * self.t1,
                    )
        elif request.method == "BYE" and 200 <= status < 300:
            dialog = self._dialog_for_request(request)
            if dialog is not None:
                self._terminate(dialog, "BYE received")

    # ------------------------------------------------------------------ receiving

    def receive_datagram(self, data: bytes, addr: Address, now: float) -> None:
        """Process one datagram from ``addr``; bad input becomes MessageMalformed, never raises."""
        if not data.strip(b"\r\n"):
            return  # CRLF keep-alive (RFC 5626 §4.4.1)
        try:
            message = _parse_message(data)
            self._source = addr
            if isinstance(message, Response):
                self._receive_response(message, addr, now)
            else:
                self._receive_request(message, addr, now)
        except SipParseError as exc:
            self._events.append(MessageMalformed(bytes(data), addr, exc))

    def _receive_response(self, response: Response, addr: Address, now: float) -> None:
        key = client_key(response)
        tx = self._client.get(key)
        if tx is None:
            self._events.append(StrayResponseReceived(response, addr))
            return
        tx.receive_response(response, now)
        self._drain(tx, key, now)

    def _receive_request(self, request: Request, addr: Address, now: float) -> None:
        key = server_key(request)
        tx = self._server.get(key)
        if request.method == "ACK":
            if tx is not None:
                tx.receive_request(request, now)  # non-2xx ACK absorbed; Accepted passes up
                self._drain(tx, key, now)
            else:
                self._dialog_ack(request, addr)
            return
        if tx is not None:
            tx.receive_request(request, now)  # retransmission: the table answers
            self._drain(tx, key, now)
            return
        new_tx: ServerTx
        if request.method == "INVITE":
            new_tx = ServerInviteTransaction(request, addr, **self._timers())
        else:
            new_tx = ServerNonInviteTransaction(request, addr, **self._timers())
        self._server[key] = new_tx

        if request.method == "CANCEL":
            self._receive_cancel(request, now)
            return
        if request.to.tag is not None:
            dialog = self._dialog_for_request(request)
            if dialog is None or dialog.state is DialogState.TERMINATED:
                self.respond(request, 481, now)
                return
            if not dialog.accept_remote_cseq(request.cseq.seq):
                self.respond(request, 500, now, reason="CSeq Out of Order")
                return
            if request.method in TARGET_REFRESH_METHODS:
                dialog.refresh_target(request)
        self._events.append(RequestReceived(request, addr))
        if request.method == "INVITE" and self.auto_trying:
            self.respond(request, 100, now)

    def _receive_cancel(self, cancel: Request, now: float) -> None:
        invite_tx = self._server.get(server_key(cancel, "INVITE"))
        if not isinstance(invite_tx, ServerInviteTransaction):
            self.respond(cancel, 481, now)
            return
        self.respond(cancel, 200, now)
        self._events.append(CancelReceived(cancel))
        if invite_tx.state is TxState.PROCEEDING:
            self.respond(invite_tx.request, 487, now)

    def _dialog_ack(self, ack: Request, addr: Address) -> None:
        dialog = self._dialog_for_request(ack)
        if dialog is None:
            self._events.append(RequestReceived(ack, addr))
            return
        key = (dialog.id, ack.cseq.seq)
        if key in self._acked:
            return  # ACK for a 2xx retransmission: already reported
        self._acked.add(key)
        self._pending_2xx.pop(key, None)
        self._events.append(AckReceived(ack, dialog))

    def _dialog_for_request(self, request: Request) -> Dialog | None:
        """The dialog a received request belongs to (our tag is in To)."""
        return self.dialogs.get((request.call_id, request.to.tag or "", request.from_.tag or ""))

    # ------------------------------------------------------------------ transaction outputs

    def _drain(self, tx: Transaction, key: tuple[str, ...], now: float) -> None:
        for out in tx.take_outputs():
            if isinstance(out, Transmit):
                self._out.append((out.data, out.destination))
            elif isinstance(out, ResponsePassedUp):
                self._response_to_tu(tx, out.response, out.retransmission, now)
            elif isinstance(out, AckPassedUp):
                self._dialog_ack(out.request, self._source)
            elif isinstance(out, TimedOut):
                self._timed_out(tx)
            elif isinstance(out, Terminated):
                if isinstance(tx, ServerInviteTransaction | ServerNonInviteTransaction):
                    self._server.pop(key, None)
                    self._uas_tags.pop(key, None)
                else:
                    self._client.pop((key[0], key[1]), None)
                    self._held_cancels.pop((key[0], key[1]), None)
                    if tx.request.method == "INVITE" and tx.request.to.tag is None:
                        self._end_early_dialogs(tx.request, "INVITE transaction ended", uac=True)

    def _response_to_tu(
        self, tx: Transaction, response: Response, retransmission: bool, now: float
    ) -> None:
        request = tx.request
        status = response.status
        self._events.append(ResponseReceived(response, request, self._source, retransmission))
        key = client_key(request)
        held = self._held_cancels.pop(key, None)
        if held is not None and status < 200:
            self.send_request(held, tx.destination, now)
        did = (request.call_id, request.from_.tag or "", response.to.tag or "")
        dialog = self.dialogs.get(did)
        if request.method == "INVITE" and request.to.tag is None:
            if response.to.tag is not None and 100 < status < 300:
                if dialog is None:
                    dialog = Dialog.from_uac_response(
                        request, response, local_target=self.contact_uri
                    )
                    self.dialogs[did] = dialog
                    if status < 200:
                        self._events.append(EarlyDialogCreated(dialog, response))
                    else:
                        self._events.append(DialogConfirmed(dialog, response))
                elif dialog.state is DialogState.EARLY:
                    if status >= 200:
                        dialog.confirm(response)
                        self._events.append(DialogConfirmed(dialog, response))
                    else:
                        dialog.refresh_target(response)
            elif status >= 300:
                self._end_early_dialogs(request, f"{status} {response.reason}", uac=True)
        elif dialog is not None and request.to.tag is not None:
            if 200 <= status < 300 and request.method in TARGET_REFRESH_METHODS:
                dialog.refresh_target(response)
            if request.method == "BYE" and status >= 200:
                self._terminate(dialog, f"BYE answered {status}")
            elif status in (408, 481):
                self._terminate(dialog, f"{status} {response.reason}")
        if request.method == "INVITE" and 200 <= status < 300 and retransmission:
            sent = self._acks.get((did, request.cseq.seq))
            if sent is not None:
                self._out.append((sent.data, sent.destination))

    def _timed_out(self, tx: Transaction) -> None:
        request = tx.request
        self._events.append(TransactionTimedOut(request))
        if isinstance(tx, ServerInviteTransaction | ServerNonInviteTransaction):
            return
        if request.to.tag is None:
            if request.method == "INVITE":
                self._end_early_dialogs(request, "INVITE timed out", uac=True)
            return
        dialog = self.dialogs.get((request.call_id, request.from_.tag or "", request.to.tag))
        if dialog is not None:
            self._terminate(dialog, f"{request.method} timed out")

    def _end_early_dialogs(self, invite: Request, reason: str, *, uac: bool) -> None:
        """Terminate the early dialogs ``invite`` created (all forks)."""
        our_tag = invite.from_.tag if uac else None
        their_tag = None if uac else invite.from_.tag
        for dialog in list(self.dialogs.values()):
            if (
                dialog.state is DialogState.EARLY
                and dialog.is_uac is uac
                and dialog.call_id == invite.call_id
                and dialog.invite_cseq == invite.cseq.seq
                and (our_tag is None or dialog.local_tag == our_tag)
                and (their_tag is None or dialog.remote_tag == their_tag)
            ):
                self._terminate(dialog, reason)

    def _terminate(self, dialog: Dialog, reason: str) -> None:
        if dialog.state is DialogState.TERMINATED:
            return
        dialog.terminate()
        for key in [k for k in self._pending_2xx if k[0] == dialog.id]:
            del self._pending_2xx[key]
        self._events.append(DialogTerminated(dialog, reason))

    # ------------------------------------------------------------------ output, timers

    def datagrams_to_send(self) -> list[tuple[bytes, Address]]:
        """Drain the datagrams to send, in order, each with its destination."""
        out, self._out = self._out, []
        return out

    def next_events(self) -> list[Event]:
        """Drain the events, in the order they happened."""
        events, self._events = self._events, []
        return events

    def get_timer(self) -> float | None:
        """The earliest deadline the endpoint needs ``handle_timer`` for, or ``None``."""
        deadlines = [t for tx in self._all_tx() if (t := tx.get_timer()) is not None]
        deadlines.extend(p.deadline for p in self._pending_2xx.values())
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> None:
        """Fire everything due at ``now`` (transaction timers, 2xx retransmissions)."""
        for key, tx in [*self._client.items(), *self._server.items()]:
            deadline = tx.get_timer()
            if deadline is not None and deadline <= now:
                tx.handle_timer(now)
                self._drain(tx, key, now)
        for key2, pending in list(self._pending_2xx.items()):
            while key2 in self._pending_2xx and pending.deadline <= now:
                if pending.deadline >= pending.give_up:
                    del self._pending_2xx[key2]
                    self._terminate(pending.dialog, "no ACK for 2xx within 64*T1")
                    break
                self._out.append((pending.data, pending.destination))
                pending.interval = min(2 * pending.interval, self.t2)
                pending.deadline = min(pending.deadline + pending.interval, pending.give_up)
        for key3 in [k for k, a in self._acks.items() if a.expires <= now]:
            del self._acks[key3]

    # ------------------------------------------------------------------ what is still open

    def open_invites(self) -> tuple[list[Request], list[Request]]:
        """The INVITEs still open: those we sent with no final response yet and not
        CANCELled, and those we received and have not answered finally (so an agent that
        gives up can CANCEL the first and refuse the second: no call is left behind)."""
        sent = [tx.request for key, tx in self._client.items()
                if isinstance(tx, ClientInviteTransaction) and key not in self._cancelled
                and tx.state in (TxState.CALLING, TxState.PROCEEDING)]
        received = [tx.request for tx in self._server.values()
                    if isinstance(tx, ServerInviteTransaction)
                    and tx.state is TxState.PROCEEDING]
        return sent, received

    def live_dialogs(self, *, uac: bool) -> list[Dialog]:
        """The confirmed dialogs we are the UAC (`uac`) or the UAS of: calls still up."""
        return [d for d in self.dialogs.values()
                if d.state is DialogState.CONFIRMED and d.is_uac is uac]

    def _timers(self) -> _TimerArgs:
        return {"t1": self.t1, "t2": self.t2, "t4": self.t4}

    def _all_tx(self) -> list[Transaction]:
        return [*self._client.values(), *self._server.values()]
