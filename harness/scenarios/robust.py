"""Robustness of the target (ROB-1..3): malformed SIP thrown at it, RTP from a host the
session never negotiated, and packets to a call's relay ports after its BYE.

The torture messages are written here by category, byte by byte, in the spirit of RFC
4475 (SIP torture tests) but our own: each is something a broken or hostile peer could
send. After each category the target must still answer OPTIONS and complete a call.

RTP injection and the after-BYE probe ride on a relayed call (`basic_call` with a step
after its first media phase): a third host first throws malformed STUN and RTP
(`malformed_media`, crafted byte by byte) at both of the call's relay ports, then sends
RTP with an SSRC of its own to the relay port the caller sends to; none of it may leave
the target, and the caller's media must go on reaching the callee (ROB-2); after the
BYE a socket on the callee's old port listens while the caller sends to its old relay
port again, and nothing may arrive (ROB-3).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
import struct
from dataclasses import dataclass, field
from pathlib import Path

from harness.evidence.call import CallOutcome, CallPlan
from harness.evidence.recording import keep
from harness.evidence.records import frozen_fields
from harness.evidence.robust import RelayProbe
from harness.ice.stun import (
    BindingCheck,
    binding_request,
    corrupt_fingerprint,
    corrupt_integrity,
    truncated,
)
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.media.rtp import RtpPacket
from harness.net import Address, udp_socket
from harness.scenarios.call import CallProgress, LiveCall, basic_call, payloads_for
from harness.scenarios.captured import capturing, plan_call, read_capture_files
from harness.sdp import effective_address
from harness.targets.base import Target
from harness.targets.ready import target_still_answers

__all__ = [
    "INJECTED_SSRC", "LEARNING_WINDOW_S", "RelayProbe", "TORTURE", "malformed_media",
    "probe_relay", "send_torture", "torture_messages",
]

INJECTED_SSRC = 0x0BADF00D
# A relay may learn (latch to) where each side's media really comes from during a short
# window after the answer: latching by policy, which ROB-2 allows. rtpengine confirms
# the address 3 s after the first packet, on a timer that ticks once a second (measured:
# confirmed between 3 and 4 s, and a packet injected at 3.5 s got through); RTP is
# injected after this long, the caller streaming all the while.
LEARNING_WINDOW_S = 5.5


def _invite(target: Address, *, start: str | None = None, headers: str = "",
            body: bytes = b"", length: int | None = None, method: str = "INVITE") -> bytes:
    host, port = target
    tag, branch, call_id = secrets.token_hex(4), secrets.token_hex(6), secrets.token_hex(8)
    first = start or f"{method} sip:probe@{host}:{port} SIP/2.0"
    text = (f"{first}\r\n"
            f"Via: SIP/2.0/UDP 198.18.0.10:5099;rport;branch=z9hG4bK{branch}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:torture@198.18.0.10>;tag={tag}\r\n"
            f"To: <sip:probe@{host}>\r\n"
            f"Call-ID: torture-{call_id}\r\n"
            f"CSeq: 1 {method}\r\n"
            f"{headers}"
            f"Content-Length: {len(body) if length is None else length}\r\n\r\n")
    return text.encode() + body


_BAD_SDP = (b"v=0\r\no=- 1 1 IN IP4 198.18.0.10\r\ns=-\r\nc=IN IP4 not.an.address\r\n"
            b"t=0 0\r\nm=audio 99999 RTP/AVP 0 8 300\r\na=rtpmap:0\r\n")


def torture_messages(target: Address) -> dict[str, list[bytes]]:
    """The messages of each category, addressed to `target`."""
    sdp = "Content-Type: application/sdp\r\n"
    return {
        "bad start lines": [
            b"INVITE\r\n\r\n",
            _invite(target, start="INVITE sip:probe SIP/7.0"),
            _invite(target, start="INV ITE sip:probe@x SIP/2.0"),
            _invite(target, start="SIP/2.0 999999 Way Too Big"),
            b"\x00\x01\x02\x03 binary noise \xff\xfe\r\n\r\n",
        ],
        "bad header syntax": [
            _invite(target, headers="Via SIP/2.0/UDP nowhere\r\n"),
            _invite(target, headers="CSeq: one INVITE\r\n"),
            _invite(target, headers="From: <sip:unterminated@x\r\n"),
            _invite(target, headers="Max-Forwards: -5\r\n"),
            _invite(target, headers="Contact: <<<>>>\r\n"),
        ],
        "wrong Content-Length": [
            _invite(target, body=_BAD_SDP, length=5000, headers=sdp),
            _invite(target, body=_BAD_SDP, length=3, headers=sdp),
            _invite(target, body=b"", length=-1),
        ],
        "huge headers": [
            _invite(target, headers="Subject: " + "x" * 1300 + "\r\n"),
            _invite(target, headers="".join(f"X-Filler-{i}: {'y' * 40}\r\n"
                                            for i in range(25))),
            _invite(target, headers="Via: " + ",".join(
                f"SIP/2.0/UDP 198.18.0.{i % 250 + 1}:5060;branch=z9hG4bK{i}"
                for i in range(40)) + "\r\n"),
        ],
        "unknown methods": [
            _invite(target, method="FROBNICATE"),
            _invite(target, method="NOTIFY2"),
            _invite(target, method="Invite"),
        ],
        "bad SDP": [
            _invite(target, body=_BAD_SDP, headers=sdp),
            _invite(target, body=b"this is not SDP at all\r\n", headers=sdp),
            _invite(target, body=b"v=0\r\n" + b"a=x\r\n" * 200, headers=sdp),
        ],
    }


TORTURE = tuple(torture_messages(("198.18.0.2", 5060)))


def malformed_media() -> dict[str, bytes]:
    """Malformed STUN and RTP/RTCP datagrams, by what is wrong with them (deterministic)."""
    check = BindingCheck("strgr", "tgt", "not-the-password-of-anyone", 1, 2)
    good = binding_request(check, b"\x5a" * 12)
    rtp = bytes(RtpPacket(payload_type=0, sequence=7, timestamp=160, ssrc=0x0BADBEEF,
                          payload=b"\xd5" * 160))
    cookie = struct.pack("!I", 0x2112A442)
    noise = random.Random(4475).randbytes(1400)
    return {
        "STUN: Binding request with a wrong MESSAGE-INTEGRITY": corrupt_integrity(good),
        "STUN: Binding request with a wrong FINGERPRINT": corrupt_fingerprint(good),
        "STUN: cut after the header and one attribute": truncated(good),
        "STUN: header says 400 bytes, 0 follow": b"\x00\x01\x01\x90" + cookie + b"\x5b" * 12,
        "STUN: wrong magic cookie": good[:4] + b"\xde\xad\xbe\xef" + good[8:],
        "STUN: attribute longer than the message": (b"\x00\x01\x00\x08" + cookie
                                                     + b"\x5c" * 12 + b"\x00\x06\x03\xe8"
                                                     + b"abcd"),
        "STUN: length not a multiple of 4": b"\x00\x01\x00\x03" + cookie + b"\x5d" * 12
                                             + b"xyz",
        "RTP: version 0": bytes([rtp[0] & 0x3F]) + rtp[1:],
        "RTP: header cut to 8 bytes": rtp[:8],
        "RTP: 15 CSRCs announced, none present": bytes([0x8F]) + rtp[1:12],
        "RTP: extension longer than the packet": bytes([0x90]) + rtp[1:12]
                                                  + b"\xbe\xde\xff\xff",
        "RTP: padding count larger than the payload": bytes([0xA0]) + rtp[1:-1] + b"\xff",
        "RTCP: length beyond the datagram": b"\x80\xc8\x03\xe8" + b"\x00" * 24,
        "empty datagram": b"",
        "1400 random bytes": noise,
    }


async def send_torture(lab: Lab, target: Target, category: str, *, host: str = "caller"
                       ) -> tuple[int, bool]:
    """Send one category's messages from `host` (port 5099), then ping with OPTIONS.
    Returns (messages sent, whether OPTIONS was answered)."""
    messages = torture_messages(target.sip_address)[category]
    sock = udp_socket(lab.netns(host), lab.address(host), 5099)
    try:
        for data in messages:
            sock.sendto(data, target.sip_address)
            await asyncio.sleep(0.02)
    finally:
        sock.close()
    await asyncio.sleep(0.1)
    netns = lab.netns(target.loaded.spec.signalling.host)
    return len(messages), await target_still_answers(netns, target.sip_address)


async def probe_relay(lab: Lab, target: Target, pcap_dir: Path, *,
                      mode: MediaMode = MediaMode.PROXY, third: str = "callee3",
                      packets: int = 20, silent_side: bool = False) -> RelayProbe:
    """A relayed call caller -> callee1; during it `third` throws malformed STUN and RTP,
    then RTP of its own, at the caller's relay port (the port of the side that streams);
    after the BYE the caller sends there again while the callee's old port listens.

    `silent_side`: the stranger aims at the callee's relay port instead, the port of a
    side that has stopped sending (as on hold, or a listen-only call), where the relay
    has nothing recent to stay with; there is no after-BYE probe."""
    what = "silent side" if silent_side else "relay probes"
    pcap = pcap_dir / f"relay-probe-{mode.value}{'-silent' if silent_side else ''}.pcap"
    plan = plan_call(lab, target, mode, pcap=pcap, label=f"{mode.value}: {what}")
    call = CallProgress()
    probe = _Probing(injected_from=third)

    async def inject(live: LiveCall, count: int) -> None:
        answer = call.answer_received
        if answer is None or not answer.media:
            probe.notes.append("no answer to find the relay port in")
            return
        relay = (effective_address(answer, 0) or "", answer.media[0].port)
        offered = call.offer_received
        if silent_side:
            if offered is None or not offered.media:
                probe.notes.append("no offer at the callee to find its relay port in")
                return
            relay = (effective_address(offered, 0) or "", offered.media[0].port)
        probe.injected_to = relay
        probe.injected_ssrc, probe.injected_after_s = INJECTED_SSRC, LEARNING_WINDOW_S
        # The caller goes on streaming past the learning window and during the
        # injection, as a real call would: the relay has a source to stay with.
        assert live.caller_stream is not None and call.caller_codec is not None
        keep_talking = asyncio.create_task(live.caller_rtp.send_stream(
            live.caller_stream, payloads_for(call.caller_codec, plan.caller_tone_hz, "caller"),
            int((LEARNING_WINDOW_S + 0.02 * packets + 0.3) / 0.02)))
        await asyncio.sleep(LEARNING_WINDOW_S)
        sock = udp_socket(lab.netns(third), lab.address(third), 0)
        try:
            probe.garbage_to = [relay]
            for data in malformed_media().values():
                sock.sendto(data, relay)
                probe.garbage_sent += 1
                await asyncio.sleep(0.002)
            probe.garbage_done_at = asyncio.get_running_loop().time()
            for n in range(packets):
                sock.sendto(bytes(RtpPacket(payload_type=0, sequence=40000 + n,
                                            timestamp=160 * n, ssrc=INJECTED_SSRC,
                                            payload=b"\xff" * 160)), relay)
                probe.injected += 1
                await asyncio.sleep(0.02)
        finally:
            sock.close()
        await keep_talking
        await asyncio.sleep(0.2)

    async with capturing(lab, pcap, (plan.caller, plan.callee, third)):
        await basic_call(plan, call, lab=lab, sip_target=target.sip_address, packets=packets,
                         then=inject)
        probe.injected_received = sum(
            1 for r in (*call.callee_rtp, *call.caller_rtp) if r.direction == "received"
            and r.packet is not None and r.packet.ssrc == INJECTED_SSRC)
        if not silent_side:
            await _after_bye(lab, plan, call, probe, packets)
    plan = dataclasses.replace(plan, hosts={**plan.hosts, third: lab.address(third)})
    outcome = call.observe(plan, read_capture_files(plan))
    _garbage_seen(outcome, probe)
    found = RelayProbe(call=outcome, **frozen_fields(probe))
    keep(found)
    return found


@dataclass
class _Probing:
    """What the probes saw so far (the frozen `RelayProbe` is made of it at the end)."""

    injected_from: str
    injected_to: Address | None = None
    injected_ssrc: int = 0
    injected_after_s: float = 0.0
    injected: int = 0
    injected_received: int = 0
    garbage_sent: int = 0
    garbage_to: list[Address] = field(default_factory=list)
    garbage_relayed: list[str] = field(default_factory=list)
    garbage_done_at: float = 0.0
    caller_sent_after_garbage: int = 0
    callee_got_after_garbage: int = 0
    after_bye_sent: int = 0
    after_bye_received: int = 0
    notes: list[str] = field(default_factory=list)


def _garbage_seen(call: CallOutcome, probe: _Probing) -> None:
    """Which malformed datagrams left the target toward the call's endpoints (in the
    capture), and how much of the caller's media the callee still got after them."""
    by_bytes = {data: name for name, data in malformed_media().items()}
    ends = {call.hosts[call.caller], call.hosts[call.callee]}
    probe.garbage_relayed = sorted({
        by_bytes[p.payload] for p in call.packets
        if p.src[0] in call.target_addresses and p.dst[0] in ends and p.payload in by_bytes})
    after = probe.garbage_done_at + 0.05
    probe.caller_sent_after_garbage = sum(
        1 for r in call.caller_rtp if r.direction == "sent" and r.time > after
        and r.time < after + 0.6)
    probe.callee_got_after_garbage = sum(
        1 for r in call.callee_rtp if r.direction == "received" and r.packet is not None
        and r.packet.ssrc != INJECTED_SSRC and r.time > after and r.time < after + 0.7)


