"""The forking checks (`harness.conformance.fork_checks`: SIP-FORK-1..3, SIP-EARLY-1,
MM-ANCHOR-4 in the early dialog, MM-PROXY-4 with forking) judged again over what real
lab runs recorded.

Passing rows are the suites' calls against the default target (suites/test_call_flows.py).
Failing rows are the lab self-tests' calls through the fault-injecting SIP shim
(tests/lab/test_fork_shim.py) and against broken copies of the target or where rtpengine
really misbehaves (tests/lab/test_fork_validation.py), plus the default target's declared
deviations (SIP-EARLY-1 in proxy and anchored mode, MM-PROXY-4 with forking), with the
words those tests assert. Every failing row is recorded evidence: none is derived.
"""

from __future__ import annotations

import dataclasses

import pytest
from evidence_rows import Row, evidence, run, shape

from harness.conformance.case import Verdict
from harness.conformance.fork_checks import (
    declared_early_dialogs,
    early_dialogs_distinct,
    early_dtmf_delivered,
    early_media_separated,
    fork_crypto_unchanged,
    others_ended,
)
from harness.evidence.fork import ForkOutcome

OK, FAILED = Verdict.OK, Verdict.FAILED

FLOWS = "suites/test_call_flows__test_"
SHIM = "selftests/test_fork_shim__test_"
VALID = "selftests/test_fork_validation__test_"

# The suite's forked calls (three callees, in the three media modes).
DIALOGS_BYPASS = f"{FLOWS}fork_dialogs_bypass-0.json.gz"
DIALOGS_PROXY = f"{FLOWS}fork_dialogs_proxy-0.json.gz"
DIALOGS_ANCHORED = f"{FLOWS}fork_dialogs_anchored-0.json.gz"
EARLY_BYPASS = f"{FLOWS}fork_early_media_bypass-0.json.gz"
EARLY_PROXY = f"{FLOWS}fork_early_media_proxy-0.json.gz"  # known deviation SIP-EARLY-1
EARLY_ANCHORED = f"{FLOWS}fork_early_media_anchored-0.json.gz"  # known deviation SIP-EARLY-1
SRTP_BYPASS = f"{FLOWS}fork_srtp_bypass-0.json.gz"
SRTP_KEYS_PROXY = f"{FLOWS}fork_srtp_keys_proxy-0.json.gz"  # known deviation MM-PROXY-4
DECLARED = f"{FLOWS}fork_declared_early_dialogs-0.json.gz"  # max_early_dialogs = 8 forks
BEYOND = f"{FLOWS}fork_declared_early_dialogs-1.json.gz"  # 9 forks
EARLY_DTMF = f"{FLOWS}anchored_dtmf_in_early_dialog-0.json.gz"

# Through the caller-side shim: each fault's file -0 is the same shim with Fault.NONE.
DROP_18X = f"{SHIM}fork_dialog_check_fails_when_an_early_dialog_is_lost_or_merged_Fault.DROP_18X"
REUSE_TO_TAG = (f"{SHIM}fork_dialog_check_fails_when_an_early_dialog_is_lost_or_merged_"
                "Fault.REUSE_TO_TAG")
SWALLOW_CANCEL = f"{SHIM}fork_cancel_check_fails_when_a_cancel_is_swallowed"
REDIRECTED = f"{SHIM}early_media_check_fails_when_early_media_is_redirected"
# 4 declared forks: -0 is the 5-fork call (whose target_alive_after the lab test set to
# False last, "as if the target had died after N+1 forks"), -1 the clean 4-fork call,
# -2 the 4-fork call through the shim that drops one 183.
ONE_183_LOST = f"{SHIM}declared_early_dialogs_check_fails_when_one_183_is_lost"
# Against a copy of the target that does not fork, and rtpengine's real deviations.
NO_FORK = f"{VALID}fork_checks_fail_against_a_target_that_does_not_fork-0.json.gz"
CROSSOVERS = f"{VALID}early_media_check_passes_in_bypass_and_finds_rtpengine_crossovers"
SHARED_KEY = f"{VALID}forked_srtp_checks_pass_in_bypass_and_find_rtpengines_shared_key"
MASKED_DTMF = f"{VALID}early_dtmf_check_fails_when_the_target_masks_telephone_event"

LOST = "never reached the caller as an early dialog"

