"""The robustness checks (`harness.conformance.robust_checks`: ROB-1..3) judged again over
what real lab runs recorded.

Passing rows are the suite's runs against the default target (suites/test_robustness.py:
the call after each torture category, the relay probes in proxy and anchored mode).
Failing rows are the probes of tests/lab/test_robust_validation.py against copies of the
target that get it wrong (no strict-source, sessions kept after the BYE) and the default
target's declared deviation (ROB-2 on the relay port of a silent side), with the words
those tests assert.

survives_torture takes its record last (after what `send_torture` returned), so its rows
use `derive` to put the suite's arguments first; its passing rows judge the recorded call
unchanged. Its failing rows are derived: the lab's wedged server
(test_a_server_wedged_by_malformed_sip_fails_rob_1) left no recording, so its failure is
made from the suite's call after the same category, the way the wedged server fails it.
The BROKEN tests give survives_malformed_media capture gaps at the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from evidence_rows import Row, evidence, run

from harness.capture.pcap import UnreadFrame
from harness.conformance.case import Verdict
from harness.conformance.robust_checks import (
    no_media_after_bye,
    no_media_from_strangers,
    survives_malformed_media,
    survives_torture,
)
from harness.evidence.call import CallOutcome
from harness.evidence.robust import RelayProbe
from harness.scenarios.robust import TORTURE, torture_messages

OK, FAILED, BROKEN = Verdict.OK, Verdict.FAILED, Verdict.BROKEN

ROBUSTNESS = "suites/test_robustness__test_"
LAB = "selftests/test_robust_validation__test_"
PROBE_PROXY = f"{ROBUSTNESS}relay_strangers_and_ended_calls_MediaMode.PROXY-1.json.gz"
PROBE_ANCHORED = f"{ROBUSTNESS}relay_strangers_and_ended_calls_MediaMode.ANCHORED-1.json.gz"
SILENT_SIDE = f"{ROBUSTNESS}relay_port_of_a_silent_side-1.json.gz"  # known deviation ROB-2
NO_STRICT_SOURCE = f"{LAB}a_relay_without_strict_source_fails_rob_2-1.json.gz"
KEEPS_ENDED_CALLS = f"{LAB}a_relay_that_keeps_ended_calls_fails_rob_3-1.json.gz"
# -1: the default relay (re-learns the silent side from the stranger); -3: learning off
SILENT = f"{LAB}the_silent_side_probe_fails_on_the_default_relay_and_passes_without_learning"

#: How many messages `send_torture` sends of each category (what the suite passes on).
SENT = {category: len(messages)
        for category, messages in torture_messages(("198.18.0.2", 5060)).items()}


def _after(category: str) -> str:
    return f"{ROBUSTNESS}target_survives_malformed_sip_{category.replace(' ', '_')}-0.json.gz"


def _after_torture(category: str, answered: bool = True
                   ) -> Callable[[CallOutcome], tuple[object, ...]]:
    """survives_torture takes the call last, after what `send_torture` returned: this puts
    the suite's arguments (`category`, the messages sent, whether OPTIONS was answered)
    before the recorded call, which it passes on unchanged."""
    return lambda call: (category, SENT[category], answered, call)


def _wedged(call: CallOutcome) -> tuple[object, ...]:
    """Stands for the server wedged by malformed SIP (the lab's ON_MALFORMED="wedge" copy
    after "unknown methods"): OPTIONS go unanswered and the INVITE after the torture gets
    no final response, so nothing is answered and no media flows."""
    dead = dataclasses.replace(
        call, final_status=None, final_reason="", provisionals=[], offer_received=None,
        answer_sent=None, answer_received=None, caller_codec=None, callee_codec=None,
        caller_rtp=[], callee_rtp=[])
    return _after_torture("unknown methods", answered=False)(dead)


def _relay_dead(call: CallOutcome) -> tuple[object, ...]:
    """Stands for a bad SDP that kills the media relay (rtpengine) while the SIP proxy goes
    on: OPTIONS are answered and the next call is set up, both sides send, and neither
    receives anything."""
    deaf = dataclasses.replace(
        call, caller_rtp=[r for r in call.caller_rtp if r.direction == "sent"],
        callee_rtp=[r for r in call.callee_rtp if r.direction == "sent"])
    return _after_torture("bad SDP")(deaf)


ROWS: list[Row] = [
    # ROB-1: one row per torture category, with the suite's arguments
    *(Row(f"torture/{category.replace(' ', '-')}", survives_torture, [_after(category)], OK,
          [f"after {category} the target answers OPTIONS and completes a call"],
          derive=_after_torture(category))
      for category in TORTURE),
    Row("torture/wedged-server", survives_torture, [_after("unknown methods")], FAILED,
        ["after unknown methods: the target no longer answers OPTIONS; the next call failed "
         "(None)"],
        derive=_wedged),
    Row("torture/relay-killed-by-bad-sdp", survives_torture, [_after("bad SDP")], FAILED,
        ["after bad SDP: the next call carried no media both ways"],
        derive=_relay_dead),
    # ROB-2: RTP from a stranger
    Row("strangers/proxy", no_media_from_strangers, [PROBE_PROXY], OK,
        ["media from an unnegotiated host was not relayed"]),
    Row("strangers/anchored", no_media_from_strangers, [PROBE_ANCHORED], OK,
        ["media from an unnegotiated host was not relayed"]),
    Row("strangers/silent-side-without-learning", no_media_from_strangers, [f"{SILENT}-3.json.gz"],
        OK, ["not relayed"]),
    Row("strangers/no-strict-source", no_media_from_strangers, [NO_STRICT_SOURCE], FAILED,
        ["20 of 20 packets from callee3, which the session never negotiated, were relayed to "
         "the call's endpoints"]),
    Row("strangers/silent-side-relearned", no_media_from_strangers, [f"{SILENT}-1.json.gz"],
        FAILED, ["were relayed"]),
    Row("strangers/known-deviation-silent-side", no_media_from_strangers, [SILENT_SIDE], FAILED,
        ["20 of 20 packets from callee3", "were relayed"]),
    # ROB-2: malformed STUN and RTP from a stranger
    Row("malformed/proxy", survives_malformed_media, [PROBE_PROXY], OK,
        ["malformed STUN and RTP from a stranger were dropped and the call's media kept "
         "flowing"]),
    Row("malformed/anchored", survives_malformed_media, [PROBE_ANCHORED], OK,
        ["were dropped and the call's media kept flowing"]),
    Row("malformed/silent-side-without-learning", survives_malformed_media,
        [f"{SILENT}-3.json.gz"], OK, ["were dropped"]),
    Row("malformed/no-strict-source", survives_malformed_media, [NO_STRICT_SOURCE], FAILED,
        ["15 kind(s) of malformed datagram from an unnegotiated host were relayed: 1400 random "
         "bytes, RTCP: length beyond the datagram"]),
    Row("malformed/silent-side-relearned", survives_malformed_media, [f"{SILENT}-1.json.gz"],
        FAILED, ["were relayed", "the call's media stopped reaching the callee after the "
                 "malformed datagrams (0 of 30)"]),
    Row("malformed/known-deviation-silent-side", survives_malformed_media, [SILENT_SIDE],
        FAILED, ["were relayed", "stopped reaching the callee"]),
    # ROB-3
    Row("after-bye/proxy", no_media_after_bye, [PROBE_PROXY], OK,
        ["the relay ports of the ended call forward nothing"]),
    Row("after-bye/anchored", no_media_after_bye, [PROBE_ANCHORED], OK, ["forward nothing"]),
    Row("after-bye/no-strict-source", no_media_after_bye, [NO_STRICT_SOURCE], OK,
        ["forward nothing"]),
    Row("after-bye/sessions-kept", no_media_after_bye, [KEEPS_ENDED_CALLS], FAILED,
        ["20 packet(s) sent to the old relay port after the BYE were still forwarded"]),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_robust_checks(row: Row) -> None:
    run(row)


def _with_unread(probe: RelayProbe, *frames: tuple[str, str]) -> RelayProbe:
    """`probe` whose call's capture has IP fragments (src, dst) it could not read."""
    call = probe.call
    ts = call.packets[-1].ts if call.packets else 0.0
    unread = [UnreadFrame(index=len(call.packets) + 1 + i, ts=ts, reason="ip_fragment",
                          src=src, dst=dst, protocol="udp")
              for i, (src, dst) in enumerate(frames)]
    return dataclasses.replace(probe, call=dataclasses.replace(call, unread=unread))


