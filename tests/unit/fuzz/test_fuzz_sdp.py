"""Mutation fuzzing of the SDP reader over the real and hand-made fixture bodies, line-aware
(duplicated, dropped and swapped lines, changed line ends) as well as byte-level:
`SessionDescription.parse` returns a session that serialises byte-exact or raises
`SdpParseError`, and everything a user agent then does with a target's SDP (typed
attributes, effective address and direction, answering it, diffing it against what was
sent) works or raises `SdpParseError`."""

from __future__ import annotations

from collections.abc import Callable

from fuzz_support import fuzz_settings, mutated, sdp_seeds
from hypothesis import given
from hypothesis import strategies as st

from harness.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    SdpParseError,
    SessionDescription,
    diff_sdp,
    effective_address,
    effective_direction,
    make_answer,
    only_transport_changes,
    validate_crypto,
)

SEEDS = sdp_seeds()


def _tolerate(call: Callable[[], object]) -> None:
    try:
        call()
    except SdpParseError as exc:
        assert str(exc)


def judge(data: bytes, original: SessionDescription) -> None:
    try:
        sd = SessionDescription.parse(data)
    except SdpParseError as exc:
        assert exc.reason and exc.line >= 0
        return
    assert bytes(sd) == data
    for index, md in enumerate(sd.media):
        for helper in (md.rtpmaps, md.fmtp, md.candidates):
            _tolerate(helper)
        _tolerate(lambda md=md: [validate_crypto(c) for c in md.crypto()])
        _tolerate(lambda md=md: (md.ptime, md.rtcp, md.direction, md.rtcp_mux, md.rejected))
        _tolerate(lambda i=index: effective_address(sd, i))
        effective_direction(sd, index)
    _tolerate(lambda: make_answer(sd, "198.18.0.20", 40000, [PCMU, PCMA, TELEPHONE_EVENT],
                                  session_id=1))
    diffs = diff_sdp(original, sd)
    only_transport_changes(diffs), [str(d) for d in diffs]  # noqa: B018
    assert diff_sdp(sd, sd) == []
    assert SessionDescription.parse(str(sd)) is not None and str(sd.copy()) == str(sd)


def test_every_seed_parses_and_can_be_answered() -> None:
    for data in SEEDS:
        sd = SessionDescription.parse(data)
        judge(data, sd)
        make_answer(sd, "198.18.0.20", 40000, [PCMU, PCMA, TELEPHONE_EVENT])


@fuzz_settings(500)
@given(st.sampled_from(range(len(SEEDS))).flatmap(
    lambda i: st.tuples(st.just(i), mutated([SEEDS[i]]))))
def test_mutated_bodies_parse_or_raise_sdp_parse_error(case: tuple[int, bytes]) -> None:
    index, data = case
    judge(data, SessionDescription.parse(SEEDS[index]))
