"""No call left behind (issue 14, part 3; D35): at the end of every conformance case the
plugin checks that the target holds no call the case began, and reports a leftover on
the case that left it, not on the next one (whose own calls it would hamper).

How the target's calls are read is what its target file declares (`CallState`,
``[call_state]``): an rtpengine ng socket (``list``: the call-ids it holds) or a command
that prints a number, read before and after the case (with a short `grace` for calls the
target is still ending). A target that declares neither is probed: a SIP OPTIONS after
every case, and after a case that did not pass a short guard call through the target;
a guard call refused or unanswered is the sign of a leftover.

Whose fault a leftover is comes from what crossed the wire during the case (the pcaps it
wrote): a call whose BYE (or CANCEL) the target answered, or that it refused itself, and
that it still holds, is the target's (FAILED, ROB-3: it did not release it); a call the
harness never ended is the harness's (BROKEN: its scenario did not end a dialog it
began); anything it cannot tell is BROKEN, never a verdict on the target. The watch
wraps the case's call phase (as `target_log` does, D34): a case that passed (OK,
NON-STRICT, INFORMATIONAL) is FAILED or BROKEN by its leftover, its one verdict; a case
that did not pass (FAILED, BROKEN, KNOWN DEVIATION, INCONCLUSIVE) keeps its verdict,
which already says it is not OK, and gets the leftover attached ("calls left behind").
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
from collections.abc import Coroutine, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import allure
import pytest

from harness.capture.classify import PacketKind, classify
from harness.capture.pcap import CapturedPacket, load_capture
from harness.conformance.case import Verdict
from harness.conformance.findings import Finding
from harness.errors import CaptureError, HarnessError, TargetViolation
from harness.lab import Lab
from harness.pytest_plugin.options import CONFIG_KEY
from harness.pytest_plugin.verdicts import (
    COUNTED_AT_KEY,
    FINDINGS_KEY,
    JUDGED_KEY,
    case_of,
    graded_by_findings,
)
from harness.sip import Request, Response
from harness.sip.errors import SipParseError
from harness.sip.message import parse_message
from harness.targets.base import Target
from harness.targets.ng import ng_list_calls
from harness.targets.ready import target_still_answers
from harness.targets.spec import CallState

__all__ = [
    "DialogTrace", "Ending", "Held", "Leftover", "ProbeResult", "case_packets",
    "dialog_traces", "judge_leftovers", "judge_probe", "no_call_left_behind",
    "probe_target", "pytest_runtest_call_leftovers", "read_held",
]

T = TypeVar("T")

COMMAND_TIMEOUT_S = 5.0
POLL_S = 0.05  # between readings while the target is given its grace
GUARD_TIMEOUT_S = 1.0  # a guard call's final response
GUARD_PORTS = (5097, 5098)  # the guard call's SIP ports (caller, callee): off the suites'


# -- what the target holds ---------------------------------------------------------------

@dataclass(frozen=True)
class Held:
    """The calls the target holds at one moment, as its declared source tells."""

    count: int
    call_ids: frozenset[str] | None = None  # None: the source gives a count only
    source: str = ""  # in words: where it was read


async def read_held(target: Target, state: CallState) -> Held:
    """Read the target's calls from the source its target file declares (`ng` or
    `command`); HarnessError, in words, when it cannot be read."""
    netns = target.control_netns
    if state.ng is not None:
        ids = await ng_list_calls(netns, state.ng)
        return Held(len(ids), frozenset(ids), f"rtpengine ng 'list' at {state.ng}")
    if state.command is None:
        raise HarnessError("the target file declares no [call_state] source to read")
    address = next(iter(sorted(target.addresses)), "")
    argv = [a.format(address=address, peer_dir=str(target.loaded.directory))
            for a in state.command]
    output = await _run(argv, netns)
    match = re.search(state.pattern, output)
    if match is None or not match.group(1).isdigit():
        raise HarnessError(f"[call_state] command {' '.join(argv)!r} printed no number "
                           f"matching {state.pattern!r}: {output.strip()[:200]!r}")
    return Held(int(match.group(1)), None, f"command {' '.join(argv)!r}")


async def _run(argv: Sequence[str], netns: str | None) -> str:
    """Run `argv` inside network namespace `netns` (nsenter; None: here) and return what
    it printed; HarnessError in words when it cannot run, fails or hangs."""
    full = list(argv) if netns is None else [
        "nsenter", f"--net={netns if netns.startswith('/') else '/run/netns/' + netns}",
        "--", *argv]
    try:
        proc = await asyncio.create_subprocess_exec(
            *full, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL)
    except OSError as exc:
        raise HarnessError(f"[call_state] command {argv[0]!r} cannot run: "
                           f"{exc.strerror}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise HarnessError(f"[call_state] command {' '.join(argv)!r} did not finish within "
                           f"{COMMAND_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        raise HarnessError(f"[call_state] command {' '.join(argv)!r} exited with status "
                           f"{proc.returncode}: {err.decode(errors='replace').strip()[:200]}")
    return out.decode(errors="replace")


# -- what the case's SIP shows of each dialog it began ------------------------------------

class Ending(enum.Enum):
    """How a dialog of the case ended, as the wire shows it."""

    ANSWERED = "ended, and the target answered"  # BYE/CANCEL answered, or refused
    UNANSWERED = "ended by the harness, not answered by the target"
    NEVER = "never ended by the harness"


@dataclass(frozen=True)
class DialogTrace:
    """One Call-ID of the case: how it ended, in words (``BYE answered 200``)."""

    call_id: str
    ending: Ending
    how: str


@dataclass
class _Seen:
    """What the wire showed of one Call-ID (working record of `dialog_traces`)."""

    invited: bool = False
    final: int | None = None  # the best final status the target sent to the harness
    bye: str | None = None  # "sent" or "answered <status>"
    cancel: str | None = None


def dialog_traces(packets: Iterable[CapturedPacket], target_addresses: frozenset[str]
                  ) -> dict[str, DialogTrace]:
    """Each INVITE dialog the packets show (by Call-ID) and how it ended: a BYE either
    side sent and the other answered 2xx, a final response the target sent (a refusal),
    a CANCEL the target answered, or nothing. SIP the reader cannot parse is left out."""
    seen: dict[str, _Seen] = {}
    for pkt in packets:
        if classify(pkt.payload) is not PacketKind.SIP:
            continue
        try:
            msg = parse_message(pkt.payload)
            call_id, cseq = msg.call_id, msg.cseq
        except (SipParseError, ValueError, KeyError):
            continue
        s = seen.setdefault(call_id, _Seen())
        if isinstance(msg, Request):
            _request(s, msg.method, pkt, target_addresses)
        elif isinstance(msg, Response):
            _response(s, msg.status, cseq.method, pkt, target_addresses)
    return {cid: _trace(cid, s) for cid, s in seen.items() if s.invited}


def _request(s: _Seen, method: str, pkt: CapturedPacket, target: frozenset[str]) -> None:
    to_target = pkt.dst[0] in target and pkt.src[0] not in target
    if method == "INVITE":
        s.invited = True
    elif method == "BYE" and s.bye is None and (to_target or pkt.src[0] in target):
        s.bye = "sent"
    elif method == "CANCEL" and s.cancel is None and to_target:
        s.cancel = "sent"


def _response(s: _Seen, status: int, method: str, pkt: CapturedPacket,
              target: frozenset[str]) -> None:
    """A response counts where it answers across the target's edge: from the target to
    the harness, or (to a BYE the target sent) from the harness to the target."""
    from_target = pkt.src[0] in target and pkt.dst[0] not in target
    to_target = pkt.dst[0] in target and pkt.src[0] not in target
    if method == "INVITE" and from_target and status >= 200:
        if s.final is None or 200 <= status < 300:
            s.final = status
    elif method == "BYE" and 200 <= status < 300 and (from_target or to_target):
        s.bye = f"answered {status}"
    elif method == "CANCEL" and from_target and 200 <= status < 300:
        s.cancel = f"answered {status}"


def _trace(call_id: str, s: _Seen) -> DialogTrace:
    established = s.final is not None and 200 <= s.final < 300
    if s.bye is not None and s.bye.startswith("answered"):
        return DialogTrace(call_id, Ending.ANSWERED, f"BYE {s.bye}")
    if established:
        if s.bye == "sent":
            return DialogTrace(call_id, Ending.UNANSWERED,
                               f"established ({s.final}); BYE sent, no 2xx to it")
        return DialogTrace(call_id, Ending.NEVER, f"established ({s.final}); no BYE sent")
    if s.final is not None:
        return DialogTrace(call_id, Ending.ANSWERED, f"refused by the target ({s.final})"
                           + (f" after a CANCEL {s.cancel}" if s.cancel else ""))
    if s.cancel is not None:
        ending = Ending.ANSWERED if s.cancel.startswith("answered") else Ending.UNANSWERED
        return DialogTrace(call_id, ending, f"no final response; CANCEL {s.cancel}")
    return DialogTrace(call_id, Ending.NEVER, "no final response; never CANCELled")


def case_packets(pcaps: Path, since: float) -> tuple[list[CapturedPacket], list[str]]:
    """The packets of every capture written into `pcaps` since `since` (epoch seconds):
    the case's own (cases run one at a time); and the captures that could not be read."""
    packets: list[CapturedPacket] = []
    problems = []
    for path in sorted(pcaps.glob("*.pcap")) if pcaps.is_dir() else ():
        try:
            if path.stat().st_mtime < since:
                continue
            packets += load_capture(path, strict=False).packets
        except (OSError, CaptureError) as exc:
            problems.append(f"{path.name}: {exc}")
    return packets, problems