ROWS: list[Row] = [
    # SIP-FORK-1
    Row("distinct/bypass", early_dialogs_distinct, [DIALOGS_BYPASS], OK,
        ["3 forks, 3 distinct early dialogs, each with its own SDP"]),
    Row("distinct/proxy", early_dialogs_distinct, [DIALOGS_PROXY], OK, ["3 distinct"]),
    Row("distinct/anchored", early_dialogs_distinct, [DIALOGS_ANCHORED], OK, ["3 distinct"]),
    Row("distinct/srtp-bypass", early_dialogs_distinct, [SRTP_BYPASS], OK, ["3 distinct"]),
    Row("distinct/shim-without-fault", early_dialogs_distinct, [f"{DROP_18X}-0.json.gz"], OK,
        ["3 distinct"]),
    Row("distinct/a-183-dropped", early_dialogs_distinct, [f"{DROP_18X}-1.json.gz"], FAILED,
        [f"callee1's 183 (To-tag 6295b55a5dc2e696) {LOST}"]),
    Row("distinct/to-tags-merged", early_dialogs_distinct, [f"{REUSE_TO_TAG}-1.json.gz"],
        FAILED, [f"callee2's 183 (To-tag 244240628b19f2f1) {LOST}",
                 f"callee3's 183 (To-tag 32acac2bba569f9f) {LOST}"]),
    Row("distinct/target-does-not-fork", early_dialogs_distinct, [NO_FORK], FAILED,
        ["callee2 never got the INVITE", "callee3 never got the INVITE"]),
    Row("distinct/rtpengine-shares-the-first-srtp-key", early_dialogs_distinct,
        [f"{SHARED_KEY}-1.json.gz"], FAILED, ["1 SRTP key(s) shared by several early dialogs"]),
    # SIP-FORK-2
    Row("ended/bypass", others_ended, [DIALOGS_BYPASS], OK,
        ["the other branches were cancelled and the call stayed up"]),
    Row("ended/proxy", others_ended, [DIALOGS_PROXY], OK, ["were cancelled"]),
    Row("ended/anchored", others_ended, [DIALOGS_ANCHORED], OK, ["were cancelled"]),
    Row("ended/shim-without-fault", others_ended, [f"{SWALLOW_CANCEL}-0.json.gz"], OK,
        ["were cancelled"]),
    Row("ended/cancel-swallowed", others_ended, [f"{SWALLOW_CANCEL}-1.json.gz"], FAILED,
        ["callee3 did not answer and was never sent CANCEL or BYE"]),
    Row("ended/target-does-not-fork", others_ended, [NO_FORK], FAILED,
        ["callee2 did not answer and was never sent CANCEL or BYE",
         "callee3 did not answer and was never sent CANCEL or BYE"]),
    # SIP-EARLY-1
    Row("early-media/bypass", early_media_separated, [EARLY_BYPASS], OK,
        ["early media flowed per early dialog, no crossover, and went on after the 200"]),
    Row("early-media/srtp-bypass", early_media_separated, [SRTP_BYPASS], OK, ["no crossover"]),
    Row("early-media/shim-without-fault", early_media_separated, [f"{REDIRECTED}-0.json.gz"],
        OK, ["no crossover"]),
    Row("early-media/redirected-183s", early_media_separated, [f"{REDIRECTED}-1.json.gz"],
        FAILED, ["CROSSOVER: 20 of callee2's early packets reached the caller from "
                 "198.18.0.22:44602, not from 198.18.0.21:44158 that its dialog named",
                 "CROSSOVER: 20 of callee3's early packets"]),
    Row("early-media/rtpengine-proxy", early_media_separated, [f"{CROSSOVERS}-1.json.gz"],
        FAILED, ["early packets for callee1's dialog reached callee3",
                 "early packets reached the caller from"]),
    Row("early-media/known-deviation-proxy", early_media_separated, [EARLY_PROXY], FAILED,
        ["the caller's early media for callee1's dialog never reached it",
         "CROSSOVER: 50 of callee2's early packets reached the caller from 198.18.0.2:30680, "
         "the address dialog 3 (callee3) named"]),
    Row("early-media/known-deviation-anchored", early_media_separated, [EARLY_ANCHORED],
        FAILED, ["CROSSOVER: 50 of the caller's early packets for callee1's dialog reached "
                 "callee3"]),
    Row("early-media/rtpengine-srtp-undecryptable", early_media_separated,
        [f"{SHARED_KEY}-1.json.gz"], FAILED,
        ["did not decrypt with the SRTP key of the dialog that named that address"]),
    # SIP-FORK-3 (with the suite's and the lab test's arguments: declared, then beyond)
    Row("declared/8-and-9-forks", declared_early_dialogs, [DECLARED, BEYOND], OK,
        ["all 8 declared early dialogs arrived; 9 were handled cleanly"]),
    Row("declared/one-183-lost", declared_early_dialogs,
        [f"{ONE_183_LOST}-2.json.gz", f"{ONE_183_LOST}-0.json.gz"], FAILED,
        ["with the 4 forks it declares: callee1's 183 (To-tag e2aa28413d2028d9) " + LOST]),
    Row("declared/target-dead-after-n-plus-1", declared_early_dialogs,
        [f"{ONE_183_LOST}-1.json.gz", f"{ONE_183_LOST}-0.json.gz"], FAILED,
        ["after 5 forks the target no longer answers OPTIONS"],
        derive=lambda declared, beyond: (declared, _died(beyond))),
    # MM-ANCHOR-4 in the early dialog
    Row("early-dtmf/anchored", early_dtmf_delivered, [EARLY_DTMF], OK,
        ["4 DTMF event(s) arrived with their digits and durations"]),
    Row("early-dtmf/lab-default-target", early_dtmf_delivered, [f"{MASKED_DTMF}-0.json.gz"],
        OK, ["4 DTMF event(s)"]),
    Row("early-dtmf/telephone-event-masked", early_dtmf_delivered,
        [f"{MASKED_DTMF}-1.json.gz"], FAILED,
        ["the caller's answer negotiated no telephone-event"]),
    # MM-PROXY-4 with forking
    Row("crypto/srtp-bypass", fork_crypto_unchanged, [SRTP_BYPASS], OK,
        ["every branch's a=crypto reached the caller unchanged in its own early dialog"]),
    Row("crypto/lab-bypass", fork_crypto_unchanged, [f"{SHARED_KEY}-0.json.gz"], OK,
        ["unchanged"]),
    Row("crypto/known-deviation-proxy", fork_crypto_unchanged, [SRTP_KEYS_PROXY], FAILED,
        ["callee2's a=crypto arrived changed: the caller got callee1's key instead",
         "callee3's a=crypto arrived changed: the caller got callee1's key instead"]),
    Row("crypto/rtpengine-shared-key", fork_crypto_unchanged, [f"{SHARED_KEY}-1.json.gz"],
        FAILED, ["'s key instead"]),
    Row("crypto/plain-call", fork_crypto_unchanged, [DIALOGS_BYPASS], FAILED,
        ["the caller offered no a=crypto (the call was not SRTP)"]),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_fork_checks(row: Row) -> None:
    run(row)


def test_a_dropped_183_names_the_dialogs_that_did_arrive() -> None:
    found = early_dialogs_distinct(evidence(f"{DROP_18X}-1.json.gz"))
    assert len(found.evidence) == 2  # two early dialogs reached the caller, not three
    assert all(line.startswith("early dialog ") and " 183 To-tag " in line
               for line in found.evidence), found


def test_the_swallowed_cancel_shows_how_each_branch_ended() -> None:
    found = others_ended(evidence(f"{SWALLOW_CANCEL}-1.json.gz"))
    assert found.evidence[:3] == ("callee1: answered", "callee2: CANCEL received",
                                  "callee3: not ended")
    assert "final response to the caller: 200 OK" in found.evidence[3]
    assert found.evidence[3].endswith("BYE answered 200")


def test_redirected_early_media_names_where_the_packets_came_from() -> None:
    """The shim points the 2nd and 3rd 183s at the 1st branch's address: the caller is told
    all three dialogs' media comes from callee1, and gets callee2's and callee3's from
    their own hosts."""
    found = early_media_separated(evidence(f"{REDIRECTED}-1.json.gz"))
    assert found.summary.count("CROSSOVER") == 2
    lines = shape("\n".join(found.evidence))
    assert shape("callee1's early media (SSRC 0x9dca4cd3) at the caller: 20 packet(s) from "
                 "198.18.0.21:44158, the address dialog 1 (callee1) and dialog 2 (callee2) "
                 "and dialog 3 (callee3) named x20") in lines
    assert shape("callee2's early media (SSRC 0xa6f825a8) at the caller: 20 packet(s) from "
                 "198.18.0.22:44602 x20") in lines
    assert "after the 200: caller got 10 packet(s) from callee1, callee1 got 10 from the " \
        "caller" in lines


def test_the_shared_srtp_key_is_shown_per_dialog() -> None:
    found = early_dialogs_distinct(evidence(SRTP_KEYS_PROXY))
    keys = [line.rsplit(" ", 1)[1] for line in found.evidence if "SRTP key" in line]
    assert len(keys) == 3 and len(set(keys)) == 1, found


def test_declared_dialogs_evidence_counts_both_calls() -> None:
    found = declared_early_dialogs(evidence(f"{ONE_183_LOST}-2.json.gz"),
                                   _died(evidence(f"{ONE_183_LOST}-0.json.gz")))
    assert found.evidence[0] == "4 forks: 3 early dialog(s) reached the caller"
    assert found.evidence[1] == ("5 forks: 5 early dialog(s), final 200 OK, BYE answered 200, "
                                 "target answers OPTIONS afterwards: False")
    # the lost 183 is told apart from the dialogs that arrived (early_dialogs_distinct's)
    assert sum(line.startswith("early dialog ") for line in found.evidence) == 3


def test_masked_telephone_event_sends_no_dtmf() -> None:
    found = early_dtmf_delivered(evidence(f"{MASKED_DTMF}-1.json.gz"))
    assert "sent: nothing" in found.evidence
    assert found.evidence[-1].startswith("callee1 received 15 packet(s) before the caller got "
                                         "the 200")


def _died(beyond: ForkOutcome) -> ForkOutcome:
    """The lab test's fault: the target stopped answering OPTIONS after N+1 forks."""
    assert beyond.target_alive_after is True  # as recorded
    return dataclasses.replace(beyond, target_alive_after=False)
