"""The Teams Direct Routing checks of what each side heard (`harness.conformance.dr_checks`:
audio both ways, early DTMF DR-EM-3, early media paths DR-EM-1/2/4, forked devices
DR-ICE-6), judged over recorded calls: the suite's calls against the default target and
the lab self-tests' calls through broken copies of it (tests/lab/test_dr_validation.py).

rtpengine 10.5 fails DR-EM-1, DR-EM-2 and DR-ICE-6 (its declared known deviations), so
every recorded forked call fails DR-ICE-6 and every recorded latching call fails DR-EM-1:
their passing rows judge a recording changed only where the default target deviates (the
`derive` functions say how), as a conformant target would have behaved.
"""

from __future__ import annotations

import dataclasses

import pytest
from evidence_rows import Row, evidence, run

from harness.conformance import dr_checks as dc
from harness.conformance.case import Verdict
from harness.evidence.records import RtpRecord
from harness.evidence.teams import DrOutcome

OK, FAILED = Verdict.OK, Verdict.FAILED


def suite(name: str) -> str:
    """The call of suites/test_teams_dr.py's case ``test_dr_<name>``."""
    return f"suites/test_teams_dr__test_dr_{name}-0.json.gz"


def lab(name: str, n: int = 0) -> str:
    """The `n`-th call of tests/lab/test_dr_validation.py's ``test_<name>``."""
    return f"selftests/test_dr_validation__test_{name}-{n}.json.gz"


MKI_STRIPPED = lab("a_target_deaf_to_the_mki_fails_dr_srtp_2_Fault.STRIP_MKI-Verdict.FAILED")
NEW_KEY_IN_200 = lab("a_new_key_in_the_200_fails_dr_srtp_3")
STRIPPED_EVENTS = lab("early_dtmf_fails_when_the_target_strips_telephone_event")
DEFAULT_PATHS = lab("early_media_paths_on_the_default_profile")
FULL_ICE_PATHS = lab("a_full_ice_target_meets_dr_em_2_but_sends_checks")
NO_ICE_TO_TEAMS = lab("a_target_without_ice_toward_teams_fails_both_early_media_paths")
FORKED_FIRST = lab("forked_checks_find_rtpengines_deviations", 0)  # the first device answers
FORKED_SECOND = lab("forked_checks_find_rtpengines_deviations", 1)  # the second answers
LATCHING = lab("forked_early_media_latching_fails_on_rtpengine")

TO_CALLEE2 = "1 packet(s) went to callee2, which did not answer, after the 200"
CALLEE2_DEAF = "the answering device callee2 received 0 media packet(s) after the 200"
PSTN_DEAF = "the PSTN side did not hear the other side's 1300 Hz tone"
TEAMS_DEAF = "the Teams side did not hear the other side's 700 Hz tone"
NOT_LATCHED = ("the target sent none of the PSTN side's early media to callee2, the device "
               "that streamed")
TO_DEFAULT = ("before nomination the target sent early media to a lower-priority candidate "
              "(15 to the default), not to the preferred one of priority 2130706431")
FOLLOWED = "after nomination all early media went to the nominated preferred candidate"


def converged(out: DrOutcome) -> tuple[DrOutcome]:
    """The forked call of a target that converges: the first packet after the 200, which
    rtpengine sent to the device that did not answer (known deviation DR-ICE-6), goes to
    the answering device instead; nothing else changes."""
    answerer = out.devices[out.answering_device]
    after = out.ok_sent_at
    assert after is not None
    devices, strays = [], []
    for device in out.devices:
        if device is answerer:
            devices.append(device)
            continue
        stray = [r for r in device.rtp if r.direction == "received" and r.time >= after]
        strays += stray
        devices.append(dataclasses.replace(device, rtp=[r for r in device.rtp
                                                        if r not in stray]))
    assert len(strays) == 1, strays  # what the recording holds (the one packet rtpengine lost)
    port = next(r.local_port for r in answerer.rtp)
    moved = [dataclasses.replace(r, local_port=port) for r in strays]
    devices[out.answering_device] = dataclasses.replace(
        answerer, rtp=sorted([*answerer.rtp, *moved], key=lambda r: r.time))
    return (dataclasses.replace(out, devices=devices),)


