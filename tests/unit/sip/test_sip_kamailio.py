"""Messages captured from the real Kamailio 5.6 of the default target, in the lab.

Beyond the byte-exact round trip (test_sip_fixtures.py covers every fixture),
these check what the harness relies on: Kamailio's Record-Route with
``lr=on`` makes the caller's dialog loose-route its BYE through Kamailio,
and the relayed INVITE carries two Vias, the caller's with received/rport.
"""

from __future__ import annotations

from pathlib import Path

from harness.sip import Request, Response, parse_message
from harness.sip.dialog import Dialog
from harness.sip.headers import SipUri

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"


def _load(name: str) -> Request | Response:
    return parse_message((FIXTURES / name).read_bytes())


def test_relayed_invite_has_kamailio_via_and_record_route() -> None:
    invite = _load("kamailio_invite_relayed_proxy.sip")
    assert isinstance(invite, Request)
    vias = invite.vias
    assert [v.host for v in vias] == ["198.18.0.2", "198.18.0.10"]
    assert vias[0].rfc3261_branch
    assert vias[1].received == "198.18.0.10" and vias[1].rport == 5060
    (rr,) = invite.record_routes
    uri = SipUri.parse(str(rr.uri))
    assert uri.lr and uri.param("mm") == "proxy"
    assert invite.headers.get("Max-Forwards") == "69"


def test_caller_dialog_from_kamailio_200_loose_routes_its_bye() -> None:
    ok = _load("kamailio_200_invite_relayed.sip")
    assert isinstance(ok, Response)
    invite = Request(
        "INVITE", "sip:proxy@198.18.0.21:5060", ok.headers.copy(), b""
    )  # the caller's INVITE had the same From/To/Call-ID/CSeq as this 200
    dialog = Dialog.from_uac_response(invite, ok)
    assert dialog.remote_target == "sip:callee1@198.18.0.21:5060"
    assert len(dialog.route_set) == 1 and "198.18.0.2" in dialog.route_set[0]
    bye, next_hop = dialog.create_request("BYE")
    assert bye.uri == "sip:callee1@198.18.0.21:5060"  # loose routing: R-URI = remote target
    assert [str(r) for r in bye.routes] == [dialog.route_set[0]]
    assert next_hop == ("198.18.0.2", 5060)


def test_relayed_bye_carries_no_route_after_kamailio_consumed_it() -> None:
    bye = _load("kamailio_bye_relayed.sip")
    assert isinstance(bye, Request)
    assert bye.method == "BYE"
    assert bye.routes == []
    assert bye.uri.startswith("sip:callee1@198.18.0.21")
