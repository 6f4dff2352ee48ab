"""No call left behind (D35), against the real default target.

A small suite of conformance cases runs in a child pytest with the plugin (as `sbc-harness
run` does, on the default target file and its ``[call_state]``): a case that sets up a
call and never hangs up is reported on that very case (BROKEN: the harness never sent the
BYE), with the call-id rtpengine still holds; the case after it and a normal call leave
nothing; a call whose BYE the target answered but that rtpengine holds again (an ng
``offer`` with its call-id, standing for a target that does not release it) FAILS with
ROB-3. In the harness's own process: the probe of a target that declares no call state
(OPTIONS and a guard call) finds nothing after a normal call, and the ng reading sees a
call while it is up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.evidence.call import Side
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.pytest_plugin.calls import MediaCall
from harness.pytest_plugin.leftovers import Held, probe_target, read_held
from harness.targets.base import Target

ROOT = Path(__file__).resolve().parents[2]
PEER = ROOT / "peers" / "kamailio-rtpengine"

SUITE = '''
from harness.conformance.case import case
from harness.conformance.findings import ok
from harness.endpoints.sip import SipAgent
from harness.media.modes import MediaMode
from harness.scenarios.captured import capturing
from harness.sdp import PCMU, make_offer
from harness.sip import DialogConfirmed, RequestReceived
from harness.sip.headers import new_tag
from harness.targets.ng import ng_command

PROXY = MediaMode.PROXY


def meta(title):
    return case("MM-PROXY-1", title=title, reference="RFC 3261 section 15",
                expectation="the case ends every call it began", mode=PROXY)


@meta("a call set up and never hung up")
async def test_1_leaves_a_call_up(lab, target, harness_config, judge):
    pcap = harness_config.results_dir / "pcaps" / "leaves_a_call_up.pcap"
    async with capturing(lab, pcap):
        caller = SipAgent("caller", lab.netns("caller"), lab.address("caller"), 5071)
        callee = SipAgent("callee1", lab.netns("callee1"), lab.address("callee1"), 5072)
        async with caller, callee:
            offer = make_offer(lab.address("caller"), 40000, [PCMU])
            uri = target.loaded.spec.request_uri(PROXY, lab.address("callee1"), 5072)
            invite = caller.endpoint.create_invite(uri, body=bytes(offer),
                                                   content_type="application/sdp")
            caller.endpoint.send_request(invite, target.sip_address, caller.now)
            caller.pump()
            got = await callee.wait_for(RequestReceived, "the INVITE",
                                        where=lambda e: e.request.method == "INVITE")
            answer = make_offer(lab.address("callee1"), 40002, [PCMU])
            callee.endpoint.respond(got.request, 200, callee.now, to_tag=new_tag(),
                                    body=bytes(answer), content_type="application/sdp")
            callee.pump()
            confirmed = await caller.wait_for(DialogConfirmed, "the 200")
            caller.endpoint.send_ack(confirmed.dialog, invite.cseq.seq, caller.now)
            caller.pump()
            # no BYE: the agents close with the call up
    judge(ok("the call was set up"))


@meta("a normal call after the leftover")
async def test_2_normal_call(media_call, judge):
    call = await media_call(PROXY, packets=2)
    judge(ok(f"the call ended with its BYE ({call.final_status})"))


@meta("a call the target holds again after its BYE")
async def test_3_target_keeps_an_ended_call(media_call, target, judge):
    call = await media_call(PROXY, packets=2)
    invite = next(r for r in call.sip if r.direction == "sent" and r.data.startswith(b"INVITE"))
    call_id = next(line.split(b":", 1)[1].strip().decode()
                   for line in invite.data.split(b"\\r\\n") if line.lower().startswith(b"call-id:"))
    reply = await ng_command(target.control_netns, ("127.0.0.1", 2223), {
        "command": "offer", "call-id": call_id, "from-tag": "kept-by-the-target",
        "sdp": bytes(call.offer_sent)})
    assert reply.get("result") == b"ok", reply
    judge(ok("the call ended with its BYE"))
'''

INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""


def _results(alluredir: Path) -> dict[str, dict[str, object]]:
    """Each case of the child run (by function name): status, verdict labels, message and
    attachments (name -> text)."""
    out: dict[str, dict[str, object]] = {}
    for path in alluredir.glob("*-result.json"):
        data = json.loads(path.read_text())
        out[data["fullName"].rsplit("#", 1)[-1]] = {
            "status": data["status"],
            "verdicts": [x["value"] for x in data["labels"] if x["name"] == "verdict"],
            "message": (data.get("statusDetails") or {}).get("message", ""),
            "attachments": {a["name"]: (alluredir / a["source"]).read_text(errors="replace")
                            for a in data.get("attachments", [])},
        }
    return out


def test_a_call_left_up_is_reported_on_the_case_that_left_it(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_leaky.py").write_text(SUITE)
    (suite / "pytest.ini").write_text(INI)
    results, alluredir = tmp_path / "results", tmp_path / "allure"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite / "test_leaky.py"), f"--target={PEER}",
         f"--results-dir={results}", f"--alluredir={alluredir}", "-p", "no:cacheprovider",
         "-c", str(suite / "pytest.ini"), "--rootdir", str(suite)],
        cwd=suite, capture_output=True, text=True, timeout=180)
    out = _results(alluredir)
    assert set(out) == {"test_1_leaves_a_call_up", "test_2_normal_call",
                        "test_3_target_keeps_an_ended_call"}, proc.stdout[-3000:]

    leaky = out["test_1_leaves_a_call_up"]
    assert leaky["status"] == "broken", proc.stdout[-3000:]
    assert leaky["verdicts"] == ["BROKEN"]  # one verdict: the watch is in the call phase
    left = leaky["attachments"]["calls left behind"]  # type: ignore[index]
    assert "never ended 1 dialog" in left and "established (200); no BYE sent" in left
    assert "0 call(s) before the case, 1 after" in left
    assert "call left behind" in str(leaky["message"])

    normal = out["test_2_normal_call"]
    assert normal["status"] == "passed" and normal["verdicts"] == ["OK"], normal
    assert "calls left behind" not in normal["attachments"]  # type: ignore[operator]

    kept = out["test_3_target_keeps_an_ended_call"]
    assert kept["status"] == "failed" and kept["verdicts"] == ["FAILED"], kept
    words = kept["attachments"]["calls left behind"]  # type: ignore[index]
    assert "ROB-3" in words and "BYE answered 200" in words
    assert "1 call(s) before the case, 2 after" in words


async def test_the_ng_reading_sees_a_call_while_it_is_up(lab: Lab, target: Target,
                                                        tmp_path: Path) -> None:
    state = target.loaded.spec.call_state
    before = await read_held(target, state)
    assert isinstance(before, Held) and before.call_ids is not None
    seen: list[Held] = []

    async def look(live: object, packets: int) -> None:
        seen.append(await read_held(target, state))

    from harness.scenarios.captured import captured_call, plan_call

    plan = plan_call(lab, target, MediaMode.PROXY, pcap=tmp_path / "ng.pcap",
                     callee=Side())
    call = await captured_call(plan, lab, target, packets=2, then=look)
    after = await read_held(target, state)
    assert call.established and len(seen) == 1
    assert seen[0].count == before.count + 1
    assert after.call_ids == before.call_ids


async def test_the_generic_probe_finds_nothing_after_a_normal_call(
    lab: Lab, target: Target, media_call: MediaCall
) -> None:
    await media_call(MediaMode.PROXY, packets=2)
    probe = await probe_target(target, lab, guard=True)
    assert probe.options_answered
    assert probe.guard_accepted is True, probe.guard
    assert "accepted (200)" in probe.guard