def latched(out: DrOutcome) -> tuple[DrOutcome]:
    """The forked call of a target that latches early media to the device that streamed it,
    before any nomination (rtpengine forwards none: known deviation DR-EM-1): each packet
    the PSTN side and the streaming device sent to the target during the early-media phase
    reaches the other one 1 ms later, from the target address that one sends to (as plain
    RTP: the records keep the packet each side sent; what the other device received is left
    as it was)."""
    lo, hi = out.marks["early media"], out.marks["early media ended"]
    streamer = out.devices[out.early_media_device]

    def forwarded(records: list[RtpRecord], to: list[RtpRecord]) -> list[RtpRecord]:
        mine = next(r for r in to if r.direction == "sent")
        return [dataclasses.replace(r, direction="received", time=r.time + 0.001,
                                    peer=mine.peer, local_port=mine.local_port,
                                    raw=bytes(r.packet))
                for r in records if r.direction == "sent" and r.packet is not None
                and lo <= r.time < hi - 0.001]

    pstn_rtp = sorted([*out.pstn_rtp, *forwarded(streamer.rtp, out.pstn_rtp)],
                      key=lambda r: r.time)
    devices = list(out.devices)
    devices[out.early_media_device] = dataclasses.replace(
        streamer, rtp=sorted([*streamer.rtp, *forwarded(out.pstn_rtp, streamer.rtp)],
                             key=lambda r: r.time))
    return (dataclasses.replace(out, pstn_rtp=pstn_rtp, devices=devices),)


