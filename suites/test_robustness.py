"""Robustness of the target (ROB-1..3): malformed and torture-style SIP, RTP from a host
the session never negotiated, and the relay ports of a call after its BYE."""

from __future__ import annotations

import pytest

from harness.conformance import case
from harness.conformance import robust_checks as rc
from harness.evidence.preconditions import ANSWERED
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.pytest_plugin.calls import MediaCall, attach_capture, attach_diagrams
from harness.pytest_plugin.options import HarnessConfig
from harness.pytest_plugin.verdicts import Judge
from harness.scenarios.robust import TORTURE, probe_relay, send_torture
from harness.targets.base import Target

REF = "RFC 4475 (SIP torture tests: the idea, our own messages); RFC 3261 §16.3, §21.4"


@pytest.mark.parametrize("category", TORTURE)
@case("ROB-1", title="The target survives malformed SIP", reference=REF,
      expectation="A few malformed or torture-style messages of one category (bad start "
      "lines, bad header syntax, wrong Content-Length, huge headers, unknown methods, bad "
      "SDP) go to the target's SIP port; afterwards it answers OPTIONS and a call completes "
      "with media both ways (in a relaying mode the target declares, else in bypass).",
      expects_target_errors=True, judges_routing=True)
async def test_target_survives_malformed_sip(category: str, lab: Lab, target: Target,
                                             media_call: MediaCall, judge: Judge) -> None:
    sent, answered = await send_torture(lab, target, category)
    call = await media_call(_a_declared_mode(target), label=f"call after {category}")
    judge(rc.survives_torture(category, sent, answered, call))


def _a_declared_mode(target: Target) -> MediaMode:
    """ROB-1 is about surviving, in whatever mode the target works: a relaying one if it
    declares one (its media relay is exercised too), else bypass."""
    declared = target.loaded.spec.capabilities.media_modes
    for mode in (MediaMode.PROXY, MediaMode.ANCHORED, MediaMode.BYPASS):
        if mode in declared:
            return mode
    pytest.skip(f"UNSUPPORTED: target {target.loaded.spec.target.name} declares no media "
                f"mode (capabilities.media_modes in {target.loaded.path})")


GARBAGE = ("malformed STUN and RTP (15 kinds: bad integrity, fingerprint, length, cookie; "
           "RTP version 0, cut headers, CSRC, extension and padding overruns, bad RTCP "
           "length, empty, noise), then RTP of its own")
RELAY = ("A relayed call; 5.5 s in, past the relay's learning window and with the caller "
         f"still streaming, a third host sends {GARBAGE} to the caller's relay port. "
         "After the BYE the caller sends to that port again while the callee's old port "
         "listens. ")


@pytest.mark.parametrize("mode", [MediaMode.PROXY, MediaMode.ANCHORED])
@case("ROB-2", "ROB-3", title="The relay takes no media from strangers and forgets ended "
      "calls", reference="RFC 3550 §8.2 (SSRC and source address); RFC 4961 (symmetric RTP)",
      expectation=RELAY + "None of the third host's packets leave the target toward the "
      "call's endpoints and the caller's media keeps reaching the callee (ROB-2); after "
      "the BYE nothing is forwarded (ROB-3).", needs=(ANSWERED,),
      expects_target_errors=True)
async def test_relay_strangers_and_ended_calls(mode: MediaMode, lab: Lab, target: Target,
                                               harness_config: HarnessConfig, judge: Judge) -> None:
    if not target.loaded.spec.claims(mode):
        pytest.skip(f"UNSUPPORTED: target {target.loaded.spec.target.name} does not claim "
                    f"media mode {mode.value!r}")
    probe = await probe_relay(lab, target, harness_config.results_dir / "pcaps", mode=mode)
    attach_capture(probe.call.label, probe.call.pcap, probe.call.ladder)
    attach_diagrams(probe.call.label, probe.call.packets, probe.call.hosts,
                    probe.call.target_addresses)
    judge(rc.no_media_from_strangers(probe), rc.survives_malformed_media(probe),
            rc.no_media_after_bye(probe))


@case("ROB-2", title="The relay port of a side that has gone silent takes no media from "
      "strangers", reference="RFC 3550 §8.2 (SSRC and source address); RFC 4961 (symmetric "
      "RTP); the \"RTP Bleed\" class of relay flaws",
      expectation="A relayed call in which both sides send for 0.2 s, then only the caller "
      "goes on (the callee is silent, as on hold or in a listen-only call). 5.5 s in, a "
      f"third host sends {GARBAGE} to the callee's relay port. None of it leaves the "
      "target toward the caller, and the caller's media keeps reaching the callee (not "
      "the stranger).", mode=MediaMode.PROXY, needs=(ANSWERED,),
      expects_target_errors=True)
async def test_relay_port_of_a_silent_side(lab: Lab, target: Target,
                                           harness_config: HarnessConfig, judge: Judge) -> None:
    probe = await probe_relay(lab, target, harness_config.results_dir / "pcaps",
                              mode=MediaMode.PROXY, silent_side=True)
    attach_capture(probe.call.label, probe.call.pcap, probe.call.ladder)
    attach_diagrams(probe.call.label, probe.call.packets, probe.call.hosts,
                    probe.call.target_addresses)
    judge(rc.no_media_from_strangers(probe), rc.survives_malformed_media(probe))
