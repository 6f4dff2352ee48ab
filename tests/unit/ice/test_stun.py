"""STUN for the checks: valid messages verify under the right password only, and each
deliberately broken one is broken in exactly the way its name says."""

from __future__ import annotations

from harness.endpoints.ice import host_priority
from harness.ice.stun import (
    UNKNOWN_OPTIONAL_ATTRIBUTE,
    BindingCheck,
    attribute_types,
    binding_request,
    binding_success,
    corrupt_fingerprint,
    corrupt_integrity,
    is_stun,
    parse,
    truncated,
    with_unknown_attribute,
)

CHECK = BindingCheck("locl", "remt", "remote-password-0123456", host_priority(), 7,
                     use_candidate=True)
KEY = CHECK.remote_pwd.encode()


def test_a_check_carries_what_rfc_8445_asks_and_verifies_under_the_peers_password() -> None:
    data = binding_request(CHECK)
    message, error = parse(data)
    assert error is None and message is not None
    assert message.attributes["USERNAME"] == "remt:locl"
    assert message.attributes["PRIORITY"] == 2130706431
    assert message.attributes["ICE-CONTROLLING"] == 7 and "USE-CANDIDATE" in message.attributes
    assert message.check_message_integrity(KEY)
    assert not message.check_message_integrity(b"another password")
    assert attribute_types(data)[-2:] == [0x0008, 0x8028]  # MI, then FINGERPRINT last


def test_the_unknown_attribute_sits_under_the_integrity() -> None:
    data = with_unknown_attribute(CHECK)
    types = attribute_types(data)
    assert types.index(UNKNOWN_OPTIONAL_ATTRIBUTE) < types.index(0x0008)
    message, error = parse(data)
    assert error is None and message is not None and message.check_message_integrity(KEY)


def test_each_broken_message_is_broken_only_as_named() -> None:
    good = binding_request(CHECK)
    bad_mi, _ = parse(corrupt_integrity(good))
    assert bad_mi is not None and not bad_mi.check_message_integrity(KEY)  # FP still fine
    assert "fingerprint" in (parse(corrupt_fingerprint(good))[1] or "")
    assert "length" in (parse(truncated(good))[1] or "")
    assert is_stun(good) and not is_stun(b"\x80" + good[1:]) and not is_stun(good[:19])


def test_a_success_response_maps_the_source_and_signs_with_our_password() -> None:
    request, _ = parse(binding_request(CHECK))
    assert request is not None
    response, _ = parse(binding_success(request, ("198.18.0.21", 40000), "our-password-xyz"))
    assert response is not None and response.transaction_id == request.transaction_id
    assert response.attributes["XOR-MAPPED-ADDRESS"] == ("198.18.0.21", 40000)
    assert response.check_message_integrity(b"our-password-xyz")


def test_framing_that_aioice_lets_through_is_refused() -> None:
    good = binding_request(CHECK)
    cookie = good[4:8]
    assert parse(good)[0] is not None
    assert "not a multiple of 4" in (parse(b"\x00\x01\x00\x03" + cookie + b"t" * 12
                                           + b"xyz")[1] or "")
    overrun = b"\x00\x01\x00\x08" + cookie + b"t" * 12 + b"\x00\x06\x03\xe8abcd"
    assert "says 1000 bytes, 4 follow" in (parse(overrun)[1] or "")
    assert "shorter than the 20-byte" in (parse(good[:12])[1] or "")
