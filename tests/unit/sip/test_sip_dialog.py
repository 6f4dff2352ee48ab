"""Dialogs (§12): creation on both sides, route sets, loose and strict routing."""

from __future__ import annotations

from pathlib import Path

from harness.sip import (
    Dialog,
    DialogState,
    Request,
    Response,
    build_response,
    parse_message,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"


def invite() -> Request:
    message = parse_message((FIXTURES / "example_invite_record_route_sdp.sip").read_bytes())
    assert isinstance(message, Request)
    return message


def ok() -> Response:
    message = parse_message((FIXTURES / "example_200_multiple_record_route.sip").read_bytes())
    assert isinstance(message, Response)
    return message


def make(route_set: list[str], target: str = "sip:bob@198.18.0.22:5062") -> Dialog:
    return Dialog(
        call_id="c1",
        local_tag="lt",
        remote_tag="rt",
        local_uri="sip:alice@198.18.0.21",
        remote_uri="sip:bob@198.18.0.10",
        local_seq=10,
        remote_seq=None,
        remote_target=target,
        route_set=route_set,
        state=DialogState.CONFIRMED,
        local_target="sip:alice@198.18.0.21:5060",
    )


def test_uas_dialog_from_request() -> None:
    request = invite()
    dialog = Dialog.from_uas_request(request, "bobtag", local_target="sip:bob@198.18.0.22:5062")
    assert dialog.id == ("3848276298220188511@198.18.0.21", "bobtag", "9fxced76sl")
    assert dialog.route_set == [
        "<sip:198.18.0.10;r2=on;lr=on;ftag=9fxced76sl>",
        "<sip:198.18.1.10;r2=on;lr=on;ftag=9fxced76sl>",
    ]
    assert dialog.remote_target == "sip:alice@198.18.0.21:5060;transport=udp"
    assert dialog.remote_seq == 314159 and dialog.local_seq == 0
    assert dialog.state is DialogState.EARLY and not dialog.is_uac
    bye, hop = dialog.create_request("BYE", via="SIP/2.0/UDP 198.18.0.22:5062;branch=z9hG4bKb")
    assert bye.uri == "sip:alice@198.18.0.21:5060;transport=udp"
    assert bye.headers.get_all("Route") == dialog.route_set
    assert hop == ("198.18.0.10", 5060)
    assert bye.from_.tag == "bobtag" and bye.to.tag == "9fxced76sl" and bye.cseq.seq == 1


def test_uac_dialog_from_response_reverses_record_route() -> None:
    request = invite()
    response = ok()
    dialog = Dialog.from_uac_response(request, response)
    assert dialog.id == ("3848276298220188511@198.18.0.21", "9fxced76sl", "8321234356")
    assert [r.split(";")[0] for r in dialog.route_set] == [
        "<sip:198.18.0.12", "<sip:198.18.0.11", "<sip:198.18.0.10", "<sip:198.18.1.10"]
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.remote_target == "sip:bob@198.18.0.22:5062"
    assert dialog.local_seq == 314159


def test_early_dialog_route_set_recomputed_on_2xx() -> None:
    request = invite()
    early_resp = build_response(request, 183, to_tag="8321234356", contact="<sip:bob@198.18.0.5>")
    dialog = Dialog.from_uac_response(request, early_resp)
    assert dialog.state is DialogState.EARLY
    assert dialog.remote_target == "sip:bob@198.18.0.5"
    dialog.confirm(ok())
    assert dialog.state is DialogState.CONFIRMED and len(dialog.route_set) == 4
    assert dialog.remote_target == "sip:bob@198.18.0.22:5062"


def test_no_route_set() -> None:
    dialog = make([])
    request, hop = dialog.create_request("INFO", via="SIP/2.0/UDP 198.18.0.21;branch=z9hG4bKi",
                                         body=b"x", content_type="text/plain")
    assert request.uri == "sip:bob@198.18.0.22:5062" and "Route" not in request.headers
    assert hop == ("198.18.0.22", 5062) and request.cseq.seq == 11 and dialog.local_seq == 11
    assert request.contact is None  # INFO is not a target refresh


def test_loose_routing() -> None:
    dialog = make(["<sip:198.18.0.10:5070;lr>", "<sip:198.18.0.11;lr>"])
    request, hop = dialog.create_request("INVITE", via="SIP/2.0/UDP 198.18.0.21;branch=z9hG4bKr")
    assert request.uri == "sip:bob@198.18.0.22:5062"
    assert request.headers.get_all("Route") == dialog.route_set
    assert hop == ("198.18.0.10", 5070)
    assert str(request.contact) == "<sip:alice@198.18.0.21:5060>"


def test_strict_routing() -> None:
    # The first route has no ;lr: an RFC 2543 proxy (§12.2.1.1).
    dialog = make(["<sip:198.18.0.10>", "<sip:198.18.0.11;lr>"])
    request, hop = dialog.create_request("BYE", via="SIP/2.0/UDP 198.18.0.21;branch=z9hG4bKs")
    assert request.uri == "sip:198.18.0.10"
    assert request.headers.get_all("Route") == [
        "<sip:198.18.0.11;lr>",
        "<sip:bob@198.18.0.22:5062>",
    ]
    assert hop == ("198.18.0.10", 5060)  # §8.1.2: strict routing sends to the Request-URI
    only_strict = make(["<sip:198.18.0.10:5080>"])
    request, hop = only_strict.create_request("BYE")
    assert request.uri == "sip:198.18.0.10:5080" and "Via" not in request.headers
    assert request.headers.get_all("Route") == ["<sip:bob@198.18.0.22:5062>"]
    assert hop == ("198.18.0.10", 5080)


def test_ack_uses_invite_cseq_and_does_not_advance() -> None:
    dialog = make(["<sip:198.18.0.10;lr>"])
    ack, hop = dialog.create_ack(7, via="SIP/2.0/UDP 198.18.0.21;branch=z9hG4bKa")
    assert ack.cseq.seq == 7 and ack.cseq.method == "ACK" and dialog.local_seq == 10
    assert hop == ("198.18.0.10", 5060)
    assert parse_message(bytes(ack)) == ack


def test_remote_cseq_order_and_target_refresh() -> None:
    dialog = make([])
    assert dialog.accept_remote_cseq(5) and dialog.remote_seq == 5
    assert dialog.accept_remote_cseq(6)
    assert not dialog.accept_remote_cseq(4) and dialog.remote_seq == 6
    reinvite = invite()
    dialog.refresh_target(reinvite)
    assert dialog.remote_target == "sip:alice@198.18.0.21:5060;transport=udp"
    dialog.terminate()
    assert dialog.state is DialogState.TERMINATED
