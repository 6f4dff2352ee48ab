"""Fuzzing the STUN reader: `parse` answers (message, None) or (None, reason) for any bytes;
`attribute_types`, `framing_problem` and `is_stun` never raise; what parses can be judged
as the ICE agent judges it. Seeds are the STUN messages of a real call through rtpengine
(ICE-Lite)."""

from __future__ import annotations

import struct

from aioice import stun as aio
from fuzz_support import captured_payloads, fuzz_settings, mutated
from hypothesis import example, given
from hypothesis import strategies as st

from harness.capture.classify import PacketKind
from harness.ice.stun import (
    MAGIC_COOKIE,
    UNKNOWN_OPTIONAL_ATTRIBUTE,
    BindingCheck,
    attribute_types,
    binding_request,
    binding_success,
    corrupt_fingerprint,
    corrupt_integrity,
    framing_problem,
    is_stun,
    parse,
    truncated,
    with_unknown_attribute,
)

PWD = "remote-password-0123456"
CHECK = BindingCheck("locl", "remt", PWD, 2130706431, 7, use_candidate=True)
_MI, _FP = 0x0008, 0x8028
#: Every attribute aioice decodes, ours, and a few it does not know (comprehension-required
#: and -optional).
#: True about one time in eight (hypothesis favours small integers, so not integers(0, 7) == 0)
RARELY = st.sampled_from([False] * 7 + [True])
ATTRIBUTE_TYPES = sorted(aio.ATTRIBUTES_BY_TYPE) + [UNKNOWN_OPTIONAL_ATTRIBUTE, 0x0000,
                                                     0x7FFF, 0xFFFF]


def seeds() -> list[bytes]:
    request = binding_request(CHECK, b"0123456789ab")
    message, _ = parse(request)
    assert message is not None
    return [*captured_payloads(PacketKind.STUN), request,
            with_unknown_attribute(CHECK), binding_success(message, ("198.18.0.21", 4), "pw"),
            binding_success(message, ("2001:db8::1", 5), "pw")]


def judge(data: bytes) -> None:
    """The contract, and what the ICE agent and the DR checks do with a parsed message."""
    message, error = parse(data)
    types = attribute_types(data)
    assert all(0 <= t <= 0xFFFF for t in types)
    is_stun(data)
    problem = framing_problem(data)
    if message is None:
        assert isinstance(error, str) and error
        assert problem is None or error == problem
        return
    assert problem is None
    assert error is None
    assert len(message.transaction_id) == 12 and message.message_class.name
    assert isinstance(message.check_message_integrity(PWD.encode()), bool)
    mapped = message.attributes.get("XOR-MAPPED-ADDRESS")
    if mapped is not None:
        str(mapped[0]), int(mapped[1])
    repr(message)
    if message.message_class is aio.Class.REQUEST and message.check_message_integrity(
            PWD.encode()):
        parse(binding_success(message, ("198.18.0.21", 40000), "local-pwd"))


@fuzz_settings(500)
@given(st.binary(max_size=200) | st.binary(min_size=20, max_size=120).map(
    lambda b: b[:4] + struct.pack("!I", MAGIC_COOKIE) + b[8:]))
@example(b"\x00\x01\x00\x04" + struct.pack("!I", MAGIC_COOKIE) + bytes(12) + b"\x80\x28\x00")
def test_any_bytes_parse_or_say_why(data: bytes) -> None:
    judge(data)


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """A valid header and random attributes: lengths that lie, odd padding, MI and
    FINGERPRINT right or wrong, the header length right or not, the end cut off."""
    msg_type = draw(st.integers(0, 0x3FFF) if draw(RARELY) else st.sampled_from(
        [0x0001, 0x0101, 0x0111, 0x0011, 0x0002, 0x0003]))
    tid = draw(st.binary(min_size=12, max_size=12))
    body = b""
    for attr_type, value, lie, pad in draw(st.lists(st.tuples(
            st.sampled_from(ATTRIBUTE_TYPES), st.binary(max_size=24),
            st.sampled_from([0, 0, 0, 0, 0, 1, -1, 4, 255]),
            st.sampled_from([True, True, True, False])), max_size=6)):
        length = max(0, min(0xFFFF, len(value) + lie))
        body += struct.pack("!HH", attr_type, length) + value + (
            bytes(-len(value) % 4) if pad else b"")
    head = struct.pack("!HHI12s", msg_type, len(body), MAGIC_COOKIE, tid)
    data = head + body
    tail = draw(st.sampled_from(["none", "mi", "fp", "mi+fp", "bad_fp"]))
    if "mi" in tail:
        mi_head = head[:2] + struct.pack("!H", len(body) + 24) + head[4:]
        data += struct.pack("!HH", _MI, 20) + aio.message_integrity(mi_head + body,
                                                                     PWD.encode())
    if "fp" in tail:
        fp = aio.message_fingerprint(data) ^ (0xFFFFFFFF if tail == "bad_fp" else 0)
        data += struct.pack("!HHI", _FP, 4, fp)
    data = data[:2] + struct.pack("!H", (len(data) - 20) & 0xFFFF) + data[4:]
    if draw(RARELY):
        data = data[:2] + struct.pack("!H", draw(st.integers(0, 0xFFFF))) + data[4:]
    if draw(RARELY):
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def mutated_real(draw: st.DrawFn) -> bytes:
    """A real message, mutated, then mostly re-framed: padded to 4 bytes, the header
    length and a trailing FINGERPRINT made to match, so that the damage reaches the
    attributes rather than stopping at the framing."""
    data = draw(mutated(seeds(), text=False))
    if len(data) >= 20 and not draw(RARELY):
        data += bytes(-len(data) % 4)
        data = data[:2] + struct.pack("!H", (len(data) - 20) & 0xFFFF) + data[4:]
        if len(data) >= 28 and data[-8:-4] == struct.pack("!HH", _FP, 4):
            data = data[:-4] + struct.pack("!I", aio.message_fingerprint(data[:-8]))
    return data


@fuzz_settings(500)
@given(structured())
def test_structured_messages_parse_or_say_why(data: bytes) -> None:
    judge(data)


@fuzz_settings(400)
@given(mutated_real())
def test_mutated_real_messages_parse_or_say_why(data: bytes) -> None:
    judge(data)


@fuzz_settings(200)
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+/", min_size=4, max_size=32),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+/", min_size=22, max_size=40),
    st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), st.booleans(),
    st.binary(max_size=40), st.integers(0, 120),
)
def test_each_deliberate_break_is_seen_and_only_that(
    ufrag: str, pwd: str, priority: int, tie: int, use: bool, value: bytes, keep: int
) -> None:
    """The negative-case builders break exactly what they say, for any check."""
    check = BindingCheck("locl", ufrag, pwd, priority, tie, use_candidate=use)
    good = binding_request(check)
    key = pwd.encode()
    message, error = parse(good)
    assert message is not None and message.check_message_integrity(key), error
    unknown = with_unknown_attribute(check, value)
    message, error = parse(unknown)
    assert message is not None and message.check_message_integrity(key), error
    assert UNKNOWN_OPTIONAL_ATTRIBUTE in attribute_types(unknown)
    message, error = parse(corrupt_integrity(good))
    assert message is not None and not message.check_message_integrity(key), error
    message, error = parse(corrupt_fingerprint(good))
    assert message is None and "fingerprint" in (error or "")
    cut = truncated(good, keep)
    message, error = parse(cut)
    assert (message is None) == (cut != good)
    judge(cut)
