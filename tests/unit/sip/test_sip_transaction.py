"""RFC 3261 §17 transaction tables: timers as deadlines, driven without sleeping."""

from __future__ import annotations

import pytest

from harness.sip import Request, Response, SipUsageError, build_request, build_response
from harness.sip.transaction import (
    AckPassedUp,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ResponsePassedUp,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    Terminated,
    TimedOut,
    Timer,
    Transaction,
    Transmit,
    TxOutput,
    TxState,
    client_key,
    server_key,
)

DEST = ("198.18.0.2", 5060)


def request(method: str = "INVITE", branch: str = "z9hG4bKtx1") -> Request:
    return build_request(
        method,
        "sip:bob@198.18.0.2",
        via=f"SIP/2.0/UDP 198.18.0.1:5060;branch={branch}",
        from_="<sip:alice@198.18.0.1>;tag=a1",
        to="<sip:bob@198.18.0.2>",
        call_id="call-1",
        cseq=1,
        route=["<sip:198.18.0.10;lr>"],
    )


def response(req: Request, status: int, tag: str | None = "b1") -> Response:
    return build_response(req, status, to_tag=tag if status > 100 else None)


def ack_for(req: Request, branch: str | None = None) -> Request:
    ack = build_request("ACK", req.uri, via=req.headers.get("Via") or "",
                        from_=req.headers.get("From") or "", to="<sip:bob@198.18.0.2>;tag=b1",
                        call_id=req.call_id, cseq=req.cseq.seq)
    if branch:
        ack.headers.set("Via", f"SIP/2.0/UDP 198.18.0.1:5060;branch={branch}")
    return ack


def fire_all(tx: Transaction, until: float) -> list[tuple[float, TxOutput]]:
    """Step from deadline to deadline up to ``until``, recording what happens when."""
    log: list[tuple[float, TxOutput]] = []
    while (deadline := tx.get_timer()) is not None and deadline <= until:
        tx.handle_timer(deadline)
        log.extend((deadline, out) for out in tx.take_outputs())
    return log


def times(log: list[tuple[float, TxOutput]], kind: type) -> list[float]:
    return [t for t, out in log if isinstance(out, kind)]


# ----------------------------------------------------------------- client INVITE


def test_client_invite_timer_a_doubles_and_b_times_out() -> None:
    tx = ClientInviteTransaction(request(), DEST)
    assert tx.state is TxState.INIT and tx.get_timer() is None
    tx.send(0.0)
    first = tx.take_outputs()
    assert len(first) == 1 and isinstance(first[0], Transmit) and first[0].destination == DEST
    assert tx.state is TxState.CALLING and tx.get_timer() == 0.5
    log = fire_all(tx, 100)
    # A at T1, then 2*T1, 4*T1 ... after the previous one; B at 64*T1
    assert times(log, Transmit) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert all(isinstance(o, Transmit) and o.data == first[0].data for _, o in log[:6])
    assert [(t, o) for t, o in log[6:]] == [(32.0, TimedOut(Timer.B)), (32.0, Terminated())]
    assert tx.terminated and tx.get_timer() is None


def test_client_invite_late_handle_timer_catches_up() -> None:
    tx = ClientInviteTransaction(request(), DEST)
    tx.send(10.0)
    tx.take_outputs()
    tx.handle_timer(14.0)  # the caller was late: 10.5, 11.5 and 13.5 are all due
    assert len([o for o in tx.take_outputs() if isinstance(o, Transmit)]) == 3
    assert tx.get_timer() == 17.5


def test_client_invite_provisional_stops_a_and_b() -> None:
    req = request()
    tx = ClientInviteTransaction(req, DEST, t1=0.1)
    tx.send(0.0)
    tx.take_outputs()
    assert tx.receive_response(response(req, 100), 0.05)
    assert tx.state is TxState.PROCEEDING and tx.get_timer() is None
    ringing = response(req, 180)
    tx.receive_response(ringing, 1.0)
    assert tx.take_outputs() == [
        ResponsePassedUp(response(req, 100), False),
        ResponsePassedUp(ringing, False),
    ]


