"""The ``media_call`` fixture: one captured call through the target, analysed, with evidence.

``await media_call(mode, caller=Side(...), callee=Side(...), packets=10)``
runs `harness.scenarios.captured.captured_call` (capture on the lab bridge,
confirmed listening before the call; the call; the media-path analysis and
the SIP ladder) and keeps the target's log of the call for the report. Whatever
happens — a failed call, a malformed message from the target, a check that
fails later — the pcap, the ladder, the SDP of both legs and the media-path
summary are attached to the Allure result.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import allure
import pytest
from typing_extensions import Unpack

from harness.capture.pcap import CapturedPacket
from harness.capture.svg import ladder_svg, media_svg
from harness.errors import HarnessError
from harness.evidence.call import CallOutcome, CallPlan, Reinvite, Side
from harness.evidence.fork import ForkOutcome
from harness.evidence.teams import DrOutcome, Nomination
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.pytest_plugin.options import HarnessConfig
from harness.pytest_plugin.reporting import LOG_TAIL_KEY
from harness.pytest_plugin.verdicts import case_of
from harness.report.sdp_view import Leg, sdp_legs_html
from harness.scenarios.captured import (
    captured_call,
    captured_fork,
    plan_call,
    plan_fork,
    site_pcaps,
)
from harness.scenarios.teams import captured_to_teams_call, plan_teams_call
from harness.scenarios.teams.parties import DrKnobs
from harness.targets.base import Target

PCAP_TYPE = "application/vnd.tcpdump.pcap"



class MediaCall(Protocol):
    def __call__(
        self, mode: MediaMode, *, caller: Side | None = ..., callee: Side | None = ...,
        packets: int = ..., label: str | None = ..., callee_host: str = ...,
        reinvites: tuple[Reinvite, ...] = ..., caller_host: str = ...,
        request_uri: str | None = ..., final_timeout: float | None = ...,
        caller_media_host: str | None = ...,
    ) -> Awaitable[CallOutcome]: ...


def attach_capture(tag: str, pcap: Path | None, ladder: str) -> None:
    """The call's pcap (opens in Wireshark) and its SIP ladder as text."""
    if pcap is not None and pcap.exists():
        allure.attach.file(str(pcap), name=f"{tag}: capture (pcap)", attachment_type=PCAP_TYPE,
                           extension="pcap")
        for site in site_pcaps(pcap):
            where = site.stem.rsplit(".", 1)[-1]
            allure.attach.file(str(site), name=f"{tag}: capture inside {where} (pcap)",
                               attachment_type=PCAP_TYPE, extension="pcap")
    if ladder:
        allure.attach(ladder, name=f"{tag}: SIP ladder",
                      attachment_type=allure.attachment_type.TEXT)


def attach_diagrams(
    tag: str, packets: Sequence[CapturedPacket], hosts: Mapping[str, str],
    target_addresses: frozenset[str], *, verdict: str | None = None,
) -> None:
    """The SIP ladder and the media path of a capture, drawn as SVG."""
    if not packets:
        return
    names = {addr: name for name, addr in hosts.items()}
    names |= {addr: "target" for addr in target_addresses}
    allure.attach(ladder_svg(packets, names, title=f"{tag}: SIP ladder"),
                  name=f"{tag}: SIP ladder (diagram)", attachment_type=allure.attachment_type.SVG)
    allure.attach(media_svg(packets, names, target_addresses, verdict=verdict,
                            title=f"{tag}: media path"),
                  name=f"{tag}: media path (diagram)", attachment_type=allure.attachment_type.SVG)


def phases_text(outcome: CallOutcome) -> str:
    """Each media phase: the (re-)INVITE's answer, what each side did, the four SDPs."""
    parts = []
    for phase in outcome.phases:
        parts.append(
            f"== {phase.name}: final response {phase.status}; caller listens on "
            f"{phase.caller_port}, {'sends' if phase.caller_sends else 'silent'}; callee "
            f"listens on {phase.callee_port}, {'sends' if phase.callee_sends else 'silent'}"
        )
        for what, sd in (
            ("SDP sent by the caller", phase.caller_sdp_sent),
            ("SDP received by the callee", phase.callee_sdp_received),
            ("SDP sent by the callee", phase.callee_sdp_sent),
            ("SDP received by the caller", phase.caller_sdp_received),
        ):
            text = bytes(sd).decode(errors="replace") if sd is not None else "(none)\n"
            parts.append(f"-- {what}\n{text}")
    return "\n".join(parts)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120]


