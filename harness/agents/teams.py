"""Teams Direct Routing calls with media bypass (seed 003): the target as ICE-Lite.

`to_teams_call`: a plain-RTP caller on the PSTN side calls through the target
(dialled with the target's ``teams_direct_routing.to_teams`` URI) to a
Teams-like callee: ICE-full and controlling (`harness.ice.agent.IceAgent`),
SDES-SRTP with AES_CM_128_HMAC_SHA1_80, rtcp-mux, one host candidate. The
callee answers 183 with its SDP, checks the target's candidate and nominates
it (regular nomination), before or after its 200 as the outcome asks, then
both sides send a tone: SRTP on the Teams leg toward the nominated pair,
RTP on the PSTN leg. Everything the checks need lands in a `DrOutcome`.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.agents.call import (
    DRAIN_S,
    SRTP_SUITE,
    media_address,
    negotiated_codec,
    parse_sdp_from,
    payloads_for,
    telephone_event_pt,
)
from harness.agents.captured import capturing
from harness.agents.media import RtpEndpoint, RtpRecord, StreamConfig
from harness.agents.outcome import CaptureEvidence
from harness.agents.sip_agent import SipAgent
from harness.capture.ladder import sip_ladder
from harness.capture.pcap import read_pcap
from harness.errors import HarnessError, TargetViolation
from harness.ice.agent import CheckResult, IceAgent, RemoteIce, StunRecord
from harness.ice.stun import (
    BindingCheck,
    binding_request,
    corrupt_fingerprint,
    corrupt_integrity,
    truncated,
    with_unknown_attribute,
)
from harness.lab import Lab
from harness.media.srtp import SrtpSession
from harness.net import Address
from harness.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    CryptoAttribute,
    SdpParseError,
    SessionDescription,
    make_answer,
    make_offer,
    next_version,
)
from harness.sdp.offer_answer import make_media
from harness.sip import Dialog, DialogConfirmed, RequestReceived, ResponseReceived
from harness.sip.headers import new_tag
from harness.targets.base import Target

__all__ = [
    "DrOutcome", "Nomination", "captured_to_teams_call", "from_teams_call", "new_to_teams",
    "remote_ice", "to_teams_call",
]

Nomination = Literal["before-200", "after-200"]
H264 = Codec(96, "H264", 90000)


@dataclass
class DrOutcome(CaptureEvidence):
    request_uri: str
    nomination: Nomination = "before-200"
    caller: str = "caller"  # the PSTN side toward Teams; the Teams side from Teams
    callee: str = "callee1"  # the Teams side toward Teams; the PSTN side from Teams
    pstn_tone_hz: float = 700.0  # what the PSTN side sends
    teams_tone_hz: float = 1300.0  # what the Teams side sends
    packets_each_way: int = 15
    offer_to_pstn_side: SessionDescription | None = None  # what the caller sent
    offer_to_teams: SessionDescription | None = None  # the target's offer, as Teams got it
    answer_from_teams: SessionDescription | None = None  # what Teams sent (183 and 200)
    answer_to_pstn_side: SessionDescription | None = None  # the target's answer to the caller
    final_status: int | None = None
    ok_sent_at: float | None = None  # when Teams sent its 200
    remote: RemoteIce | None = None  # the target's ICE as Teams saw it
    checks: list[CheckResult] = field(default_factory=list)
    stun: list[StunRecord] = field(default_factory=list)
    nominated: Address | None = None
    nominated_at: float | None = None
    direction: Literal["to-teams", "from-teams"] = "to-teams"
    video: bool = False  # from Teams: offer an m=video section too (DR-SDP-1)
    teams_offer: SessionDescription | None = None  # from Teams: the Teams side's offer
    teams_got_183: SessionDescription | None = None  # from Teams: the target's 183 SDP
    teams_got_200: SessionDescription | None = None  # from Teams: the target's 200 SDP
    checks_after_200: int = 0  # checks the Teams side sent after the 200 arrived
    reinvite: bool = False  # from Teams: a re-INVITE with a=remote-candidates after media
    reinvite_offer: SessionDescription | None = None
    reinvite_answer: SessionDescription | None = None  # the target's answer, as Teams got it
    reinvite_status: int | None = None
    media_after_reinvite: float | None = None  # when the media phase after it began
    stun_probes: bool = False  # malformed STUN and an unknown attribute before the checks
    early_dtmf: str = ""  # to Teams: digits the PSTN side sends as RFC 4733 before the 200
    dtmf_sent: list[tuple[str, int]] = field(default_factory=list)
    probes: list[tuple[str, bytes]] = field(default_factory=list)  # (what, transaction id)
    unknown_attribute_check: CheckResult | None = None
    teams_address: Address | None = None  # the Teams endpoint's candidate
    pstn_rtp: list[RtpRecord] = field(default_factory=list)
    teams_rtp: list[RtpRecord] = field(default_factory=list)
    media_start: float | None = None


def remote_ice(sd: SessionDescription) -> RemoteIce | None:
    """The ICE parameters of the first stream (media level, else session level)."""
    if not sd.media:
        return None
    md = sd.media[0]
    session_ufrag, session_pwd = sd.get_attribute("ice-ufrag"), sd.get_attribute("ice-pwd")
    ufrag = md.ice_ufrag or (session_ufrag.value if session_ufrag else None)
    pwd = md.ice_pwd or (session_pwd.value if session_pwd else None)
    if not ufrag or not pwd:
        return None
    try:
        candidates = tuple((c.ip, c.port) for c in md.candidates()
                           if c.component == 1 and c.transport.upper() == "UDP")
    except SdpParseError:
        candidates = ()
    lite = sd.has_attribute("ice-lite") or md.has_attribute("ice-lite")
    return RemoteIce(str(ufrag), str(pwd), candidates, lite)


def _key(line_source: SessionDescription) -> bytes | None:
    if not line_source.media:
        return None
    for crypto in line_source.media[0].crypto():
        if crypto.suite == SRTP_SUITE:
            return crypto.key_params[0].key_salt
    return None


async def to_teams_call(out: DrOutcome, *, lab: Lab, sip_target: Address) -> None:
    """Place the call `out` describes (PSTN side -> target -> Teams side)."""
    async with AsyncExitStack() as stack:
        stack.push_async_callback(asyncio.sleep, 0)
        caller = SipAgent(out.caller, lab.netns(out.caller), lab.address(out.caller))
        callee = SipAgent(out.callee, lab.netns(out.callee), lab.address(out.callee))
        caller_rtp = RtpEndpoint(out.caller, lab.netns(out.caller), lab.address(out.caller))
        teams_rtp = RtpEndpoint(out.callee, lab.netns(out.callee), lab.address(out.callee))
        for thing in (caller, callee, caller_rtp, teams_rtp):
            await thing.open()
            stack.callback(thing.close)
        ice = IceAgent(teams_rtp)
        out.teams_address = ice.address

        def collect() -> None:
            out.sip = sorted(caller.records + callee.records, key=lambda r: r.time)
            out.pstn_rtp, out.teams_rtp = list(caller_rtp.records), list(teams_rtp.records)
            out.checks, out.stun = list(ice.checks), list(ice.records)
            out.nominated, out.nominated_at = ice.nominated, ice.nominated_at

        stack.callback(collect)
        await _flow(out, caller, callee, caller_rtp, teams_rtp, ice, sip_target)


async def _flow(
    out: DrOutcome, caller: SipAgent, callee: SipAgent, caller_rtp: RtpEndpoint,
    teams_rtp: RtpEndpoint, ice: IceAgent, sip_target: Address,
) -> None:
    codecs = (PCMU, PCMA, TELEPHONE_EVENT) if out.early_dtmf else (PCMU, PCMA)
    offer = make_offer(caller.address, caller_rtp.port, codecs)
    out.offer_to_pstn_side = offer
    invite = caller.endpoint.create_invite(out.request_uri, body=bytes(offer))
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()

    got = await callee.wait_for(RequestReceived, "the INVITE toward Teams",
                                where=lambda e: e.request.method == "INVITE")
    request = got.request
    offer_in = parse_sdp_from(request.body, out.callee, "offer toward Teams")
    out.offer_to_teams = offer_in
    remote = remote_ice(offer_in)
    out.remote = remote
    answer = make_answer(offer_in, callee.address, teams_rtp.port, codecs)
    for name, value in ice.sdp_attributes():
        if answer.media:
            answer.media[0].add_attribute(name, value)
    out.answer_from_teams = answer
    codec = negotiated_codec(answer)
    to_tag = new_tag()
    if remote is None or not remote.candidates or codec is None:
        callee.endpoint.respond(request, 488, callee.now, to_tag=to_tag)
        callee.pump()
        out.notes.append("the offer toward Teams had no usable ICE candidate or codec: 488")
        await caller.wait_for(ResponseReceived, "the final response",
                              where=lambda e: e.response.status >= 200)
        return
    theirs, mine = _key(offer_in), _key(answer)
    if theirs is not None and mine is not None:
        teams_rtp.tx_srtp = SrtpSession(SRTP_SUITE, mine, "outbound")
        teams_rtp.rx_srtp = SrtpSession(SRTP_SUITE, theirs, "inbound")
    else:
        out.notes.append("no AES_CM_128_HMAC_SHA1_80 key on one side: the Teams leg is "
                         "not SRTP")
    callee.endpoint.respond(request, 183, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    callee.pump()
    candidate = remote.candidates[0]

    async def nominate() -> None:
        await ice.nominate(remote, candidate)

    if out.stun_probes:
        await _probe(out, ice, remote, candidate)
    if out.nomination == "before-200":
        await nominate()
    if out.early_dtmf:
        await _early_dtmf_from_pstn(out, caller, caller_rtp)
    callee.endpoint.respond(request, 200, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    out.ok_sent_at = callee.now
    callee.pump()
    final = await caller.wait_for(ResponseReceived, "the final response to the INVITE",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status >= 200)
    out.final_status = final.response.status
    if not 200 <= final.response.status < 300:
        return
    confirmed = await caller.wait_for(DialogConfirmed, "the dialog confirmed by the 200")
    caller.endpoint.send_ack(confirmed.dialog, invite.cseq.seq, caller.now)
    caller.pump()
    answer_in = parse_sdp_from(final.response.body, out.caller, "answer in the 200")
    out.answer_to_pstn_side = answer_in
    if out.nomination == "after-200":
        await nominate()

    # -- media both ways: RTP on the PSTN leg, SRTP toward the nominated pair ------------
    caller_codec = negotiated_codec(answer_in)
    if caller_codec is None:
        raise TargetViolation("caller: the 200's SDP accepts no codec",
                              evidence=final.response.body)
    caller_rtp.remote = media_address(answer_in)
    teams_rtp.remote = ice.nominated or candidate
    out.media_start = caller.now
    await asyncio.gather(
        caller_rtp.send_stream(StreamConfig(caller_codec.payload_type),
                               payloads_for(caller_codec, out.pstn_tone_hz, "pstn"),
                               out.packets_each_way),
        teams_rtp.send_stream(StreamConfig(codec.payload_type),
                              payloads_for(codec, out.teams_tone_hz, "teams"),
                              out.packets_each_way),
    )
    await asyncio.sleep(DRAIN_S)
    caller.endpoint.send_in_dialog(confirmed.dialog, "BYE", caller.now)
    caller.pump()
    bye = await callee.wait_for(RequestReceived, "the BYE",
                                where=lambda e: e.request.method == "BYE")
    callee.endpoint.respond(bye.request, 200, callee.now)
    callee.pump()
    await caller.wait_for(ResponseReceived, "the 200 to the BYE",
                          where=lambda e: e.request.method == "BYE"
                          and e.response.status >= 200)


async def _early_dtmf_from_pstn(out: DrOutcome, caller: SipAgent, rtp: RtpEndpoint) -> None:
    """DR-EM-3: during the 183 the PSTN side sends a little tone, then its digits as RFC 4733
    events, toward the address of the target's early answer."""
    early = await caller.wait_for(ResponseReceived, "the 183 with the target's early answer",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status == 183)
    sdp = parse_sdp_from(early.response.body, out.caller, "SDP of the 183")
    event_pt = telephone_event_pt(sdp)
    codec = negotiated_codec(sdp)
    if event_pt is None or codec is None or not sdp.media:
        out.notes.append("the target's 183 negotiated no telephone-event: no early DTMF sent")
        return
    rtp.remote = media_address(sdp)
    stream = StreamConfig(codec.payload_type)
    await rtp.send_stream(stream, payloads_for(codec, out.pstn_tone_hz, "pstn"), 5)
    out.dtmf_sent = await rtp.send_dtmf(stream, out.early_dtmf, event_pt)
    await asyncio.sleep(DRAIN_S)


