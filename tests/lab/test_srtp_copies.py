"""SRTP proven end to end (issue 14, part 4), against copies of the default target that get
SDES toward Teams wrong the way real SBCs do, and through a media relay that sends the
target's media on in clear:

- it offers only AES_CM_128_HMAC_SHA1_32: DR-SRTP-1 FAILS on the suite, and nothing
  else does, because the Teams agent answers _32 and keys its SRTP with it (the harness
  used to answer _32 and send plain RTP); the encryption check shows the SRTP encrypted;
- it adds the UNENCRYPTED_SRTP session parameter: DR-SRTP-1 FAILS naming it, and the
  Teams side refuses the offer with 488 (`PreconditionUnmet(TEAMS_SDES)`): the call ends
  cleanly;
- the target's SRTP goes on to Teams as plaintext, with a valid tag or with none: the
  encryption check FAILS, where counting rejected packets passed the first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Literal

import pytest
from peer_copies import TEAMS_OFFER_ONLY_32, TEAMS_OFFER_UNENCRYPTED, started, with_define
from typing_extensions import Unpack

from harness.conformance import Verdict
from harness.conformance import dr_checks as dc
from harness.conformance import srtp_checks as sc
from harness.evidence.preconditions import TEAMS_SDES, PreconditionUnmet
from harness.evidence.teams import DrOutcome
from harness.faults.media_relay import MediaRelay
from harness.faults.shim import Fault, ShimState, SipShim
from harness.ice.stun import is_stun
from harness.lab import Lab
from harness.media.rtp import looks_like_rtcp
from harness.media.srtp import SRTP_SUITES, SrtpError, SrtpSession
from harness.net import Address
from harness.scenarios.teams import captured_to_teams_call, plan_teams_call
from harness.scenarios.teams.parties import DrKnobs
from harness.sdp import CryptoAttribute, SdpParseError, SessionDescription
from harness.sip import SipParseError, parse_message
from harness.targets.base import Target

ONLY_32 = "suite AES_CM_128_HMAC_SHA1_32 offered; the profile asks for AES_CM_128_HMAC_SHA1_80"


async def _call(lab: Lab, target: Target, tmp_path: Path, name: str, devices: int = 0,
                **knobs: Unpack[DrKnobs]) -> tuple[DrOutcome, PreconditionUnmet | None]:
    """A call toward Teams (forked to `devices` Teams devices if > 1); its outcome also
    when the scenario raised an unmet precondition (handed to `on_evidence` before)."""
    seen: list[DrOutcome] = []
    plan = plan_teams_call(lab, target, pcap=tmp_path / f"{name}.pcap", devices=devices,
                           **knobs)
    try:
        return await captured_to_teams_call(plan, lab, target, on_evidence=seen.append), None
    except PreconditionUnmet as exc:
        return seen[-1], exc


# --------------------------------------------------------------------------- only _32


async def test_only_the_32_suite_toward_teams_fails_dr_srtp_1_alone(tmp_path: Path) -> None:
    async with started(with_define(tmp_path, TEAMS_SIDE_OFFER_FLAGS=TEAMS_OFFER_ONLY_32),
                       tmp_path) as (lab, target):
        out, unmet = await _call(lab, target, tmp_path, "only-32")
        several, several_unmet = await _call(lab, target, tmp_path, "only-32-mki",
                                             several_crypto=True)
        probed, probed_unmet = await _call(lab, target, tmp_path, "only-32-stun",
                                           stun_probes=True)
        dtmf, dtmf_unmet = await _call(lab, target, tmp_path, "only-32-dtmf",
                                       early_dtmf="159#")
    assert unmet is several_unmet is probed_unmet is dtmf_unmet is None
    offered = out.offer_to_teams.media[0].crypto() if out.offer_to_teams else []
    answered = out.answer_from_teams.media[0].crypto() if out.answer_from_teams else []
    assert [c.suite for c in offered] == ["AES_CM_128_HMAC_SHA1_32"]
    assert [(c.tag, c.suite) for c in answered] == [(offered[0].tag, offered[0].suite)]
    found = dc.sdes_offer_format(out)
    assert found.verdict is Verdict.FAILED and ONLY_32 in found.summary, found
    assert "SRTP" not in found.summary, found  # only the suite is wrong: the SRTP is fine
    encrypted = sc.srtp_encrypted(out)
    assert encrypted.verdict is Verdict.OK, encrypted
    assert any(line.startswith("target -> Teams: 15 packet(s) on the wire, 15 differ")
               for line in encrypted.evidence), encrypted
    # What the harness's own agent used to fail, with a _32 offer, now passes.
    for check in (dc.nominated_pair_carries_media, dc.audio_both_ways_dr, dc.checks_answered,
                  dc.candidates_ice_lite, dc.bypass_offer_attributes):
        assert check(out).verdict is Verdict.OK, check(out)
    assert dc.several_crypto_lines_accepted(several).verdict is Verdict.OK, \
        dc.several_crypto_lines_accepted(several)
    assert sc.srtp_encrypted(several).verdict is Verdict.OK
    assert dc.malformed_stun_discarded(probed).verdict is Verdict.OK, \
        dc.malformed_stun_discarded(probed)
    assert dc.early_dtmf_to_teams(dtmf).verdict is Verdict.OK, dc.early_dtmf_to_teams(dtmf)


# --------------------------------------------------------------------------- UNENCRYPTED_SRTP


async def test_unencrypted_srtp_toward_teams_fails_dr_srtp_1_and_ends_in_488(
    tmp_path: Path,
) -> None:
    async with started(with_define(tmp_path, TEAMS_SIDE_OFFER_FLAGS=TEAMS_OFFER_UNENCRYPTED),
                       tmp_path) as (lab, target):
        out, unmet = await _call(lab, target, tmp_path, "unencrypted")
        forked, forked_unmet = await _call(lab, target, tmp_path, "unencrypted-forked",
                                           devices=2)
    assert unmet is not None and unmet.precondition is TEAMS_SDES, unmet
    assert "UNENCRYPTED_SRTP" in unmet.detail and "refused the offer with 488" in unmet.detail
    assert out.final_status == 488 and out.answer_from_teams is None
    found = dc.sdes_offer_format(out)
    assert found.verdict is Verdict.FAILED, found
    assert "carries UNENCRYPTED_SRTP (SRTP payloads travel unencrypted), which the Teams " \
           "profile forbids" in found.summary, found
    # The 488 is final: the target ACKs it, and the caller ACKs the 488 relayed to it.
    acks = [r for r in out.sip if r.direction == "sent" and r.data.startswith(b"ACK ")]
    assert [r.agent for r in acks] == [out.caller], [r.agent for r in acks]
    assert any(r.direction == "received" and r.agent == out.callee
               and r.data.startswith(b"ACK ") for r in out.sip)
    assert not any(r.data.startswith(b"BYE ") for r in out.sip)
    # Forked to two Teams devices, each refuses the same way and the call ends the same.
    assert forked_unmet is not None and forked_unmet.precondition is TEAMS_SDES
    assert "UNENCRYPTED_SRTP" in forked_unmet.detail
    assert forked.final_status == 488 and all(d.reached and d.answer is None
                                              for d in forked.devices), forked.notes
    assert dc.sdes_offer_format(dataclasses.replace(
        forked, offer_to_teams=forked.devices[0].offer)).verdict is Verdict.FAILED


# --------------------------------------------------------------------------- plaintext relay


class _KeyTap(SipShim):
    """The SIP shim, keeping the target's a=crypto lines toward Teams as they pass (what a
    relay needs to undo the target's encryption)."""

    def __init__(self, lab: Lab, *, downstream: Address) -> None:
        super().__init__(lab, downstream=downstream, fault=Fault.RELAY_MEDIA)
        self.crypto: list[CryptoAttribute] = []

    def _apply(self, data: bytes, direction: Literal["downstream", "upstream"]
               ) -> tuple[bytes | None, str | None]:
        if direction == "downstream" and data.startswith(b"INVITE "):
            try:
                sd = SessionDescription.parse(parse_message(data).body)
                self.crypto = sd.media[0].crypto() if sd.media else []
            except (SipParseError, SdpParseError):
                pass
        return super()._apply(data, direction)


