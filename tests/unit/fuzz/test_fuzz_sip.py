"""Mutation fuzzing of the SIP reader over the real and hand-made fixture messages (and the
SIP of a real capture): flipped bytes, truncation, duplicated, dropped and swapped lines,
changed line ends. `parse_message` returns a message or raises `SipParseError`; a message it
accepts has usable key headers, re-parses to itself, and its SDP body parses or raises
`SdpParseError`; the endpoint takes any datagram without raising."""

from __future__ import annotations

from fuzz_support import fuzz_settings, mutated, sip_seeds
from hypothesis import given
from hypothesis import strategies as st

from harness.sdp import SdpParseError, SessionDescription
from harness.sip import Request, SipEndpoint, SipParseError, SipUri, parse_message

SEEDS = sip_seeds()


def judge(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError as exc:
        assert exc.data == data and str(exc)
        return
    # parse_message validated these: reading them cannot fail
    vias = message.vias
    assert vias and message.top_via == vias[0]
    for via in vias:
        via.branch, via.rport, via.received, via.sent_by  # noqa: B018
    message.from_.tag, message.to.tag, message.cseq, message.call_id  # noqa: B018
    for addr in [*message.routes, *message.record_routes, message.contact]:
        if addr is not None:
            addr.uri.lr, addr.uri.host, addr.tag  # noqa: B018
    assert parse_message(bytes(message)) == message
    if isinstance(message, Request):
        try:
            SipUri.parse(message.uri).address()
        except SipParseError:
            pass  # tel:, urn: ... or a broken sip: URI, which the agent reports
    if message.body and (message.content_type or "").lower().startswith("application/sdp"):
        try:
            SessionDescription.parse(message.body)
        except SdpParseError:
            pass


def test_every_seed_parses() -> None:
    assert len(SEEDS) > 12
    for data in SEEDS:
        judge(data)
        parse_message(data)


@fuzz_settings(500)
@given(mutated(SEEDS))
def test_mutated_messages_parse_or_raise_sip_parse_error(data: bytes) -> None:
    judge(data)


@fuzz_settings(150)
@given(st.lists(mutated(SEEDS) | st.sampled_from(SEEDS), min_size=1, max_size=4))
def test_the_endpoint_takes_any_datagram(datagrams: list[bytes]) -> None:
    endpoint = SipEndpoint(("198.18.0.2", 5060))
    for n, data in enumerate(datagrams):
        endpoint.receive_datagram(data, ("198.18.0.10", 5060), float(n))
    endpoint.handle_timer(100.0)
    endpoint.next_events()
    endpoint.datagrams_to_send()