ROWS: list[Row] = [
    # audio both ways (with DR-ICE-4/5 and DR-SRTP-2/3)
    Row("audio: nominated before 200", dc.audio_both_ways_dr, [suite("nominated_before_200")],
        OK, ["audio both ways"]),
    Row("audio: nominated after 200", dc.audio_both_ways_dr, [suite("nominated_after_200")],
        OK, ["audio both ways"]),
    Row("audio: lab default profile", dc.audio_both_ways_dr,
        [lab("every_dr_check_passes_on_the_default_profile_before-200")], OK,
        ["audio both ways"]),
    Row("audio: MKI stripped", dc.audio_both_ways_dr, [MKI_STRIPPED], FAILED, [PSTN_DEAF]),
    Row("audio: new key in 200", dc.audio_both_ways_dr, [NEW_KEY_IN_200], FAILED,
        [TEAMS_DEAF]),
    Row("audio: forked, second answers (known deviation)", dc.audio_both_ways_dr,
        [suite("forked_second_device_answers")], FAILED, [PSTN_DEAF, TEAMS_DEAF]),
    # DR-EM-3
    Row("early dtmf", dc.early_dtmf_to_teams, [suite("early_dtmf")], OK,
        ["4 DTMF event(s) arrived with their digits and durations"]),
    Row("early dtmf: telephone-event stripped", dc.early_dtmf_to_teams, [STRIPPED_EVENTS],
        FAILED, ["no DTMF could be sent: the caller's answer negotiated no telephone-event"]),
    # DR-ICE-6
    Row("forked: converging target, first answers", dc.forked_devices_converge,
        [suite("forked_first_device_answers")], OK,
        ["every device's checks answered; after the 200 only the answering device's pair "
         "carried media, both ways"], derive=converged),
    Row("forked: converging target, lab", dc.forked_devices_converge, [FORKED_FIRST], OK,
        ["only the answering device's pair carried media"], derive=converged),
    Row("forked: first answers (known deviation)", dc.forked_devices_converge,
        [suite("forked_first_device_answers")], FAILED, [TO_CALLEE2]),
    Row("forked: second answers (known deviation)", dc.forked_devices_converge,
        [suite("forked_second_device_answers")], FAILED,
        [CALLEE2_DEAF, "the PSTN side received 0 of the 15 packets the answering device "
                       "callee2 sent"]),
    Row("forked: lab, first answers", dc.forked_devices_converge, [FORKED_FIRST], FAILED,
        [TO_CALLEE2]),
    Row("forked: lab, second answers", dc.forked_devices_converge, [FORKED_SECOND], FAILED,
        [CALLEE2_DEAF]),
    Row("forked: latching call, first answers", dc.forked_devices_converge, [LATCHING],
        FAILED, [TO_CALLEE2]),
    # DR-EM-2
    Row("highest priority: full ICE target", dc.early_media_on_highest_priority,
        [FULL_ICE_PATHS], OK, ["before nomination all early media went to the preferred "
                               "candidate, the highest-priority one checked"]),
    Row("highest priority: default candidate (known deviation)",
        dc.early_media_on_highest_priority, [suite("early_media_highest_priority")], FAILED,
        [TO_DEFAULT]),
    Row("highest priority: lab default profile", dc.early_media_on_highest_priority,
        [DEFAULT_PATHS], FAILED, [TO_DEFAULT]),
    Row("highest priority: no ICE toward Teams", dc.early_media_on_highest_priority,
        [NO_ICE_TO_TEAMS], FAILED, ["the Teams side could not check both candidates (no "
                                    "usable ICE in the target's 183)"]),
    # DR-EM-4
    Row("follows nomination", dc.early_media_follows_nomination,
        [suite("early_media_follows_nomination")], OK, [FOLLOWED + " (it moved there)"]),
    Row("follows nomination: lab default profile", dc.early_media_follows_nomination,
        [DEFAULT_PATHS], OK, [FOLLOWED + " (it moved there)"]),
    Row("follows nomination: full ICE target", dc.early_media_follows_nomination,
        [FULL_ICE_PATHS], OK, ["after nomination all early media went to the nominated "
                               "default candidate (it moved there)"]),
    Row("follows nomination: no ICE toward Teams", dc.early_media_follows_nomination,
        [NO_ICE_TO_TEAMS], FAILED, ["no nomination succeeded (the USE-CANDIDATE check got "
                                    "no valid success response)"]),
    # DR-EM-1
    Row("latches: latching target", dc.early_media_latches,
        [suite("forked_early_media_latching")], OK,
        ["the target latched to callee2, the device that streamed first, before any "
         "nomination"], derive=latched),
    Row("latches: latching target, lab", dc.early_media_latches, [LATCHING], OK,
        ["the target latched to callee2"], derive=latched),
    Row("latches: no early media (known deviation)", dc.early_media_latches,
        [suite("forked_early_media_latching")], FAILED,
        [NOT_LATCHED, "the PSTN side did not hear callee2's early media"]),
    Row("latches: lab", dc.early_media_latches, [LATCHING], FAILED, [NOT_LATCHED]),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_dr_media_checks(row: Row) -> None:
    run(row)


# --------------------------------------------------------------------------- evidence lines


def test_latching_evidence_shows_what_each_side_sent() -> None:
    # As the lab asserts: callee2 streamed, the PSTN side sent toward the target's 183,
    # and nothing of it was forwarded.
    found = run(Row("latching", dc.early_media_latches, [LATCHING], FAILED, [NOT_LATCHED]))
    assert "callee2 streamed 15 early-media packet(s)" in found.evidence[0]
    assert "target media received by callee1 meanwhile: 0 packet(s)" in found.evidence
    assert "target media received by callee2 meanwhile: 0 packet(s)" in found.evidence
    out = evidence(LATCHING)
    lo, hi = out.marks["early media"], out.marks["early media ended"]
    assert sum(1 for r in out.pstn_rtp if r.direction == "sent" and lo <= r.time < hi) == 15


def test_latched_evidence_counts_the_forwarded_packets() -> None:
    found = run(Row("latched", dc.early_media_latches, [LATCHING], OK, ["latched"],
                    derive=latched))
    assert "target media received by callee1 meanwhile: 0 packet(s)" in found.evidence
    assert "target media received by callee2 meanwhile: 15 packet(s)" in found.evidence
    assert any(line.startswith("the PSTN side meanwhile: 15 packet(s), 100% of the power "
                               "at 1300 Hz") for line in found.evidence), found.evidence


def test_forked_evidence_names_each_device() -> None:
    found = run(Row("forked", dc.forked_devices_converge, [FORKED_FIRST], FAILED,
                    [TO_CALLEE2]))
    assert found.evidence[0].startswith("callee1 (answered): reached, 2 of 2 check(s) "
                                        "answered, 14 media packet(s)")
    assert found.evidence[1].startswith("callee2: reached, 2 of 2 check(s) answered, 1 media "
                                        "packet(s) from the target after the 200")


def test_early_media_paths_evidence_counts_each_candidate() -> None:
    found = run(Row("paths", dc.early_media_on_highest_priority, [DEFAULT_PATHS], FAILED,
                    [TO_DEFAULT]))
    assert found.evidence[2:] == (
        "early media before nomination: 0 packet(s) to the preferred candidate, 15 packet(s) "
        "to the default candidate",
        "early media after nomination: 15 packet(s) to the preferred candidate, 0 packet(s) "
        "to the default candidate")
    assert "(the offer's c=/m= default)" in found.evidence[1]


def test_derived_records_leave_the_recordings_unchanged() -> None:
    for name, derive, check in ((LATCHING, latched, dc.early_media_latches),
                                (FORKED_FIRST, converged, dc.forked_devices_converge)):
        out = evidence(name)
        before = (len(out.pstn_rtp), [len(d.rtp) for d in out.devices])
        (derived,) = derive(out)
        assert check(derived).verdict is OK
        assert (len(out.pstn_rtp), [len(d.rtp) for d in out.devices]) == before
        assert check(out).verdict is FAILED
