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

from harness.evidence.call import CallOutcome, CallPlan
from harness.evidence.policy import CacOutcome
from harness.evidence.recording import keep
from harness.lab import Lab
from harness.scenarios.call import CallProgress, LiveCall, basic_call
from harness.scenarios.captured import capturing, read_capture_files
from harness.scenarios.sfb import plan_sfb_call
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

    async def call(self, client: str, gateway: str, id_of: str, label: str
                   ) -> tuple[CallPlan, CallProgress]:
        """Place one call and return once it is up (held) or over (refused)."""
        plan = plan_sfb_call(
            self.lab, self.target, client=client, gateway=gateway, id_of=id_of,
            pcap=self.pcap, label=label, client_port=self._port(client),
            gateway_port=self._port(gateway), early_answer=False)
        up = asyncio.Event()

        async def hold(live: LiveCall, packets: int) -> None:
            up.set()
            await self.release.wait()

        rec = CallProgress()
        task = asyncio.create_task(basic_call(plan, rec, lab=self.lab,
                                              sip_target=self.target.sip_address,
                                              packets=5, then=hold))
        self.tasks.append(task)
        waiter = asyncio.create_task(up.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # a harness or target error surfaces here
        return plan, rec

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
    limit = profile.cac_max_calls
    group = _Group(lab, target, pcap)
    hosts = ("branch1", "branch2", "callee1")
    async with capturing(lab, pcap, hosts):
        try:
            wan_held = [await group.call("branch1", "callee1", "branch", f"WAN call {n + 1}")
                        for n in range(limit)]
            over_limit = await group.call("branch1", "callee1", "branch",
                                          f"WAN call {limit + 1} (over the limit)")
            bypass_while_full = await group.call("branch1", "branch2", "branch",
                                                 "bypassed call, link full")
        finally:
            await group.end()
        try:
            bypass_held = [await group.call("branch1", "branch2", "branch",
                                            f"bypassed call {n + 1}") for n in range(limit)]
            wan_while_bypass_held = await group.call(
                "branch1", "callee1", "branch", "WAN call, bypassed calls up")
        finally:
            await group.end()

    def done(placed: tuple[CallPlan, CallProgress]) -> CallOutcome:
        """A call of the scenario as it ended; one that was set up with what the shared
        capture shows of it."""
        plan, rec = placed
        return rec.observe(plan, read_capture_files(plan) if rec.established else None)

    out = CacOutcome(
        limit, tuple(done(c) for c in wan_held), done(over_limit), done(bypass_while_full),
        tuple(done(c) for c in bypass_held), done(wan_while_bypass_held), pcap)
    keep(out)
    return out
