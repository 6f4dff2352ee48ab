"""Round trip of every captured or hand-made message in tests/fixtures/sip/*.sip.

``kamailio_*.sip`` are real captures from the default target; ``example_*.sip``
are realistic hand-made messages. Each file is one datagram, CRLF line ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.sip import Request, Response, parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
FILES = sorted(FIXTURES.glob("*.sip"))


def test_there_are_fixtures() -> None:
    assert any(f.name.startswith("example_") for f in FILES)


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_fixture_round_trip(path: Path) -> None:
    data = path.read_bytes()
    message = parse_message(data)
    assert bytes(message) == data
    # the key headers parse
    assert message.call_id
    assert message.vias and all(v.branch for v in message.vias)
    assert message.from_.tag
    assert message.cseq.seq >= 0
    assert all(r.uri.host for r in [*message.record_routes, *message.routes])
    assert message.contact is None or message.contact.uri.host
    length = message.headers.get("Content-Length")
    if length is not None:
        assert int(length) == len(message.body)
    if message.body:
        assert message.content_type
    if isinstance(message, Request):
        assert message.cseq.method == message.method
    else:
        assert isinstance(message, Response)


def test_examples_in_detail() -> None:
    invite = parse_message((FIXTURES / "example_invite_record_route_sdp.sip").read_bytes())
    assert isinstance(invite, Request)
    assert invite.from_.display_name == "Alice, the caller"
    assert [r.uri.host for r in invite.record_routes] == ["198.18.0.10", "198.18.1.10"]
    assert invite.headers.get_all("Allow")[:3] == ["INVITE", "ACK", "CANCEL"]
    assert invite.body.startswith(b"v=0\r\n")

    ok = parse_message((FIXTURES / "example_200_multiple_record_route.sip").read_bytes())
    assert [r.uri.host for r in ok.record_routes] == [
        "198.18.1.10", "198.18.0.10", "198.18.0.11", "198.18.0.12"]

    compact = parse_message((FIXTURES / "example_message_compact_folded.sip").read_bytes())
    assert [v.branch for v in compact.vias] == ["z9hG4bK-compact-1", "z9hG4bK-compact-0"]
    assert compact.headers.get_all("Supported") == ["100rel", "timer"]
    assert compact.body.decode("utf-8") == "Bonjour, ça va ?\r\n"
