"""Whose fault a call left behind is (D35), over plain data: how each dialog of a case
ended as the wire shows it (`dialog_traces`), and the verdict a leftover gets from the
readings before and after the case (`judge_leftovers`) or from the probe of a target that
declares no call state (`judge_probe`)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.capture.pcap import CapturedPacket, write_pcap
from harness.conformance.case import Verdict
from harness.pytest_plugin.leftovers import (
    DialogTrace,
    Ending,
    Held,
    ProbeResult,
    case_packets,
    dialog_traces,
    judge_leftovers,
    judge_probe,
)

TARGET = "198.18.0.2"
CALLER, CALLEE = ("198.18.0.10", 5060), ("198.18.0.21", 5060)
SBC = (TARGET, 5060)
TARGETS = frozenset({TARGET})


def request(method: str, call_id: str, seq: int = 1) -> bytes:
    return (f"{method} sip:x@{TARGET} SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bKa\r\n"
            f"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {seq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()


def response(status: int, method: str, call_id: str, seq: int = 1) -> bytes:
    return (f"SIP/2.0 {status} Whatever\r\nVia: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bKa\r\n"
            f"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {seq} {method}\r\nContent-Length: 0\r\n\r\n").encode()


def pkt(src: tuple[str, int], dst: tuple[str, int], data: bytes, n: int = 0) -> CapturedPacket:
    return CapturedPacket(n, 1000.0 + n / 100, src, dst, data)


def setup(call_id: str) -> list[CapturedPacket]:
    """INVITE through the target, the callee's 200 relayed, the ACK."""
    return [pkt(CALLER, SBC, request("INVITE", call_id)),
            pkt(SBC, CALLEE, request("INVITE", call_id)),
            pkt(CALLEE, SBC, response(200, "INVITE", call_id)),
            pkt(SBC, CALLER, response(200, "INVITE", call_id)),
            pkt(CALLER, SBC, request("ACK", call_id))]


def bye(call_id: str, *, answered: bool = True) -> list[CapturedPacket]:
    out = [pkt(CALLER, SBC, request("BYE", call_id, 2)),
           pkt(SBC, CALLEE, request("BYE", call_id, 2)),
           pkt(CALLEE, SBC, response(200, "BYE", call_id, 2))]
    return out + ([pkt(SBC, CALLER, response(200, "BYE", call_id, 2))] if answered else [])


def traces(packets: list[CapturedPacket]) -> dict[str, DialogTrace]:
    return dialog_traces(packets, TARGETS)


# -- how each dialog ended -------------------------------------------------------------------

def test_a_call_hung_up_and_answered() -> None:
    t = traces(setup("a") + bye("a"))["a"]
    assert t.ending is Ending.ANSWERED and t.how == "BYE answered 200"


def test_a_call_never_hung_up() -> None:
    t = traces(setup("a"))["a"]
    assert t.ending is Ending.NEVER and t.how == "established (200); no BYE sent"


def test_a_bye_the_target_did_not_answer() -> None:
    # the callee's 200 reaches the target, the target's 200 never reaches the caller
    t = traces(setup("a") + bye("a", answered=False))["a"]
    assert t.ending is Ending.ANSWERED  # the callee-side leg answered the target's BYE
    only_sent = setup("b") + [pkt(CALLER, SBC, request("BYE", "b", 2))]
    u = traces(only_sent)["b"]
    assert u.ending is Ending.UNANSWERED and "BYE sent, no 2xx" in u.how


def test_a_bye_from_the_target_answered_by_the_harness() -> None:
    ended = setup("a") + [pkt(SBC, CALLER, request("BYE", "a", 9)),
                          pkt(CALLER, SBC, response(200, "BYE", "a", 9))]
    assert traces(ended)["a"].ending is Ending.ANSWERED


def test_a_call_the_target_refused() -> None:
    refused = [pkt(CALLER, SBC, request("INVITE", "r")),
               pkt(SBC, CALLER, response(503, "INVITE", "r"))]
    t = traces(refused)["r"]
    assert t.ending is Ending.ANSWERED and t.how == "refused by the target (503)"


def test_a_cancel_answered_and_one_not_answered() -> None:
    answered = [pkt(CALLER, SBC, request("INVITE", "c")), pkt(CALLER, SBC, request("CANCEL", "c")),
                pkt(SBC, CALLER, response(200, "CANCEL", "c")),
                pkt(SBC, CALLER, response(487, "INVITE", "c"))]
    t = traces(answered)["c"]
    assert t.ending is Ending.ANSWERED and "after a CANCEL answered 200" in t.how
    unanswered = [pkt(CALLER, SBC, request("INVITE", "d")),
                  pkt(CALLER, SBC, request("CANCEL", "d"))]
    assert traces(unanswered)["d"].ending is Ending.UNANSWERED


def test_an_invite_left_ringing() -> None:
    ringing = [pkt(CALLER, SBC, request("INVITE", "e")),
               pkt(SBC, CALLER, response(180, "INVITE", "e"))]
    t = traces(ringing)["e"]
    assert t.ending is Ending.NEVER and "never CANCELled" in t.how


