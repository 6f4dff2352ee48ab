"""Checks for the target's robustness (ROB-1..3): pure functions of what
`harness.scenarios.robust` saw."""

from __future__ import annotations

from harness.conformance.findings import Finding, check, failed, ok
from harness.conformance.gaps import unread_gap
from harness.evidence.call import CallOutcome
from harness.evidence.robust import RelayProbe

__all__ = ["no_media_after_bye", "no_media_from_strangers", "survives_malformed_media",
           "survives_torture"]


@check
def survives_torture(category: str, sent: int, options_answered: bool,
                     call: CallOutcome) -> Finding:
    """ROB-1: after the category's malformed messages the target still answers OPTIONS
    and completes a call with audio both ways."""
    heard = [r for r in call.callee_rtp if r.direction == "received" and r.packet is not None]
    back = [r for r in call.caller_rtp if r.direction == "received" and r.packet is not None]
    evidence = [f"{sent} malformed message(s) of category {category!r} sent",
                f"OPTIONS afterwards: {'answered' if options_answered else 'no answer'}",
                f"call afterwards: {call.final_status} {call.final_reason}".strip(),
                f"media afterwards: callee received {len(heard)}, caller received {len(back)}"]
    problems = []
    if not options_answered:
        problems.append("the target no longer answers OPTIONS")
    if not call.established:
        problems.append(f"the next call failed ({call.final_status})")
    elif not heard or not back:
        problems.append("the next call carried no media both ways")
    if problems:
        return failed(f"after {category}: " + "; ".join(problems), evidence)
    return ok(f"after {category} the target answers OPTIONS and completes a call", evidence)


@check
def no_media_from_strangers(probe: RelayProbe) -> Finding:
    """ROB-2: RTP from a host the session did not negotiate, sent to one of the call's
    relay ports after the learning window, reaches neither endpoint."""
    evidence = [f"{probe.injected} RTP packet(s) (SSRC {probe.injected_ssrc:#x}) from "
                f"{probe.injected_from} to the relay port "
                f"{probe.injected_to[0] if probe.injected_to else '?'}:"
                f"{probe.injected_to[1] if probe.injected_to else '?'}, "
                f"{probe.injected_after_s:g} s into the call, the caller still streaming",
                f"the call's endpoints received {probe.injected_received} of them",
                *probe.notes]
    if not probe.call.established or not probe.injected:
        return failed("the call did not get far enough to inject media", evidence)
    if probe.injected_received:
        return failed(f"{probe.injected_received} of {probe.injected} packets from "
                      f"{probe.injected_from}, which the session never negotiated, were "
                      "relayed to the call's endpoints", evidence)
    return ok("media from an unnegotiated host was not relayed", evidence)


@check
def survives_malformed_media(probe: RelayProbe) -> Finding:
    """ROB-2: malformed STUN and RTP from a host the session did not negotiate, thrown at a
    relay port, leave the target toward neither endpoint, and the caller's media goes on
    reaching the callee."""
    evidence = [f"{probe.garbage_sent} malformed STUN/RTP datagram(s) from "
                f"{probe.injected_from} to the relay ports "
                + ", ".join(f"{a}:{p}" for a, p in probe.garbage_to),
                "seen leaving the target toward the call's endpoints: "
                + (", ".join(probe.garbage_relayed) or "none"),
                f"in the 0.6 s after them the caller sent {probe.caller_sent_after_garbage} "
                f"packet(s); the callee received {probe.callee_got_after_garbage}",
                *probe.notes]
    if not probe.garbage_sent:
        return failed("the call did not get far enough to send malformed media", evidence)
    problems = []
    if probe.garbage_relayed:
        problems.append(f"{len(probe.garbage_relayed)} kind(s) of malformed datagram from an "
                        "unnegotiated host were relayed: " + ", ".join(probe.garbage_relayed))
    if probe.callee_got_after_garbage < probe.caller_sent_after_garbage // 2:
        problems.append("the call's media stopped reaching the callee after the malformed "
                        f"datagrams ({probe.callee_got_after_garbage} of "
                        f"{probe.caller_sent_after_garbage})")
    if problems:
        return failed("; ".join(problems), evidence)
    if (gap := unread_gap(probe.call, probe.call.target_addresses,
                          "no malformed datagram left the target")) is not None:
        return gap
    return ok("malformed STUN and RTP from a stranger were dropped and the call's "
              "media kept flowing", evidence)


@check
def no_media_after_bye(probe: RelayProbe) -> Finding:
    """ROB-3: after the BYE, packets to the call's old relay port reach nobody."""
    evidence = [f"after the BYE the caller sent {probe.after_bye_sent} packet(s) to the old "
                "relay port; a socket on the callee's old port received "
                f"{probe.after_bye_received}", *probe.notes]
    if not probe.after_bye_sent:
        return failed("nothing could be sent after the BYE", evidence)
    if probe.after_bye_received:
        return failed(f"{probe.after_bye_received} packet(s) sent to the old relay "
                      "port after the BYE were still forwarded", evidence)
    return ok("the relay ports of the ended call forward nothing", evidence)