# -- the decision -------------------------------------------------------------------------

@dataclass(frozen=True)
class Leftover:
    """A case left calls in the target: whose fault (FAILED: the target's; BROKEN: the
    harness's, or not to be told), in one line, and the calls one per line."""

    verdict: Verdict
    summary: str
    calls: tuple[str, ...] = ()
    readings: str = ""  # before and after, in words

    def text(self) -> str:
        return "\n".join([f"{self.verdict.value}: {self.summary}",
                          *([self.readings] if self.readings else []),
                          *(f"  {line}" for line in self.calls)])


#: Where a call the target did not release is counted (its own requirement, not the case's).
RELEASE_REQUIREMENT = "ROB-3"
ROB3 = f"{RELEASE_REQUIREMENT} (release media resources when calls end)"


def judge_leftovers(before: Held, after: Held, traces: Mapping[str, DialogTrace]
                    ) -> Leftover | None:
    """Whether the case left calls (after, less what was there before) and whose fault
    that is, from the case's dialogs (`dialog_traces`); None: it left none. With call-ids
    each one left is judged by its own dialog; with counts, by every dialog of the case."""
    readings = (f"{after.source}: {before.count} call(s) before the case, {after.count} "
                f"after")
    if before.call_ids is not None and after.call_ids is not None:
        left = sorted(after.call_ids - before.call_ids)
        if not left:
            return None
        rows = [(cid, traces.get(cid)) for cid in left]
        lines = tuple(f"{cid}: {t.how if t else 'not a dialog the captures of the case show'}"
                      for cid, t in rows)
        return _blame(f"the target still holds {len(left)} call(s) of this case",
                      [t.ending if t else None for _, t in rows], lines, readings, by_id=True)
    more = after.count - before.count
    if more <= 0:
        return None
    return _blame(f"the target holds {more} call(s) more than before this case",
                  [t.ending for t in traces.values()],
                  tuple(f"{t.call_id}: {t.how}" for t in traces.values()), readings)