def test_malformed_media_is_broken_when_frames_from_the_target_go_unread() -> None:
    """A fragmented datagram leaving the target toward the caller could be one of the
    malformed datagrams relayed: the capture cannot show that none left the target."""
    probe = evidence(PROBE_PROXY)
    target = next(iter(probe.call.target_addresses))
    gap = _with_unread(probe, (target, probe.call.hosts["caller"]),
                       (target, probe.call.hosts["caller"]))
    found = survives_malformed_media(gap)
    assert found.verdict is BROKEN, found
    assert f"2 captured frame(s) involving {target} could not be read" in found.summary
    assert "no malformed datagram left the target" in found.summary
    first = len(probe.call.packets) + 1
    assert found.evidence == (f"frame {first}: ip_fragment 198.18.0.2 -> 198.18.0.10 (udp)",
                              f"frame {first + 1}: ip_fragment 198.18.0.2 -> 198.18.0.10 (udp)")


def test_malformed_media_clears_when_the_unread_frames_miss_the_target() -> None:
    probe = evidence(PROBE_PROXY)
    gap = _with_unread(probe, (probe.call.hosts["callee3"], probe.call.hosts["caller"]))
    found = survives_malformed_media(gap)
    assert found.verdict is OK, found


def test_relayed_garbage_fails_even_with_unread_frames() -> None:
    """FAILED beats BROKEN: what the capture did read already shows garbage relayed."""
    probe = evidence(NO_STRICT_SOURCE)
    gap = _with_unread(probe, ("198.18.0.2", probe.call.hosts["callee1"]))
    found = survives_malformed_media(gap)
    assert found.verdict is FAILED and "were relayed" in found.summary, found


