"""SessionDescription: byte-exact round trips, structured access, editing, errors."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from harness.sdp import (
    Attribute,
    Bandwidth,
    Candidate,
    Connection,
    Direction,
    MediaDescription,
    RawLine,
    RtcpAttribute,
    RtpMap,
    SdpParseError,
    SessionDescription,
    effective_address,
    effective_connection,
    effective_direction,
)

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "sdp"
PACKAGE = ROOT / "harness" / "sdp"
ALL_FIXTURES = sorted(FIXTURES.glob("*.sdp"))

SIMPLE = (
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 198.18.0.10\r\n"
    "s=-\r\n"
    "c=IN IP4 198.18.0.10\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 97\r\n"
    "a=rtpmap:97 iLBC/8000\r\n"
    "a=fmtp:97 mode=30\r\n"
    "a=sendonly\r\n"
)


def parse(text: str) -> SessionDescription:
    return SessionDescription.parse(text)


# --- round trips ------------------------------------------------------------------


def test_fixture_directory_is_not_empty() -> None:
    assert len(ALL_FIXTURES) >= 6


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_fixture_round_trips_byte_exact(path: Path) -> None:
    data = path.read_bytes()
    sd = SessionDescription.parse(data)
    assert bytes(sd) == data
    assert str(sd) == data.decode("utf-8")
    assert bytes(SessionDescription.parse(data.decode("utf-8"))) == data
    assert bytes(sd.copy()) == data


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_fixture_helpers_parse(path: Path) -> None:
    sd = SessionDescription.parse(path.read_bytes())
    for index, md in enumerate(sd.media):
        md.rtpmaps()
        md.fmtp()
        md.crypto()
        md.candidates()
        assert md.rtcp is None or isinstance(md.rtcp, RtcpAttribute)
        assert effective_address(sd, index)
        assert effective_direction(sd, index) in set(Direction)


def test_fixture_files_use_the_line_endings_their_names_promise() -> None:
    for path in ALL_FIXTURES:
        data = path.read_bytes()
        if path.stem.endswith("_lf"):
            assert b"\r" not in data
        else:
            assert data.count(b"\r\n") == data.count(b"\n")


@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_line_endings_preserved(eol: str) -> None:
    text = SIMPLE.replace("\r\n", eol)
    sd = parse(text)
    assert str(sd) == text
    assert sd.line_ending == eol


def test_mixed_line_endings_and_no_final_newline() -> None:
    text = "v=0\r\no=- 1 1 IN IP4 198.18.0.1\ns=-\r\nt=0 0\nm=audio 1 RTP/AVP 0\r\na=sendrecv"
    assert str(parse(text)) == text


def test_new_line_after_unterminated_last_line_gets_an_ending() -> None:
    sd = parse(SIMPLE.rstrip("\r\n"))
    sd.media[0].add_attribute("ptime", "20")
    assert str(sd).endswith("a=sendonly\r\na=ptime:20\r\n")


def test_unknown_and_blank_lines_kept_in_place() -> None:
    text = (
        "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nx=vendor thing\r\n"
        "t=0 0\r\nr=7d 1h 0 25h\r\nm=audio 1 RTP/AVP 0\r\ny=  spaced  \r\n\r\n"
        "t=1 2\r\nc=IN IP4 198.18.0.2\r\nc=IN IP4 198.18.0.3\r\n"
    )
    sd = parse(text)
    assert str(sd) == text
    assert [(ln.type, ln.value) for ln in sd.other_lines] == [("x", "vendor thing"),
                                                              ("r", "7d 1h 0 25h")]
    md = sd.media[0]
    assert [ln.type for ln in md.other_lines] == ["y", "", "t", "c"]
    assert md.connection == Connection("IN", "IP4", "198.18.0.2")
    sd.media[0].port = 2
    assert str(sd) == text.replace("m=audio 1 ", "m=audio 2 ")


def test_irregular_spacing_survives_until_edited() -> None:
    text = SIMPLE.replace("o=alice 2890844526", "o=alice  2890844526")
    sd = parse(text)
    assert str(sd) == text
    assert sd.origin.sess_id == 2890844526
    sd.origin.address = "198.18.0.99"
    assert "o=alice 2890844526 2890844526 IN IP4 198.18.0.99\r\n" in str(sd)


# --- structured access ------------------------------------------------------------


def test_structured_fields() -> None:
    sd = parse(SIMPLE)
    assert sd.version == 0
    assert (sd.origin.username, sd.origin.sess_id, sd.origin.sess_version) == (
        "alice", 2890844526, 2890844526)
    assert (sd.origin.nettype, sd.origin.addrtype, sd.origin.address) == (
        "IN", "IP4", "198.18.0.10")
    assert sd.session_name == "-"
    assert sd.connection == Connection("IN", "IP4", "198.18.0.10")
    assert [(t.start, t.stop) for t in sd.times] == [(0, 0)]
    md = sd.media[0]
    assert (md.kind, md.port, md.port_count, md.proto, md.formats) == (
        "audio", 49170, None, "RTP/AVP", ["0", "8", "97"])
    assert md.rtpmaps() == {
        "0": RtpMap(0, "PCMU", 8000),
        "8": RtpMap(8, "PCMA", 8000),
        "97": RtpMap(97, "iLBC", 8000),
    }
    assert md.fmtp() == {"97": "mode=30"}
    assert md.direction == Direction.SENDONLY
    assert str(md.direction) == "sendonly"
    assert md.rtcp is None and not md.rtcp_mux
    assert md.get_attribute("fmtp") == Attribute("fmtp", "97 mode=30")
    assert md.get_attribute("nope") is None


def test_static_payload_types_without_rtpmap() -> None:
    sd = parse(SIMPLE.replace("0 8 97", "0 8 9 18 96"))
    maps = sd.media[0].rtpmaps()
    assert [str(m) for m in maps.values()] == [
        "0 PCMU/8000", "8 PCMA/8000", "9 G722/8000", "18 G729/8000"]
    assert "96" not in maps


def test_explicit_rtpmap_overrides_static_table() -> None:
    sd = parse(SIMPLE + "a=rtpmap:0 PCMU/8000/1\r\n")
    assert sd.media[0].rtpmaps()["0"] == RtpMap(0, "PCMU", 8000, 1)


def test_session_level_vs_media_level_connection() -> None:
    data = (FIXTURES / "offer_polycom_video.sdp").read_bytes()
    sd = SessionDescription.parse(data)
    assert sd.connection is None
    assert effective_address(sd, 1) == "198.18.0.40"
    plain = parse(SIMPLE)
    assert plain.media[0].connection is None
    assert effective_connection(plain, 0) is plain.connection
    text = SIMPLE.replace("t=0 0\r\nm=audio 49170 RTP/AVP 0 8 97\r\n",
                          "t=0 0\r\nm=audio 49170 RTP/AVP 0 8 97\r\nc=IN IP4 198.18.0.77\r\n")
    both = parse(text)
    assert effective_address(both, 0) == "198.18.0.77"
    assert str(both) == text


def test_missing_connection_everywhere_is_reported() -> None:
    sd = parse(SIMPLE.replace("c=IN IP4 198.18.0.10\r\n", ""))
    with pytest.raises(SdpParseError) as err:
        effective_address(sd, 0)
    assert err.value.line == 5


def test_multicast_connection_fields() -> None:
    assert Connection.parse("IN IP4 224.2.1.1/127/3") == Connection(
        "IN", "IP4", "224.2.1.1", 127, 3)
    assert Connection.parse("IN IP4 224.2.1.1/127").ttl == 127
    six = Connection.parse("IN IP6 ff15::101/3")
    assert (six.ttl, six.count) == (None, 3)
    assert str(Connection.parse("IN IP4 224.2.1.1/127/3")) == "IN IP4 224.2.1.1/127/3"


def test_direction_defaults_and_session_fallback() -> None:
    sd = parse(SIMPLE.replace("a=sendonly\r\n", ""))
    assert sd.media[0].direction == Direction.SENDRECV
    assert sd.media[0].explicit_direction is None
    sd.add_attribute("recvonly")
    assert effective_direction(sd, 0) == Direction.RECVONLY
    sd.media[0].direction = "inactive"
    assert effective_direction(sd, 0) == Direction.INACTIVE
    assert str(sd).endswith("a=fmtp:97 mode=30\r\na=inactive\r\n")


def test_ice_and_crypto_helpers_on_teams_answer() -> None:
    sd = SessionDescription.parse((FIXTURES / "answer_teams_ice.sdp").read_bytes())
    md = sd.media[0]
    assert md.ice_ufrag == "KLhC"
    assert md.ice_pwd == "N6WNVqiwJR2RhIjMbYzM7KJj"
    cands = md.candidates()
    assert len(cands) == 6
    assert (cands[0].component, cands[0].type, cands[0].port) == (1, "host", 52884)
    assert cands[2].related_address == "198.18.0.30" and cands[2].related_port == 52884
    assert cands[4].transport == "tcp-act"
    assert md.rtcp == RtcpAttribute(52885)
    (crypto,) = md.crypto()
    assert (crypto.tag, crypto.suite) == (2, "AES_CM_128_HMAC_SHA1_80")
    assert crypto.key_params[0].mki == 1 and crypto.key_params[0].lifetime == "2^31"
    assert [b.bwtype for b in sd.bandwidths] == ["CT"]


def test_candidate_round_trip() -> None:
    text = "2 1 UDP 1694498815 198.19.2.10 52884 typ srflx raddr 198.18.0.30 rport 52884"
    cand = Candidate.parse(text)
    assert str(cand) == text
    assert Candidate.parse("candidate:" + text) == cand
    assert cand.extensions == [("raddr", "198.18.0.30"), ("rport", "52884")]
    with pytest.raises(SdpParseError):
        Candidate.parse("1 1 UDP 1 198.18.0.1 5000 host")
    with pytest.raises(SdpParseError):
        Candidate.parse("1 1 UDP 1 198.18.0.1 5000 typ host generation")


def test_rtcp_attribute_with_address() -> None:
    rtcp = RtcpAttribute.parse("53020 IN IP4 198.18.0.2")
    assert rtcp == RtcpAttribute(53020, "IN", "IP4", "198.18.0.2")
    assert str(rtcp) == "53020 IN IP4 198.18.0.2"


# --- editing ------------------------------------------------------------------------


def test_edit_port_and_connection() -> None:
    sd = parse(SIMPLE)
    sd.media[0].port = 4000
    assert sd.connection is not None
    sd.connection.address = "198.18.0.2"
    expected = SIMPLE.replace("49170", "4000").replace("c=IN IP4 198.18.0.10",
                                                        "c=IN IP4 198.18.0.2")
    assert str(sd) == expected


def test_add_and_remove_lines_land_in_rfc_order() -> None:
    sd = parse(SIMPLE)
    sd.bandwidths.append(Bandwidth("AS", 64))
    sd.media[0].connection = Connection("IN", "IP4", "198.18.0.5")
    sd.media[0].add_attribute("ptime", "20")
    assert sd.media[0].remove_attributes("fmtp") == 1
    sd.attributes.append(Attribute("tool", "harness"))
    sd.other_lines.append(RawLine("z", "0 0"))
    assert str(sd) == (
        "v=0\r\no=alice 2890844526 2890844526 IN IP4 198.18.0.10\r\ns=-\r\n"
        "c=IN IP4 198.18.0.10\r\nb=AS:64\r\nt=0 0\r\nz=0 0\r\na=tool:harness\r\n"
        "m=audio 49170 RTP/AVP 0 8 97\r\nc=IN IP4 198.18.0.5\r\n"
        "a=rtpmap:97 iLBC/8000\r\na=sendonly\r\na=ptime:20\r\n"
    )


def test_edits_survive_a_reparse() -> None:
    sd = parse(SIMPLE)
    sd.media[0].formats.remove("8")
    sd.origin.sess_version += 1
    sd.session_name = "call"
    again = parse(str(sd))
    assert again.media[0].formats == ["0", "97"]
    assert again.origin.sess_version == 2890844527
    assert again.session_name == "call"


def test_copy_is_independent() -> None:
    sd = parse(SIMPLE)
    clone = sd.copy()
    clone.media[0].port = 1
    clone.media[0].attributes.clear()
    assert str(sd) == SIMPLE
    assert str(clone).endswith("m=audio 1 RTP/AVP 0 8 97\r\n")


def test_build_from_scratch() -> None:
    from harness.sdp import Origin

    md = MediaDescription("audio", 5004, "RTP/AVP", ["0"])
    md.add_attribute("sendrecv")
    sd = SessionDescription(Origin("-", 1, 1, "IN", "IP4", "198.18.0.1"),
                            connection=Connection("IN", "IP4", "198.18.0.1"), media=[md])
    assert str(sd) == (
        "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nc=IN IP4 198.18.0.1\r\nt=0 0\r\n"
        "m=audio 5004 RTP/AVP 0\r\na=sendrecv\r\n"
    )


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", 1),
        ("o=- 1 1 IN IP4 198.18.0.1\r\n", 1),
        ("v=x\r\n", 1),
        ("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", 2),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nc=IN IP4\r\n", 4),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nt=0\r\n", 4),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n", 5),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nt=0 0\r\nm=audio 1\r\n", 5),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nb=AS\r\n", 4),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\nhello\r\n", 4),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\n1=x\r\n", 4),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=-\r\na=:x\r\n", 4),
        ("v=0\r\ns=-\r\n", 1),
        ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\n", 1),
    ],
)
def test_parse_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(SdpParseError) as err:
        parse(text)
    assert isinstance(err.value, ValueError)
    assert err.value.line == line
    assert err.value.reason


def test_attribute_errors_carry_the_attribute_line() -> None:
    sd = parse(SIMPLE + "a=rtpmap:97 iLBC\r\na=crypto:x\r\na=candidate:1 1\r\na=ptime:x\r\n")
    with pytest.raises(SdpParseError) as err:
        sd.media[0].rtpmaps()
    assert err.value.line == 10
    with pytest.raises(SdpParseError) as err:
        sd.media[0].crypto()
    assert err.value.line == 11
    with pytest.raises(SdpParseError) as err:
        sd.media[0].candidates()
    assert err.value.line == 12
    with pytest.raises(SdpParseError) as err:
        _ = sd.media[0].ptime
    assert err.value.line == 13


def test_undecodable_bytes_round_trip() -> None:
    data = SIMPLE.replace("s=-", "s=caf\xe9").encode("latin-1")
    assert bytes(SessionDescription.parse(data)) == data


# --- house rules ------------------------------------------------------------------------

FORBIDDEN = {"socket", "asyncio", "time", "threading", "select", "selectors"}


def test_package_imports_no_io_modules() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_importing_the_package_loads_no_io_modules() -> None:
    code = (
        "import sys; before = set(sys.modules); import harness.sdp; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        f"print(sorted(new & set({sorted(FORBIDDEN - {'time'})!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_same_attribute_object_appended_twice_is_emitted_twice() -> None:
    sd = parse(SIMPLE)
    attr = Attribute("label", "1")
    sd.media[0].attributes += [attr, attr]
    assert str(sd).endswith("a=sendonly\r\na=label:1\r\na=label:1\r\n")