def _blame(what: str, endings: Sequence[Ending | None], lines: tuple[str, ...],
           readings: str, *, by_id: bool = False) -> Leftover:
    """FAILED when the wire proves the target ended (and answered) what it still holds:
    one such call, by call-id; with a count only, every dialog of the case. BROKEN when
    the harness did not end a dialog, or nothing shows who did what."""
    never = sum(e is Ending.NEVER for e in endings)
    unanswered = sum(e is Ending.UNANSWERED for e in endings)
    answered = sum(e is Ending.ANSWERED for e in endings)
    if answered and (by_id or answered == len(endings)):
        return Leftover(Verdict.FAILED, (
            f"{ROB3}: {what}, although the captures show {answered} of them ended and "
            "the target answering it (a BYE or CANCEL it answered, or a call it refused "
            "itself): it did not release them"), lines, readings)
    if never:
        return Leftover(Verdict.BROKEN, (
            f"{what}, and the harness never ended {never} dialog(s) it began (no BYE after "
            "the 200, or no CANCEL): a harness bug, its scenario did not end every dialog"),
            lines, readings)
    if unanswered:
        return Leftover(Verdict.BROKEN, (
            f"{what}; the harness ended {unanswered} dialog(s) but the captures show no "
            "answer to the BYE or CANCEL, so whose fault it is cannot be told"),
            lines, readings)
    return Leftover(Verdict.BROKEN, (
        f"{what}, and no capture of the case shows their dialogs: whose fault it is "
        "cannot be told"), lines, readings)