def test_what_is_not_an_invite_dialog_or_not_sip_is_left_out() -> None:
    found = traces([pkt(CALLER, SBC, request("OPTIONS", "o")), pkt(CALLER, SBC, b"\x80\x00garbage"),
                    pkt(CALLER, SBC, b"INVITE nonsense\r\n\r\n")])
    assert found == {}


def test_the_callees_own_200_is_not_the_targets_answer() -> None:
    # the callee answered the INVITE, the target never relayed it: not established
    partial = [pkt(CALLER, SBC, request("INVITE", "f")), pkt(SBC, CALLEE, request("INVITE", "f")),
               pkt(CALLEE, SBC, response(200, "INVITE", "f"))]
    assert traces(partial)["f"].ending is Ending.NEVER


# -- the verdict of a leftover ----------------------------------------------------------------

NG = "rtpengine ng 'list' at 127.0.0.1:2223"


def ids(*call_ids: str) -> Held:
    return Held(len(call_ids), frozenset(call_ids), NG)


def test_no_leftover() -> None:
    assert judge_leftovers(ids("old"), ids("old"), {}) is None
    assert judge_leftovers(ids("old", "x"), ids("old"), {}) is None  # one ended meanwhile
    assert judge_leftovers(Held(2), Held(2), {}) is None


def test_a_call_the_harness_never_ended_is_broken() -> None:
    found = judge_leftovers(ids("earlier"), ids("earlier", "a"), traces(setup("a")))
    assert found is not None and found.verdict is Verdict.BROKEN
    assert "never ended 1 dialog(s)" in found.summary
    assert found.calls == ("a: established (200); no BYE sent",)
    assert "1 call(s) before the case, 2 after" in found.readings
    assert "earlier" not in found.text()


def test_a_call_ended_and_answered_but_still_held_is_the_targets() -> None:
    found = judge_leftovers(ids(), ids("a"), traces(setup("a") + bye("a")))
    assert found is not None and found.verdict is Verdict.FAILED
    assert found.summary.startswith("ROB-3") and "did not release" in found.summary
    assert found.calls == ("a: BYE answered 200",)


def test_a_proven_leftover_wins_over_one_the_harness_left() -> None:
    packets = setup("a") + bye("a") + setup("b")
    found = judge_leftovers(ids(), ids("a", "b"), traces(packets))
    assert found is not None and found.verdict is Verdict.FAILED
    assert found.calls == ("a: BYE answered 200", "b: established (200); no BYE sent")


def test_a_call_no_capture_shows_cannot_be_blamed() -> None:
    found = judge_leftovers(ids(), ids("stranger"), traces(setup("a") + bye("a")))
    assert found is not None and found.verdict is Verdict.BROKEN
    assert found.calls == ("stranger: not a dialog the captures of the case show",)


def test_an_unanswered_bye_cannot_be_blamed() -> None:
    packets = setup("b") + [pkt(CALLER, SBC, request("BYE", "b", 2))]
    found = judge_leftovers(ids(), ids("b"), traces(packets))
    assert found is not None and found.verdict is Verdict.BROKEN
    assert "cannot be told" in found.summary


def test_counts_blame_the_target_only_when_every_dialog_ended_answered() -> None:
    ended = traces(setup("a") + bye("a") + setup("b") + bye("b"))
    found = judge_leftovers(Held(3, source="command"), Held(4, source="command"), ended)
    assert found is not None and found.verdict is Verdict.FAILED
    assert "holds 1 call(s) more than before" in found.summary
    mixed = traces(setup("a") + bye("a") + setup("b"))
    broken = judge_leftovers(Held(0), Held(1), mixed)
    assert broken is not None and broken.verdict is Verdict.BROKEN
    nothing = judge_leftovers(Held(0), Held(1), {})
    assert nothing is not None and nothing.verdict is Verdict.BROKEN
    assert "no capture of the case shows" in nothing.summary


def test_the_probe() -> None:
    assert judge_probe(ProbeResult(True), {}) is None
    assert judge_probe(ProbeResult(True, True, "accepted (200)"), {}) is None
    dead = judge_probe(ProbeResult(False), {})
    assert dead is not None and dead.verdict is Verdict.BROKEN and "OPTIONS" in dead.summary
    refused = ProbeResult(True, False, "the guard call (proxy) was refused: 503 CAC")
    left = judge_probe(refused, traces(setup("a")))
    assert left is not None and left.verdict is Verdict.BROKEN
    assert "refused a guard call" in left.summary and "503 CAC" in left.readings
    kept = judge_probe(refused, traces(setup("a") + bye("a")))
    assert kept is not None and kept.verdict is Verdict.FAILED


def test_the_captures_of_the_case_are_those_written_since_it_began(tmp_path: Path) -> None:
    old, new = tmp_path / "old.pcap", tmp_path / "new.pcap"
    write_pcap(old, setup("old"))
    write_pcap(new, setup("new") + bye("new"))
    os.utime(old, (100.0, 100.0))
    (tmp_path / "broken.pcap").write_bytes(b"not a pcap at all")
    packets, problems = case_packets(tmp_path, since=1000.0)
    assert set(traces(packets)) == {"new"}
    assert len(problems) == 1 and problems[0].startswith("broken.pcap")
    assert case_packets(tmp_path / "missing", 0.0) == ([], [])
