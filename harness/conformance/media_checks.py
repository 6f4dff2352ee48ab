"""Checks for the media handling modes (MM-*): pure functions of a `CallOutcome`.

Each returns one `Finding` whose evidence lines come from the wire: flows
with 5-tuples and packet counts from the capture, SDP differences between
the legs, what each endpoint received. None of them looks at what the harness
itself decided to send except to compare it with what arrived.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.capture.classify import PacketKind
from harness.capture.flows import flows_of
from harness.capture.mediapath import MediaPath, MediaPathReport
from harness.conformance.findings import Finding, check, failed, informational, ok
from harness.conformance.gaps import endpoint_addresses, unread_gap
from harness.evidence.call import CallOutcome
from harness.evidence.records import RtpRecord

__all__ = [
    "Finding", "audio_both_ways", "bypass_media_path", "bypass_sdp", "call_established",
    "dtmf_delivered", "forwarding_delay", "heard", "judge_dtmf", "media_flows_at_target",
    "payloads_unchanged", "proxy_sdp_untouched", "relayed",
    "security_attributes_unchanged", "srtp_bridged",
]
from harness.media import g711
from harness.media.dtmf import DtmfEvent, DtmfParseError
from harness.sdp import SessionDescription, effective_address
from harness.sdp.diff import diff_sdp, only_transport_changes
from harness.sdp.reading import telephone_event_pt

# Share of a signal's power at the expected tone: 1.0 for the clean tone,
# at most 0.12 for random bytes decoded as G.711 (measured over 20,000 packets).
TONE_PURITY_MIN = 0.5


def _path(call: CallOutcome) -> MediaPathReport:
    if call.path is None:
        raise ValueError("the call has no media-path analysis (was it captured?)")
    return call.path


@check
def call_established(call: CallOutcome) -> Finding:
    """The INVITE got a 2xx (a precondition of every media check)."""
    if call.established:
        return ok(f"call set up: {call.final_status} {call.final_reason}")
    got = (
        f"{call.final_status} {call.final_reason}" if call.final_status else "no final response"
    )
    return failed(f"call through the target to {call.request_uri} was not set up: {got}",
                  call.notes)


def media_flows_at_target(call: CallOutcome) -> list[str]:
    lines = []
    for flow in flows_of(call.packets, kinds={PacketKind.RTP, PacketKind.RTCP}):
        if flow.src[0] in call.target_addresses or flow.dst[0] in call.target_addresses:
            lines.append(
                f"{flow.src[0]}:{flow.src[1]} -> {flow.dst[0]}:{flow.dst[1]}: "
                f"{len(flow.packets)} {flow.kind.name} packets"
            )
    return lines


@check
def bypass_media_path(call: CallOutcome) -> Finding:
    """MM-BYPASS-1: no media to or from the target; direct flows both ways."""
    path = _path(call)
    at_target = media_flows_at_target(call)
    both_direct = all(d.direct_packets > 0 for d in path.directions.values())
    evidence = path.summary().splitlines()
    if at_target:
        return failed(f"{len(at_target)} media flow(s) to or from the target in bypass mode",
                      at_target + evidence)
    if not both_direct or path.verdict is not MediaPath.BYPASS:
        return failed(f"media did not flow endpoint to endpoint both ways (path: "
                      f"{path.verdict.words})", evidence)
    if (gap := unread_gap(call, call.target_addresses,
                          "no media went to or from the target")) is not None:
        return gap
    return ok("media flowed endpoint to endpoint both ways, none via the target", evidence)


def _sdp_legs(
    call: CallOutcome,
) -> tuple[tuple[str, SessionDescription | None, SessionDescription | None], ...]:
    """Each SDP as sent and as received across the target: the offer, then the answer."""
    return (
        ("offer (caller -> callee)", call.offer_sent, call.offer_received),
        ("answer (callee -> caller)", call.answer_sent, call.answer_received),
    )


def _transport(sd: SessionDescription | None) -> tuple[str, int] | None:
    if sd is None or not sd.media:
        return None
    return effective_address(sd, 0), sd.media[0].port


@check
def bypass_sdp(call: CallOutcome) -> Finding:
    """MM-BYPASS-2: each side receives the other's connection address and port unchanged."""
    problems, evidence = [], []
    for what, sent, received in _sdp_legs(call):
        s, r = _transport(sent), _transport(received)
        evidence.append(f"{what}: sent c=/port {s}, received {r}")
        if s is None or r is None:
            problems.append(f"{what}: no SDP to compare")
        elif s != r:
            problems.append(f"{what}: sent {s[0]}:{s[1]}, received {r[0]}:{r[1]}")
        if sent is not None and received is not None:
            evidence += [f"  {d}" for d in diff_sdp(sent, received)]
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("connection address and port passed end to end both ways", evidence)