async def _after_bye(lab: Lab, plan: CallPlan, call: CallProgress, probe: _Probing,
                     packets: int) -> None:
    if probe.injected_to is None or call.answer_sent is None or not call.answer_sent.media:
        probe.notes.append("the call did not get far enough to probe after the BYE")
        return
    await asyncio.sleep(0.3)  # the target has the BYE; its relay should be gone
    # From and to the ports the call used: a relay that still held the session would
    # take these packets for the caller's and forward them.
    old_port = call.answer_sent.media[0].port
    assert call.offer_sent is not None and call.offer_sent.media
    listener = udp_socket(lab.netns(plan.callee), lab.address(plan.callee), old_port)
    sender = udp_socket(lab.netns(plan.caller), lab.address(plan.caller),
                        call.offer_sent.media[0].port)
    listener.setblocking(False)
    try:
        for n in range(packets):
            sender.sendto(bytes(RtpPacket(payload_type=0, sequence=50000 + n,
                                          timestamp=160 * n, ssrc=INJECTED_SSRC + 1,
                                          payload=b"\x7f" * 160)), probe.injected_to)
            probe.after_bye_sent += 1
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        while True:
            try:
                listener.recv(2048)
                probe.after_bye_received += 1
            except BlockingIOError:
                break
    finally:
        listener.close()
        sender.close()
