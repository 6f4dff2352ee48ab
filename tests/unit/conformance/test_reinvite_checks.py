"""The re-INVITE checks (`harness.conformance.reinvite_checks`) over recorded evidence.

Passing rows are the re-INVITE calls of suites/test_reinvite.py against the default
target in each media mode, and the clean calls of tests/lab/test_reinvite_validation.py
(every step, through the SIP shim without a fault). Failing rows are that lab test's
calls through the shim's OLD_SDP_IN_REINVITE_ANSWER fault (every 2xx to a re-INVITE
reaches the caller with the previous SDP), in each mode, and a proxied call judged by
MM-BYPASS-3. Every failing row is recorded evidence: none is derived. The bespoke tests
assert evidence lines, and bypass_reinvite's BROKEN verdict when unread frames involve
the target.
"""

from __future__ import annotations

import dataclasses

import pytest
from evidence_rows import Row, evidence, run

from harness.capture.pcap import UnreadFrame
from harness.conformance import reinvite_checks as rc
from harness.conformance.case import Verdict
from harness.evidence.call import CallOutcome

OK, FAILED, BROKEN = Verdict.OK, Verdict.FAILED, Verdict.BROKEN
MODES = ("bypass", "proxy", "anchored")

TARGET, CALLER, CALLEE2 = "198.18.0.2", "198.18.0.10", "198.18.0.22"


def suite(test: str) -> str:
    """The call of a suites/test_reinvite.py case."""
    return f"suites/test_reinvite__{test}-0.json.gz"


def lab(test: str, n: int) -> str:
    """The n-th call of a tests/lab/test_reinvite_validation.py test to finish."""
    return f"selftests/test_reinvite_validation__{test}-{n}.json.gz"


def clean(mode: str) -> str:
    """Every re-INVITE step through the shim without a fault."""
    return lab(f"test_reinvite_checks_fail_on_an_old_sdp_answer_{mode}", 0)


def old_sdp(mode: str) -> str:
    """Every re-INVITE step through the shim answering each re-INVITE with the old SDP."""
    return lab(f"test_reinvite_checks_fail_on_an_old_sdp_answer_{mode}", 1)


BYPASS_TEST = "test_bypass_reinvite_check_fails_on_old_sdp_and_on_a_relayed_call"
BYPASS_CLEAN, BYPASS_OLD_SDP, PROXIED = (lab(BYPASS_TEST, n) for n in range(3))
BYPASS_MOVED = suite("test_bypass_reinvite_moves_media")

HOLD_OK = "hold, inactive and resume reached the far end; media stopped and resumed as asked"
CHANGED_OK = "the new codec and the new media addresses took effect on the wire"
OFFERLESS_OK = "offer in the 200, answer in the ACK; media both ways afterwards"
BYPASS_OK = ("the re-INVITE's new addresses passed end to end and media moved to them "
             "directly, none via the target")

# What the caller's PCMU/PCMA re-offer got back from the old SDP, by mode: the anchored
# profile answers PCMA first, the other modes pass the callee's PCMU.
OLD_CODEC = {"bypass": ("8", "PCMU/0"), "proxy": ("8", "PCMU/0"), "anchored": ("0", "PCMA/8")}

ROWS: list[Row] = [
    # hold_resume (SIP-REINV-1)
    *(Row(f"hold_resume/ok/suite-{m}", rc.hold_resume, [suite(f"test_sip_reinv_1_{m}")], OK,
          [HOLD_OK]) for m in MODES),
    *(Row(f"hold_resume/ok/through-the-shim-{m}", rc.hold_resume, [clean(m)], OK, [HOLD_OK])
      for m in MODES),
    *(Row(f"hold_resume/failed/old-sdp-{m}", rc.hold_resume, [old_sdp(m)], FAILED,
          ["[hold] answer callee -> caller: direction recvonly arrived as sendrecv",
           "[inactive] answer callee -> caller: direction inactive arrived as sendrecv"])
      for m in MODES),
    # media_changed (SIP-REINV-2)
    *(Row(f"media_changed/ok/suite-{m}", rc.media_changed, [suite(f"test_sip_reinv_2_{m}")],
          OK, [CHANGED_OK]) for m in MODES),
    *(Row(f"media_changed/ok/through-the-shim-{m}", rc.media_changed, [clean(m)], OK,
          [CHANGED_OK]) for m in MODES),
    *(Row(f"media_changed/failed/old-sdp-{m}", rc.media_changed, [old_sdp(m)], FAILED,
          [f"[codec] the caller re-offered payload type(s) ['{OLD_CODEC[m][0]}']; the answer "
           f"it got selects {OLD_CODEC[m][1]}", "[address] caller: media came from"])
      for m in MODES),
    # offerless_reinvite (SIP-REINV-3)
    *(Row(f"offerless_reinvite/ok/suite-{m}", rc.offerless_reinvite,
          [suite(f"test_sip_reinv_3_{m}")], OK, [OFFERLESS_OK]) for m in MODES),
    *(Row(f"offerless_reinvite/ok/through-the-shim-{m}", rc.offerless_reinvite, [clean(m)],
          OK, [OFFERLESS_OK]) for m in MODES),
    *(Row(f"offerless_reinvite/failed/old-sdp-{m}", rc.offerless_reinvite, [old_sdp(m)],
          FAILED, ["[offerless] caller: media came from", "the SDP it holds names"])
      for m in MODES),
    Row("offerless_reinvite/failed/old-sdp-bypass-old-port", rc.offerless_reinvite,
        [old_sdp("bypass")], FAILED,
        ["[offerless] callee1: 10 packet(s) arrived at old port(s)",
         "[offerless] callee1: received 0 of 10 packet(s) at port"]),
    # bypass_reinvite (MM-BYPASS-3)
    Row("bypass_reinvite/ok/suite", rc.bypass_reinvite, [BYPASS_MOVED], OK, [BYPASS_OK]),
    Row("bypass_reinvite/ok/through-the-shim", rc.bypass_reinvite, [BYPASS_CLEAN], OK,
        [BYPASS_OK]),
    Row("bypass_reinvite/ok/every-step", rc.bypass_reinvite, [clean("bypass")], OK,
        [BYPASS_OK]),
    Row("bypass_reinvite/failed/old-sdp", rc.bypass_reinvite, [BYPASS_OLD_SDP], FAILED,
        ["[address] answer callee -> caller: media address 198.18.0.21:",
         "[address] no RTP went directly 198.18.0.10:"]),
    Row("bypass_reinvite/failed/old-sdp-every-step", rc.bypass_reinvite, [old_sdp("bypass")],
        FAILED, ["[address] answer callee -> caller: media address"]),
    Row("bypass_reinvite/failed/relayed", rc.bypass_reinvite, [PROXIED], FAILED,
        ["12 media flow(s) to or from the target",
         f"[address] offer caller -> callee: media address {CALLER}:"]),
]

