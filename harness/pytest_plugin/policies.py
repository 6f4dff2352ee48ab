"""Fixtures for the bypass-policy suites: ``sfb_call`` (a Skype for Business client calls a
PSTN gateway through the target as mediation server) and ``kazoo_call`` (a caller dials
a Kazoo-style callee), both captured calls with the evidence `calls.CallRunner` attaches.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

import allure
import pytest

from harness.capture.svg import legs_svg
from harness.evidence.call import CallOutcome, Side
from harness.evidence.policy import CacOutcome, CallQuality, Impairment
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.pytest_plugin.calls import CallRunner, attach_capture, attach_diagrams
from harness.pytest_plugin.options import HarnessConfig
from harness.scenarios.cac import cac_scenario
from harness.scenarios.sfb import plan_sfb_call
from harness.scenarios.wan import measure_over_wan
from harness.sdp import Codec
from harness.targets.base import Target
from harness.targets.spec import Kazoo, SkypeForBusiness

__all__ = ["CacRun", "KazooCall", "SfbCall", "WanRun", "cac_run", "kazoo_call", "sfb_call",
           "wan_run"]


class SfbCall(Protocol):
    profile: SkypeForBusiness

    def __call__(self, client: str, gateway: str, *, id_of: str | None,
                 label: str, always: bool = ..., inbound: bool = ...
                 ) -> Awaitable[CallOutcome]: ...


class SfbRunner:
    """A client on host `client` offering a=x-bypassid with the bypass ID of site `id_of`
    ("main", or a site's name, as the target file lists them; None: an unsupported
    client, which offers none) calls the gateway on host `gateway`, which answers 183
    with its SDP, then 200; G.711 both ways. `always`: through the mediation server in
    Always Bypass (the target file's always_bypass_request_uri). `inbound`: the gateway
    calls the client instead (inbound_request_uri); the client answers 183, then 200,
    with its own a=x-bypassid."""

    def __init__(self, runner: CallRunner) -> None:
        self.runner = runner
        profile = runner.target.loaded.spec.skype_for_business
        assert profile is not None, "the case needs [skype_for_business] (collection skips it)"
        self.profile: SkypeForBusiness = profile

    async def __call__(self, client: str, gateway: str, *, id_of: str | None,
                       label: str, always: bool = False, inbound: bool = False
                       ) -> CallOutcome:
        runner = self.runner
        which = ("inbound_request_uri" if inbound else
                 "always_bypass_request_uri" if always else "request_uri")
        if getattr(self.profile, which) is None:
            pytest.skip(f"UNSUPPORTED: target {runner.target.loaded.spec.target.name} "
                        f"declares no {which} in [skype_for_business]")
        return await runner.place(plan_sfb_call(
            runner.lab, runner.target, client=client, gateway=gateway, id_of=id_of,
            pcap=runner.pcap_for(label), label=label, always=always, inbound=inbound))


class KazooCall(Protocol):
    profile: Kazoo

    def __call__(self, callee: str, *, label: str, caller_codecs: tuple[Codec, ...] = ...,
                 callee_codecs: tuple[Codec, ...] = ..., callee_host: str = ...,
                 final_timeout: float | None = ...) -> Awaitable[CallOutcome]: ...


class KazooRunner:
    """The caller dials the Kazoo-style callee `callee` (a device or resource the target
    file lists), whose user agent runs on `callee_host`."""

    def __init__(self, runner: CallRunner) -> None:
        self.runner = runner
        profile = runner.target.loaded.spec.kazoo
        assert profile is not None, "the case needs [kazoo] (collection skips it)"
        self.profile: Kazoo = profile

    async def __call__(self, callee: str, *, label: str, caller_codecs: tuple[Codec, ...] = (),
                       callee_codecs: tuple[Codec, ...] = (), callee_host: str = "callee1",
                       final_timeout: float | None = None) -> CallOutcome:
        lab = self.runner.lab
        uri = self.profile.request_uri.format(callee=callee,
                                              callee_address=lab.address(callee_host),
                                              callee_port=5060)
        mode = (MediaMode.BYPASS if self.profile.callees[callee].bypass_media
                else MediaMode.ANCHORED)
        return await self.runner(mode, caller=Side(codecs=caller_codecs or None),
                                 callee=Side(codecs=callee_codecs or None), label=label,
                                 callee_host=callee_host, request_uri=uri,
                                 final_timeout=final_timeout)


@pytest.fixture
def sfb_call(request: pytest.FixtureRequest, lab: Lab, target: Target,
             harness_config: HarnessConfig) -> SfbCall:
    return SfbRunner(CallRunner(lab, target, harness_config, request.node))


@pytest.fixture
def kazoo_call(request: pytest.FixtureRequest, lab: Lab, target: Target,
               harness_config: HarnessConfig) -> KazooCall:
    return KazooRunner(CallRunner(lab, target, harness_config, request.node))


class CacRun(Protocol):
    def __call__(self) -> Awaitable[CacOutcome]: ...


@pytest.fixture
def cac_run(request: pytest.FixtureRequest, lab: Lab, target: Target,
            harness_config: HarnessConfig) -> CacRun:
    """The call admission control scenario (`harness.scenarios.cac`), with its capture and
    each call's diagrams attached."""
    runner = CallRunner(lab, target, harness_config, request.node)

    async def run() -> CacOutcome:
        pcap = runner.pcap_for(None)
        async with runner.watching():
            out = await cac_scenario(lab, target, pcap)
            first = next((c for c in out.calls if c.packets), None)
            attach_capture("admission control", pcap, first.ladder if first else "")
            for call in out.calls:
                if call.established:
                    attach_diagrams(call.label, call.packets, call.hosts,
                                    call.target_addresses)
        return out

    return run


class WanRun(Protocol):
    def __call__(self, impairment: Impairment) -> Awaitable[list[CallQuality]]: ...


@pytest.fixture
def wan_run(request: pytest.FixtureRequest, lab: Lab, target: Target,
            harness_config: HarnessConfig) -> WanRun:
    """Bypass against anchored over the impaired WAN link (`harness.scenarios.wan`),
    with the per-leg table, its plot and both captures attached."""
    runner = CallRunner(lab, target, harness_config, request.node)

    async def run(impairment: Impairment) -> list[CallQuality]:
        async with runner.watching():
            results = await measure_over_wan(lab, target,
                                             harness_config.results_dir / "pcaps",
                                             impairment=impairment)
            rows = [(r.mode.value, leg) for r in results for leg in r.legs]
            table = [f"WAN link: {impairment}"] + [f"{g:<9} {leg.line()}" for g, leg in rows]
            allure.attach("\n".join(table), name="media legs: loss, delay, jitter",
                          attachment_type=allure.attachment_type.TEXT)
            allure.attach(legs_svg(rows, title=f"Media legs over the WAN link ({impairment})"),
                          name="media legs (plot)", attachment_type=allure.attachment_type.SVG)
            for r in results:
                attach_capture(r.call.label, r.call.pcap, r.call.ladder)
                attach_diagrams(r.call.label, r.call.packets, r.call.hosts,
                                r.call.target_addresses)
        return results

    return run
