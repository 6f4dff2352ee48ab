"""Wire format: byte-exact round trip, header table, list splitting, strict errors, builders."""

from __future__ import annotations

import pytest

from harness.sip import (
    HEADER_TABLE,
    CSeq,
    Headers,
    NameAddr,
    Request,
    Response,
    SipParseError,
    Via,
    build_request,
    build_response,
    parse_message,
)


def crlf(*lines: str, body: bytes = b"") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


BASE = (
    "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK74bf9",
    "From: Alice <sip:alice@198.18.0.1>;tag=9fxced76sl",
    "To: Bob <sip:bob@198.18.0.2>",
    "Call-ID: 3848276298220188511@198.18.0.1",
)

ROUND_TRIP = [
    crlf("OPTIONS sip:198.18.0.2 SIP/2.0", *BASE, "CSeq: 1 OPTIONS", "Content-Length: 0"),
    crlf("SIP/2.0 200 OK", *BASE, "CSeq: 1 OPTIONS", "Content-Length: 0"),
    crlf("SIP/2.0 200 ", *BASE, "CSeq: 1 OPTIONS"),  # empty reason phrase
    crlf("SIP/2.0 404 Not  Found  ", *BASE, "CSeq: 1 OPTIONS"),  # odd spacing in reason
    # compact forms, odd spacing, a folded line, lower-case names
    crlf(
        "INVITE sip:bob@198.18.0.2 SIP/2.0",
        "v:SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKa",
        "f :  <sip:alice@198.18.0.1>;tag=1",
        "t:\t<sip:bob@198.18.0.2>",
        "i: abc",
        "cseq: 7 INVITE",
        "subject: a very",
        "  long subject",
        "X-Custom-Thing:   keep   my   spaces",
        "l: 3",
        body=b"abc",
    ),
    # no Content-Length: the body is the rest of the datagram
    crlf("MESSAGE sip:bob@198.18.0.2 SIP/2.0", *BASE, "CSeq: 2 MESSAGE", "c: text/plain",
         body=b"hello\r\n"),
    # unknown method, sips, IPv6
    crlf("PUBLISH sips:bob@[2001:db8::1]:5061;transport=tls SIP/2.0",
         "Via: SIP/2.0/TLS [2001:db8::2]:5061;branch=z9hG4bKx",
         "From: <sips:alice@[2001:db8::2]>;tag=a", "To: <sips:bob@[2001:db8::1]>",
         "Call-ID: x", "CSeq: 1 PUBLISH", "Event: presence", "Expires: 3600",
         "Content-Length: 0"),
    # non-UTF-8-free but UTF-8 display name
    crlf("SIP/2.0 180 Ringing", "Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bK1",
         'From: "Zoë, Ünïcode" <sip:z@198.18.0.1>;tag=1', "To: <sip:b@198.18.0.2>;tag=2",
         "Call-ID: y", "CSeq: 5 INVITE", "Content-Length: 0"),
]


@pytest.mark.parametrize("data", ROUND_TRIP)
def test_round_trip_byte_exact(data: bytes) -> None:
    message = parse_message(data)
    assert bytes(message) == data
    # and a copy of the headers serialises the same
    assert parse_message(bytes(message)) == message


def test_content_length_cuts_extra_bytes() -> None:
    data = crlf("OPTIONS sip:198.18.0.2 SIP/2.0", *BASE, "CSeq: 1 OPTIONS", "l: 2",
                body=b"okEXTRA")
    message = parse_message(data)
    assert message.body == b"ok"


def test_compact_forms_are_found_by_full_name() -> None:
    message = parse_message(ROUND_TRIP[4])
    h = message.headers
    assert h.get("Via") == "SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKa"
    assert h.get("from") == "<sip:alice@198.18.0.1>;tag=1"
    assert h.get("Call-ID") == h.get("i") == "abc"
    assert h.get("Content-Length") == "3"
    assert h.get("Subject") == "a very long subject"
    assert "CSEQ" in h and "Contact" not in h
    assert message.cseq == CSeq(7, "INVITE")