class _PlaintextRelay(MediaRelay):
    """The media relay, sending the target's SRTP on to Teams in clear: decrypted, with a
    valid tag over the plaintext (`tagged`: AES-CM applied again with the same key and
    index undoes it, and libsrtp tags the result) or with no tag at all. What a target
    that honours UNENCRYPTED_SRTP without saying so (or does no SRTP) puts on the wire."""

    def __init__(self, lab: Lab, state: ShimState, tap: _KeyTap, *, tagged: bool) -> None:
        super().__init__(lab, state)
        self.tap, self.tagged = tap, tagged
        self._sessions: tuple[SrtpSession, SrtpSession, int] | None = None

    def _keyed(self) -> tuple[SrtpSession, SrtpSession, int] | None:
        if self._sessions is None and self.tap.crypto:
            line = self.tap.crypto[0]
            key = line.key_params[0].key_salt
            self._sessions = (SrtpSession(line.suite, key, "outbound"),
                              SrtpSession(line.suite, key, "inbound"),
                              SRTP_SUITES[line.suite].rtp_tag)
        return self._sessions

    def _from_target(self, data: bytes, pwd: str, now: float) -> None:
        keyed = self._keyed()
        if keyed is not None and not is_stun(data) and not looks_like_rtcp(data):
            again, undo, tag = keyed
            try:
                data = again.protect(data[:-tag]) if self.tagged else undo.unprotect(data)
                self._note(now, "to teams", "media", "sent in clear", True)
            except (SrtpError, ValueError):
                pass
        super()._from_target(data, pwd, now)


