"""The shim's faults as pure functions, on messages Kamailio put on the wire in the lab.

Each fault must damage exactly the one thing it names and leave everything
else byte for byte; a changed message must still parse, with a Content-Length
that matches its body. The socket side is tested against the real target in
tests/lab/test_shim.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.faults.shim import UNREACHABLE_ADDRESS, Fault, ShimState, apply_fault, stay_in_route
from harness.sdp import SessionDescription, diff_sdp, effective_address
from harness.sip import Dialog, Message, Request, Response, parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"


def _load(name: str) -> Message:
    return parse_message((FIXTURES / name).read_bytes())


def _response(name: str) -> Response:
    msg = _load(name)
    assert isinstance(msg, Response)
    return msg


def _invite() -> Request:
    msg = _load("kamailio_invite_relayed_proxy.sip")
    assert isinstance(msg, Request)
    return msg


def _wire(msg: Message) -> Message:
    """What the next hop parses: serialise and parse again (Content-Length must fit)."""
    data = bytes(msg)
    again = parse_message(data)
    assert again.headers.get("Content-Length") == str(len(again.body))
    assert data.endswith(again.body)
    return again


def _as_branch(msg: Response, tag: str, address: str | None = None,
               port: int | None = None) -> Response:
    """The same response as another fork branch would send it: its own To-tag and SDP."""
    branch = parse_message(bytes(msg))
    assert isinstance(branch, Response)
    branch.headers.set("To", str(branch.to.with_tag(tag)))
    if address is not None or port is not None:
        sd = SessionDescription.parse(branch.body)
        if address is not None:
            assert sd.connection is not None
            sd.connection.address = address
            sd.origin.address = address
        if port is not None:
            sd.media[0].port = port
        branch.set_body(bytes(sd))
    return branch


def _with_status(msg: Response, status: int, reason: str) -> Response:
    out = parse_message(bytes(msg))
    assert isinstance(out, Response)
    out.status, out.reason = status, reason
    return out


def _without_body(msg: Response) -> Response:
    out = parse_message(bytes(msg))
    assert isinstance(out, Response)
    out.headers.remove("Content-Type")
    out.set_body(b"")
    return out


# --------------------------------------------------------------------------- NONE


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.sip")))
def test_no_fault_leaves_every_captured_message_alone(name: str) -> None:
    msg = _load(name)
    out, note = apply_fault(Fault.NONE, msg, ShimState())
    assert out is msg and note is None


# --------------------------------------------------------------------------- DROP_18X


def test_drop_18x_drops_only_the_first_tagged_18x_of_a_call() -> None:
    state = ShimState()
    ringing = _with_status(_response("example_183_sdp.sip"), 180, "Ringing")
    untagged = _with_status(ringing, 180, "Ringing")
    untagged.headers.set("To", str(untagged.to.with_tag(None)))
    trying = _response("kamailio_100_trying.sip")

    assert apply_fault(Fault.DROP_18X, trying, state) == (trying, None)
    assert apply_fault(Fault.DROP_18X, untagged, state) == (untagged, None)
    out, note = apply_fault(Fault.DROP_18X, ringing, state)
    assert out is None and note is not None and "180" in note
    later = _response("example_183_sdp.sip")
    assert apply_fault(Fault.DROP_18X, later, state) == (later, None)
    ok = _response("kamailio_200_invite_relayed.sip")
    assert apply_fault(Fault.DROP_18X, ok, state) == (ok, None)


def test_drop_18x_keeps_count_per_call_id() -> None:
    state = ShimState()
    first = _response("example_183_sdp.sip")
    other_call = _response("example_183_sdp.sip")
    other_call.headers.set("Call-ID", "another-call@198.18.0.10")
    assert apply_fault(Fault.DROP_18X, first, state)[0] is None
    assert apply_fault(Fault.DROP_18X, other_call, state)[0] is None


# --------------------------------------------------------------------------- REUSE_TO_TAG


def test_reuse_to_tag_makes_two_branches_one_dialog() -> None:
    state = ShimState()
    branch1 = _response("example_183_sdp.sip")
    branch2 = _as_branch(branch1, "branch2tag", "198.18.0.23", 41000)
    branch2_ok = _as_branch(_with_status(branch1, 200, "OK"), "branch2tag")

    assert apply_fault(Fault.REUSE_TO_TAG, branch1, state) == (branch1, None)
    out, note = apply_fault(Fault.REUSE_TO_TAG, branch2, state)
    assert out is not None and note == "To-tag branch2tag -> 8321234356"
    arrived = _wire(out)
    assert arrived.to.tag == branch1.to.tag
    assert arrived.body == branch2.body  # only the tag changed
    assert [n for n, _ in arrived.headers] == [n for n, _ in branch2.headers]
    out_ok, _ = apply_fault(Fault.REUSE_TO_TAG, branch2_ok, state)
    assert out_ok is not None and _wire(out_ok).to.tag == branch1.to.tag


def test_reuse_to_tag_leaves_responses_to_other_methods_and_failures() -> None:
    state = ShimState()
    apply_fault(Fault.REUSE_TO_TAG, _response("example_183_sdp.sip"), state)
    busy = _as_branch(_with_status(_response("example_183_sdp.sip"), 486, "Busy Here"), "x")
    assert apply_fault(Fault.REUSE_TO_TAG, busy, state) == (busy, None)
    bye_ok = _as_branch(_with_status(_response("example_183_sdp.sip"), 200, "OK"), "y")
    bye_ok.headers.set("CSeq", "314160 BYE")
    assert apply_fault(Fault.REUSE_TO_TAG, bye_ok, state) == (bye_ok, None)


# -------------------------------------------------------------------- REWRITE_SDP_ADDRESS


@pytest.mark.parametrize("name", ["kamailio_200_invite_relayed.sip",
                                  "kamailio_invite_relayed_proxy.sip", "example_183_sdp.sip"])
def test_rewrite_sdp_address_changes_c_and_nothing_else(name: str) -> None:
    msg = _load(name)
    before = SessionDescription.parse(msg.body)
    out, note = apply_fault(Fault.REWRITE_SDP_ADDRESS, msg, ShimState())
    assert out is not None and note is not None and UNREACHABLE_ADDRESS in note
    after = SessionDescription.parse(_wire(out).body)
    assert effective_address(after, 0) == UNREACHABLE_ADDRESS
    assert [d.field.name for d in diff_sdp(before, after)] == ["CONNECTION"]
    assert str(after).replace(UNREACHABLE_ADDRESS, effective_address(before, 0)) == str(before)


def test_rewrite_sdp_address_leaves_bodiless_messages_alone() -> None:
    for name in ("kamailio_100_trying.sip", "kamailio_bye_relayed.sip"):
        msg = _load(name)
        assert apply_fault(Fault.REWRITE_SDP_ADDRESS, msg, ShimState()) == (msg, None)


# --------------------------------------------------------------------------- SWALLOW_CANCEL


def test_swallow_cancel_drops_cancel_and_nothing_else() -> None:
    invite = _invite()
    cancel = parse_message(bytes(invite))
    assert isinstance(cancel, Request)
    cancel.method = "CANCEL"
    cancel.headers.set("CSeq", f"{invite.cseq.seq} CANCEL")
    cancel.headers.remove("Content-Type")
    cancel.set_body(b"")
    state = ShimState()
    assert apply_fault(Fault.SWALLOW_CANCEL, invite, state) == (invite, None)
    assert apply_fault(Fault.SWALLOW_CANCEL, cancel, state) == (None, "swallowed the CANCEL")
    for name in ("kamailio_ack_relayed.sip", "kamailio_bye_relayed.sip",
                 "example_487_request_terminated.sip"):
        msg = _load(name)
        assert apply_fault(Fault.SWALLOW_CANCEL, msg, state) == (msg, None)


# ------------------------------------------------------------- OLD_SDP_IN_REINVITE_ANSWER


def _reinvite(invite: Request, ok: Response) -> Request:
    again = parse_message(bytes(invite))
    assert isinstance(again, Request)
    again.headers.set("To", str(ok.to))
    again.headers.set("CSeq", "2 INVITE")
    return again


def test_old_sdp_replaces_the_answer_to_a_reinvite() -> None:
    state = ShimState()
    invite, ok = _invite(), _response("kamailio_200_invite_relayed.sip")
    initial_answer = ok.body
    assert apply_fault(Fault.OLD_SDP_IN_REINVITE_ANSWER, invite, state) == (invite, None)
    assert apply_fault(Fault.OLD_SDP_IN_REINVITE_ANSWER, ok, state) == (ok, None)
    reinvite = _reinvite(invite, ok)
    assert apply_fault(Fault.OLD_SDP_IN_REINVITE_ANSWER, reinvite, state) == (reinvite, None)

    new_answer = SessionDescription.parse(ok.body)
    new_answer.media[0].port = 30100
    new_answer.origin.sess_version += 1
    reinvite_ok = _as_branch(ok, str(ok.to.tag))
    reinvite_ok.headers.set("CSeq", "2 INVITE")
    reinvite_ok.set_body(bytes(new_answer))

    out, note = apply_fault(Fault.OLD_SDP_IN_REINVITE_ANSWER, reinvite_ok, state)
    assert out is not None and note is not None and "CSeq 2" in note
    arrived = _wire(out)
    assert arrived.body == initial_answer
    assert arrived.headers.get("Content-Length") == "198"
    assert arrived.cseq.seq == 2


def test_old_sdp_knows_a_reinvite_answer_without_seeing_the_request() -> None:
    """Caller-side placement: the re-INVITE itself follows the Record-Route, not the shim."""
    state = ShimState()
    ok = _response("kamailio_200_invite_relayed.sip")
    apply_fault(Fault.OLD_SDP_IN_REINVITE_ANSWER, ok, state)
    retransmitted = _response("kamailio_200_invite_relayed.sip")
    assert apply_fault(Fault.OLD_SDP_IN_REINVITE_ANSWER, retransmitted, state)[1] is None
    reinvite_ok = _without_body(ok)
    reinvite_ok.headers.set("CSeq", "3 INVITE")
    out, note = apply_fault(Fault.OLD_SDP_IN_REINVITE_ANSWER, reinvite_ok, state)
    assert out is not None and note is not None
    arrived = _wire(out)
    assert arrived.body == ok.body and arrived.content_type == "application/sdp"


# ------------------------------------------------------------------- REDIRECT_EARLY_MEDIA


def test_redirect_early_media_points_later_18x_at_the_first() -> None:
    state = ShimState()
    first = _response("example_183_sdp.sip")  # c= 198.18.0.22, port 40000
    ringing = _without_body(_as_branch(_with_status(first, 180, "Ringing"), "b2"))
    second = _as_branch(first, "b2", "198.18.0.23", 41000)
    third = _as_branch(first, "b3", "198.18.0.21", 42000)

    assert apply_fault(Fault.REDIRECT_EARLY_MEDIA, first, state) == (first, None)
    assert apply_fault(Fault.REDIRECT_EARLY_MEDIA, ringing, state) == (ringing, None)
    for n, branch in ((2, second), (3, third)):
        before = SessionDescription.parse(branch.body)
        out, note = apply_fault(Fault.REDIRECT_EARLY_MEDIA, branch, state)
        assert out is not None and note is not None and f"#{n}" in note
        after = SessionDescription.parse(_wire(out).body)
        assert (effective_address(after, 0), after.media[0].port) == ("198.18.0.22", 40000)
        assert after.origin == before.origin  # o= still names the branch: only c= and port
        assert out.to.tag == branch.to.tag


def test_redirect_early_media_leaves_the_200_and_a_same_address_18x() -> None:
    state = ShimState()
    first = _response("example_183_sdp.sip")
    apply_fault(Fault.REDIRECT_EARLY_MEDIA, first, state)
    again = _response("example_183_sdp.sip")
    assert apply_fault(Fault.REDIRECT_EARLY_MEDIA, again, state) == (again, None)
    ok = _as_branch(_with_status(first, 200, "OK"), "b2", "198.18.0.23", 41000)
    assert apply_fault(Fault.REDIRECT_EARLY_MEDIA, ok, state) == (ok, None)


# --------------------------------------------------------------------------- in-dialog routing

SHIM = ("198.18.0.5", 5060)
TARGET_RR = "<sip:198.18.0.2;lr=on;ftag=c8e08c8567741485;mm=proxy>"


def _caller_dialog_through_shim() -> tuple[Dialog, set[tuple[str, int]]]:
    """The caller's dialog built from Kamailio's real 200 after the shim relayed it."""
    invite = _load("kamailio_invite_relayed_proxy.sip")
    ok = _response("kamailio_200_invite_relayed.sip")
    assert isinstance(invite, Request)
    seen = {(ok.call_id, ok.cseq.seq)}  # the shim relayed this INVITE on its way in
    assert stay_in_route(ok, "upstream", SHIM, seen)
    assert ok.headers.get_all("Record-Route") == [TARGET_RR, "<sip:198.18.0.5:5060;lr>"]
    reparsed = parse_message(bytes(ok))
    assert isinstance(reparsed, Response)
    return Dialog.from_uac_response(invite, reparsed), seen


def test_the_shim_heads_the_callers_route_set_and_pops_its_own_route() -> None:
    dialog, seen = _caller_dialog_through_shim()
    assert dialog.route_set == ["<sip:198.18.0.5:5060;lr>", TARGET_RR]
    bye, next_hop = dialog.create_request("BYE", via="SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bKx")
    assert next_hop == SHIM  # the caller's in-dialog requests now reach the shim first
    assert stay_in_route(bye, "downstream", SHIM, seen)
    assert bye.headers.get_all("Route") == [TARGET_RR]  # the target's loose route stays
    # Anything not naming the shim, or going the other way, passes unchanged.
    assert not stay_in_route(bye, "downstream", SHIM, seen)
    assert not stay_in_route(_response("kamailio_200_invite_relayed.sip"), "upstream", SHIM,
                             set())  # a 2xx to an INVITE the shim never relayed
