"""RFC 3261 §17 transactions as State x Input tables (with the RFC 6026 fix).

Four machines, one table each, the RFC figure above the table. A table row
``(state, input) -> (next state, actions)`` is the whole behaviour; the engine
(:class:`Transaction`) only runs actions and keeps timers.

What is *not* in a table:

* a network input (response, retransmitted request, ACK) -> ignored, counted
  in ``Transaction.ignored`` (a stray or late message is normal on UDP);
* an input from the transaction user (``send``, ``send_response``) ->
  :class:`SipUsageError` is raised (our code did something impossible);
* a timer -> cannot happen: leaving a state cancels its timers
  (:data:`_STATE_TIMERS` says which timers live in which state).

Timers are *deadlines* in the caller's clock: ``get_timer()`` gives the
earliest one, ``handle_timer(now)`` fires every timer due at ``now`` (a timer
re-armed while firing is based on its own deadline, not on ``now``, so
retransmissions land at T1, 3*T1, 7*T1... however late the caller is).
On a reliable transport timers A, E and G never start and D, I, J, K are 0.

RFC 6026 replaces "2xx -> Terminated" by an ``Accepted`` state (timers L and
M, 64*T1) so that 2xx retransmissions reach the TU through the client
transaction and retransmitted INVITEs are absorbed by the server transaction.

Outputs, drained by ``take_outputs()``: :class:`Transmit` (a datagram to send),
:class:`ResponsePassedUp`, :class:`AckPassedUp`, :class:`TimedOut`,
:class:`Terminated`.
"""

from __future__ import annotations

from typing import ClassVar

from harness.sip.errors import SipUsageError
from harness.sip.message import Headers, Request, Response
from harness.sip.tx_model import (
    AckPassedUp,
    Action,
    Address,
    ResponsePassedUp,
    Terminated,
    TimedOut,
    Timer,
    Transmit,
    TxInput,
    TxOutput,
    TxState,
    client_key,
    server_key,
)

__all__ = [
    "AckPassedUp",
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "ResponsePassedUp",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "Terminated",
    "TimedOut",
    "Timer",
    "Transaction",
    "Transmit",
    "TxInput",
    "TxOutput",
    "TxState",
    "client_key",
    "server_key",
]


S = TxState
I = TxInput  # noqa: E741
A = Action
Row = tuple[TxState, tuple[Action, ...]]


# --------------------------------------------------------------------------- engine