@check
def relayed(call: CallOutcome) -> Finding:
    """MM-PROXY-1 / MM-ANCHOR-1: media goes caller<->target<->callee both ways, never direct.

    Whether the target re-originated the media (new SSRC/sequence or payload:
    ANCHORED) or passed it untouched (PROXY) is reported, not judged: MM-ANCHOR-1
    says they *may* differ. Processing is proven by MM-ANCHOR-2 and -3.
    """
    path = _path(call)
    evidence = path.summary().splitlines()
    incomplete = [k for k, d in path.directions.items() if not d.leg.complete]
    if path.direct_flows:
        return failed("media flowed endpoint to endpoint, around the target", evidence)
    if incomplete:
        return failed(f"no relayed media in direction(s) {', '.join(incomplete)}", evidence)
    how = (
        f"{path.verdict.words} both ways: SSRC/sequence or payload differ leg to leg"
        if path.verdict is MediaPath.ANCHORED
        else f"{MediaPath.PROXY.words} both ways: same SSRC, sequence and payload on both legs"
    )
    if (gap := unread_gap(call, endpoint_addresses(call), "no media went endpoint to endpoint",
                          besides=call.target_addresses)) is not None:
        return gap
    return ok(how, evidence)



@check
def proxy_sdp_untouched(call: CallOutcome) -> Finding:
    """MM-PROXY-2: between the legs only o=, c=, the m= port and a=rtcp differ."""
    problems, evidence = [], []
    for what, sent, received in _sdp_legs(call):
        if sent is None or received is None:
            problems.append(f"{what}: no SDP to compare")
            continue
        diffs = diff_sdp(sent, received)
        evidence.append(f"{what}: {len(diffs)} difference(s)")
        evidence += [f"  {d}" for d in diffs]
        if not only_transport_changes(diffs):
            problems.append(f"{what} changed beyond transport: " + "; ".join(
                str(d) for d in diffs if not only_transport_changes([d])))
        addr = effective_address(received, 0) if received.media else None
        if addr not in call.target_addresses:
            problems.append(f"{what}: received c= {addr} is not the target's address")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("only origin, connection address and ports changed", evidence)


SECURITY_ATTRIBUTES = ("crypto", "zrtp-hash")


def _security_lines(sd: SessionDescription | None) -> list[str]:
    if sd is None:
        return []
    sections = [sd, *sd.media]
    return sorted(
        f"a={a.name}:{a.value}" for s in sections for a in s.attributes
        if a.name in SECURITY_ATTRIBUTES
    )


@check
def security_attributes_unchanged(call: CallOutcome) -> Finding:
    """MM-PROXY-4: a=crypto and a=zrtp-hash arrive exactly as sent, none added or removed."""
    problems, evidence = [], []
    for what, sent, received in _sdp_legs(call):
        if sent is None or received is None:
            problems.append(f"{what}: no SDP to compare")
            continue
        before, after = _security_lines(sent), _security_lines(received)
        evidence.append(f"{what}: sent {len(before)}, received {len(after)} security line(s)")
        removed = [line for line in before if line not in after]
        added = [line for line in after if line not in before]
        evidence += [f"  removed {line}" for line in removed]
        evidence += [f"  added   {line}" for line in added]
        if not before:
            problems.append(f"{what}: nothing to judge, the sender offered no security "
                            "attribute")
        if removed or added:
            problems.append(f"{what}: {len(removed)} security line(s) removed or changed, "
                            f"{len(added)} added")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("a=crypto and a=zrtp-hash arrived unchanged both ways", evidence)