@dataclass(frozen=True)
class ProbeResult:
    """The probe of a target that declares no call state: OPTIONS, and the guard call."""

    options_answered: bool
    guard_accepted: bool | None = None  # None: no guard call made
    guard: str = ""  # what the guard call got, in words


def judge_probe(probe: ProbeResult, traces: Mapping[str, DialogTrace]) -> Leftover | None:
    """A target that stopped answering OPTIONS breaks the case (the probe cannot reach
    it); a refused or unanswered guard call is a leftover, blamed as for a count."""
    if not probe.options_answered:
        return Leftover(Verdict.BROKEN, "the target no longer answers a SIP OPTIONS after "
                        "this case: the probe for calls left behind cannot reach it")
    if probe.guard_accepted is None or probe.guard_accepted:
        return None
    return _blame("the target refused a guard call after this case (the sign of a call "
                  "it still holds)", [t.ending for t in traces.values()],
                  tuple(f"{t.call_id}: {t.how}" for t in traces.values()),
                  f"guard call after the case: {probe.guard}")


# -- the generic probe --------------------------------------------------------------------

async def probe_target(target: Target, lab: Lab | None, *, guard: bool) -> ProbeResult:
    """OPTIONS to the target, and with `guard` (and a lab) a guard call through it."""
    if not await target_still_answers(target.control_netns, target.sip_address):
        return ProbeResult(False)
    if not guard or lab is None:
        return ProbeResult(True)
    accepted, words = await guard_call(lab, target)
    return ProbeResult(True, accepted, words)


async def guard_call(lab: Lab, target: Target) -> tuple[bool | None, str]:
    """A short call (one packet each way) in the first media mode the target claims:
    whether it was accepted, and what it got in words (None: no mode to dial)."""
    from harness.scenarios.call import CallProgress, basic_call
    from harness.scenarios.captured import plan_call

    modes = target.loaded.spec.capabilities.media_modes
    if not modes:
        return None, "no guard call: the target claims no media mode to dial"
    plan = plan_call(lab, target, modes[0], pcap=Path("/dev/null"), label="guard call",
                     final_timeout=GUARD_TIMEOUT_S, caller_port=GUARD_PORTS[0],
                     callee_port=GUARD_PORTS[1])
    rec = CallProgress()
    try:
        await basic_call(plan, rec, lab=lab, sip_target=target.sip_address, packets=1)
    except (TargetViolation, HarnessError) as exc:
        return False, f"the guard call ({modes[0].value}) went wrong: {exc}"
    if rec.established:
        return True, f"the guard call ({modes[0].value}) was accepted ({rec.final_status})"
    if rec.final_status is None:
        return False, (f"the guard call ({modes[0].value}) got no final response within "
                       f"{GUARD_TIMEOUT_S:.1f} s")
    return False, (f"the guard call ({modes[0].value}) was refused: {rec.final_status} "
                   f"{rec.final_reason}")


# -- the watch around the call phase ------------------------------------------------------

#: Set by `no_call_left_behind` for a conformance case that uses the target.
WATCHED_KEY = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def no_call_left_behind(request: pytest.FixtureRequest) -> None:
    """Marks every conformance case that uses the target for the watch of its calls
    (`pytest_runtest_call_leftovers`); any other test is left alone. A conftest whose
    stand-in target holds no calls turns the watch off by overriding this fixture."""
    item = request.node
    if case_of(item) is not None and "target" in getattr(item, "fixturenames", ()):
        item.stash[WATCHED_KEY] = True