def test_header_table_rows() -> None:
    by_name = {row.name: row for row in HEADER_TABLE}
    assert by_name["Via"].compact == "v" and by_name["Via"].multi
    assert by_name["Refer-To"].compact == "r"
    assert by_name["Session-Expires"].compact == "x"
    assert by_name["Event"].compact == "o"
    assert not by_name["WWW-Authenticate"].multi  # commas inside challenges
    compacts = [row.compact for row in HEADER_TABLE if row.compact]
    assert len(compacts) == len(set(compacts))


def test_multi_value_split_respects_quotes_and_brackets() -> None:
    headers = Headers(
        [
            ("Contact", '"Smith, John" <sip:j@198.18.0.1;p="a,b">;q=0.5, <sip:k@198.18.0.2>'),
            ("m", "sip:l@198.18.0.3;expires=60"),
            ("Route", "<sip:198.18.0.10;lr>,<sip:198.18.0.11;lr>"),
            ("Supported", "timer, 100rel ,replaces"),
            ("Subject", "hello, world"),
            ("WWW-Authenticate", 'Digest realm="x", nonce="y"'),
        ]
    )
    contacts = headers.get_all("Contact")
    assert contacts == [
        '"Smith, John" <sip:j@198.18.0.1;p="a,b">;q=0.5',
        "<sip:k@198.18.0.2>",
        "sip:l@198.18.0.3;expires=60",
    ]
    assert NameAddr.parse(contacts[0]).display_name == "Smith, John"
    assert headers.get_all("Supported") == ["timer", "100rel", "replaces"]
    assert headers.get("Route") == "<sip:198.18.0.10;lr>"
    assert headers.get_all("Subject") == ["hello, world"]
    assert headers.get_all("WWW-Authenticate") == ['Digest realm="x", nonce="y"']
    assert headers.get_lines("Contact")[1] == "sip:l@198.18.0.3;expires=60"


def test_vias_split_across_lines_and_commas() -> None:
    data = crlf(
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bKp1, SIP/2.0/UDP 198.18.0.11:5070"
        ";branch=z9hG4bKp2;received=198.18.0.99",
        "v: SIP / 2.0 / UDP 198.18.0.1:5060;rport=5060;branch=z9hG4bKc",
        *BASE[1:],
        "CSeq: 1 INVITE",
    )
    vias = parse_message(data).vias
    assert [v.branch for v in vias] == ["z9hG4bKp1", "z9hG4bKp2", "z9hG4bKc"]
    assert vias[1].sent_by == ("198.18.0.11", 5070) and vias[1].received == "198.18.0.99"
    assert vias[2].rport == 5060 and vias[0].sent_by == ("198.18.0.10", 5060)