def test_stranger_probe_evidence_names_the_relay_port() -> None:
    found = no_media_from_strangers(evidence(NO_STRICT_SOURCE))
    assert found.evidence[0].startswith("20 RTP packet(s) (SSRC 0xbadf00d) from callee3 to "
                                        "the relay port 198.18.0.2:")
    assert "5.5 s into the call, the caller still streaming" in found.evidence[0]
    assert found.evidence[1] == "the call's endpoints received 20 of them"


def test_malformed_media_evidence_lists_every_kind_relayed() -> None:
    found = survives_malformed_media(evidence(f"{SILENT}-1.json.gz"))
    assert found.evidence[0].startswith("15 malformed STUN/RTP datagram(s) from callee3 to the "
                                        "relay ports 198.18.0.2:")
    relayed = found.evidence[1]
    assert relayed.startswith("seen leaving the target toward the call's endpoints: ")
    assert relayed.count(", ") >= 14 and "empty datagram" in relayed
    assert found.evidence[2] == ("in the 0.6 s after them the caller sent 30 packet(s); the "
                                 "callee received 0")


def test_the_torture_call_evidence_counts_what_was_sent_and_heard() -> None:
    found = survives_torture("huge headers", SENT["huge headers"], True,
                             evidence(_after("huge headers")))
    assert found.evidence[:3] == ("3 malformed message(s) of category 'huge headers' sent",
                                  "OPTIONS afterwards: answered", "call afterwards: 200 OK")
    assert found.evidence[3].startswith("media afterwards: callee received ")
