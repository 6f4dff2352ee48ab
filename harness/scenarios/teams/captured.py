"""A Teams Direct Routing call as the cases place it: what it is to be (`plan_teams_call`),
and the call under a capture with its ladder (`captured_to_teams_call`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from typing_extensions import Unpack

from harness.errors import HarnessError
from harness.evidence.teams import DrOutcome, DrPlan, Nomination, TeamsDevicePlan
from harness.lab import Lab
from harness.net import Address
from harness.scenarios.captured import observed
from harness.scenarios.teams.forked import forked_to_teams_call
from harness.scenarios.teams.inbound import to_teams_call
from harness.scenarios.teams.outbound import from_teams_call
from harness.scenarios.teams.parties import DrKnobs, DrProgress
from harness.scenarios.teams.paths import early_paths_call
from harness.targets.base import Target

__all__ = ["captured_to_teams_call", "plan_teams_call"]

async def captured_to_teams_call(
    plan: DrPlan, lab: Lab, target: Target, *, via: Address | None = None,
    on_evidence: Callable[[DrOutcome], None] | None = None,
) -> DrOutcome:
    """The call `plan` describes (toward Teams, forked to several devices, from Teams,
    from Teams with two candidates) with a capture on the lab bridge; what it left behind,
    with its capture read and its ladder drawn. `via`: where the caller sends its INVITE
    instead of the target (a shim in front of it). `on_evidence` gets the outcome whatever
    happens (as for `captured_call`)."""
    sip_target = via or target.sip_address
    rec = DrProgress.of(plan)

    async def run() -> None:
        if plan.devices:
            forking = target.loaded.spec.forking
            if forking is None:
                raise HarnessError(f"target {target.loaded.spec.target.name} declares no "
                                   "[forking]: cannot fork to several Teams devices")
            await forked_to_teams_call(plan, rec, lab=lab, sip_target=sip_target,
                                       fork_header=forking.header)
        elif plan.early_paths:
            await early_paths_call(plan, rec, lab=lab, sip_target=sip_target)
        elif plan.direction == "from-teams":
            await from_teams_call(plan, rec, lab=lab, sip_target=sip_target)
        else:
            await to_teams_call(plan, rec, lab=lab, sip_target=sip_target)

    return await observed(lab, plan, run, lambda capture: rec.observe(plan, capture),
                          on_evidence=on_evidence)


def plan_teams_call(lab: Lab, target: Target, *, pcap: Path,
                    direction: Literal["to-teams", "from-teams"] = "to-teams",
                    nomination: Nomination = "before-200", devices: int = 0,
                    **knobs: Unpack[DrKnobs]) -> DrPlan:
    """A Teams Direct Routing call: the caller on host "caller", the callee on "callee1";
    to Teams (the callee is the Teams side) or from Teams (the caller is). `devices` > 1:
    to Teams, forked to that many Teams devices on callee1, callee2, ..."""
    if knobs.get("early_paths"):
        direction = "from-teams"
    spec = target.loaded.spec
    if spec.teams_direct_routing is None:
        raise HarnessError(f"target {spec.target.name} declares no [teams_direct_routing]")
    dial = (spec.teams_direct_routing.to_teams if direction == "to-teams"
            else spec.teams_direct_routing.from_teams)
    uri = dial.request_uri.format(callee_address=lab.address("callee1"), callee_port=5060)
    hosts = ["caller", "callee1"] + [f"callee{i + 1}" for i in range(1, devices)]
    return DrPlan(request_uri=uri, direction=direction, nomination=nomination, pcap=pcap,
                  devices=tuple(TeamsDevicePlan(host=h) for h in hosts[1:]) if devices > 1
                  else (),
                  hosts={h: lab.address(h) for h in hosts}, target_addresses=target.addresses,
                  **knobs)
