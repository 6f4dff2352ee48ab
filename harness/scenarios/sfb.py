"""A Skype for Business call through the target as mediation server (seeds 002, 004), as
the bypass-policy cases, their self-tests and the admission-control scenario place it."""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError
from harness.evidence.call import CallPlan, Side
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.scenarios.captured import plan_call
from harness.targets.base import Target

__all__ = ["plan_sfb_call"]


def plan_sfb_call(
    lab: Lab, target: Target, *, client: str, gateway: str, id_of: str | None, pcap: Path,
    label: str | None = None, always: bool = False, inbound: bool = False,
    client_port: int = 5060, gateway_port: int = 5060, early_answer: bool = True,
) -> CallPlan:
    """The client on host `client` offers (or, `inbound`, answers with) a=x-bypassid with
    the bypass ID of site `id_of` (None: an unsupported client, none at all); the gateway
    on `gateway` is the other end. The callee answers 183 with its SDP before the 200
    unless `early_answer` is false. `always`: dialled in Always Bypass. Raises
    HarnessError when the target file has no such dial plan."""
    profile = target.loaded.spec.skype_for_business
    if profile is None:
        raise HarnessError(f"target {target.loaded.spec.target.name} declares no "
                           "[skype_for_business]")
    which = ("inbound_request_uri" if inbound else
             "always_bypass_request_uri" if always else "request_uri")
    template = getattr(profile, which)
    if template is None:
        raise HarnessError(f"UNSUPPORTED: target {target.loaded.spec.target.name} declares "
                           f"no {which} in [skype_for_business]")
    attributes = (("x-bypassid", profile.bypass_ids[id_of]),) if id_of is not None else ()
    client_side = Side(attributes=attributes, early_answer=inbound and early_answer)
    callee, callee_port = (client, client_port) if inbound else (gateway, gateway_port)
    return plan_call(
        lab, target, MediaMode.BYPASS, pcap=pcap, label=label,
        caller=Side() if inbound else client_side,
        callee=client_side if inbound else Side(early_answer=early_answer),
        caller_host=gateway if inbound else client, callee_host=callee,
        caller_port=gateway_port if inbound else client_port, callee_port=callee_port,
        request_uri=template.format(callee_address=lab.address(callee),
                                    callee_port=callee_port))