class CallRunner:
    """Places captured calls for one test."""

    def __init__(
        self, lab: Lab, target: Target, config: HarnessConfig, item: pytest.Item
    ) -> None:
        self.lab = lab
        self.target = target
        self.config = config
        self.item = item

    async def __call__(
        self, mode: MediaMode, *, caller: Side | None = None, callee: Side | None = None,
        packets: int = 10, label: str | None = None, callee_host: str = "callee1",
        reinvites: tuple[Reinvite, ...] = (), caller_host: str = "caller",
        request_uri: str | None = None, final_timeout: float | None = None,
        caller_media_host: str | None = None,
    ) -> CallOutcome:
        plan = plan_call(
            self.lab, self.target, mode, caller=caller, callee=callee, label=label,
            callee_host=callee_host, pcap=self.pcap_for(label),
            reinvites=reinvites, caller_host=caller_host, request_uri=request_uri,
            final_timeout=final_timeout, caller_media_host=caller_media_host,
        )
        return await self.place(plan, packets=packets)

    def pcap_for(self, label: str | None) -> Path:
        """Where the capture of this case's call labelled `label` goes."""
        name = _safe(self.item.nodeid.split("::")[-1] + (f"-{label}" if label else ""))
        return self.config.results_dir / "pcaps" / f"{name}.pcap"

    async def place(self, plan: CallPlan, *, packets: int = 10) -> CallOutcome:
        """Place a call planned elsewhere (a policy profile's) with its evidence attached,
        also when it goes wrong."""
        async with self.watching():
            return await captured_call(plan, self.lab, self.target, packets=packets,
                                       on_evidence=self._attach)

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Around what a test does to the target: the target's log since then is kept for
        the report whatever happens. A conformance case's log is matched whole, when it
        ends (`harness.pytest_plugin.target_log`); any other test (a load run) has a
        configuration error the log shows break it here."""
        mark = self.target.log_mark()
        try:
            yield
        finally:
            self._remember_logs(mark)
        if case_of(self.item) is None:
            self.check_config(mark)

    def _attach(self, outcome: CallOutcome) -> None:
        tag = outcome.label
        attach_capture(tag, outcome.pcap, outcome.ladder)
        attach_diagrams(tag, outcome.packets, outcome.hosts, outcome.target_addresses,
                        verdict=outcome.path.verdict.name if outcome.path else None)
        legs: list[Leg] = [
            ("offer: caller -> callee", outcome.offer_sent, outcome.offer_received),
            ("answer: callee -> caller", outcome.answer_sent, outcome.answer_received),
        ]
        for phase in outcome.phases[1:]:
            legs += [(f"{phase.name}: caller -> callee", phase.caller_sdp_sent,
                      phase.callee_sdp_received),
                     (f"{phase.name}: callee -> caller", phase.callee_sdp_sent,
                      phase.caller_sdp_received)]
        if outcome.offer_sent is not None:
            allure.attach(sdp_legs_html(legs), name=f"{tag}: SDP per leg, sent vs received",
                          attachment_type=allure.attachment_type.HTML)
        for what, sd in (
            ("offer sent by caller", outcome.offer_sent),
            ("offer received by callee", outcome.offer_received),
            ("answer sent by callee", outcome.answer_sent),
            ("answer received by caller", outcome.answer_received),
        ):
            if sd is not None:
                allure.attach(bytes(sd).decode(errors="replace"), name=f"{tag}: SDP {what}",
                              attachment_type=allure.attachment_type.TEXT)
        if outcome.path is not None:
            allure.attach(outcome.path.summary(), name=f"{tag}: media path",
                          attachment_type=allure.attachment_type.TEXT)
        if outcome.reinvites:
            allure.attach(phases_text(outcome), name=f"{tag}: re-INVITE phases and their SDP",
                          attachment_type=allure.attachment_type.TEXT)

    def check_config(self, mark: dict[str, int]) -> None:
        """A configuration error in the target's log since `mark` breaks the case."""
        problems = self.target.config_errors(mark)
        if problems:
            raise HarnessError("the target's log shows a configuration error during the call:\n"
                               + "\n".join(problems[:10]))

    def _remember_logs(self, mark: dict[str, int]) -> None:
        tails = {}
        for name, text in self.target.logs_since(mark).items():
            tails[name] = "\n".join(text.splitlines()[-80:])
        self.item.stash[LOG_TAIL_KEY] = tails


@pytest.fixture
def media_call(
    request: pytest.FixtureRequest, lab: Lab, target: Target, harness_config: HarnessConfig
) -> MediaCall:
    return CallRunner(lab, target, harness_config, request.node)



