"""Call admission control on the WAN link (SFB-7; seed 002, "media bypass and call
admission control"): several Skype for Business calls at once, held up after their
first media phase so that later calls meet the earlier ones at the target.

The scenario, under one capture:

1. `limit` calls that need the WAN link (a branch client calling a main-site gateway:
   the bypass IDs differ, so media goes through the target) are set up and held;
2. one more such call: the link is full, the target must refuse (or reroute) it;
3. a branch-local call that bypasses (same bypass ID): CAC must not apply to it;
4. everything is released; then `limit` branch-local bypassed calls are held and one WAN
   call is made: bypassed calls must not have been counted, so it must get through.

Each call has its own SIP ports (several user agents on one host).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from harness.evidence.call import CallOutcome
from harness.evidence.policy import CacOutcome
from harness.evidence.recording import keep
from harness.lab import Lab
from harness.scenarios.call import LiveCall, basic_call
from harness.scenarios.captured import analyse, capturing
from harness.scenarios.sfb import new_sfb_outcome
from harness.targets.base import Target

__all__ = ["CacOutcome", "cac_scenario"]


class _Group:
    """Calls held up until `release`; each on ports of its own."""

    def __init__(self, lab: Lab, target: Target, pcap: Path) -> None:
        self.lab, self.target, self.pcap = lab, target, pcap
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self._ports: Counter[str] = Counter()

    def _port(self, host: str) -> int:
        port = 5060 + 2 * self._ports[host]
        self._ports[host] += 1
        return port

    async def call(self, client: str, gateway: str, id_of: str, label: str) -> CallOutcome:
        """Place one call and return once it is up (held) or over (refused)."""
        out = new_sfb_outcome(
            self.lab, self.target, client=client, gateway=gateway, id_of=id_of,
            pcap=self.pcap, label=label, client_port=self._port(client),
            gateway_port=self._port(gateway), early_answer=False)
        up = asyncio.Event()

        async def hold(live: LiveCall, packets: int) -> None:
            up.set()
            await self.release.wait()

        task = asyncio.create_task(basic_call(out, lab=self.lab,
                                              sip_target=self.target.sip_address,
                                              packets=5, then=hold))
        self.tasks.append(task)
        waiter = asyncio.create_task(up.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # a harness or target error surfaces here
        return out

    async def end(self) -> None:
        self.release.set()
        try:
            await asyncio.gather(*self.tasks)
        finally:
            self.tasks.clear()
            self.release = asyncio.Event()


async def cac_scenario(lab: Lab, target: Target, pcap: Path) -> CacOutcome:
    """Run the scenario of the module docstring against `target`."""
    profile = target.loaded.spec.skype_for_business
    assert profile is not None, "the target declares no [skype_for_business]"
    out = CacOutcome(profile.cac_max_calls, pcap=pcap)
    group = _Group(lab, target, pcap)
    hosts = ("branch1", "branch2", "callee1")
    async with capturing(lab, pcap, hosts):
        try:
            for n in range(out.limit):
                out.wan_held.append(await group.call("branch1", "callee1", "branch",
                                                     f"WAN call {n + 1}"))
            out.over_limit = await group.call("branch1", "callee1", "branch",
                                              f"WAN call {out.limit + 1} (over the limit)")
            out.bypass_while_full = await group.call("branch1", "branch2", "branch",
                                                     "bypassed call, link full")
        finally:
            await group.end()
        try:
            for n in range(out.limit):
                out.bypass_held.append(await group.call("branch1", "branch2", "branch",
                                                        f"bypassed call {n + 1}"))
            out.wan_while_bypass_held = await group.call(
                "branch1", "callee1", "branch", "WAN call, bypassed calls up")
        finally:
            await group.end()
    for call in out.calls:
        if call.established:
            analyse(call)
    keep(out)
    return out