class Transaction:
    """Table-driven engine shared by the four transaction machines."""

    TABLE: ClassVar[dict[tuple[TxState, TxInput], Row]]
    STATE_TIMERS: ClassVar[dict[TxState, frozenset[Timer]]]
    INITIAL: ClassVar[TxState]

    def __init__(
        self,
        request: Request,
        destination: Address,
        *,
        t1: float = 0.5,
        t2: float = 4.0,
        t4: float = 5.0,
        timer_d: float = 32.0,
        reliable: bool = False,
    ) -> None:
        self.request = request
        self.destination = destination
        self.t1, self.t2, self.t4, self.timer_d = t1, t2, t4, timer_d
        self.reliable = reliable
        self.state = self.INITIAL
        self.ignored = 0
        self.last_response: Response | None = None
        self._outputs: list[TxOutput] = []
        self._deadlines: dict[Timer, float] = {}
        self._intervals: dict[Timer, float] = {}
        self._request_bytes = bytes(request)
        self._passed_up: set[tuple[int, str | None, bytes]] = set()
        self._current: TxInput | None = None

    # -- public surface

    def get_timer(self) -> float | None:
        """Earliest pending deadline, or ``None``."""
        return min(self._deadlines.values(), default=None)

    def handle_timer(self, now: float) -> None:
        """Fire every timer whose deadline is ``<= now``, earliest first."""
        while self._deadlines:
            timer, deadline = min(self._deadlines.items(), key=lambda kv: kv[1])
            if deadline > now:
                return
            del self._deadlines[timer]
            self._input(TxInput[f"TIMER_{timer.name}"], deadline, None, from_tu=False)

    def take_outputs(self) -> list[TxOutput]:
        """Drain the outputs produced so far."""
        out, self._outputs = self._outputs, []
        return out

    @property
    def terminated(self) -> bool:
        """True once the machine reached Terminated."""
        return self.state is TxState.TERMINATED

    # -- engine

    def _input(
        self, inp: TxInput, now: float, message: Request | Response | None, *, from_tu: bool
    ) -> bool:
        row = self.TABLE.get((self.state, inp))
        if row is None:
            if from_tu:
                raise SipUsageError(
                    f"{type(self).__name__}: {inp.name} is not allowed in state {self.state.name}"
                )
            self.ignored += 1
            return False
        next_state, actions = row
        if next_state is not self.state:
            live = self.STATE_TIMERS.get(next_state, frozenset())
            self._deadlines = {t: d for t, d in self._deadlines.items() if t in live}
        self.state = next_state
        self._current = inp
        for action in actions:
            self._run(action, now, message)
        if next_state is TxState.TERMINATED:
            self._deadlines.clear()
            self._outputs.append(Terminated())
        elif any(d <= now for d in self._deadlines.values()):
            self.handle_timer(now)  # zero-length timers on reliable transports
        return True

    def _run(self, action: Action, now: float, message: Request | Response | None) -> None:
        match action:
            case A.TRANSMIT_REQUEST:
                self._send(self._request_bytes, self.request)
            case A.PASS_UP:
                assert isinstance(message, Response)  # internal: tables route responses here
                self._outputs.append(ResponsePassedUp(message, self._seen(message)))
            case A.SEND_ACK:
                assert isinstance(message, Response)
                self._send_ack(message)
            case A.SEND_RESPONSE:
                assert isinstance(message, Response)
                self.last_response = message
                self._send(bytes(message), message)
            case A.RESEND_RESPONSE:
                if self.last_response is not None:
                    self._send(bytes(self.last_response), self.last_response)
            case A.PASS_ACK:
                assert isinstance(message, Request)
                self._outputs.append(AckPassedUp(message))
            case A.TIME_OUT:
                assert self._current is not None
                self._outputs.append(TimedOut(Timer[self._current.name.removeprefix("TIMER_")]))
            case _:
                timer, interval, unreliable_only = self._timer_plan(action)
                if not (unreliable_only and self.reliable):
                    self._intervals[timer] = interval
                    self._deadlines[timer] = now + interval

    def _timer_plan(self, action: Action) -> tuple[Timer, float, bool]:
        """Timer actions as a table: (timer, interval, only on unreliable transports).

        RFC 3261 Table 4: A/E/G start at T1 and double (E and G capped at T2);
        B, F, H, J (and RFC 6026's L, M) are 64*T1; D is 32 s; I and K are T4;
        D, I, J and K are zero on a reliable transport.
        """
        t1, t2, reliable = self.t1, self.t2, self.reliable
        prev = self._intervals.get
        plan: dict[Action, tuple[Timer, float, bool]] = {
            A.START_A: (Timer.A, t1, True),
            A.RETRY_A: (Timer.A, 2 * prev(Timer.A, t1), True),
            A.START_B: (Timer.B, 64 * t1, False),
            A.START_D: (Timer.D, 0.0 if reliable else self.timer_d, False),
            A.START_E: (Timer.E, t1, True),
            A.RETRY_E: (Timer.E, min(2 * prev(Timer.E, t1), t2), True),
            A.RETRY_E_T2: (Timer.E, t2, True),
            A.START_F: (Timer.F, 64 * t1, False),
            A.START_G: (Timer.G, t1, True),
            A.RETRY_G: (Timer.G, min(2 * prev(Timer.G, t1), t2), True),
            A.START_H: (Timer.H, 64 * t1, False),
            A.START_I: (Timer.I, 0.0 if reliable else self.t4, False),
            A.START_J: (Timer.J, 0.0 if reliable else 64 * t1, False),
            A.START_K: (Timer.K, 0.0 if reliable else self.t4, False),
            A.START_L: (Timer.L, 64 * t1, False),
            A.START_M: (Timer.M, 64 * t1, False),
        }
        return plan[action]

    def _send(self, data: bytes, message: Request | Response) -> None:
        self._outputs.append(Transmit(data, self.destination, message))

    def _seen(self, response: Response) -> bool:
        return False

    def _send_ack(self, response: Response) -> None:
        raise NotImplementedError


