"""The ``media_call`` fixture: one captured call through the target, analysed, with evidence.

``await media_call(mode, caller=Side(...), callee=Side(...), packets=10)``
starts a capture on the lab bridge (confirmed listening before the call),
places the call (`harness.agents.call.basic_call`), stops the capture, reads
the pcap, classifies the media path and renders the SIP ladder. Whatever
happens — a failed call, a malformed message from the target, a check that
fails later — the pcap, the ladder, the SDP of both legs and the media-path
summary are attached to the Allure result.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Protocol

import allure
import pytest

from harness.agents.call import basic_call
from harness.agents.outcome import CallOutcome, Side
from harness.capture.ladder import sip_ladder
from harness.capture.mediapath import classify_media_path
from harness.capture.pcap import read_pcap
from harness.capture.tcpdump import Capture
from harness.errors import HarnessError
from harness.lab import Lab
from harness.pytest_plugin.options import HarnessConfig
from harness.pytest_plugin.reporting import LOG_TAIL_KEY
from harness.targets.base import Target
from harness.targets.spec import MediaMode

PCAP_TYPE = "application/vnd.tcpdump.pcap"


class MediaCall(Protocol):
    def __call__(
        self, mode: MediaMode, *, caller: Side | None = ..., callee: Side | None = ...,
        packets: int = ...,
        label: str | None = ..., callee_host: str = ...,
    ) -> Awaitable[CallOutcome]: ...


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
        self.calls: list[CallOutcome] = []

    async def __call__(
        self, mode: MediaMode, *, caller: Side | None = None, callee: Side | None = None,
        packets: int = 10, label: str | None = None, callee_host: str = "callee1",
    ) -> CallOutcome:
        caller = caller or Side()
        callee = callee or Side()
        spec = self.target.loaded.spec
        callee_address = self.lab.address(callee_host)
        request_uri = spec.request_uri(mode, callee_address, 5060)
        name = _safe(self.item.nodeid.split("::")[-1] + (f"-{label}" if label else ""))
        pcap = self.config.results_dir / "pcaps" / f"{name}.pcap"
        pcap.parent.mkdir(parents=True, exist_ok=True)
        outcome = CallOutcome(
            mode=mode, label=label or mode.value, request_uri=request_uri,
            caller="caller", callee=callee_host, caller_side=caller, callee_side=callee,
            caller_tone_hz=caller.tone_hz or 700.0, callee_tone_hz=callee.tone_hz or 1300.0,
            hosts={h: self.lab.address(h) for h in ("caller", callee_host)},
            target_addresses=self.target.addresses, pcap=pcap,
        )
        self.calls.append(outcome)
        mark = self.target.log_mark()
        # Immediate mode with a 4 MiB kernel buffer: no 1 s libpcap block timeout to
        # wait out before stopping, and no drops in a burst (a drop fails the run).
        capture = Capture(self.lab.bridge_interface, pcap, bpf_filter="udp",
                          netns=self.lab.bridge_netns, immediate=True, buffer_kib=4096)
        try:
            await capture.start()
            record = self.lab.register_process(capture.pid, "tcpdump") if capture.pid else None
            try:
                await basic_call(
                    outcome, lab=self.lab, sip_target=self.target.sip_address, packets=packets
                )
            finally:
                result = await capture.stop()
                if record is not None:
                    self.lab.forget_process(record)
            if result.stats.dropped_by_kernel:
                raise HarnessError(
                    f"the capture lost {result.stats.dropped_by_kernel} packet(s) in the kernel: "
                    "the evidence is incomplete, no verdict"
                )
            self._analyse(outcome)
        finally:
            self._attach(outcome)
            self._remember_logs(mark)
        problems = self.target.config_errors(mark)
        if problems:
            raise HarnessError(
                "the target's log shows a configuration error during the call:\n"
                + "\n".join(problems[:10])
            )
        return outcome

    def _analyse(self, outcome: CallOutcome) -> None:
        assert outcome.pcap is not None
        outcome.packets = read_pcap(outcome.pcap)
        names = {addr: name for name, addr in outcome.hosts.items()}
        names |= {addr: "target" for addr in outcome.target_addresses}
        outcome.ladder = sip_ladder(outcome.packets, names)
        outcome.path = classify_media_path(
            outcome.packets,
            endpoints=outcome.hosts,
            target_addresses=outcome.target_addresses,
            a=outcome.caller,
            b=outcome.callee,
        )

    def _attach(self, outcome: CallOutcome) -> None:
        tag = outcome.label
        if outcome.pcap is not None and outcome.pcap.exists():
            allure.attach.file(
                str(outcome.pcap), name=f"{tag}: capture (pcap)", attachment_type=PCAP_TYPE,
                extension="pcap",
            )
        if outcome.ladder:
            allure.attach(outcome.ladder, name=f"{tag}: SIP ladder",
                          attachment_type=allure.attachment_type.TEXT)
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