async def _probe(
    out: DrOutcome, ice: IceAgent, remote: RemoteIce, candidate: Address,
) -> None:
    """DR-STUN-1/2: garbage, a truncated check, checks with a wrong MESSAGE-INTEGRITY and a
    wrong FINGERPRINT on the target's media port, then a valid check that carries an unknown
    comprehension-optional attribute. What came back is judged from `ice.records`."""
    check = BindingCheck(ice.ufrag, remote.ufrag, remote.pwd, ice.priority, ice.tie_breaker)
    garbage = b"\x00\x01" + secrets.token_bytes(38)  # looks like STUN, is not
    probes = [
        ("garbage", garbage),
        ("truncated check", truncated(binding_request(check))),
        ("check with a wrong MESSAGE-INTEGRITY", corrupt_integrity(binding_request(check))),
        ("check with a wrong FINGERPRINT", corrupt_fingerprint(binding_request(check))),
    ]
    for what, data in probes:
        ice.send_raw(data, candidate, kind=f"probe: {what}")
        out.probes.append((what, data[8:20]))
    await asyncio.sleep(0.2)  # time for any (wrong) answer to come back
    out.unknown_attribute_check = await ice.check(remote, candidate,
                                                  request=with_unknown_attribute(check))


async def captured_to_teams_call(
    out: DrOutcome, lab: Lab, target: Target, *, via: Address | None = None
) -> DrOutcome:
    """The call `out` describes (`to_teams_call` or `from_teams_call`) with a capture on
    the lab bridge; the ladder rendered. `via`: where the caller sends its INVITE instead
    of the target (a shim in front of it)."""
    assert out.pcap is not None
    place = from_teams_call if out.direction == "from-teams" else to_teams_call
    async with capturing(lab, out.pcap):
        await place(out, lab=lab, sip_target=via or target.sip_address)
    out.packets = read_pcap(out.pcap)
    names = {addr: name for name, addr in out.hosts.items()}
    names |= {addr: "target" for addr in out.target_addresses}
    out.ladder = sip_ladder(out.packets, names)
    return out