@check
def payloads_unchanged(call: CallOutcome) -> Finding:
    """MM-PROXY-3: relayed payloads are byte-equal leg to leg, in order, both ways."""
    path = _path(call)
    evidence = path.summary().splitlines()
    pts = sorted({r.packet.payload_type for r in call.callee_rtp + call.caller_rtp
                  if r.direction == "received" and r.packet is not None})
    evidence.append(f"payload types received by the endpoints: {pts}")
    problems = []
    for key, d in path.directions.items():
        if not d.leg.complete:
            problems.append(f"{key}: not relayed")
        elif not d.payload_identical:
            problems.append(
                f"{key}: payloads changed between the legs (matched {d.matches.matched} of "
                f"{d.matches.inbound} by {d.matched_by})"
            )
        elif d.matches.matched < d.matches.inbound:
            problems.append(f"{key}: {d.matches.inbound - d.matches.matched} packet(s) lost")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("payloads byte-equal and in order on both legs, both ways", evidence)


def heard(
    records: Sequence[RtpRecord], encoding: str, tone_hz: float
) -> tuple[int, float | None, float]:
    """Packets received that decode, the dominant frequency and the purity of the tone."""
    samples: list[int] = []
    count = 0
    for r in records:
        if r.direction != "received" or r.packet is None:
            continue
        count += 1
        samples += g711.decode(encoding, r.packet.payload)
    if not samples:
        return count, None, 0.0
    return count, g711.dominant_frequency(samples), g711.tone_purity(samples, tone_hz)


@check
def audio_both_ways(call: CallOutcome) -> Finding:
    """Each side receives audio in its negotiated codec carrying the other side's tone."""
    problems, evidence = [], []
    for who, records, codec, expect in (
        (call.caller_media_host or call.caller, call.caller_rtp, call.caller_codec,
         call.callee_tone_hz),
        (call.callee, call.callee_rtp, call.callee_codec, call.caller_tone_hz),
    ):
        if codec is None:
            problems.append(f"{who}: no codec negotiated")
            continue
        bad = [r for r in records if r.direction == "received" and r.packet is None]
        wrong_pt = sorted({r.packet.payload_type for r in records if r.direction == "received"
                           and r.packet is not None and r.packet.payload_type
                           != codec.payload_type})
        count, freq, purity = heard(records, codec.encoding, expect)
        evidence.append(
            f"{who}: received {count} {codec.encoding} packet(s), dominant frequency "
            f"{freq if freq is None else round(freq)} Hz, {purity:.0%} of the power at the "
            f"expected {expect:.0f} Hz; {len(bad)} undecodable, other payload types {wrong_pt}"
        )
        if count == 0:
            problems.append(f"{who} heard nothing")
        elif purity < TONE_PURITY_MIN:
            problems.append(f"{who} did not hear the {expect:.0f} Hz tone (only {purity:.0%} "
                            f"of the power there, dominant {freq} Hz)")
        if bad:
            problems.append(f"{who}: {len(bad)} packet(s) did not decode ({bad[0].error})")
        if wrong_pt:
            problems.append(f"{who}: received payload types {wrong_pt}, negotiated "
                            f"{codec.payload_type}")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("each side heard the other's tone in its own codec", evidence)


@check
def srtp_bridged(call: CallOutcome) -> Finding:
    """MM-ANCHOR-3: SRTP on the caller's leg, plain RTP on the callee's, audio both ways."""
    problems, evidence = [], []
    for what, sd, want_srtp in (
        ("offer sent by the caller", call.offer_sent, True),
        ("offer received by the callee", call.offer_received, False),
        ("answer received by the caller", call.answer_received, True),
    ):
        if sd is None or not sd.media:
            problems.append(f"{what}: missing")
            continue
        m = sd.media[0]
        crypto = m.crypto()
        evidence.append(f"{what}: m= proto {m.proto}, {len(crypto)} a=crypto line(s)")
        is_srtp = m.proto.endswith("SAVP") or m.proto.endswith("SAVPF")
        if is_srtp != want_srtp or (want_srtp and not crypto):
            problems.append(f"{what} is {m.proto} with {len(crypto)} crypto line(s); "
                            f"expected {'SRTP with SDES' if want_srtp else 'plain RTP/AVP'}")
    # On the wire: the target's packets toward the caller must not be plain audio.
    if call.caller_codec is not None:
        target_to_caller = [
            p for p in call.packets
            if p.src[0] in call.target_addresses and p.dst[0] == call.hosts.get(call.caller)
            and len(p.payload) > 12 and p.payload[0] >> 6 == 2 and (p.payload[1] & 0x7F) < 72
        ]
        leaked = 0
        for p in target_to_caller:
            audio = g711.decode(call.caller_codec.encoding, p.payload[12:-10])
            if audio and g711.tone_purity(audio, call.callee_tone_hz) >= TONE_PURITY_MIN:
                leaked += 1
        evidence.append(f"target -> caller on the wire: {len(target_to_caller)} packet(s), "
                        f"{leaked} decodable as plain audio without the key")
        if not target_to_caller:
            problems.append("no media from the target to the caller on the wire")
        if leaked:
            problems.append(f"{leaked} packet(s) to the caller carried plain audio, not SRTP")
    heard = audio_both_ways(call)
    evidence += list(heard.evidence)
    if heard.verdict.name == "FAILED":
        problems.append(heard.summary)
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("SRTP on the caller leg, RTP on the callee leg, audio both ways", evidence)