def _response_input(status: int, *, from_tu: bool) -> TxInput:
    if status < 200:
        return TxInput.SEND_1XX if from_tu else TxInput.RECV_1XX
    if status < 300:
        return TxInput.SEND_2XX if from_tu else TxInput.RECV_2XX
    return TxInput.SEND_300_699 if from_tu else TxInput.RECV_300_699


class _ClientTransaction(Transaction):
    def send(self, now: float) -> None:
        """Hand the request to the transport (first transmission, timers start)."""
        self._input(TxInput.SEND, now, None, from_tu=True)

    def receive_response(self, response: Response, now: float) -> bool:
        """Feed a response that matched this transaction; False if the table ignored it."""
        return self._input(_response_input(response.status, from_tu=False), now, response,
                           from_tu=False)

    def _seen(self, response: Response) -> bool:
        # 2xx retransmissions are recognised by To-tag (each fork has its own);
        # anything else only when it is byte-identical to one passed up before.
        if 200 <= response.status < 300:
            key = (response.status, response.to.tag, b"")
        else:
            key = (response.status, response.to.tag, bytes(response))
        seen = key in self._passed_up
        self._passed_up.add(key)
        return seen


class _ServerTransaction(Transaction):
    def receive_request(self, request: Request, now: float) -> bool:
        """Feed a retransmitted request or an ACK that matched this transaction."""
        inp = TxInput.RECV_ACK if request.method == "ACK" else TxInput.RECV_REQUEST
        return self._input(inp, now, request, from_tu=False)

    def send_response(self, response: Response, now: float) -> None:
        """Send a response from the TU; raises SipUsageError where the table forbids it."""
        self._input(_response_input(response.status, from_tu=True), now, response, from_tu=True)


# --------------------------------------------------------------------------- client INVITE
#
#  RFC 3261 Figure 5, with RFC 6026 Figure 3's Accepted state.
#
#                         |INVITE from TU
#       Timer A fires     |INVITE sent          Timer B fires
#       Reset A,          V                     or transport err.
#       INVITE sent +-----------+               inform TU
#         +---------|           |---------------------------+
#         |         |  Calling  |                           |
#         +-------->|           |-----------+               |
#  300-699          +-----------+ 2xx       |               |
#  ACK sent            |  |       2xx to TU |               |
#  resp. to TU         |  |1xx              |               |
#  +-------------------+  |1xx to TU        |               |
#  |                      V                 |               |
#  |                +-----------+           |               |
#  |        1xx     |           | 2xx       V               |
#  |     +----------|Proceeding |------>+-----------+       |
#  |     |1xx to TU |           | to TU |           |<--+   |
#  |     +--------->+-----------+       | Accepted  |   |2xx|
#  |                   |300-699         |           |---+to TU
#  |                   |ACK sent,       +-----------+       |
#  |                   |resp. to TU           |Timer M      |
#  |  300-699          V                      |             |
#  |  ACK sent  +-----------+                 |             |
#  |  +---------|           |                 |             |
#  |  |         | Completed |                 |             |
#  |  +-------->|           |                 |             |
#  |            +-----------+                 |             |
#  +----------------->|Timer D                |             |
#                     V                       V             |
#               +-----------------------------------+       |
#               |            Terminated             |<------+
#               +-----------------------------------+

_CLIENT_INVITE: dict[tuple[TxState, TxInput], Row] = {
    (S.INIT, I.SEND): (S.CALLING, (A.TRANSMIT_REQUEST, A.START_A, A.START_B)),
    (S.CALLING, I.TIMER_A): (S.CALLING, (A.TRANSMIT_REQUEST, A.RETRY_A)),
    (S.CALLING, I.TIMER_B): (S.TERMINATED, (A.TIME_OUT,)),
    (S.CALLING, I.RECV_1XX): (S.PROCEEDING, (A.PASS_UP,)),
    (S.CALLING, I.RECV_2XX): (S.ACCEPTED, (A.PASS_UP, A.START_M)),
    (S.CALLING, I.RECV_300_699): (S.COMPLETED, (A.PASS_UP, A.SEND_ACK, A.START_D)),
    (S.PROCEEDING, I.RECV_1XX): (S.PROCEEDING, (A.PASS_UP,)),
    (S.PROCEEDING, I.RECV_2XX): (S.ACCEPTED, (A.PASS_UP, A.START_M)),
    (S.PROCEEDING, I.RECV_300_699): (S.COMPLETED, (A.PASS_UP, A.SEND_ACK, A.START_D)),
    (S.COMPLETED, I.RECV_300_699): (S.COMPLETED, (A.SEND_ACK,)),
    (S.COMPLETED, I.TIMER_D): (S.TERMINATED, ()),
    (S.ACCEPTED, I.RECV_2XX): (S.ACCEPTED, (A.PASS_UP,)),
    (S.ACCEPTED, I.TIMER_M): (S.TERMINATED, ()),
}


