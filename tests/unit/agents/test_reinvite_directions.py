"""Whether an agent may send, from the SDP it sent and the SDP it received (RFC 3264 §6.1):
the rule every re-INVITE phase (and so every SIP-REINV check) rests on."""

from __future__ import annotations

import pytest

from harness.sdp import PCMU, Direction, make_answer, make_offer
from harness.sdp.reading import sends

S, R, N, B = Direction.SENDONLY, Direction.RECVONLY, Direction.INACTIVE, Direction.SENDRECV


@pytest.mark.parametrize(
    ("offered", "offerer_sends", "answerer_sends"),
    [(B, True, True), (S, True, False), (R, False, True), (N, False, False)],
)
def test_each_side_sends_only_what_the_offer_and_its_mirrored_answer_allow(
    offered: Direction, offerer_sends: bool, answerer_sends: bool
) -> None:
    offer = make_offer("198.18.0.10", 40000, (PCMU,), direction=offered)
    answer = make_answer(offer, "198.18.0.21", 42000, (PCMU,))
    assert sends(offer, answer) is offerer_sends
    assert sends(answer, offer) is answerer_sends


def test_a_rejected_stream_or_a_missing_sdp_sends_nothing() -> None:
    offer = make_offer("198.18.0.10", 40000, (PCMU,))
    rejected = make_answer(offer, "198.18.0.21", 42000, ())
    assert rejected.media[0].port == 0
    assert not sends(offer, rejected) and not sends(rejected, offer)
    assert not sends(offer, None) and not sends(None, offer)