@asynccontextmanager
async def _plaintext_path(lab: Lab, tagged: bool) -> AsyncIterator[tuple[Address, MediaRelay]]:
    """The shim between the target and the Teams callee, with the plaintext relay in the
    media path: where the target is to dial, and the relay."""
    async with AsyncExitStack() as stack:
        tap = _KeyTap(lab, downstream=(lab.address("callee1"), 5060))
        await stack.enter_async_context(tap)
        relay = await stack.enter_async_context(
            _PlaintextRelay(lab, tap.state, tap, tagged=tagged))
        yield tap.address, relay


@pytest.mark.parametrize("tagged", [True, False], ids=["valid tag", "no tag"])
async def test_plaintext_toward_teams_fails_the_encryption_check(
    lab: Lab, target: Target, tmp_path: Path, tagged: bool,
) -> None:
    async with _plaintext_path(lab, tagged) as (shim, relay):
        plan = plan_teams_call(lab, target, pcap=tmp_path / "plaintext.pcap")
        dial = target.loaded.spec.teams_direct_routing
        assert dial is not None
        plan = dataclasses.replace(plan, request_uri=dial.to_teams.request_uri.format(
            callee_address=shim[0], callee_port=shim[1]))
        out = await captured_to_teams_call(plan, lab, target)
    assert relay.fired >= 10, relay.log
    found = sc.srtp_encrypted(out)
    assert found.verdict is Verdict.FAILED, found
    assert "target -> Teams: 15 of 15 packet(s) carry the PSTN side's plaintext payload " \
           "on the wire: not encrypted" in found.summary, found
    if tagged:  # libsrtp takes it: only the comparison with the plaintext shows it
        assert "15 of 15 packet(s) decrypted with the offered key" in found.summary
        assert not any(r.packet is None for r in out.teams_rtp if r.direction == "received")
    else:
        assert "15 of 15 packet(s) did not decrypt with the offered key" in found.summary
    assert "Teams -> target" not in found.summary  # the Teams side's own SRTP is fine
    assert dc.sdes_offer_format(out).verdict is Verdict.FAILED