class ClientInviteTransaction(_ClientTransaction):
    """Client INVITE transaction; builds and sends the ACK for non-2xx finals itself."""

    TABLE = _CLIENT_INVITE
    STATE_TIMERS = {
        S.CALLING: frozenset({Timer.A, Timer.B}),
        S.COMPLETED: frozenset({Timer.D}),
        S.ACCEPTED: frozenset({Timer.M}),
    }
    INITIAL = S.INIT
    ack: Request | None = None
    """The ACK sent for a non-2xx final response, once there is one."""

    def _send_ack(self, response: Response) -> None:
        if self.ack is None:
            self.ack = build_non2xx_ack(self.request, response)
        self._send(bytes(self.ack), self.ack)


def headers_from_invite(invite: Request, method: str, *, to: str | None = None) -> Headers:
    """The headers a CANCEL (§9.1) or a non-2xx ACK (§17.1.1.3) copies from its INVITE:
    the top Via (same branch), Max-Forwards, the Route set, From, To (the INVITE's, or
    `to`), Call-ID, and the CSeq number with `method`. Content-Length is the caller's."""
    src = invite.headers
    headers = Headers()
    headers.add("Via", src.get("Via") or "")
    headers.add("Max-Forwards", "70")
    for route in src.get_all("Route"):
        headers.add("Route", route)
    headers.copy_field(src, "From")
    if to is None:
        headers.copy_field(src, "To")
    else:
        headers.add("To", to)
    headers.copy_field(src, "Call-ID")
    headers.add("CSeq", f"{invite.cseq.seq} {method}")
    return headers