BY_ID = {row.id: row for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_reinvite_checks(row: Row) -> None:
    run(row)


def test_hold_judges_each_side_against_the_directions_asked() -> None:
    found = run(BY_ID["hold_resume/ok/suite-proxy"])
    lines = list(found.evidence)
    assert any(line.startswith("[hold] caller: silence asked for from callee1") and
               "received 0 at port" in line for line in lines), found
    assert any(line.startswith("[hold] callee1: media asked for from caller") and
               "caller sent 10; received 10 at port" in line for line in lines), found
    assert any(line.startswith("[inactive] callee1: silence asked for") for line in lines)
    assert "[hold] answer callee -> caller: direction sent recvonly, received recvonly" in lines


def test_old_sdp_answer_names_the_direction_sent_and_the_one_received() -> None:
    """The callee answered recvonly, then inactive; the caller got the old sendrecv answer
    both times (the offers reached the callee unchanged)."""
    for mode in MODES:
        found = run(BY_ID[f"hold_resume/failed/old-sdp-{mode}"])
        for line in ("[hold] offer caller -> callee: direction sent sendonly, received sendonly",
                     "[hold] answer callee -> caller: direction sent recvonly, received sendrecv",
                     "[inactive] answer callee -> caller: direction sent inactive, received "
                     "sendrecv"):
            assert line in found.evidence, found


def test_bypass_reinvite_names_the_missing_direct_flow() -> None:
    found = run(BY_ID["bypass_reinvite/failed/old-sdp"])
    assert any(line.startswith("[address] captured 0 RTP packet(s) 198.18.0.10:")
               for line in found.evidence), found
    moved = run(BY_ID["bypass_reinvite/ok/suite"])
    captured = [line for line in moved.evidence if line.startswith("[address] captured ")]
    assert len(captured) == 2 and all("captured 10 RTP packet(s)" in line and
                                      line.endswith("from elsewhere: none")
                                      for line in captured), moved


def _fragments(rec: CallOutcome, src: str, dst: str) -> CallOutcome:
    """`rec` with three unread IP fragments from `src` to `dst` in place of its own."""
    ts = rec.packets[len(rec.packets) // 2].ts
    return dataclasses.replace(rec, unread=[
        UnreadFrame(index=2000 + n, ts=ts, reason="ip_fragment", src=src, dst=dst,
                    protocol="udp") for n in range(3)])


def test_bypass_reinvite_is_broken_when_frames_to_the_target_go_unread() -> None:
    def to_target(rec: CallOutcome) -> tuple[CallOutcome]:
        """The passing bypass call, during which the caller also sent a datagram too big
        for the lab's MTU to the target: IP fragments the capture reader does not read."""
        return (_fragments(rec, CALLER, TARGET),)

    found = run(Row("bypass_reinvite/broken/unread-to-target", rc.bypass_reinvite,
                    [BYPASS_MOVED], BROKEN,
                    [f"3 captured frame(s) involving {TARGET} could not be read",
                     "no media went to or from the target"], derive=to_target))
    assert list(found.evidence) == [f"frame {n}: ip_fragment {CALLER} -> {TARGET} (udp)"
                                    for n in (2000, 2001, 2002)]


def test_bypass_reinvite_decides_when_unread_frames_spare_the_target() -> None:
    def elsewhere(rec: CallOutcome) -> tuple[CallOutcome]:
        """The same fragments sent to a host not in the call (callee2)."""
        return (_fragments(rec, CALLER, CALLEE2),)

    run(Row("bypass_reinvite/ok/unread-elsewhere", rc.bypass_reinvite, [BYPASS_MOVED], OK,
            [BYPASS_OK], derive=elsewhere))


def test_unread_frames_do_not_hide_a_failed_bypass_reinvite() -> None:
    def failed_and_unread(rec: CallOutcome) -> tuple[CallOutcome]:
        """The relayed call with fragments to the target lost too: what was read fails."""
        return (_fragments(rec, CALLER, TARGET),)

    run(Row("bypass_reinvite/failed/relayed-and-unread", rc.bypass_reinvite, [PROXIED],
            FAILED, ["12 media flow(s) to or from the target"], derive=failed_and_unread))


def test_the_recordings_are_not_changed_by_deriving() -> None:
    assert not evidence(BYPASS_MOVED).unread
    assert not evidence(PROXIED).unread
