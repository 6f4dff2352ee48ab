"""The leftover watch (`harness.pytest_plugin.leftovers`, D35) on a suite of its own (no
root, no lab): the stand-in target's calls are a number in a file the cases write, read
by the target file's ``[call_state]`` command as any command would be. A case that
passed and left a call is BROKEN (no capture shows whose fault it is) or FAILED (its
capture shows the BYE answered), one verdict in its call phase, with the count attached
and in its message; the next case is not blamed;
a case that did not pass keeps its verdict, the leftover attached; tests that are not
cases, or cases that never ask for the target, are not watched. The readers themselves
(ng, command) are tested in-process below."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import pytest
from plugin_runs import read_results

from harness.errors import HarnessError
from harness.pytest_plugin.leftovers import read_held
from harness.targets.ng import bdecode, bencode
from harness.targets.spec import CallState, load_target

CALL_STATE = """
[call_state]
command = ["cat", "{peer_dir}/calls"]
grace = 0.2
"""

#: Added to the lab guard's conftest: a stand-in target whose calls the cases set.
STAND_IN = '''

class CountingTarget:
    addresses = frozenset({"198.18.0.2"})
    sip_address = ("198.18.0.2", 5060)
    control_netns = None  # the command runs here, not in a namespace

    def __init__(self, loaded):
        self.loaded = loaded
        self.hold(0)

    def hold(self, calls):
        (self.loaded.directory / "calls").write_text(f"{calls}\\n")

    def log_mark(self):
        return {}

    def logs_since(self, mark):
        return {}

    def log_errors(self, mark=None):
        return []

    def config_errors(self, mark=None):
        return []


@pytest.fixture(scope="session")
def target(harness_config):
    return CountingTarget(harness_config.loaded)
'''

SUITE = '''
from harness.capture.pcap import CapturedPacket, write_pcap
from harness.conformance.case import case
from harness.conformance.findings import failed, ok
from harness.media.modes import MediaMode

BYPASS, PROXY = MediaMode.BYPASS, MediaMode.PROXY
CALLER, SBC = ("198.18.0.10", 5060), ("198.18.0.2", 5060)


def meta(*rids, **kw):
    return case(*rids, title=f"case of {rids[0]}", reference="RFC 3261 section 15",
                expectation="what the requirement says", **kw)


def sip(first, method, seq=1):
    return (f"{first}\\r\\nVia: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bKa\\r\\n"
            "From: <sip:a@x>;tag=1\\r\\nTo: <sip:b@x>;tag=2\\r\\nCall-ID: ended-call\\r\\n"
            f"CSeq: {seq} {method}\\r\\nContent-Length: 0\\r\\n\\r\\n").encode()


@meta("MM-BYPASS-1", mode=BYPASS)
def test_1_clean(target, judge):
    judge(ok("the call ended"))


@meta("MM-BYPASS-2", mode=BYPASS)
def test_2_leaves_one(target, judge):
    target.hold(1)
    judge(ok("the call was set up"))


@meta("MM-PROXY-1", mode=PROXY)
def test_3_after_the_leftover(target, judge):
    judge(ok("nothing new left"))


@meta("MM-PROXY-2", mode=PROXY)
def test_4_failed_and_leaves_one(target, judge):
    target.hold(2)
    judge(failed("nothing went through the target", ["no flow"]))


@meta("MM-LAT-1", mode=BYPASS)
def test_5_target_keeps_an_ended_call(target, harness_config, judge):
    pcaps = harness_config.results_dir / "pcaps"
    pcaps.mkdir(parents=True, exist_ok=True)
    write_pcap(pcaps / "ended.pcap", [
        CapturedPacket(1, 1.0, CALLER, SBC, sip("INVITE sip:x SIP/2.0", "INVITE")),
        CapturedPacket(2, 1.1, SBC, CALLER, sip("SIP/2.0 200 OK", "INVITE")),
        CapturedPacket(3, 1.2, CALLER, SBC, sip("BYE sip:x SIP/2.0", "BYE", 2)),
        CapturedPacket(4, 1.3, SBC, CALLER, sip("SIP/2.0 200 OK", "BYE", 2))])
    target.hold(3)
    judge(ok("the call ended with its BYE"))


@meta("MM-PROXY-3", mode=PROXY)
def test_6_deviation_and_leaves_one(target, judge):
    target.hold(4)
    judge(failed("the payload changed on the way", ["byte 12"]))


@meta("MM-BYPASS-3", mode=BYPASS)
def test_7_without_the_target(judge):
    judge(ok("nothing asked of the target"))


def test_8_not_a_case(target):
    target.hold(9)
'''

#: Test function -> (verdict labels, Allure status).
EXPECTED = {
    "test_1_clean": (["OK"], "passed"),
    "test_2_leaves_one": (["BROKEN"], "broken"),
    "test_3_after_the_leftover": (["OK"], "passed"),
    "test_4_failed_and_leaves_one": (["FAILED"], "failed"),
    "test_5_target_keeps_an_ended_call": (["FAILED"], "failed"),
    "test_6_deviation_and_leaves_one": (["KNOWN DEVIATION"], "skipped"),
    "test_7_without_the_target": (["OK"], "passed"),
    "test_8_not_a_case": ([], "passed"),
}
LEFT = "calls left behind"


def test_a_leftover_is_reported_on_the_case_that_left_it(
    suite_dir: pytest.Pytester, mini_target: Path
) -> None:
    mini_target.write_text(mini_target.read_text() + CALL_STATE)
    (suite_dir.path / "conftest.py").write_text(
        (suite_dir.path / "conftest.py").read_text() + STAND_IN)
    suite_dir.makepyfile(test_suite=SUITE)
    alluredir = suite_dir.path / "allure-results"
    result = suite_dir.runpytest_subprocess(
        f"--target={mini_target}", f"--results-dir={suite_dir.path / 'results'}",
        f"--alluredir={alluredir}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=3, xfailed=1)  # one verdict each, no errors
    results = read_results(alluredir)
    assert {n: (r.verdicts, r.status) for n, r in results.items()} == EXPECTED

    leaky = results["test_2_leaves_one"]
    assert "call left behind" in leaky.message and "1 after" in leaky.message
    assert "holds 1 call(s) more than before this case" in leaky.attachments[LEFT]
    assert "0 call(s) before the case, 1 after" in leaky.attachments[LEFT]
    assert "no capture of the case shows" in leaky.attachments[LEFT]
    for quiet in ("test_1_clean", "test_3_after_the_leftover", "test_7_without_the_target",
                  "test_8_not_a_case"):
        assert LEFT not in results[quiet].attachments, quiet
    failed = results["test_4_failed_and_leaves_one"]
    assert "1 call(s) before the case, 2 after" in failed.attachments[LEFT]
    assert "call left behind" not in failed.message  # its own failure is its message
    kept = results["test_5_target_keeps_an_ended_call"]
    assert kept.attachments[LEFT].startswith("FAILED: ROB-3")
    assert "ended-call: BYE answered 200" in kept.attachments[LEFT]
    # Counted at ROB-3, which the case then names; on its own requirement it stays OK.
    assert "ROB-3" in kept.labels["requirement"]
    assert kept.labels["requirement_verdict"] == ["MM-LAT-1=OK"]
    assert LEFT in results["test_6_deviation_and_leaves_one"].attachments


#: For a target that declares no call state: a stand-in that answers OPTIONS on loopback
#: until a case mutes it (no lab, so no guard call: the lab tests make one).
ANSWERING = '''

import socket
import threading


class AnsweringTarget:
    addresses = frozenset({"127.0.0.1"})
    control_netns = None

    def __init__(self, loaded):
        self.loaded = loaded
        self.muted = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sip_address = self.sock.getsockname()
        threading.Thread(target=self._answer, daemon=True).start()

    def _answer(self):
        while True:
            data, peer = self.sock.recvfrom(65535)
            if not self.muted:
                self.sock.sendto(b"SIP/2.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n", peer)

    def log_mark(self):
        return {}

    def log_errors(self, mark=None):
        return []


@pytest.fixture(scope="session")
def target(harness_config):
    return AnsweringTarget(harness_config.loaded)
'''

PROBED = '''
from harness.conformance.case import case
from harness.conformance.findings import ok
from harness.media.modes import MediaMode


def meta(rid):
    return case(rid, title=f"case of {rid}", reference="RFC 3261 section 11",
                expectation="what the requirement says", mode=MediaMode.BYPASS)


@meta("MM-BYPASS-1")
def test_1_answered(target, judge):
    judge(ok("the call ended"))


@meta("MM-BYPASS-2")
def test_2_the_target_goes_quiet(target, judge):
    target.muted = True
    judge(ok("the call ended"))
'''


def test_a_target_without_call_state_is_probed_with_options(
    suite_dir: pytest.Pytester, mini_target: Path
) -> None:
    (suite_dir.path / "conftest.py").write_text(
        (suite_dir.path / "conftest.py").read_text() + ANSWERING)
    suite_dir.makepyfile(test_probed=PROBED)
    alluredir = suite_dir.path / "allure-results"
    result = suite_dir.runpytest_subprocess(
        f"--target={mini_target}", f"--results-dir={suite_dir.path / 'results'}",
        f"--alluredir={alluredir}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    results = read_results(alluredir)
    assert results["test_1_answered"].verdicts == ["OK"]
    quiet = results["test_2_the_target_goes_quiet"]
    assert quiet.verdicts == ["BROKEN"]
    assert "no longer answers a SIP OPTIONS" in quiet.attachments[LEFT]


# -- the readers, in-process -----------------------------------------------------------------

class _Stand:
    """What `read_held` asks of a target: its control namespace, addresses, file."""

    control_netns = None
    addresses = frozenset({"198.18.0.2"})

    def __init__(self, loaded_dir: Path) -> None:
        path = loaded_dir / "target.toml"
        path.write_text('[target]\nname = "x"\n')
        self.loaded = load_target(path)


class _FakeNg(asyncio.DatagramProtocol):
    """rtpengine's ng socket as far as ``list`` goes."""

    def __init__(self, reply: dict[str, object] | None) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        cookie, _, body = data.partition(b" ")
        assert bdecode(body)["command"] == b"list"
        if self.reply is not None and self.transport is not None:
            self.transport.sendto(cookie + b" " + bencode(self.reply), addr)  # type: ignore[arg-type]