def build_non2xx_ack(invite: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK for a non-2xx final response, part of the INVITE transaction.

    Same Request-URI, Call-ID, From, CSeq number and top Via (same branch) as
    the INVITE; To from the response (with its tag); the INVITE's Route set.
    """
    headers = headers_from_invite(invite, "ACK", to=response.headers.get("To") or "")
    headers.add("Content-Length", "0")
    return Request("ACK", invite.uri, headers, b"", invite.version)


# --------------------------------------------------------------------------- client non-INVITE
#
#  RFC 3261 Figure 6.
#
#                         |Request from TU
#                         |send request
#     Timer E             V
#     send request  +-----------+
#         +---------|           |-------------------+
#         |         |  Trying   |  Timer F          |
#         +-------->|           |  or Transport Err.|
#                   +-----------+  inform TU        |
#      200-699         |  |                         |
#      resp. to TU     |  |1xx                      |
#      +---------------+  |resp. to TU              |
#      |                  |                         |
#      |   Timer E        V       Timer F           |
#      |   send req +-----------+ or Transport Err. |
#      |  +---------|           | inform TU         |
#      |  |         |Proceeding |------------------>|
#      |  +-------->|           |-----+             |
#      |            +-----------+     |1xx          |
#      |              |      ^        |resp to TU   |
#      | 200-699      |      +--------+             |
#      | resp. to TU  |                             |
#      |              V                             |
#      |            +-----------+                   |
#      |            |           |                   |
#      |            | Completed |                   |
#      |            |           |                   |
#      |            +-----------+                   |
#      |              ^   |                         |
#      |              |   | Timer K                 |
#      +--------------+   | -                       |
#                         V                         |
#                   +-----------+                   |
#                   | Terminated|<------------------+
#                   +-----------+

_CLIENT_NON_INVITE: dict[tuple[TxState, TxInput], Row] = {
    (S.INIT, I.SEND): (S.TRYING, (A.TRANSMIT_REQUEST, A.START_E, A.START_F)),
    (S.TRYING, I.TIMER_E): (S.TRYING, (A.TRANSMIT_REQUEST, A.RETRY_E)),
    (S.TRYING, I.TIMER_F): (S.TERMINATED, (A.TIME_OUT,)),
    (S.TRYING, I.RECV_1XX): (S.PROCEEDING, (A.PASS_UP,)),
    (S.TRYING, I.RECV_2XX): (S.COMPLETED, (A.PASS_UP, A.START_K)),
    (S.TRYING, I.RECV_300_699): (S.COMPLETED, (A.PASS_UP, A.START_K)),
    (S.PROCEEDING, I.TIMER_E): (S.PROCEEDING, (A.TRANSMIT_REQUEST, A.RETRY_E_T2)),
    (S.PROCEEDING, I.TIMER_F): (S.TERMINATED, (A.TIME_OUT,)),
    (S.PROCEEDING, I.RECV_1XX): (S.PROCEEDING, (A.PASS_UP,)),
    (S.PROCEEDING, I.RECV_2XX): (S.COMPLETED, (A.PASS_UP, A.START_K)),
    (S.PROCEEDING, I.RECV_300_699): (S.COMPLETED, (A.PASS_UP, A.START_K)),
    (S.COMPLETED, I.TIMER_K): (S.TERMINATED, ()),
}


class ClientNonInviteTransaction(_ClientTransaction):
    """Client non-INVITE transaction (BYE, CANCEL, OPTIONS, UPDATE, INFO...)."""

    TABLE = _CLIENT_NON_INVITE
    STATE_TIMERS = {
        S.TRYING: frozenset({Timer.E, Timer.F}),
        S.PROCEEDING: frozenset({Timer.E, Timer.F}),
        S.COMPLETED: frozenset({Timer.K}),
    }
    INITIAL = S.INIT


# --------------------------------------------------------------------------- server INVITE
#
#  RFC 3261 Figure 7, with RFC 6026 Figure 5's Accepted state.
#
#                               |INVITE
#                               |pass INV to TU
#            INVITE             V send 100 if TU won't in 200 ms
#            send response+-----------+
#                +--------|           |--------+ 101-199 from TU
#                |        |Proceeding |        | send response
#                +------->|           |<-------+
#                         |           |          Transport Err.
#                         |           |          Inform TU
#                         |           |--------------->+
#                         +-----------+                |
#            300-699 from TU |     |2xx from TU        |
#            send response   |     |send response      |
#             +--------------+     +------------+      |
#             |                                 |      |
#   INVITE    V          Timer G fires          |      |
#   send resp+-----------+ send response        V      |
#    +-------|           |--------+       +-----------+ |
#    |       | Completed |        |       |           |---+ 2xx from TU
#    +------>|           |<-------+       | Accepted  |   | send response
#            +-----------+                |           |<--+ (INVITE absorbed,
#              |    |   Timer H fires     +-----------+      ACK passed to TU)
#          ACK |    +----------------+          |
#           -  V      inform TU      |          | Timer L
#            +-----------+           |          V
#            |           |<-+ ACK    |   +------------+
#            | Confirmed |  |  -      +-->| Terminated |
#            |           |--+            +------------+
#            +-----------+                  ^
#                  | Timer I                |
#                  +------------------------+

_SERVER_INVITE: dict[tuple[TxState, TxInput], Row] = {
    (S.PROCEEDING, I.RECV_REQUEST): (S.PROCEEDING, (A.RESEND_RESPONSE,)),
    (S.PROCEEDING, I.SEND_1XX): (S.PROCEEDING, (A.SEND_RESPONSE,)),
    (S.PROCEEDING, I.SEND_2XX): (S.ACCEPTED, (A.SEND_RESPONSE, A.START_L)),
    (S.PROCEEDING, I.SEND_300_699): (S.COMPLETED, (A.SEND_RESPONSE, A.START_G, A.START_H)),
    (S.COMPLETED, I.RECV_REQUEST): (S.COMPLETED, (A.RESEND_RESPONSE,)),
    (S.COMPLETED, I.TIMER_G): (S.COMPLETED, (A.RESEND_RESPONSE, A.RETRY_G)),
    (S.COMPLETED, I.TIMER_H): (S.TERMINATED, (A.TIME_OUT,)),
    (S.COMPLETED, I.RECV_ACK): (S.CONFIRMED, (A.START_I,)),
    (S.CONFIRMED, I.RECV_ACK): (S.CONFIRMED, ()),
    (S.CONFIRMED, I.TIMER_I): (S.TERMINATED, ()),
    (S.ACCEPTED, I.RECV_REQUEST): (S.ACCEPTED, ()),
    (S.ACCEPTED, I.RECV_ACK): (S.ACCEPTED, (A.PASS_ACK,)),
    (S.ACCEPTED, I.SEND_2XX): (S.ACCEPTED, (A.SEND_RESPONSE,)),
    (S.ACCEPTED, I.TIMER_L): (S.TERMINATED, ()),
}


class ServerInviteTransaction(_ServerTransaction):
    """Server INVITE transaction; created in Proceeding when the INVITE arrives.

    It does not send 100 Trying by itself: the endpoint does (the TU decides).
    Retransmitting 2xx until the ACK is the UAS core's job (§13.3.1.4), it
    passes each retransmission through ``send_response`` while Accepted.
    """

    TABLE = _SERVER_INVITE
    STATE_TIMERS = {
        S.COMPLETED: frozenset({Timer.G, Timer.H}),
        S.CONFIRMED: frozenset({Timer.I}),
        S.ACCEPTED: frozenset({Timer.L}),
    }
    INITIAL = S.PROCEEDING


# --------------------------------------------------------------------------- server non-INVITE
#
#  RFC 3261 Figure 8.
#
#                         |Request received
#                         |pass to TU
#                         V
#                   +-----------+
#                   |           |
#                   | Trying    |-------------+
#                   |           |             |
#                   +-----------+             |200-699 from TU
#                         |                   |send response
#                         |1xx from TU        |
#                         |send response      |
#                         |                   |
#      Request            V      1xx from TU  |
#      send response+-----------+send response|
#          +--------|           |--------+    |
#          |        | Proceeding|        |    |
#          +------->|           |<-------+    |
#   +<--------------|           |             |
#   |Trnsprt Err    +-----------+             |
#   |Inform TU            |                   |
#   |                     |                   |
#   |                     |200-699 from TU    |
#   |                     |send response      |
#   |  Request            V                   |
#   |  send response+-----------+             |
#   |      +--------|           |             |
#   |      |        | Completed |<------------+
#   |      +------->|           |
#   +<--------------|           |
#   |               +-----------+
#   |                     |
#   |                     |Timer J fires
#   |                     |-
#   |                     |
#   |                     V
#   |               +-----------+
#   +-------------->| Terminated|
#                   +-----------+

_SERVER_NON_INVITE: dict[tuple[TxState, TxInput], Row] = {
    (S.TRYING, I.RECV_REQUEST): (S.TRYING, ()),
    (S.TRYING, I.SEND_1XX): (S.PROCEEDING, (A.SEND_RESPONSE,)),
    (S.TRYING, I.SEND_2XX): (S.COMPLETED, (A.SEND_RESPONSE, A.START_J)),
    (S.TRYING, I.SEND_300_699): (S.COMPLETED, (A.SEND_RESPONSE, A.START_J)),
    (S.PROCEEDING, I.RECV_REQUEST): (S.PROCEEDING, (A.RESEND_RESPONSE,)),
    (S.PROCEEDING, I.SEND_1XX): (S.PROCEEDING, (A.SEND_RESPONSE,)),
    (S.PROCEEDING, I.SEND_2XX): (S.COMPLETED, (A.SEND_RESPONSE, A.START_J)),
    (S.PROCEEDING, I.SEND_300_699): (S.COMPLETED, (A.SEND_RESPONSE, A.START_J)),
    (S.COMPLETED, I.RECV_REQUEST): (S.COMPLETED, (A.RESEND_RESPONSE,)),
    (S.COMPLETED, I.TIMER_J): (S.TERMINATED, ()),
}


class ServerNonInviteTransaction(_ServerTransaction):
    """Server non-INVITE transaction; created in Trying when the request arrives."""

    TABLE = _SERVER_NON_INVITE
    STATE_TIMERS = {S.COMPLETED: frozenset({Timer.J})}
    INITIAL = S.TRYING
