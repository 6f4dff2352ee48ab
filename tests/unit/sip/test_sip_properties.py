"""Property tests: generated messages round-trip byte-exact; garbage only ever
raises SipParseError; the endpoint never raises on what the network sends."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.sip import NameAddr, SipEndpoint, SipParseError, SipUri, parse_message
from harness.sip.headers import split_header_values

TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
                min_size=1, max_size=12)
ALNUM = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
HOST = st.one_of(
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.lists(ALNUM, min_size=1, max_size=3).map(".".join),
)
PORT = st.one_of(st.none(), st.integers(1, 65535))
# header values: printable, no CR/LF, no leading/trailing blanks
VALUE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n"),
    min_size=1, max_size=30,
).map(str.strip).filter(bool)
SPACING = st.sampled_from([" ", "", "  ", "\t"])


@st.composite
def uris(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["sip", "sips"]))
    user = draw(st.one_of(st.none(), ALNUM))
    host = draw(HOST)
    port = draw(PORT)
    params = draw(st.lists(st.tuples(ALNUM, st.one_of(st.none(), ALNUM)), max_size=3,
                           unique_by=lambda p: p[0]))
    text = f"{scheme}:" + (f"{user}@" if user else "") + host + (f":{port}" if port else "")
    return text + "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


@st.composite
def name_addrs(draw: st.DrawFn) -> str:
    uri = draw(uris())
    display = draw(st.one_of(
        st.none(),
        st.text("abc ,;<>@:xyz", min_size=1, max_size=10).map(lambda s: f'"{s}"'),
    ))
    tag = draw(st.one_of(st.none(), ALNUM))
    text = f"{display} <{uri}>" if display else f"<{uri}>"
    return text + (f";tag={tag}" if tag else "")


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    is_request = draw(st.booleans())
    method = draw(st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "X-FOO"]))
    if is_request:
        start = f"{method} {draw(uris())} SIP/2.0"
    else:
        start = f"SIP/2.0 {draw(st.integers(100, 699))} {draw(st.one_of(st.just(''), VALUE))}"

    def name(full: str, compact: str | None) -> str:
        choices = [full, full.lower(), full.upper()] + ([compact] if compact else [])
        return draw(st.sampled_from(choices))

    headers = [
        f"{name('Via', 'v')}:{draw(SPACING)}SIP/2.0/UDP {draw(HOST)};branch=z9hG4bK"
        f"{draw(ALNUM)}",
        f"{name('From', 'f')}:{draw(SPACING)}{draw(name_addrs())}",
        f"{name('To', 't')}:{draw(SPACING)}{draw(name_addrs())}",
        f"{name('Call-ID', 'i')}:{draw(SPACING)}{draw(ALNUM)}@{draw(HOST)}",
        f"CSeq:{draw(SPACING)}{draw(st.integers(0, 2**31 - 1))} {method}",
    ]
    extra = draw(st.lists(st.tuples(TOKEN, VALUE, SPACING, st.booleans()), max_size=5))
    for hname, value, sp, fold in extra:
        if hname.lower() in {"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq",
                             "content-length", "l", "max-forwards", "route", "record-route",
                             "contact", "m"}:
            continue
        line = f"{hname}:{sp}{value}"
        if fold:
            line += f"\r\n {draw(VALUE)}"
        headers.append(line)
    headers = draw(st.permutations(headers))
    body = draw(st.binary(max_size=40))
    if draw(st.booleans()) or body:
        headers.append(f"{name('Content-Length', 'l')}:{draw(SPACING)}{len(body)}")
    return ("\r\n".join([start, *headers]) + "\r\n\r\n").encode() + body


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_generated_messages_round_trip(data: bytes) -> None:
    message = parse_message(data)
    assert bytes(message) == data
    assert parse_message(bytes(message)) == message
    message.vias, message.from_, message.to, message.cseq  # noqa: B018


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_garbage_only_raises_parse_error(data: bytes) -> None:
    try:
        parse_message(data)
    except SipParseError as exc:
        assert exc.data == data and str(exc)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.data())
def test_mutated_messages_only_raise_parse_error(data: bytes, draw: st.DataObject) -> None:
    pos = draw.draw(st.integers(0, len(data)))
    junk = draw.draw(st.binary(max_size=5) | st.sampled_from(
        [b":", b",", b";", b"<", b">", b'"', b"\r\n", b"\n", b" ", b"@", b"[", b"\\"]))
    cut = draw.draw(st.integers(0, 5))
    mutated = data[:pos] + junk + data[pos + cut:]
    try:
        message = parse_message(mutated)
    except SipParseError:
        return
    # whatever parsed has usable key headers
    message.vias, message.from_, message.to, message.cseq, message.call_id  # noqa: B018
    message.contact, message.routes, message.record_routes  # noqa: B018


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages() | st.binary(max_size=80), min_size=1, max_size=4))
def test_endpoint_never_raises_on_network_input(datagrams: list[bytes]) -> None:
    endpoint = SipEndpoint(("198.18.0.2", 5060))
    for i, data in enumerate(datagrams):
        endpoint.receive_datagram(data, ("198.18.0.1", 5060), float(i))
    endpoint.handle_timer(100.0)
    endpoint.next_events()
    endpoint.datagrams_to_send()


@given(uris())
def test_uri_round_trip(text: str) -> None:
    assert str(SipUri.parse(text)) == text


@given(st.lists(name_addrs(), min_size=1, max_size=4), SPACING)
def test_list_split_round_trip(addrs: list[str], sp: str) -> None:
    joined = ("," + sp).join(addrs)
    parts = split_header_values(joined)
    assert parts == addrs
    assert [str(NameAddr.parse(p)) for p in parts] == addrs
