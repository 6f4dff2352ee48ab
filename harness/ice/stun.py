"""STUN for ICE connectivity checks: well-formed messages through aioice, and deliberately
broken ones by hand.

Well-formed Binding requests and responses are `aioice.stun.Message` objects
(aioice packs, parses and computes MESSAGE-INTEGRITY and FINGERPRINT). The
negative cases of the Teams Direct Routing profile need bytes aioice will not
produce: an unknown comprehension-optional attribute *covered* by the
integrity (so a peer cannot pass by dropping it), a truncated message, a wrong
MESSAGE-INTEGRITY, a wrong FINGERPRINT. Those are built here byte by byte
(RFC 8489 §5, §14.5, §14.7), which is why this module exists beside aioice.

`attribute_types(data)` walks a message's attributes without interpreting
them, so the evidence can name what a response carried, unknown ones
included (aioice's parser drops those).
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

from aioice import stun

__all__ = [
    "MAGIC_COOKIE",
    "UNKNOWN_OPTIONAL_ATTRIBUTE",
    "BindingCheck",
    "attribute_types",
    "binding_request",
    "binding_success",
    "corrupt_fingerprint",
    "corrupt_integrity",
    "is_stun",
    "parse",
    "truncated",
    "with_unknown_attribute",
]

MAGIC_COOKIE = 0x2112A442
UNKNOWN_OPTIONAL_ATTRIBUTE = 0x80AB  # comprehension-optional (>= 0x8000), not registered
_MI, _FP = 0x0008, 0x8028


def is_stun(data: bytes) -> bool:
    """RFC 7983 demultiplexing: first byte 0..3, and the magic cookie in place."""
    return (len(data) >= 20 and data[0] < 4
            and struct.unpack_from("!I", data, 4)[0] == MAGIC_COOKIE)


def framing_problem(data: bytes) -> str | None:
    """What is wrong with the framing of `data` as a STUN message (RFC 8489 §5, §14), or
    None. aioice's parser takes a header length that disagrees with the datagram, a
    length that is not a multiple of 4 and an attribute longer than what follows; a
    conformance check must not."""
    if len(data) < 20:
        return f"{len(data)} bytes: shorter than the 20-byte STUN header"
    length = struct.unpack_from("!H", data, 2)[0]
    if length != len(data) - 20:
        return f"the header's message length is {length}, {len(data) - 20} bytes follow"
    if length % 4:
        return f"message length {length} is not a multiple of 4"
    at = 20
    while at < len(data):
        if at + 4 > len(data):
            return f"attribute header cut short at byte {at}"
        kind, size = struct.unpack_from("!HH", data, at)
        if at + 4 + size > len(data):
            return (f"attribute {kind:#06x} at byte {at} says {size} bytes, "
                    f"{len(data) - at - 4} follow")
        at += 4 + size + (-size % 4)
    return None


def parse(data: bytes) -> tuple[stun.Message | None, str | None]:
    """(message, None) or (None, why it is not a valid STUN message)."""
    problem = framing_problem(data)
    if problem is not None:
        return None, problem
    try:
        return stun.parse_message(data), None
    except (ValueError, struct.error) as exc:
        return None, str(exc)


def attribute_types(data: bytes) -> list[int]:
    """The attribute types in `data` in order, known or not (stops at a truncated one)."""
    types, pos = [], 20
    while pos + 4 <= len(data):
        attr_type, length = struct.unpack_from("!HH", data, pos)
        types.append(attr_type)
        pos += 4 + length + (-length % 4)
    return types


@dataclass(frozen=True)
class BindingCheck:
    """What a connectivity check says (RFC 8445 §7.1): who asks whom, and how."""

    local_ufrag: str
    remote_ufrag: str
    remote_pwd: str
    priority: int
    tie_breaker: int
    use_candidate: bool = False
    controlling: bool = True

    @property
    def username(self) -> str:
        return f"{self.remote_ufrag}:{self.local_ufrag}"


def _request(check: BindingCheck, transaction_id: bytes) -> stun.Message:
    message = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, transaction_id)
    message.attributes["USERNAME"] = check.username
    message.attributes["PRIORITY"] = check.priority
    role = "ICE-CONTROLLING" if check.controlling else "ICE-CONTROLLED"
    message.attributes[role] = check.tie_breaker
    if check.use_candidate:
        message.attributes["USE-CANDIDATE"] = None
    return message


def binding_request(check: BindingCheck, transaction_id: bytes | None = None) -> bytes:
    """A valid Binding request for `check`, with MESSAGE-INTEGRITY and FINGERPRINT."""
    message = _request(check, transaction_id or secrets.token_bytes(12))
    message.add_message_integrity(check.remote_pwd.encode())
    return bytes(message)


def binding_success(request: stun.Message, source: tuple[str, int], local_pwd: str) -> bytes:
    """The success response a full agent gives to a check it received (RFC 8445 §7.3)."""
    message = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, request.transaction_id)
    message.attributes["XOR-MAPPED-ADDRESS"] = source
    message.add_message_integrity(local_pwd.encode())
    return bytes(message)


def _with_attribute_before_integrity(data: bytes, attr: bytes, key: bytes) -> bytes:
    """Insert `attr` (a whole TLV) before MESSAGE-INTEGRITY and recompute MI and FP."""
    body = data[:20]
    pos, before = 20, b""
    while pos + 4 <= len(data):
        attr_type, length = struct.unpack_from("!HH", data, pos)
        end = pos + 4 + length + (-length % 4)
        if attr_type in (_MI, _FP):
            break
        before += data[pos:end]
        pos = end
    unsigned = body + before + attr
    with_mi_header = _set_length(unsigned, len(unsigned) - 20 + 24)
    mi = stun.message_integrity(with_mi_header, key)
    signed = _set_length(unsigned + struct.pack("!HH", _MI, 20) + mi, 0)
    signed = _set_length(signed, len(signed) - 20)
    fp = stun.message_fingerprint(signed)
    out = signed + struct.pack("!HHI", _FP, 4, fp)
    return _set_length(out, len(out) - 20)


def _set_length(data: bytes, length: int) -> bytes:
    return data[:2] + struct.pack("!H", length) + data[4:]


def with_unknown_attribute(check: BindingCheck, value: bytes = b"harness!") -> bytes:
    """A valid check that also carries an unknown comprehension-optional attribute, covered
    by MESSAGE-INTEGRITY: a compliant agent ignores the attribute and answers (RFC 8489 §14)."""
    plain = bytes(_request(check, secrets.token_bytes(12)))
    attr = struct.pack("!HH", UNKNOWN_OPTIONAL_ATTRIBUTE, len(value)) + value + bytes(
        -len(value) % 4)
    return _with_attribute_before_integrity(plain, attr, check.remote_pwd.encode())


def truncated(data: bytes, keep: int = 28) -> bytes:
    """The first `keep` bytes of a message whose header still claims the whole length."""
    return data[:keep]


def corrupt_integrity(data: bytes) -> bytes:
    """`data` with one bit of MESSAGE-INTEGRITY flipped and the FINGERPRINT made to match,
    so only the integrity check can reject it."""
    pos = 20
    out = bytearray(data)
    while pos + 4 <= len(out):
        attr_type, length = struct.unpack_from("!HH", out, pos)
        if attr_type == _MI:
            out[pos + 4] ^= 0x01
        if attr_type == _FP:
            struct.pack_into("!I", out, pos + 4, stun.message_fingerprint(bytes(out[:pos])))
        pos += 4 + length + (-length % 4)
    return bytes(out)


def corrupt_fingerprint(data: bytes) -> bytes:
    """`data` with a wrong FINGERPRINT (the last four bytes)."""
    return data[:-4] + bytes(b ^ 0xFF for b in data[-4:])