def test_headers_editing() -> None:
    message = parse_message(ROUND_TRIP[0])
    h = message.headers
    h.set("Max-Forwards", "5")
    h.add("Route", "<sip:198.18.0.10;lr>")
    h.set("v", "SIP/2.0/UDP 198.18.0.9;branch=z9hG4bKnew")
    copy = h.copy()
    copy.remove("Route")
    assert "Route" in h and "Route" not in copy
    text = bytes(message).decode()
    # set() replaces the Via in place, spelled as asked
    assert text.startswith("OPTIONS sip:198.18.0.2 SIP/2.0\r\nv: SIP/2.0/UDP 198.18.0.9;")
    assert "Max-Forwards: 5\r\n" in text and text.count("SIP/2.0/UDP") == 1
    assert list(h)[-1] == ("Route", "<sip:198.18.0.10;lr>")
    assert len(h) == 8


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"", None, "no empty line"),
        (b"INVITE sip:a@b SIP/2.0\nVia: x\n\n", 1, "LF only"),
        (crlf("INVITE sip:a@b SIP/2.0", *BASE, "CSeq: 1 INVITE").replace(b"\r\nTo", b"\nTo"),
         3, "bare LF"),
        (crlf("INVITE  sip:a@b SIP/2.0", *BASE, "CSeq: 1 INVITE"), 1, "request line"),
        (crlf("INVITE sip:a@b SIP/3", *BASE, "CSeq: 1 INVITE"), 1, "version"),
        (crlf("INVITE nope SIP/2.0", *BASE, "CSeq: 1 INVITE"), 1, "Request-URI"),
        (crlf("SIP/2.0 2OO OK", *BASE, "CSeq: 1 INVITE"), 1, "three digits"),
        (crlf("SIP/2.0 200", *BASE, "CSeq: 1 INVITE"), 1, "status line"),
        (crlf("SIP/2.0 700 Huh", *BASE, "CSeq: 1 INVITE"), 1, "100-699"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE, "CSeq 1 BYE"), 6, "without a colon"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE), None, "missing mandatory header CSeq"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE[1:], "CSeq: 1 BYE"), None, "Via"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE, "CSeq: 1 INVITE"), 6, "does not match"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE, "CSeq: one BYE"), 6, "CSeq"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE, "CSeq: 1 BYE", "Content-Length: 9"), 7,
         "larger than the body"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE, "CSeq: 1 BYE", "l: -1"), 7, "not a number"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE, "CSeq: 1 BYE", "CSeq: 2 BYE"), 7, "more than one"),
        (crlf("BYE sip:a@b SIP/2.0", " folded", *BASE, "CSeq: 1 BYE"), 2, "continuation"),
        (crlf("BYE sip:a@b SIP/2.0", "Via: SIP/2.0/UDP", *BASE[1:], "CSeq: 1 BYE"), 2, "Via"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE[:1], "From: <sip:a@b", *BASE[2:], "CSeq: 1 BYE"),
         3, "missing '>'"),
        (crlf("BYE sip:a@b SIP/2.0", *BASE, "CSeq: 1 BYE", "Bad Name: x"), 7, "header name"),
        (b"BYE sip:a@b SIP/2.0\r\nX: \xff\xfe\r\n\r\n", 2, "UTF-8"),
    ],
)
def test_parse_errors_say_what_and_where(data: bytes, line: int | None, words: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    error = info.value
    assert words in str(error), str(error)
    assert error.line == line
    assert error.data == data
    if line is not None:
        assert str(error).startswith(f"line {line}:")


def test_build_request_valid_by_default() -> None:
    request = build_request(
        "INVITE",
        "sip:bob@198.18.0.2",
        via=Via("198.18.0.1", 5060, params={"branch": "z9hG4bKabc", "rport": None}),
        from_=NameAddr.parse('"Alice" <sip:alice@198.18.0.1>;tag=1'),
        to="<sip:bob@198.18.0.2>",
        call_id="c1@198.18.0.1",
        cseq=10,
        contact="<sip:alice@198.18.0.1:5060>",
        route=["<sip:198.18.0.10;lr>"],
        body=b"v=0\r\n",
        content_type="application/sdp",
        extra=[("Supported", "timer")],
    )
    data = bytes(request)
    assert data == (
        b"INVITE sip:bob@198.18.0.2 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKabc;rport\r\n"
        b"Max-Forwards: 70\r\n"
        b"Route: <sip:198.18.0.10;lr>\r\n"
        b'From: "Alice" <sip:alice@198.18.0.1>;tag=1\r\n'
        b"To: <sip:bob@198.18.0.2>\r\n"
        b"Call-ID: c1@198.18.0.1\r\n"
        b"CSeq: 10 INVITE\r\n"
        b"Contact: <sip:alice@198.18.0.1:5060>\r\n"
        b"Supported: timer\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 5\r\n"
        b"\r\n"
        b"v=0\r\n"
    )
    assert parse_message(data) == request
    with pytest.raises(ValueError):
        build_request("IN VITE", "sip:b@x", via="SIP/2.0/UDP x", from_="<sip:a@x>",
                      to="<sip:b@x>", call_id="c", cseq=1)
    with pytest.raises(ValueError):
        build_request("INFO", "sip:b@x", via="SIP/2.0/UDP x", from_="<sip:a@x>",
                      to="<sip:b@x>", call_id="c", cseq=1, body=b"x")


def test_wrong_on_purpose_max_forwards_omitted_and_body_changed() -> None:
    request = build_request("OPTIONS", "sip:x@198.18.0.2", via="SIP/2.0/UDP 198.18.0.1",
                            from_="<sip:a@198.18.0.1>;tag=1", to="<sip:x@198.18.0.2>",
                            call_id="c", cseq=1, max_forwards=None)
    assert "Max-Forwards" not in request.headers
    request.body = b"four"  # Content-Length is left alone: a deliberate fault
    assert b"Content-Length: 0\r\n\r\nfour" in bytes(request)
    request.set_body(b"four", "text/plain")
    assert parse_message(bytes(request)).body == b"four"


def test_build_response_copies_and_tags() -> None:
    invite = parse_message(
        crlf(
            "INVITE sip:bob@198.18.0.2 SIP/2.0",
            "Via: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bKp1",
            "v: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKc;rport=5060",
            "Record-Route: <sip:198.18.0.10;lr>",
            "Max-Forwards: 69",
            "From: Alice <sip:alice@198.18.0.1>;tag=9fxced76sl",
            "To: Bob <sip:bob@198.18.0.2>",
            "Call-ID: abc",
            "CSeq: 1 INVITE",
            "Timestamp: 54",
        )
    )
    assert isinstance(invite, Request)
    trying = build_response(invite, 100)
    ringing = build_response(invite, 180, to_tag="t1", contact="<sip:bob@198.18.0.2>")
    ok = build_response(invite, 200, to_tag="t1", body=b"v=0\r\n", content_type="application/sdp")
    busy = build_response(invite, 486)
    for response in (trying, ringing, ok, busy):
        assert isinstance(response, Response)
        assert [v.branch for v in response.vias] == ["z9hG4bKp1", "z9hG4bKc"]
        assert response.call_id == "abc" and response.cseq == CSeq(1, "INVITE")
        assert response.from_.tag == "9fxced76sl"
        assert parse_message(bytes(response)) == response
    assert (trying.reason, ringing.reason, ok.reason, busy.reason) == (
        "Trying", "Ringing", "OK", "Busy Here")
    assert trying.to.tag is None and trying.headers.get("Timestamp") == "54"
    assert ringing.to.tag == "t1" and ringing.to.display_name == "Bob"
    assert [str(r) for r in ok.record_routes] == ["<sip:198.18.0.10;lr>"]
    assert not busy.record_routes and "Timestamp" not in ok.headers
    assert ok.headers.get("Content-Length") == "5"
    assert build_response(invite, 487).reason == "Request Terminated"
    assert build_response(invite, 499).reason == "Client Error"
    assert build_response(invite, 299, "Fine").reason == "Fine"
    tagged = parse_message(bytes(ringing))
    assert isinstance(tagged, Response)
    # To already tagged: the given tag does not replace it
    req2 = Request(invite.method, invite.uri, tagged.headers.copy())
    assert build_response(req2, 200, to_tag="other").to.tag == "t1"


def test_message_properties() -> None:
    data = crlf(
        "INVITE sip:bob@198.18.0.2 SIP/2.0",
        *BASE,
        "CSeq: 1 INVITE",
        "Route: <sip:198.18.0.10;lr>, <sip:198.18.0.11;lr>",
        "Record-Route: <sip:198.18.0.12;lr>",
        "Contact: *",
        "Content-Type: application/sdp",
    )
    message = parse_message(data)
    assert message.call_id == "3848276298220188511@198.18.0.1"
    assert message.from_.tag == "9fxced76sl" and message.to.tag is None
    assert [r.uri.host for r in message.routes] == ["198.18.0.10", "198.18.0.11"]
    assert all(r.uri.lr for r in message.routes)
    assert message.record_routes[0].uri.host == "198.18.0.12"
    assert message.contact is None
    assert message.content_type == "application/sdp"
    assert message.top_via.branch == "z9hG4bK74bf9"