def new_to_teams(lab: Lab, target: Target, *, pcap: Path,
                 nomination: Nomination = "before-200", stun_probes: bool = False,
                 direction: Literal["to-teams", "from-teams"] = "to-teams",
                 video: bool = False, reinvite: bool = False,
                 early_dtmf: str = "") -> DrOutcome:
    """A Teams Direct Routing call: the caller on host "caller", the callee on "callee1";
    to Teams (the callee is the Teams side) or from Teams (the caller is)."""
    spec = target.loaded.spec
    if spec.teams_direct_routing is None:
        raise HarnessError(f"target {spec.target.name} declares no [teams_direct_routing]")
    dial = (spec.teams_direct_routing.to_teams if direction == "to-teams"
            else spec.teams_direct_routing.from_teams)
    uri = dial.request_uri.format(callee_address=lab.address("callee1"), callee_port=5060)
    return DrOutcome(request_uri=uri, nomination=nomination, stun_probes=stun_probes,
                     direction=direction, video=video, reinvite=reinvite,
                     early_dtmf=early_dtmf, pcap=pcap,
                     hosts={h: lab.address(h) for h in ("caller", "callee1")},
                     target_addresses=target.addresses)


async def from_teams_call(out: DrOutcome, *, lab: Lab, sip_target: Address) -> None:
    """The Teams side calls out: the caller is ICE-full and controlling with SDES (both
    AES_CM_128_HMAC_SHA1_80 and _32 offered, rtcp-mux, optionally m=video); the PSTN
    callee answers 183 with SDP, then 200. The Teams caller checks and nominates the
    target's candidate from the 183 (before the 200) and sends no check after it."""
    async with AsyncExitStack() as stack:
        stack.push_async_callback(asyncio.sleep, 0)
        caller = SipAgent(out.caller, lab.netns(out.caller), lab.address(out.caller))
        callee = SipAgent(out.callee, lab.netns(out.callee), lab.address(out.callee))
        teams_rtp = RtpEndpoint(out.caller, lab.netns(out.caller), lab.address(out.caller))
        pstn_rtp = RtpEndpoint(out.callee, lab.netns(out.callee), lab.address(out.callee))
        for thing in (caller, callee, teams_rtp, pstn_rtp):
            await thing.open()
            stack.callback(thing.close)
        ice = IceAgent(teams_rtp)
        out.teams_address = ice.address

        def collect() -> None:
            out.sip = sorted(caller.records + callee.records, key=lambda r: r.time)
            out.teams_rtp, out.pstn_rtp = list(teams_rtp.records), list(pstn_rtp.records)
            out.checks, out.stun = list(ice.checks), list(ice.records)
            out.nominated, out.nominated_at = ice.nominated, ice.nominated_at

        stack.callback(collect)
        await _outbound(out, caller, callee, teams_rtp, pstn_rtp, ice, sip_target)


