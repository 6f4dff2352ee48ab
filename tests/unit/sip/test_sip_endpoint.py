"""Two (or three) sans-IO endpoints wired in memory, with a fake clock.

Like h11's ConnectionPair: datagrams go straight from one endpoint's
``datagrams_to_send()`` into another's ``receive_datagram()``; time moves
only when a test says so, jumping from deadline to deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

from harness.sip import (
    AckReceived,
    CancelReceived,
    Dialog,
    DialogConfirmed,
    DialogState,
    DialogTerminated,
    EarlyDialogCreated,
    Event,
    MessageMalformed,
    Request,
    RequestReceived,
    ResponseReceived,
    SipEndpoint,
    SipUsageError,
    StrayResponseReceived,
    TransactionTimedOut,
    parse_message,
)

Address = tuple[str, int]
E = TypeVar("E")

CALLER = ("198.18.0.1", 5060)
CALLEE = ("198.18.0.2", 5060)
CALLEE2 = ("198.18.0.3", 5060)
PROXY = ("198.18.0.10", 5060)
SDP = b"v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nc=IN IP4 198.18.0.1\r\nt=0 0\r\n"


class Net:
    """An in-memory UDP network between endpoints, with a fake clock."""

    def __init__(self, *endpoints: SipEndpoint) -> None:
        self.endpoints = {ep.local_addr: ep for ep in endpoints}
        self.aliases: dict[Address, list[Address]] = {}
        self.now = 0.0
        self.drop: Callable[[bytes, Address, Address], bool] = lambda data, src, dst: False
        self.wire: list[tuple[Address, Address, bytes]] = []
        self.events: dict[Address, list[Event]] = {a: [] for a in self.endpoints}

    def pump(self) -> None:
        """Deliver datagrams until nobody has anything to send."""
        busy = True
        while busy:
            busy = False
            for src, ep in self.endpoints.items():
                self.events[src].extend(ep.next_events())
                for data, dst in ep.datagrams_to_send():
                    busy = True
                    for target in self.aliases.get(dst, [dst]):
                        self.wire.append((src, target, data))
                        if self.drop(data, src, target) or target not in self.endpoints:
                            continue
                        self.endpoints[target].receive_datagram(data, src, self.now)
            for src, ep in self.endpoints.items():
                self.events[src].extend(ep.next_events())

    def advance(self, seconds: float) -> None:
        """Move the clock, firing every deadline on the way, in order."""
        end = self.now + seconds
        while True:
            deadlines = [
                (t, ep) for ep in self.endpoints.values() if (t := ep.get_timer()) is not None
            ]
            due = [(t, ep) for t, ep in deadlines if t <= end]
            if not due:
                break
            when, ep = min(due, key=lambda x: x[0])
            self.now = max(self.now, when)
            ep.handle_timer(self.now)
            self.pump()
        self.now = end
        self.pump()

    def take(self, addr: Address) -> list[Event]:
        events, self.events[addr] = self.events[addr], []
        return events

    def sent(self, src: Address, start: str) -> list[bytes]:
        return [d for s, _, d in self.wire if s == src and d.startswith(start.encode())]


def only(events: list[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def one(events: list[Event], kind: type[E]) -> E:
    found = only(events, kind)
    assert len(found) == 1, f"expected one {kind.__name__}, got {events}"
    return found[0]


def final(events: list[Event]) -> ResponseReceived:
    return one([e for e in events if not (isinstance(e, ResponseReceived)
                                          and e.response.status < 200)], ResponseReceived)


def received_request(net: Net, addr: Address, method: str) -> Request:
    for event in net.take(addr):
        if isinstance(event, RequestReceived) and event.request.method == method:
            return event.request
    raise AssertionError(f"no {method} at {addr}")


def set_up_call(net: Net, caller: SipEndpoint, callee: SipEndpoint) -> tuple[Dialog, Dialog]:
    invite = caller.create_invite("sip:bob@198.18.0.2:5060", body=SDP)
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    callee.respond(req, 200, net.now, body=SDP, content_type="application/sdp")
    net.pump()
    uac = one(net.take(CALLER), DialogConfirmed).dialog
    caller.send_ack(uac, invite.cseq.seq, net.now)
    net.pump()
    uas = one(net.take(CALLEE), AckReceived).dialog
    return uac, uas


@pytest.fixture
def pair() -> tuple[Net, SipEndpoint, SipEndpoint]:
    caller = SipEndpoint(CALLER, user="alice", display_name="Alice")
    callee = SipEndpoint(CALLEE, user="bob")
    return Net(caller, callee), caller, callee


def test_basic_call_invite_ringing_ok_ack_bye(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, callee = pair
    invite = caller.create_invite("sip:bob@198.18.0.2:5060", body=SDP)
    assert invite.top_via.branch and invite.top_via.branch.startswith("z9hG4bK")
    caller.send_request(invite, CALLEE, net.now)
    net.pump()

    req = received_request(net, CALLEE, "INVITE")
    assert req.body == SDP
    trying = one(net.take(CALLER), ResponseReceived)
    assert trying.response.status == 100 and trying.request is invite
    assert trying.response.to.tag is None

    callee.respond(req, 180, net.now)
    net.pump()
    uas_early = one(net.take(CALLEE), EarlyDialogCreated).dialog
    caller_events = net.take(CALLER)
    assert one(caller_events, ResponseReceived).response.status == 180
    early = one(caller_events, EarlyDialogCreated).dialog
    assert early.state is DialogState.EARLY
    assert early.remote_tag == uas_early.local_tag
    assert early.remote_target == "sip:bob@198.18.0.2:5060"

    ok = callee.respond(req, 200, net.now, body=SDP, content_type="application/sdp")
    assert ok.to.tag == uas_early.local_tag  # same tag for 180 and 200
    assert ok.top_via.rport == 5060
    net.pump()
    assert one(net.take(CALLEE), DialogConfirmed).dialog is uas_early
    caller_events = net.take(CALLER)
    confirmed = one(caller_events, DialogConfirmed)
    assert confirmed.dialog is early and early.state is DialogState.CONFIRMED
    assert one(caller_events, ResponseReceived).response.body == SDP

    ack = caller.send_ack(early, invite.cseq.seq, net.now)
    assert ack.cseq.seq == invite.cseq.seq and ack.cseq.method == "ACK"
    assert ack.top_via.branch != invite.top_via.branch
    net.pump()
    assert one(net.take(CALLEE), AckReceived).dialog is uas_early
    net.advance(40)  # no 2xx retransmission after the ACK; transactions end
    assert len(net.sent(CALLEE, "SIP/2.0 200")) == 1
    assert net.take(CALLER) == [] and net.take(CALLEE) == []

    bye = caller.send_in_dialog(early, "BYE", net.now)
    assert bye.cseq.seq == invite.cseq.seq + 1
    assert bye.uri == "sip:bob@198.18.0.2:5060"
    net.pump()
    bye_in = received_request(net, CALLEE, "BYE")
    callee.respond(bye_in, 200, net.now)
    net.pump()
    assert one(net.take(CALLEE), DialogTerminated).dialog is uas_early
    caller_events = net.take(CALLER)
    assert one(caller_events, ResponseReceived).request is bye
    assert one(caller_events, DialogTerminated).dialog is early
    assert early.state is DialogState.TERMINATED


def test_record_route_loose_routing_in_dialog(
    pair: tuple[Net, SipEndpoint, SipEndpoint],
) -> None:
    net, caller, callee = pair
    net.aliases[PROXY] = [CALLEE]  # a proxy that passes everything to the callee
    invite = caller.create_invite("sip:bob@198.18.0.2:5060", body=SDP)
    # what the proxy would have inserted on the way
    invite.headers.add("Record-Route", "<sip:198.18.0.10;lr;ftag=x>")
    invite.headers.add("Record-Route", "<sip:198.18.0.11;lr>")
    caller.send_request(invite, PROXY, net.now)
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    ok = callee.respond(req, 200, net.now, body=SDP, content_type="application/sdp")
    assert [str(r) for r in ok.record_routes] == [
        "<sip:198.18.0.10;lr;ftag=x>",
        "<sip:198.18.0.11;lr>",
    ]
    net.pump()
    uac = one(net.take(CALLER), DialogConfirmed).dialog
    uas = one(net.take(CALLEE), DialogConfirmed).dialog
    assert uac.route_set == ["<sip:198.18.0.11;lr>", "<sip:198.18.0.10;lr;ftag=x>"]
    assert uas.route_set == ["<sip:198.18.0.10;lr;ftag=x>", "<sip:198.18.0.11;lr>"]

    bye = caller.send_in_dialog(uac, "BYE", net.now)
    assert bye.uri == "sip:bob@198.18.0.2:5060"
    assert bye.headers.get_all("Route") == uac.route_set
    net.pump()
    # The Record-Route list is top = nearest the callee, so the caller's
    # first hop is the last entry (198.18.0.11).
    assert net.wire[-1][1] == ("198.18.0.11", 5060) and net.sent(CALLER, "BYE")
    net.aliases[("198.18.0.11", 5060)] = [CALLEE]
    net.advance(0.5)  # Timer E retransmission now reaches the callee
    bye_in = received_request(net, CALLEE, "BYE")
    assert bye_in.headers.get_all("Route") == uac.route_set
    # the callee (UAS) uses the Record-Route order as its route set
    callee.respond(bye_in, 200, net.now)
    net.pump()
    assert one(net.take(CALLER), DialogTerminated).dialog is uac


def test_forking_two_early_dialogs_one_confirmed() -> None:
    caller = SipEndpoint(CALLER, user="alice")
    bob1 = SipEndpoint(CALLEE, user="bob")
    bob2 = SipEndpoint(CALLEE2, user="bob")
    net = Net(caller, bob1, bob2)
    net.aliases[PROXY] = [CALLEE, CALLEE2]  # the proxy forks
    invite = caller.create_invite("sip:bob@198.18.0.10", body=SDP)
    caller.send_request(invite, PROXY, net.now)
    net.pump()
    inv1 = received_request(net, CALLEE, "INVITE")
    inv2 = received_request(net, CALLEE2, "INVITE")
    bob1.respond(inv1, 183, net.now, to_tag="fork-one", body=SDP, content_type="application/sdp")
    bob2.respond(inv2, 183, net.now, to_tag="fork-two", body=SDP, content_type="application/sdp")
    net.pump()
    early = only(net.take(CALLER), EarlyDialogCreated)
    assert [e.dialog.remote_tag for e in early] == ["fork-one", "fork-two"]
    assert [e.dialog.remote_target for e in early] == [
        "sip:bob@198.18.0.2:5060",
        "sip:bob@198.18.0.3:5060",
    ]
    assert len(caller.dialogs) == 2

    bob2.respond(inv2, 200, net.now, body=SDP, content_type="application/sdp")
    net.pump()
    events = net.take(CALLER)
    confirmed = one(events, DialogConfirmed)
    assert confirmed.dialog.remote_tag == "fork-two"
    assert confirmed.dialog is early[1].dialog
    assert early[0].dialog.state is DialogState.EARLY
    caller.send_ack(confirmed.dialog, invite.cseq.seq, net.now)
    net.pump()
    one(net.take(CALLEE2), AckReceived)

    # the other fork is cancelled by the proxy; when the INVITE transaction
    # ends (Timer M) the left-over early dialog is terminated
    net.advance(64 * 0.5 + 1)
    ended = one(net.take(CALLER), DialogTerminated)
    assert ended.dialog is early[0].dialog


def test_cancel_gives_487_and_ack(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, callee = pair
    invite = caller.create_invite("sip:bob@198.18.0.2:5060", body=SDP)
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    callee.respond(req, 180, net.now)
    net.pump()
    net.take(CALLEE)
    early = one(net.take(CALLER), EarlyDialogCreated).dialog

    cancel = caller.cancel(invite, net.now)
    assert cancel.top_via.branch == invite.top_via.branch
    assert cancel.cseq.seq == invite.cseq.seq and cancel.cseq.method == "CANCEL"
    net.pump()
    callee_events = net.take(CALLEE)
    assert one(callee_events, CancelReceived).request.method == "CANCEL"
    assert one(callee_events, DialogTerminated).reason.startswith("487")
    caller_events = net.take(CALLER)
    statuses = sorted(
        (e.request.method, e.response.status) for e in only(caller_events, ResponseReceived)
    )
    assert statuses == [("CANCEL", 200), ("INVITE", 487)]
    assert one(caller_events, DialogTerminated).dialog is early
    # the client transaction ACKed the 487 with the INVITE's branch
    acks = net.sent(CALLER, "ACK")
    assert len(acks) == 1
    ack = parse_message(acks[0])
    assert ack.top_via.branch == invite.top_via.branch and ack.to.tag == early.remote_tag
    # the 487 is not retransmitted: the ACK reached the server transaction
    net.advance(40)
    assert len(net.sent(CALLEE, "SIP/2.0 487")) == 1


def test_cancel_held_until_provisional() -> None:
    caller = SipEndpoint(CALLER)
    callee = SipEndpoint(CALLEE, auto_trying=False)
    net = Net(caller, callee)
    invite = caller.create_invite("sip:bob@198.18.0.2:5060")
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    caller.cancel(invite, net.now)
    net.pump()
    assert not net.sent(CALLER, "CANCEL")
    callee.respond(req, 100, net.now)
    net.pump()
    assert len(net.sent(CALLER, "CANCEL")) == 1
    one(net.take(CALLEE), CancelReceived)


def test_lost_invite_is_retransmitted_after_t1(
    pair: tuple[Net, SipEndpoint, SipEndpoint],
) -> None:
    net, caller, callee = pair
    lost: list[bytes] = []

    def drop_first_invite(data: bytes, src: Address, dst: Address) -> bool:
        if data.startswith(b"INVITE") and not lost:
            lost.append(data)
            return True
        return False

    net.drop = drop_first_invite
    invite = caller.create_invite("sip:bob@198.18.0.2:5060")
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    assert net.take(CALLEE) == []
    assert caller.get_timer() == pytest.approx(0.5)
    net.advance(0.49)
    assert net.take(CALLEE) == []
    net.advance(0.02)
    assert received_request(net, CALLEE, "INVITE") == invite
    assert net.sent(CALLER, "INVITE") == [lost[0], lost[0]]  # byte-identical


def test_lost_ack_2xx_retransmitted_and_ack_resent(
    pair: tuple[Net, SipEndpoint, SipEndpoint],
) -> None:
    net, caller, callee = pair
    acks_dropped: list[bytes] = []

    def drop_first_ack(data: bytes, src: Address, dst: Address) -> bool:
        if data.startswith(b"ACK") and not acks_dropped:
            acks_dropped.append(data)
            return True
        return False

    net.drop = drop_first_ack
    uac, uas = (None, None)
    invite = caller.create_invite("sip:bob@198.18.0.2:5060", body=SDP)
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    callee.respond(req, 200, net.now, body=SDP, content_type="application/sdp")
    net.pump()
    uac = one(net.take(CALLER), DialogConfirmed).dialog
    caller.send_ack(uac, invite.cseq.seq, net.now)
    net.pump()
    assert not only(net.take(CALLEE), AckReceived)
    net.advance(0.5)  # the UAS core retransmits the 2xx at T1
    assert len(net.sent(CALLEE, "SIP/2.0 200")) == 2
    retrans = one(net.take(CALLER), ResponseReceived)
    assert retrans.retransmission and retrans.response.status == 200
    uas = one(net.take(CALLEE), AckReceived).dialog
    assert uas.state is DialogState.CONFIRMED
    acks = net.sent(CALLER, "ACK")
    assert len(acks) == 2 and acks[0] == acks[1]
    net.advance(60)
    assert len(net.sent(CALLEE, "SIP/2.0 200")) == 2


def test_2xx_never_acked_ends_dialog(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, callee = pair
    net.drop = lambda data, src, dst: data.startswith(b"ACK")
    uac, uas = set_up_call_without_ack(net, caller, callee)
    net.advance(31.9)
    # 2xx sent at 0 then at 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5
    assert len(net.sent(CALLEE, "SIP/2.0 200")) == 11
    net.advance(1)
    ended = one(net.take(CALLEE), DialogTerminated)
    assert ended.dialog is uas and "ACK" in ended.reason


def set_up_call_without_ack(
    net: Net, caller: SipEndpoint, callee: SipEndpoint
) -> tuple[Dialog, Dialog]:
    invite = caller.create_invite("sip:bob@198.18.0.2:5060", body=SDP)
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    callee.respond(req, 200, net.now, body=SDP, content_type="application/sdp")
    net.pump()
    uac = one(net.take(CALLER), DialogConfirmed).dialog
    caller.send_ack(uac, invite.cseq.seq, net.now)
    net.pump()
    uas = one(net.take(CALLEE), DialogConfirmed).dialog
    return uac, uas


def test_reinvite_in_dialog(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, callee = pair
    uac, uas = set_up_call(net, caller, callee)
    net.take(CALLER)
    reinvite = caller.send_in_dialog(uac, "INVITE", net.now, body=SDP + b"a=sendonly\r\n",
                                     content_type="application/sdp")
    assert reinvite.to.tag == uac.remote_tag and reinvite.from_.tag == uac.local_tag
    assert reinvite.contact is not None
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    assert req.body.endswith(b"a=sendonly\r\n")
    assert uas.remote_seq == reinvite.cseq.seq
    callee.respond(req, 200, net.now, body=SDP, content_type="application/sdp")
    net.pump()
    events = net.take(CALLER)
    ok = final(events)
    assert ok.request is reinvite and ok.response.status in (200,)
    assert not only(events, DialogConfirmed)
    assert not only(net.take(CALLEE), DialogConfirmed)
    caller.send_ack(uac, reinvite.cseq.seq, net.now)
    net.pump()
    ack = one(net.take(CALLEE), AckReceived)
    assert ack.request.cseq.seq == reinvite.cseq.seq and ack.dialog is uas

    # the callee can send requests too (UAS side: From/To swapped)
    update = callee.send_in_dialog(uas, "UPDATE", net.now)
    assert update.from_.tag == uas.local_tag and update.uri == "sip:alice@198.18.0.1:5060"
    net.pump()
    req = received_request(net, CALLER, "UPDATE")
    caller.respond(req, 200, net.now)
    net.pump()
    assert one(net.take(CALLEE), ResponseReceived).response.status == 200


def test_request_in_unknown_dialog_gets_481(
    pair: tuple[Net, SipEndpoint, SipEndpoint],
) -> None:
    net, caller, callee = pair
    ghost = Dialog(
        call_id="nope@198.18.0.1",
        local_tag="aaa",
        remote_tag="bbb",
        local_uri="sip:alice@198.18.0.1",
        remote_uri="sip:bob@198.18.0.2",
        local_seq=5,
        remote_seq=None,
        remote_target="sip:bob@198.18.0.2:5060",
        state=DialogState.CONFIRMED,
    )
    caller.send_in_dialog(ghost, "BYE", net.now)
    net.pump()
    assert net.take(CALLEE) == []
    events = net.take(CALLER)
    assert one(events, ResponseReceived).response.status == 481
    assert one(events, DialogTerminated).dialog is ghost


def test_cseq_out_of_order_gets_500(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, callee = pair
    uac, _ = set_up_call(net, caller, callee)
    net.take(CALLER)
    caller.send_in_dialog(uac, "INFO", net.now)
    net.pump()
    callee.respond(received_request(net, CALLEE, "INFO"), 200, net.now)
    net.pump()
    assert final(net.take(CALLER)).response.status == 200
    uac.local_seq = 0  # the next request goes out with CSeq 1, lower than the INFO's 2
    caller.send_in_dialog(uac, "INFO", net.now)
    net.pump()
    assert one(net.take(CALLER), ResponseReceived).response.status == 500


def test_busy_here_is_acked_by_transaction(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, callee = pair
    invite = caller.create_invite("sip:bob@198.18.0.2:5060")
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    req = received_request(net, CALLEE, "INVITE")
    callee.respond(req, 486, net.now)
    net.pump()
    assert final(net.take(CALLER)).response.status == 486
    assert len(net.sent(CALLER, "ACK")) == 1
    with pytest.raises(SipUsageError):
        callee.respond(req, 200, net.now)
    net.advance(40)
    assert net.take(CALLEE) == [] and net.take(CALLER) == []
    assert callee.get_timer() is None and caller.get_timer() is None


def test_invite_timeout_timer_b(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, _ = pair
    net.drop = lambda data, src, dst: True
    invite = caller.create_invite("sip:bob@198.18.0.2:5060")
    caller.send_request(invite, CALLEE, net.now)
    net.pump()
    net.advance(31.9)
    assert len(net.sent(CALLER, "INVITE")) == 7  # 0, .5, 1.5, 3.5, 7.5, 15.5, 31.5
    assert net.take(CALLER) == []
    net.advance(0.2)
    assert one(net.take(CALLER), TransactionTimedOut).request is invite
    assert caller.get_timer() is None


def test_options_not_auto_answered(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    net, caller, callee = pair
    options = caller.create_request("OPTIONS", "sip:198.18.0.2:5060")
    caller.send_request(options, CALLEE, net.now)
    net.pump()
    assert not net.sent(CALLEE, "SIP/2.0")
    req = received_request(net, CALLEE, "OPTIONS")
    # a retransmission before the answer is absorbed
    net.advance(0.5)
    assert net.take(CALLEE) == []
    resp = callee.respond(req, 200, net.now, extra=[("Allow", "INVITE, ACK, BYE")])
    assert resp.to.tag is not None
    net.pump()
    assert one(net.take(CALLER), ResponseReceived).response.headers.get_all("Allow") == [
        "INVITE",
        "ACK",
        "BYE",
    ]


def test_malformed_datagram_event_no_exception(
    pair: tuple[Net, SipEndpoint, SipEndpoint],
) -> None:
    _, _, callee = pair
    callee.receive_datagram(b"\x00\xffgarbage\r\n\r\n", CALLER, 0.0)
    callee.receive_datagram(b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n", CALLER, 0.0)
    callee.receive_datagram(b"\r\n\r\n", CALLER, 0.0)  # keep-alive: silently ignored
    events = callee.next_events()
    assert [type(e) for e in events] == [MessageMalformed, MessageMalformed]
    assert isinstance(events[1], MessageMalformed)
    assert events[1].source == CALLER and events[1].error.data.startswith(b"INVITE")
    assert callee.datagrams_to_send() == []


def test_stray_response(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    _, caller, callee = pair
    invite = callee.create_invite("sip:alice@198.18.0.1")
    from harness.sip import build_response

    caller.receive_datagram(bytes(build_response(invite, 200, to_tag="x")), CALLEE, 0.0)
    assert isinstance(caller.next_events()[0], StrayResponseReceived)


def test_respond_without_transaction_is_usage_error(
    pair: tuple[Net, SipEndpoint, SipEndpoint],
) -> None:
    _, caller, callee = pair
    invite = caller.create_invite("sip:bob@198.18.0.2:5060")
    with pytest.raises(SipUsageError):
        callee.respond(invite, 200, 0.0)


def test_via_received_when_source_differs(pair: tuple[Net, SipEndpoint, SipEndpoint]) -> None:
    _, caller, callee = pair
    invite = caller.create_invite("sip:bob@198.18.0.2:5060")
    callee.receive_datagram(bytes(invite), ("198.18.0.99", 40000), 0.0)
    trying_bytes, destination = callee.datagrams_to_send()[0]
    assert destination == ("198.18.0.99", 40000)
    trying = parse_message(trying_bytes)
    assert trying.top_via.received == "198.18.0.99" and trying.top_via.rport == 40000