def test_client_invite_non2xx_acks_and_timer_d() -> None:
    req = request()
    tx = ClientInviteTransaction(req, DEST)
    tx.send(0.0)
    tx.take_outputs()
    busy = response(req, 486)
    tx.receive_response(busy, 1.0)
    passed, ack_out = tx.take_outputs()
    assert passed == ResponsePassedUp(busy, False)
    assert isinstance(ack_out, Transmit) and ack_out.destination == DEST
    ack = ack_out.message
    assert isinstance(ack, Request) and ack.method == "ACK"
    # §17.1.1.3: same branch and R-URI, To from the response, the INVITE's Route
    assert ack.top_via.branch == "z9hG4bKtx1" and ack.uri == req.uri
    assert ack.to.tag == "b1" and ack.cseq.seq == 1 and ack.cseq.method == "ACK"
    assert ack.headers.get_all("Route") == ["<sip:198.18.0.10;lr>"]
    assert len(ack.vias) == 1
    assert tx.state is TxState.COMPLETED and tx.get_timer() == 33.0
    # the 486 again: the same ACK again, nothing passed up
    assert tx.receive_response(busy, 2.0)
    again = tx.take_outputs()
    assert len(again) == 1 and isinstance(again[0], Transmit) and again[0].data == ack_out.data
    # a stray provisional is not in the table: ignored
    assert not tx.receive_response(response(req, 180), 3.0)
    assert tx.ignored == 1 and tx.take_outputs() == []
    assert fire_all(tx, 100) == [(33.0, Terminated())]


def test_client_invite_2xx_accepted_and_timer_m() -> None:
    req = request()
    tx = ClientInviteTransaction(req, DEST)
    tx.send(0.0)
    tx.take_outputs()
    ok = response(req, 200)
    tx.receive_response(ok, 1.0)
    assert tx.take_outputs() == [ResponsePassedUp(ok, False)]  # no ACK: the TU does that
    assert tx.state is TxState.ACCEPTED and tx.get_timer() == 33.0
    tx.receive_response(ok, 1.5)
    other_fork = response(req, 200, tag="b2")
    tx.receive_response(other_fork, 1.6)
    assert tx.take_outputs() == [ResponsePassedUp(ok, True), ResponsePassedUp(other_fork, False)]
    assert fire_all(tx, 100) == [(33.0, Terminated())]


def test_client_invite_reliable_has_no_retransmissions_and_no_wait() -> None:
    req = request()
    tx = ClientInviteTransaction(req, DEST, reliable=True)
    tx.send(0.0)
    tx.take_outputs()
    assert tx.get_timer() == 32.0  # only B
    tx.receive_response(response(req, 404), 1.0)
    outputs = tx.take_outputs()
    assert isinstance(outputs[-1], Terminated) and tx.terminated  # D = 0


def test_client_usage_errors() -> None:
    tx = ClientInviteTransaction(request(), DEST)
    tx.send(0.0)
    with pytest.raises(SipUsageError):
        tx.send(0.1)


# ----------------------------------------------------------------- client non-INVITE


def test_client_non_invite_timer_e_capped_at_t2_and_f() -> None:
    tx = ClientNonInviteTransaction(request("OPTIONS"), DEST)
    tx.send(0.0)
    tx.take_outputs()
    log = fire_all(tx, 100)
    assert times(log, Transmit) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert log[-2:] == [(32.0, TimedOut(Timer.F)), (32.0, Terminated())]


def test_client_non_invite_proceeding_retransmits_every_t2() -> None:
    req = request("BYE")
    tx = ClientNonInviteTransaction(req, DEST)
    tx.send(0.0)
    tx.take_outputs()
    tx.receive_response(response(req, 100), 0.2)
    assert tx.state is TxState.PROCEEDING
    log = fire_all(tx, 13)
    assert times(log, Transmit) == [0.5, 4.5, 8.5, 12.5]


def test_client_non_invite_final_then_timer_k() -> None:
    req = request("BYE")
    tx = ClientNonInviteTransaction(req, DEST, t4=5.0)
    tx.send(0.0)
    tx.take_outputs()
    ok = response(req, 200)
    tx.receive_response(ok, 0.7)
    assert tx.take_outputs() == [ResponsePassedUp(ok, False)]
    assert tx.state is TxState.COMPLETED and tx.get_timer() == pytest.approx(5.7)
    assert not tx.receive_response(ok, 1.0)  # absorbed
    assert fire_all(tx, 100) == [(pytest.approx(5.7), Terminated())]


# ----------------------------------------------------------------- server INVITE


def test_server_invite_non2xx_timer_g_h() -> None:
    req = request()
    tx = ServerInviteTransaction(req, ("198.18.0.1", 5060))
    assert tx.state is TxState.PROCEEDING
    assert tx.receive_request(req, 0.0) and tx.take_outputs() == []  # nothing to resend yet
    tx.send_response(response(req, 100), 0.0)
    tx.receive_request(req, 0.1)
    outs = tx.take_outputs()
    assert len(outs) == 2 and all(isinstance(o, Transmit) for o in outs)
    tx.send_response(response(req, 486), 1.0)
    tx.take_outputs()
    log = fire_all(tx, 100)
    assert times(log, Transmit) == [1.5, 2.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5, 32.5]
    assert log[-2:] == [(33.0, TimedOut(Timer.H)), (33.0, Terminated())]