def _teams_offer(out: DrOutcome, ice: IceAgent, port: int) -> SessionDescription:
    crypto = [CryptoAttribute.generate(1, SRTP_SUITE),
              CryptoAttribute.generate(2, "AES_CM_128_HMAC_SHA1_32")]
    video = [make_media("video", port + 2, (H264,), proto="RTP/SAVP",
                        crypto=[CryptoAttribute.generate(1, SRTP_SUITE)], ptime=None)]
    offer = make_offer(ice.address[0], port, (PCMU, PCMA), crypto=crypto,
                       extra_media=video if out.video else ())
    for name, value in ice.sdp_attributes():
        offer.media[0].add_attribute(name, value)
    return offer


async def _outbound(
    out: DrOutcome, caller: SipAgent, callee: SipAgent, teams_rtp: RtpEndpoint,
    pstn_rtp: RtpEndpoint, ice: IceAgent, sip_target: Address,
) -> None:
    offer = _teams_offer(out, ice, teams_rtp.port)
    out.teams_offer = offer
    invite = caller.endpoint.create_invite(out.request_uri, body=bytes(offer))
    caller.endpoint.send_request(invite, sip_target, caller.now)
    caller.pump()

    got = await callee.wait_for(RequestReceived, "the INVITE from Teams to the PSTN side",
                                where=lambda e: e.request.method == "INVITE")
    offer_in = parse_sdp_from(got.request.body, out.callee, "offer to the PSTN side")
    out.offer_to_pstn_side = offer_in
    answer = make_answer(offer_in, callee.address, pstn_rtp.port, (PCMU, PCMA))
    out.answer_from_teams = answer  # here: the PSTN side's answer, before the target
    pstn_codec = negotiated_codec(answer)
    to_tag = new_tag()
    if pstn_codec is None:
        callee.endpoint.respond(got.request, 488, callee.now, to_tag=to_tag)
        callee.pump()
        return
    pstn_rtp.remote = media_address(offer_in)
    callee.endpoint.respond(got.request, 183, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    callee.pump()

    early = await caller.wait_for(ResponseReceived, "the 183 with the target's answer",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status == 183)
    sdp_183 = parse_sdp_from(early.response.body, out.caller, "SDP of the 183")
    out.teams_got_183 = sdp_183
    remote = remote_ice(sdp_183)
    out.remote = remote
    if remote is not None and remote.candidates:
        await ice.nominate(remote, remote.candidates[0])
    else:
        out.notes.append("the target's 183 has no usable ICE candidate: no checks")
    callee.endpoint.respond(got.request, 200, callee.now, to_tag=to_tag, body=bytes(answer),
                            content_type="application/sdp")
    out.ok_sent_at = callee.now
    callee.pump()
    final = await caller.wait_for(ResponseReceived, "the final response to the INVITE",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.response.status >= 200)
    out.final_status = final.response.status
    if not 200 <= final.response.status < 300:
        return
    confirmed = await caller.wait_for(DialogConfirmed, "the dialog confirmed by the 200")
    caller.endpoint.send_ack(confirmed.dialog, invite.cseq.seq, caller.now)
    caller.pump()
    sdp_200 = parse_sdp_from(final.response.body, out.caller, "SDP of the 200")
    out.teams_got_200 = sdp_200
    answered_at = caller.now
    theirs, mine = _key_for(sdp_200, offer), _key(offer)
    teams_codec = negotiated_codec(sdp_200)
    if theirs is not None and mine is not None:
        suite, key = theirs
        teams_rtp.tx_srtp = SrtpSession(suite, _offered_key(offer, suite) or mine, "outbound")
        teams_rtp.rx_srtp = SrtpSession(suite, key, "inbound")
    if teams_codec is None or remote is None or not remote.candidates:
        out.notes.append("no codec or no candidate in the target's 200: no media")
        return
    teams_rtp.remote = ice.nominated or remote.candidates[0]
    out.media_start = caller.now
    await asyncio.gather(
        teams_rtp.send_stream(StreamConfig(teams_codec.payload_type),
                              payloads_for(teams_codec, out.teams_tone_hz, "teams"),
                              out.packets_each_way),
        pstn_rtp.send_stream(StreamConfig(pstn_codec.payload_type),
                             payloads_for(pstn_codec, out.pstn_tone_hz, "pstn"),
                             out.packets_each_way),
    )
    await asyncio.sleep(DRAIN_S)
    out.checks_after_200 = sum(1 for c in ice.checks if c.sent_at >= answered_at)
    if out.reinvite and ice.nominated is not None:
        await _remote_candidates_reinvite(out, caller, callee, confirmed.dialog, offer, answer,
                                          teams_rtp, pstn_rtp, ice.nominated,
                                          teams_codec.payload_type, pstn_codec.payload_type)
    caller.endpoint.send_in_dialog(confirmed.dialog, "BYE", caller.now)
    caller.pump()
    bye = await callee.wait_for(RequestReceived, "the BYE",
                                where=lambda e: e.request.method == "BYE")
    callee.endpoint.respond(bye.request, 200, callee.now)
    callee.pump()
    await caller.wait_for(ResponseReceived, "the 200 to the BYE",
                          where=lambda e: e.request.method == "BYE"
                          and e.response.status >= 200)


def _key_for(answer: SessionDescription, offer: SessionDescription) -> tuple[str, bytes] | None:
    """(suite, key||salt) of the answer's first crypto line whose suite we offered."""
    offered = {c.suite for c in offer.media[0].crypto()} if offer.media else set()
    if not answer.media:
        return None
    for crypto in answer.media[0].crypto():
        if crypto.suite in offered:
            return crypto.suite, crypto.key_params[0].key_salt
    return None


def _offered_key(offer: SessionDescription, suite: str) -> bytes | None:
    for crypto in offer.media[0].crypto():
        if crypto.suite == suite:
            return crypto.key_params[0].key_salt
    return None


async def _remote_candidates_reinvite(
    out: DrOutcome, caller: SipAgent, callee: SipAgent, dialog: Dialog,
    offer: SessionDescription, pstn_answer: SessionDescription, teams_rtp: RtpEndpoint,
    pstn_rtp: RtpEndpoint, nominated: Address, teams_pt: int, pstn_pt: int,
) -> None:
    """DR-REINV-1: the controlling Teams side re-offers with the same ICE credentials and
    a=remote-candidates naming the pair it nominated (RFC 8445 §9.1.1 / RFC 8839 §5.2);
    the target must answer without an ICE restart, and media goes on."""
    reoffer = next_version(offer)
    reoffer.media[0].add_attribute("remote-candidates", f"1 {nominated[0]} {nominated[1]}")
    out.reinvite_offer = reoffer
    request = caller.endpoint.send_in_dialog(dialog, "INVITE", caller.now, body=bytes(reoffer),
                                             content_type="application/sdp")
    caller.pump()
    seq = request.cseq.seq
    got = await callee.wait_for(RequestReceived, "the re-INVITE from the Teams side",
                                where=lambda e: e.request.method == "INVITE"
                                and e.request.to.tag is not None)
    callee.endpoint.respond(got.request, 200, callee.now, body=bytes(next_version(pstn_answer)),
                            content_type="application/sdp")
    callee.pump()
    final = await caller.wait_for(ResponseReceived, f"the final response to re-INVITE {seq}",
                                  where=lambda e: e.request.method == "INVITE"
                                  and e.request.cseq.seq == seq and e.response.status >= 200)
    out.reinvite_status = final.response.status
    if not 200 <= final.response.status < 300:
        return
    caller.endpoint.send_ack(dialog, seq, caller.now)
    caller.pump()
    out.reinvite_answer = parse_sdp_from(final.response.body, out.caller,
                                         f"answer to re-INVITE {seq}")
    out.media_after_reinvite = caller.now
    await asyncio.gather(
        teams_rtp.send_stream(StreamConfig(teams_pt),
                              payloads_for(PCMU if teams_pt == 0 else PCMA, out.teams_tone_hz,
                                           "teams"), out.packets_each_way),
        pstn_rtp.send_stream(StreamConfig(pstn_pt),
                             payloads_for(PCMU if pstn_pt == 0 else PCMA, out.pstn_tone_hz,
                                          "pstn"), out.packets_each_way),
    )
    await asyncio.sleep(DRAIN_S)
