"""Structured header values: SipUri, NameAddr, Via, CSeq, generators."""

from __future__ import annotations

import pytest

from harness.sip import (
    MAGIC_COOKIE,
    CSeq,
    NameAddr,
    SipParseError,
    SipUri,
    Via,
    new_branch,
    new_call_id,
    new_tag,
)


@pytest.mark.parametrize(
    "text",
    [
        "sip:198.18.0.1",
        "sip:alice@198.18.0.1",
        "sip:alice@198.18.0.1:5070",
        "sips:alice:secret@example.com:5061;transport=tls",
        "sip:198.18.0.10;lr",
        "sip:198.18.0.10;r2=on;lr=on;ftag=9fxced76sl",
        "sip:+15551234567;phone-context=example.com@gw.example.com;user=phone",
        "sip:bob@[2001:db8::1]:5060;maddr=198.18.0.3",
        "sip:bob@example.com?Subject=hi&Priority=urgent",
        "tel:+15551234567;phone-context=+1",
    ],
)
def test_uri_round_trip(text: str) -> None:
    assert str(SipUri.parse(text)) == text


def test_uri_fields() -> None:
    uri = SipUri.parse("sips:alice:pw@example.com:5061;transport=TLS;lr?X=1")
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips", "alice", "pw", "example.com", 5061)
    assert list(uri.params) == ["transport", "lr"] and uri.lr and uri.secure
    assert uri.param("TRANSPORT") == "TLS" and uri.headers == {"X": "1"}
    assert SipUri.parse("sip:198.18.0.1").address() == ("198.18.0.1", 5060)
    assert SipUri.parse("sips:198.18.0.1").address() == ("198.18.0.1", 5061)
    assert SipUri.parse("sip:a@h;maddr=198.18.0.9").address() == ("198.18.0.9", 5060)
    assert SipUri.parse("sip:[2001:db8::1]:5070").address() == ("2001:db8::1", 5070)
    user_with_params = SipUri.parse("sip:+1555;npdi@gw.example.com")
    assert user_with_params.user == "+1555;npdi" and user_with_params.host == "gw.example.com"


@pytest.mark.parametrize(
    "text",
    ["", "alice@example.com", "sip:", "sip:@host", "sip:a@", "sip:a@host:99999", "sip:a@host:x",
     "sip:a@[::1", "sip:a@bad host", "sip:a@ho_st", "sip:a@h;=x", "1sip:a@h"],
)
def test_uri_errors(text: str) -> None:
    with pytest.raises(SipParseError):
        SipUri.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        '"Alice" <sip:alice@198.18.0.1>;tag=9fxced76sl',
        '"Smith, John \\"JJ\\"" <sip:j@198.18.0.1>',
        "Bob <sip:bob@198.18.0.2>;tag=a;x-extra",
        "<sip:198.18.0.10;lr>",
        "sip:bob@198.18.0.2;tag=1234",
        "sip:bob@198.18.0.2",
        "<sip:alice@198.18.0.1:5060;transport=udp>;expires=3600;q=0.7",
        "Zoë Ünïcode <sip:z@198.18.0.1>",
    ],
)
def test_name_addr_round_trip(text: str) -> None:
    assert str(NameAddr.parse(text)) == text


def test_name_addr_fields() -> None:
    quoted = NameAddr.parse('"Smith, John \\"JJ\\"" <sip:j@198.18.0.1;lr>;tag=x')
    assert quoted.display_name == 'Smith, John "JJ"' and quoted.tag == "x"
    assert quoted.uri.lr
    spec = NameAddr.parse("sip:bob@198.18.0.2;tag=1234")
    assert spec.tag == "1234" and not spec.uri.params  # the tag belongs to the header
    tagged = NameAddr.parse("<sip:b@h>").with_tag("t9")
    assert str(tagged) == "<sip:b@h>;tag=t9" and str(tagged.with_tag(None)) == "<sip:b@h>"
    token_name = NameAddr.parse("Bob Smith <sip:b@h>")
    assert token_name.display_name == "Bob Smith" and str(token_name) == "Bob Smith <sip:b@h>"
    built = NameAddr(SipUri.parse("sip:a@h;lr"), display_name="A, B", params={"tag": "1"})
    assert str(built) == '"A, B" <sip:a@h;lr>;tag=1'


@pytest.mark.parametrize(
    "text",
    ['"unterminated <sip:a@h>', '"x" sip:a@h', "<sip:a@h", "<sip:a@h> junk", "A,B <sip:a@h>"],
)
def test_name_addr_errors(text: str) -> None:
    with pytest.raises(SipParseError):
        NameAddr.parse(text)


def test_via() -> None:
    text = "SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK776asdhds;received=198.18.0.9;rport=5066"
    via = Via.parse(text)
    assert str(via) == text
    assert (via.transport, via.host, via.port) == ("UDP", "198.18.0.1", 5060)
    assert via.branch == "z9hG4bK776asdhds" and via.rfc3261_branch
    assert via.received == "198.18.0.9" and via.rport == 5066 and via.rport_requested
    bare = Via.parse("SIP/2.0/TLS proxy.example.com;rport;branch=1234")
    assert bare.rport is None and bare.rport_requested and not bare.rfc3261_branch
    assert bare.sent_by == ("proxy.example.com", 5061)
    assert Via.parse("SIP / 2.0 / UDP  198.18.0.1 ; branch=z9hG4bKx").branch == "z9hG4bKx"
    for bad in ("SIP/2.0 198.18.0.1", "SIP/2.0/UDP", "SIP/2.0/UDP 198.18.0.1:x", ""):
        with pytest.raises(SipParseError):
            Via.parse(bad)


def test_cseq() -> None:
    assert CSeq.parse("314159 INVITE") == CSeq(314159, "INVITE")
    assert CSeq.parse("  1   BYE ") == CSeq(1, "BYE")
    assert str(CSeq(2, "ACK")) == "2 ACK"
    for bad in ("INVITE", "1", "-1 INVITE", "2147483648 INVITE", "1 IN VITE", "x INVITE"):
        with pytest.raises(SipParseError):
            CSeq.parse(bad)


def test_generators() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100 and all(b.startswith(MAGIC_COOKIE) for b in branches)
    assert new_branch(lambda n: b"\x01" * n) == "z9hG4bK0101010101010101"
    assert new_tag(lambda n: b"\xab" * n) == "ab" * 8
    assert new_call_id("198.18.0.1", lambda n: b"\x00" * n) == "00" * 12 + "@198.18.0.1"
    assert "@" not in new_call_id() and new_tag() != new_tag()