def test_server_invite_ack_confirms_and_timer_i() -> None:
    req = request()
    tx = ServerInviteTransaction(req, ("198.18.0.1", 5060))
    busy = response(req, 486)
    tx.send_response(busy, 0.0)
    tx.take_outputs()
    tx.receive_request(req, 0.2)  # INVITE again: the 486 again
    (resent,) = tx.take_outputs()
    assert isinstance(resent, Transmit) and resent.message == busy
    ack = ack_for(req)
    assert server_key(ack) == server_key(req)
    tx.receive_request(ack, 0.3)
    assert tx.state is TxState.CONFIRMED and tx.get_timer() == pytest.approx(5.3)
    tx.receive_request(ack, 0.4)  # absorbed
    assert tx.take_outputs() == []
    assert fire_all(tx, 100) == [(pytest.approx(5.3), Terminated())]
    with pytest.raises(SipUsageError):
        tx.send_response(response(req, 200), 6.0)


def test_server_invite_2xx_accepted_timer_l() -> None:
    req = request()
    tx = ServerInviteTransaction(req, ("198.18.0.1", 5060))
    ok = response(req, 200)
    tx.send_response(ok, 0.0)
    assert tx.state is TxState.ACCEPTED and tx.get_timer() == 32.0
    tx.take_outputs()
    tx.receive_request(req, 0.1)  # retransmitted INVITE absorbed (RFC 6026)
    assert tx.take_outputs() == []
    tx.send_response(ok, 0.5)  # the TU's 2xx retransmission goes through
    assert len(tx.take_outputs()) == 1
    ack = ack_for(req)
    tx.receive_request(ack, 0.6)
    assert tx.take_outputs() == [AckPassedUp(ack)]
    with pytest.raises(SipUsageError):
        tx.send_response(response(req, 180), 0.7)
    assert fire_all(tx, 100) == [(32.0, Terminated())]


def test_server_invite_reliable_no_g_and_i_zero() -> None:
    req = request()
    tx = ServerInviteTransaction(req, ("198.18.0.1", 5060), reliable=True)
    tx.send_response(response(req, 500), 0.0)
    assert tx.get_timer() == 32.0  # H only
    tx.receive_request(ack_for(req), 1.0)
    assert tx.terminated


# ----------------------------------------------------------------- server non-INVITE


def test_server_non_invite_trying_proceeding_completed_j() -> None:
    req = request("OPTIONS")
    tx = ServerNonInviteTransaction(req, ("198.18.0.1", 5060))
    assert tx.state is TxState.TRYING
    tx.receive_request(req, 0.1)
    assert tx.take_outputs() == []  # Trying: retransmissions are absorbed silently
    tx.send_response(response(req, 100), 0.2)
    tx.receive_request(req, 0.3)
    assert len(tx.take_outputs()) == 2  # the 100, then the 100 again
    ok = response(req, 200)
    tx.send_response(ok, 1.0)
    tx.take_outputs()
    assert tx.state is TxState.COMPLETED and tx.get_timer() == 33.0
    tx.receive_request(req, 2.0)
    (again,) = tx.take_outputs()
    assert isinstance(again, Transmit) and again.message == ok
    with pytest.raises(SipUsageError):
        tx.send_response(response(req, 500), 2.1)
    assert fire_all(tx, 100) == [(33.0, Terminated())]


def test_server_non_invite_reliable_j_zero() -> None:
    req = request("BYE")
    tx = ServerNonInviteTransaction(req, ("198.18.0.1", 5060), reliable=True)
    tx.send_response(response(req, 200), 0.0)
    assert tx.terminated and isinstance(tx.take_outputs()[-1], Terminated)


# ----------------------------------------------------------------- matching


def test_matching_keys() -> None:
    inv = request()
    assert client_key(inv) == client_key(response(inv, 180)) == ("z9hG4bKtx1", "INVITE")
    cancel = request("CANCEL")
    assert client_key(cancel) != client_key(inv)
    assert server_key(cancel) != server_key(inv)
    assert server_key(cancel, "INVITE") == server_key(inv)
    # same branch from another sent-by is another transaction
    other = request()
    other.headers.set("Via", "SIP/2.0/UDP 198.18.0.9:5060;branch=z9hG4bKtx1")
    assert server_key(other) != server_key(inv)
    # the ACK for a 2xx has its own branch: it matches no INVITE transaction
    assert server_key(ack_for(inv, branch="z9hG4bKnew")) != server_key(inv)
    # RFC 2543 peers (no magic cookie): fallback key, ACK still maps to INVITE
    old = request(branch="1234")
    assert server_key(old)[0] == "2543"
    assert server_key(ack_for(old)) == server_key(old)
