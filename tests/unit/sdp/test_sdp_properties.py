"""Property tests: generated bodies round-trip; garbage raises only SdpParseError."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.sdp import (
    SUITES,
    Candidate,
    CryptoAttribute,
    SdpParseError,
    SessionDescription,
    diff_sdp,
    effective_address,
    effective_direction,
    validate_crypto,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sdp"
FIXTURE_BYTES = [p.read_bytes() for p in sorted(FIXTURES.glob("*.sdp"))]

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_./+", min_size=1,
                max_size=12)
free_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
    max_size=30,
)
number = st.integers(min_value=0, max_value=2**40).map(str)
port = st.integers(min_value=0, max_value=65535).map(str)
address = st.sampled_from(["198.18.0.1", "198.19.255.254", "2001:db8::1", "host.example"])
eol = st.sampled_from(["\r\n", "\n"])
spaces = st.sampled_from([" ", "  ", "\t"])


@st.composite
def connection_value(draw: st.DrawFn) -> str:
    suffix = draw(st.sampled_from(["", "/127", "/127/2"]))
    return f"IN {draw(st.sampled_from(['IP4', 'IP6']))} {draw(address)}{suffix}"


@st.composite
def attribute_value(draw: st.DrawFn) -> str:
    name = draw(st.one_of(token, st.sampled_from(
        ["rtpmap", "fmtp", "sendrecv", "sendonly", "crypto", "candidate", "rtcp", "ptime"])))
    if draw(st.booleans()):
        return name
    return f"{name}:{draw(free_text)}"


def other_line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from("iuepzkrxyZ"))
    return f"{kind}={draw(free_text)}" if draw(st.integers(0, 9)) else ""


@st.composite
def media_lines(draw: st.DrawFn) -> list[str]:
    formats = " ".join(draw(st.lists(st.integers(0, 127).map(str), max_size=5)))
    m = f"m={draw(st.sampled_from(['audio', 'video', 'image']))} {draw(port)}"
    if draw(st.booleans()):
        m += f"/{draw(st.integers(1, 4))}"
    m += f" {draw(st.sampled_from(['RTP/AVP', 'RTP/SAVP', 'udptl', 'UDP/TLS/RTP/SAVPF']))}"
    lines = [m + (" " + formats if formats else "")]
    body = draw(st.lists(st.sampled_from("cbaox"), max_size=8))
    for kind in body:
        if kind == "c":
            lines.append(f"c={draw(connection_value())}")
        elif kind == "b":
            lines.append(f"b={draw(token)}:{draw(number)}")
        elif kind == "a":
            lines.append(f"a={draw(attribute_value())}")
        else:
            lines.append(other_line(draw))
    return lines


@st.composite
def sdp_text(draw: st.DrawFn) -> str:
    sp = draw(spaces)
    lines = [
        "v=0",
        f"o={draw(token)}{sp}{draw(number)} {draw(number)} IN IP4 {draw(address)}",
        f"s={draw(free_text)}",
    ]
    for kind in draw(st.lists(st.sampled_from("cbtao"), max_size=8)):
        if kind == "c":
            lines.append(f"c={draw(connection_value())}")
        elif kind == "b":
            lines.append(f"b={draw(token)}:{draw(number)}")
        elif kind == "t":
            lines.append(f"t={draw(number)} {draw(number)}")
        elif kind == "a":
            lines.append(f"a={draw(attribute_value())}")
        else:
            lines.append(other_line(draw))
    for section in draw(st.lists(media_lines(), max_size=3)):
        lines += section
    endings = [draw(eol) for _ in lines]
    if draw(st.booleans()):
        endings[-1] = ""
    return "".join(line + end for line, end in zip(lines, endings, strict=True))


@SETTINGS
@given(sdp_text())
def test_generated_sdp_round_trips(text: str) -> None:
    sd = SessionDescription.parse(text)
    assert str(sd) == text
    assert bytes(sd) == text.encode("utf-8")
    assert str(sd.copy()) == text


@SETTINGS
@given(sdp_text(), st.integers(0, 65535), st.text(alphabet="abc", min_size=1, max_size=5))
def test_edits_are_serialised_and_reparse(text: str, new_port: int, name: str) -> None:
    sd = SessionDescription.parse(text)
    sd.origin.sess_version += 1
    for md in sd.media:
        md.port = new_port
        md.add_attribute(name, "1")
    again = SessionDescription.parse(str(sd))
    assert again.origin.sess_version == sd.origin.sess_version
    assert [m.port for m in again.media] == [new_port] * len(sd.media)
    assert all(m.get_attributes(name)[-1].value == "1" for m in again.media)
    assert str(again) == str(sd)


def exercise(sd: SessionDescription) -> None:
    """Every helper either works or raises SdpParseError."""
    for index, md in enumerate(sd.media):
        for helper in (md.rtpmaps, md.fmtp, md.crypto, md.candidates):
            try:
                helper()
            except SdpParseError:
                pass
        for name in ("rtcp", "ptime"):
            try:
                getattr(md, name)
            except SdpParseError:
                pass
        try:
            effective_address(sd, index)
        except SdpParseError:
            pass
        effective_direction(sd, index)
    assert diff_sdp(sd, sd) == []
    assert SessionDescription.parse(bytes(sd)) is not None


@SETTINGS
@given(st.binary(max_size=300))
def test_garbage_bytes_raise_only_sdp_parse_error(data: bytes) -> None:
    try:
        sd = SessionDescription.parse(data)
    except SdpParseError:
        return
    assert bytes(sd) == data
    exercise(sd)


@SETTINGS
@given(st.text(max_size=300))
def test_garbage_text_raises_only_sdp_parse_error(text: str) -> None:
    try:
        SessionDescription.parse("v=0\r\n" + text)
    except SdpParseError:
        pass


@SETTINGS
@given(
    st.sampled_from(FIXTURE_BYTES),
    st.lists(st.tuples(st.integers(0, 2000), st.binary(max_size=4), st.integers(0, 4)),
             min_size=1, max_size=6),
)
def test_mutated_fixtures_raise_only_sdp_parse_error(
    data: bytes, edits: list[tuple[int, bytes, int]]
) -> None:
    buf = bytearray(data)
    for at, insert, cut in edits:
        at %= len(buf) + 1
        buf[at : at + cut] = insert
    try:
        sd = SessionDescription.parse(bytes(buf))
    except SdpParseError:
        return
    assert bytes(sd) == bytes(buf)
    exercise(sd)


@SETTINGS
@given(st.text(max_size=120))
def test_attribute_parsers_raise_only_sdp_parse_error(value: str) -> None:
    for parse in (CryptoAttribute.parse, Candidate.parse):
        try:
            parsed = parse(value)
        except SdpParseError:
            continue
        str(parsed)
    try:
        validate_crypto(CryptoAttribute.parse(value))
    except SdpParseError:
        pass


@SETTINGS
@given(
    st.integers(0, 999_999_999),
    st.sampled_from(sorted(SUITES)),
    st.one_of(st.none(), st.integers(1, 48).map(lambda n: f"2^{n}"),
              st.integers(1, 2**40).map(str)),
    st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    st.lists(st.sampled_from(["KDR=1", "UNENCRYPTED_SRTCP", "WSH=64"]), max_size=2),
)
def test_generated_crypto_round_trips(
    tag: int, suite: str, lifetime: str | None, mki: int | None, params: list[str]
) -> None:
    attr = CryptoAttribute.generate(tag, suite, lifetime=lifetime, mki=mki,
                                    session_params=params)
    again = CryptoAttribute.parse(str(attr))
    assert again == attr and str(again) == str(attr)
    problems = validate_crypto(again)
    assert problems == ([] if SUITES[suite].supported else
                        [f"crypto suite {suite} is not supported"])


@SETTINGS
@given(
    token, st.integers(1, 256), st.sampled_from(["UDP", "TCP", "tcp-act"]),
    st.integers(0, 2**32 - 1), address, st.integers(0, 65535),
    st.sampled_from(["host", "srflx", "relay", "prflx"]),
    st.lists(st.tuples(token, token), max_size=3),
)
def test_generated_candidates_round_trip(
    foundation: str, component: int, transport: str, priority: int, ip: str, port_: int,
    kind: str, extensions: list[tuple[str, str]],
) -> None:
    cand = Candidate(foundation, component, transport, priority, ip, port_, kind, extensions)
    assert Candidate.parse(str(cand)) == cand