async def _ng(reply: dict[str, object] | None, tmp_path: Path) -> object:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _FakeNg(reply),
                                                       local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        return await read_held(_Stand(tmp_path), CallState(ng=f"127.0.0.1:{port}"))  # type: ignore[arg-type]
    except HarnessError as exc:
        return exc
    finally:
        transport.close()


def test_the_ng_reader_lists_call_ids(tmp_path: Path) -> None:
    held = asyncio.run(_ng({"result": "ok", "calls": ["a@x", "b@x"]}, tmp_path))
    assert held.count == 2 and held.call_ids == {"a@x", "b@x"}  # type: ignore[attr-defined]
    assert "ng 'list' at 127.0.0.1:" in held.source  # type: ignore[attr-defined]


def test_the_ng_reader_says_what_went_wrong(tmp_path: Path) -> None:
    refused = asyncio.run(_ng({"result": "error", "error-reason": "Unknown command"}, tmp_path))
    assert isinstance(refused, HarnessError)
    assert "'error (Unknown command)', not a list of calls" in str(refused)
    silent = asyncio.run(_ng(None, tmp_path))
    assert isinstance(silent, HarnessError) and "no reply to 'list' within" in str(silent)


def _command(tmp_path: Path, argv: list[str], pattern: str = r"(\d+)") -> object:
    try:
        return asyncio.run(read_held(_Stand(tmp_path),  # type: ignore[arg-type]
                                     CallState(command=argv, pattern=pattern)))
    except HarnessError as exc:
        return exc


def test_the_command_reader(tmp_path: Path) -> None:
    held = _command(tmp_path, ["echo", "{{ starting: 0 ongoing: 3 all: 4 }}"], r"all: (\d+)")
    assert held.count == 4 and held.call_ids is None  # type: ignore[attr-defined]
    assert "printed no number" in str(_command(tmp_path, ["echo", "none"]))
    assert "exited with status 1" in str(_command(tmp_path, ["false"]))
    assert "cannot run" in str(_command(tmp_path, ["/no/such/tool"]))
    where = _command(tmp_path, ["echo", "{peer_dir}"], r"(.+)")
    assert "printed no number" in str(where) and str(tmp_path) in str(where)
