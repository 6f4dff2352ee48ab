"""The malformed STUN and RTP the ROB-2 probes throw at a relay: each one distinct (the
check recognises them on the wire by their bytes) and each really malformed."""

from __future__ import annotations

import pytest

from harness.ice.stun import parse as parse_stun
from harness.media.rtp import RtpPacket, RtpParseError
from harness.scenarios.robust import malformed_media

MEDIA = malformed_media()


def test_fifteen_kinds_each_with_bytes_of_its_own() -> None:
    assert len(MEDIA) == 15
    assert len(set(MEDIA.values())) == len(MEDIA)
    assert malformed_media() == MEDIA  # deterministic: the same bytes every run


@pytest.mark.parametrize("name", [n for n in MEDIA if n.startswith("STUN")])
def test_the_stun_ones_do_not_parse_as_a_sound_stun_message(name: str) -> None:
    message, problem = parse_stun(MEDIA[name])
    if message is not None:  # parsed: then its integrity or fingerprint is wrong
        assert "INTEGRITY" in name or "FINGERPRINT" in name


@pytest.mark.parametrize("name", [n for n in MEDIA if n.startswith("RTP")])
def test_the_rtp_ones_do_not_parse_as_rtp(name: str) -> None:
    with pytest.raises(RtpParseError):
        RtpPacket.parse(MEDIA[name])