DTMF_DURATION_TOLERANCE = 160  # 20 ms at 8 kHz: one packet's worth


def received_events(records: Sequence[RtpRecord], payload_type: int) -> list[tuple[str, int, bool]]:
    """The RFC 4733 events in `records` received: (digit, final duration, end seen), in order.

    Packets of one event share its start timestamp; retransmitted end packets repeat it.
    """
    events: dict[int, list[DtmfEvent]] = {}
    order: list[int] = []
    for r in records:
        if r.direction != "received" or r.packet is None:
            continue
        if r.packet.payload_type != payload_type:
            continue
        try:
            event = DtmfEvent.parse(r.packet.payload)
        except DtmfParseError:
            continue
        if r.packet.timestamp not in events:
            order.append(r.packet.timestamp)
        events.setdefault(r.packet.timestamp, []).append(event)
    return [
        (events[ts][0].digit or f"event {events[ts][0].event}",
         max(e.duration for e in events[ts]), any(e.end for e in events[ts]))
        for ts in order
    ]


def judge_dtmf(sent: Sequence[tuple[str, int]], offered_to_callee: SessionDescription | None,
    received: Sequence[RtpRecord], notes: Sequence[str],
) -> Finding:
    """RFC 4733 events sent against those received: digits, durations, end packets."""
    evidence = [f"sent: {' '.join(f'{d}/{n // 8} ms' for d, n in sent) or 'nothing'}"]
    if not sent:
        return failed("no DTMF could be sent: the caller's answer negotiated no "
                      "telephone-event", [*evidence, *notes])
    pt = telephone_event_pt(offered_to_callee)
    if pt is None:
        return failed("the callee was offered no telephone-event, so the events "
                      "cannot reach it as RFC 4733", evidence)
    got = received_events(received, pt)
    shown = " ".join(f"{d}/{n // 8} ms" + ("" if e else " (no end)") for d, n, e in got)
    evidence.append(f"received (PT {pt}): {shown or 'nothing'}")
    problems = []
    if [d for d, _, _ in got] != [d for d, _ in sent]:
        problems.append(f"digits sent {''.join(d for d, _ in sent)!r}, received "
                        f"{''.join(d for d, _, _ in got)!r}")
    else:
        for (digit, want), (_, have, ended) in zip(sent, got, strict=True):
            if abs(have - want) > DTMF_DURATION_TOLERANCE:
                problems.append(f"digit {digit}: duration {have // 8} ms, sent {want // 8} ms")
            if not ended:
                problems.append(f"digit {digit}: no end packet")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok(f"{len(sent)} DTMF event(s) arrived with their digits and durations", evidence)


@check
def dtmf_delivered(call: CallOutcome) -> Finding:
    """MM-ANCHOR-4: RFC 4733 events the caller sent reach the callee: digits and durations."""
    return judge_dtmf(call.dtmf_sent, call.offer_received, call.callee_rtp,
                      call.notes)


@check
def forwarding_delay(call: CallOutcome) -> Finding:
    """MM-LAT-1: the target's per-packet forwarding delay, reported (a measurement)."""
    path = _path(call)
    evidence, missing = [], []
    for key, stats in path.forwarding_delay.items():
        if stats is None:
            missing.append(key)
        else:
            evidence.append(
                f"{key}: {stats.count} packets, median {stats.median_s * 1e6:.0f} us, "
                f"p99 {stats.p99_s * 1e6:.0f} us, max {stats.max_s * 1e6:.0f} us, "
                f"jitter {stats.jitter_s * 1e6:.0f} us"
            )
    if missing:
        return failed(f"no relayed packet could be matched in {', '.join(missing)}",
                      path.summary().splitlines())
    return informational("forwarding delay measured from capture timestamps", evidence)