@pytest.hookimpl(wrapper=True, specname="pytest_runtest_call")
def pytest_runtest_call_leftovers(item: pytest.Item) -> Generator[None, None, None]:
    """Read the target's calls before the case body and after it (in the call phase, as
    `target_log` does, so a leftover is the case's one verdict and its attachment is in
    the case's body). A case that passed and left a call FAILS (the target's fault) or is
    BROKEN; one that did not pass keeps its verdict, with the leftover attached."""
    if not item.stash.get(WATCHED_KEY, False) or not isinstance(item, pytest.Function):
        return (yield)
    target = cast(Target, item.funcargs["target"])
    lab = cast("Lab | None", item.funcargs.get("lab"))
    results_dir = item.config.stash[CONFIG_KEY].results_dir
    state, started = target.loaded.spec.call_state, time.time()
    before = _on_own_loop(_reading(target, state)) if state.declared else None
    try:
        result = yield
    except (Exception, pytest.skip.Exception, pytest.fail.Exception):
        _attach(_on_own_loop(_check(target, state, before, lab, results_dir, started,
                                    passed=False)))
        raise
    found = _on_own_loop(_check(target, state, before, lab, results_dir, started,
                                passed=True))
    if found is not None:
        _attach(found)
        if found.verdict is Verdict.FAILED:
            _count_at_release(item)
        error = TargetViolation if found.verdict is Verdict.FAILED else HarnessError
        raise error(f"call left behind: {found.text()}")
    return result


def _count_at_release(item: pytest.Item) -> None:
    """A case that passed and left a call the target did not release FAILS, counted at
    ROB-3; on its own requirements it keeps the verdict its findings gave (the matrix
    shows it there, and under ROB-3 as FAILED)."""
    meta = case_of(item)
    if meta is None:
        return
    findings: list[Finding] = item.stash.get(FINDINGS_KEY, [])
    own = graded_by_findings(findings) or (
        Verdict.INFORMATIONAL if meta.informational else Verdict.OK)
    item.stash[COUNTED_AT_KEY] = (RELEASE_REQUIREMENT,)
    item.stash[JUDGED_KEY] = {rid: own for rid in meta.requirements
                              if rid != RELEASE_REQUIREMENT}


def _on_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its end on an event loop of its own: the hook runs between the test's
    coroutine and the fixtures', when pytest-asyncio's loop is not running."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


async def _check(target: Target, state: CallState, before: Held | str | None,
                 lab: Lab | None, results_dir: Path, started: float, *, passed: bool
                 ) -> Leftover | None:
    """What the case left: read again (declared source), or probe (OPTIONS, and a guard
    call after a case that did not pass)."""
    if state.declared:
        return await _declared_check(target, state, before, results_dir, started)
    try:
        probe = await probe_target(target, lab, guard=state.guard_call and not passed)
    except (HarnessError, OSError) as exc:
        return Leftover(Verdict.BROKEN, f"the probe for calls left behind cannot reach the "
                        f"target (OPTIONS to {target.sip_address[0]}:{target.sip_address[1]}):"
                        f" {exc}")
    if judge_probe(probe, {}) is None:
        return None  # nothing to blame: the captures need not be read
    return judge_probe(probe, _traces(target, results_dir, started))


def _attach(found: Leftover | None) -> None:
    if found is not None:
        allure.attach(found.text(), name="calls left behind",
                      attachment_type=allure.attachment_type.TEXT)


async def _reading(target: Target, state: CallState) -> Held | str:
    """A reading, or what stopped it in words."""
    try:
        return await read_held(target, state)
    except HarnessError as exc:
        return f"cannot read the calls the target holds ([call_state]): {exc}"


async def _declared_check(target: Target, state: CallState, before: Held | str | None,
                          results_dir: Path, started: float) -> Leftover | None:
    """Read again until the case's calls are gone or the grace is over; judge the rest."""
    if not isinstance(before, Held):
        return Leftover(Verdict.BROKEN, str(before))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.grace
    while True:
        after = await _reading(target, state)
        if not isinstance(after, Held):
            return Leftover(Verdict.BROKEN, after)
        if judge_leftovers(before, after, {}) is None or loop.time() >= deadline:
            break
        await asyncio.sleep(POLL_S)
    return judge_leftovers(before, after, _traces(target, results_dir, started))


def _traces(target: Target, results_dir: Path, started: float) -> dict[str, DialogTrace]:
    """How each dialog of the case ended, from the captures it wrote (read only when
    something is to be judged: a leftover, or a refused guard call)."""
    packets, _problems = case_packets(results_dir / "pcaps", started)
    return dialog_traces(packets, target.addresses)