class ForkRunner:
    """Places captured forked calls for one test."""

    def __init__(self, runner: CallRunner) -> None:
        self.runner = runner

    async def __call__(
        self, mode: MediaMode, *, callees: int = 3, answerer: int = 0, early_to: int = 0,
        early_media_s: float = 1.0, streaming: tuple[int, ...] | None = None,
        label: str | None = None, dtmf: str = "", srtp: bool = False,
    ) -> ForkOutcome:
        lab, target = self.runner.lab, self.runner.target
        plan = plan_fork(
            lab, target, mode, callees=callees, answerer=answerer, early_to=early_to,
            early_media_s=early_media_s, streaming=streaming, dtmf=dtmf, srtp=srtp,
            pcap=self.runner.pcap_for(label),
        )
        tag = label or f"fork ({mode.value})"
        async with self.runner.watching():
            return await captured_fork(plan, lab, target, check_alive=True,
                                       on_evidence=lambda out: self._attach(out, tag))

    @staticmethod
    def _attach(out: ForkOutcome, tag: str) -> None:
        attach_capture(tag, out.pcap, out.ladder)
        attach_diagrams(tag, out.packets, out.hosts, out.target_addresses)
        legs: list[Leg] = [(f"offer: caller -> {b.host}", out.offer_sent, b.offer_received)
                           for b in out.branches if b.reached]
        legs += [(f"{b.host}'s 183 -> caller", b.sdp_sent,
                  d.sdp if (d := out.dialog_of(b)) is not None else None)
                 for b in out.branches if b.sdp_sent is not None]
        if out.offer_sent is not None:
            allure.attach(sdp_legs_html(legs), name=f"{tag}: SDP per leg, sent vs received",
                          attachment_type=allure.attachment_type.HTML)
        dialogs = "\n".join(
            f"{d.status} To-tag {d.to_tag}\n"
            + (bytes(d.sdp).decode(errors="replace") if d.sdp else "(no SDP)")
            for d in out.early_dialogs
        )
        if dialogs:
            allure.attach(dialogs, name=f"{tag}: early dialogs and their SDP",
                          attachment_type=allure.attachment_type.TEXT)


class ForkCall(Protocol):
    def __call__(
        self, mode: MediaMode, *, callees: int = ..., answerer: int = ..., early_to: int = ...,
        early_media_s: float = ..., streaming: tuple[int, ...] | None = ...,
        label: str | None = ..., dtmf: str = ..., srtp: bool = ...,
    ) -> Awaitable[ForkOutcome]: ...


@pytest.fixture
def fork_call(
    request: pytest.FixtureRequest, lab: Lab, target: Target, harness_config: HarnessConfig
) -> ForkCall:
    return ForkRunner(CallRunner(lab, target, harness_config, request.node))


class DrRunner:
    """Places captured Teams Direct Routing calls for one test."""

    def __init__(self, runner: CallRunner) -> None:
        self.runner = runner

    async def __call__(self, nomination: Nomination = "before-200",
                       label: str | None = None, from_teams: bool = False, devices: int = 0,
                       **knobs: Unpack[DrKnobs]) -> DrOutcome:
        lab, target = self.runner.lab, self.runner.target
        plan = plan_teams_call(lab, target, nomination=nomination, devices=devices,
                               direction="from-teams" if from_teams else "to-teams",
                               pcap=self.runner.pcap_for(label), **knobs)
        tag = label or ("from Teams" if from_teams else "to Teams")
        async with self.runner.watching():
            return await captured_to_teams_call(
                plan, lab, target, on_evidence=lambda out: self._attach(out, tag, from_teams))

    @staticmethod
    def _attach(out: DrOutcome, tag: str, from_teams: bool) -> None:
        attach_capture(tag, out.pcap, out.ladder)
        attach_diagrams(tag, out.packets, out.hosts, out.target_addresses)
        legs: list[Leg] = [
            ("offer: PSTN side -> Teams side", out.offer_to_pstn_side, out.offer_to_teams),
            ("answer: Teams side -> PSTN side", out.answer_from_teams,
             out.answer_to_pstn_side),
        ] if not from_teams else [
            ("offer: Teams side -> PSTN side", out.teams_offer, out.offer_to_pstn_side),
            ("answer: PSTN side -> Teams side (200)", out.answer_from_teams,
             out.teams_got_200),
            ("answer: PSTN side -> Teams side (183)", out.answer_from_teams,
             out.teams_got_183),
            ("re-INVITE answer, as the Teams side got it vs its first 200",
             out.teams_got_200, out.reinvite_answer),
        ]
        if any(sent is not None for _, sent, _ in legs):
            allure.attach(sdp_legs_html(legs), name=f"{tag}: SDP per leg, sent vs received",
                          attachment_type=allure.attachment_type.HTML)
        if out.stun:
            t0 = out.stun[0].time
            allure.attach("\n".join(
                f"{(r.time - t0) * 1000:9.3f} ms  port {r.local_port}  {r.direction:8}  "
                f"{r.peer[0]}:{r.peer[1]}"
                f"  {r.kind}  {r.transaction_id.hex()}" for r in out.stun),
                name=f"{tag}: STUN seen by the Teams endpoint",
                attachment_type=allure.attachment_type.TEXT)


class DrCall(Protocol):
    def __call__(self, nomination: Nomination = ..., label: str | None = ...,
                 from_teams: bool = ..., devices: int = ...,
                 **knobs: Unpack[DrKnobs]) -> Awaitable[DrOutcome]: ...


@pytest.fixture
def dr_call(
    request: pytest.FixtureRequest, lab: Lab, target: Target, harness_config: HarnessConfig
) -> DrCall:
    return DrRunner(CallRunner(lab, target, harness_config, request.node))
