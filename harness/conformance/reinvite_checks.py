"""Checks for re-INVITE handling (SIP-REINV-1..3, MM-BYPASS-3): pure functions of a
`CallOutcome` whose call ran re-INVITE steps (`CallOutcome.phases`).

Each phase is judged on two things:

- **the SDP across the target**: what each side sent against what the other
  side received (directions for hold and resume, the codec for a codec change);
- **the wire, per receiving side**, within the phase's media window: whether
  media arrived or not as the two endpoints *asked* (the direction attributes
  they sent), at the port the side now listens on (nothing at an old port),
  from the address the SDP it holds names, in the codec it negotiated, and
  carrying the other side's tone.

An agent acts on what it received, so a target that changes a direction or an
address, or answers with an old SDP, shows as media where none was asked for,
silence where media was asked for, or packets at a port nobody listens on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from harness.capture.classify import PacketKind
from harness.capture.flows import flows_of
from harness.conformance.case import Verdict
from harness.conformance.findings import Finding, check, failed, ok
from harness.conformance.gaps import unread_gap
from harness.conformance.media_checks import (
    TONE_PURITY_MIN,
    call_established,
    heard,
    media_flows_at_target,
)
from harness.evidence.call import CallOutcome, Phase, Reinvite
from harness.evidence.records import RtpRecord
from harness.sdp import Direction, SdpParseError, SessionDescription, effective_direction
from harness.sdp.reading import media_address, sends

__all__ = ["bypass_reinvite", "hold_resume", "media_changed", "offerless_reinvite"]


def _direction(sd: SessionDescription | None) -> Direction | None:
    if sd is None or not sd.media:
        return None
    return effective_direction(sd, 0)


def _address(sd: SessionDescription | None) -> str:
    if sd is None or not sd.media:
        return "(no SDP)"
    try:
        host, port = media_address(sd)
    except SdpParseError:
        return "(no c= address)"
    return f"{host}:{port}"


def _window(records: Iterable[RtpRecord], phase: Phase) -> list[RtpRecord]:
    return [r for r in records if phase.start <= r.time <= phase.end]


def _side_media(out: CallOutcome, phase: Phase, side: str) -> tuple[list[str], list[str]]:
    """(problems, evidence) for what `side` received in `phase`, against what was asked."""
    if side == "caller":
        name, peer = out.caller, out.callee
        records, port, codec = out.caller_rtp, phase.caller_port, phase.caller_codec
        tone, held = out.callee_tone_hz, phase.caller_sdp_received
        asked = sends(phase.callee_sdp_sent, phase.caller_sdp_sent)
        peer_records = out.callee_rtp
    else:
        name, peer = out.callee, out.caller
        records, port, codec = out.callee_rtp, phase.callee_port, phase.callee_codec
        tone, held = out.caller_tone_hz, phase.callee_sdp_received
        asked = sends(phase.caller_sdp_sent, phase.callee_sdp_sent)
        peer_records = out.caller_rtp
    window = [r for r in _window(records, phase) if r.direction == "received"]
    here = [r for r in window if r.local_port == port]
    stray = [r for r in window if r.local_port != port]
    sent = sum(1 for r in _window(peer_records, phase) if r.direction == "sent")
    sources = sorted({f"{r.peer[0]}:{r.peer[1]}" for r in here})
    pts = sorted({r.packet.payload_type for r in here if r.packet is not None})
    tag = f"[{phase.name}] {name}"
    evidence = [
        f"{tag}: {'media asked for' if asked else 'silence asked for'} from {peer} "
        f"(directions sent: {_direction(phase.caller_sdp_sent)} by the caller, "
        f"{_direction(phase.callee_sdp_sent)} by the callee); {peer} sent {sent}; "
        f"received {len(here)} at port {port} from {sources or '-'} with payload types "
        f"{pts}, {len(stray)} at other ports"
    ]
    problems = []
    if stray:
        ports = sorted({r.local_port for r in stray})
        problems.append(f"{tag}: {len(stray)} packet(s) arrived at old port(s) {ports} "
                        f"instead of {port}")
    if not asked:
        if here:
            problems.append(f"{tag}: received {len(here)} packet(s) while the SDPs asked "
                            "for no media this way")
        return problems, evidence
    if len(here) < max(1, sent // 2):
        problems.append(f"{tag}: received {len(here)} of {sent} packet(s) at port {port}")
        return problems, evidence
    expected_from = _address(held)
    wrong = [s for s in sources if s != expected_from]
    if wrong:
        problems.append(f"{tag}: media came from {wrong}, the SDP it holds names "
                        f"{expected_from}")
    if codec is None:
        problems.append(f"{tag}: no codec negotiated")
        return problems, evidence
    if pts != [codec.payload_type]:
        problems.append(f"{tag}: payload types {pts}, negotiated {codec.payload_type} "
                        f"({codec.encoding})")
    if codec.encoding.upper() in ("PCMU", "PCMA"):
        matching = [r for r in here if r.packet is not None
                    and r.packet.payload_type == codec.payload_type]
        count, freq, purity = heard(matching, codec.encoding, tone)
        evidence.append(f"{tag}: {purity:.0%} of the power at the {tone:.0f} Hz tone of "
                        f"{peer} (dominant {freq if freq is None else round(freq)} Hz)")
        if count and purity < TONE_PURITY_MIN:
            problems.append(f"{tag}: did not hear {peer}'s {tone:.0f} Hz tone in "
                            f"{codec.encoding} ({purity:.0%} of the power there)")
    return problems, evidence


def _phases(out: CallOutcome, steps: set[Reinvite]) -> list[Phase]:
    return [p for p in out.phases if p.step in steps]


def _judge(out: CallOutcome, steps: set[Reinvite], what: str,
    sdp_checks: Sequence[tuple[str, list[str]]] | None = None,
) -> Finding:
    """Common frame: the call was set up, each step's re-INVITE was accepted, and each
    side received what was asked in every phase from the one before the first step on."""
    established = call_established(out)
    if established.verdict is not Verdict.OK:
        return established
    phases = _phases(out, steps)
    missing = sorted(s.value for s in steps - {p.step for p in phases if p.step is not None})
    problems, evidence = [], []
    if missing:
        problems.append(f"no phase for {missing} (the call ended early?)")
    for phase in phases:
        evidence.append(f"[{phase.name}] re-INVITE answered {phase.status}")
        if not phase.accepted:
            problems.append(f"[{phase.name}] re-INVITE answered {phase.status}, not 2xx")
        for side in ("caller", "callee"):
            side_problems, side_evidence = _side_media(out, phase, side)
            problems += side_problems
            evidence += side_evidence
    for problem, lines in sdp_checks or []:
        if problem:
            problems.append(problem)
        evidence += lines
    if problems:
        return failed("; ".join(problems), [*evidence, *out.notes])
    return ok(what, evidence)


def _across(
    phase: Phase, what: str, of: Callable[[SessionDescription | None], object]
) -> tuple[list[str], list[str]]:
    """Compare `what` (`of` an SDP) as sent and as received, for the offer and the answer."""
    problems, evidence = [], []
    for leg, sent, received in (
        ("offer caller -> callee", phase.caller_sdp_sent, phase.callee_sdp_received),
        ("answer callee -> caller", phase.callee_sdp_sent, phase.caller_sdp_received),
    ):
        s, r = of(sent), of(received)
        evidence.append(f"[{phase.name}] {leg}: {what} sent {s}, received {r}")
        if s != r:
            problems.append(f"[{phase.name}] {leg}: {what} {s} arrived as {r}")
    return problems, evidence


@check
def hold_resume(out: CallOutcome) -> Finding:
    """SIP-REINV-1: hold (sendonly), inactive and resume (sendrecv) reach the far end, and
    media stops and flows again as asked."""
    steps = {Reinvite.HOLD, Reinvite.INACTIVE, Reinvite.RESUME}
    sdp = []
    for phase in _phases(out, steps):
        problems, evidence = _across(phase, "direction", _direction)
        sdp.append(("; ".join(problems), evidence))
    return _judge(out, steps,
                  "hold, inactive and resume reached the far end; media stopped and resumed "
                  "as asked", sdp)


@check
def media_changed(out: CallOutcome) -> Finding:
    """SIP-REINV-2: a re-offered codec and a new media address take effect on the wire."""
    sdp = []
    for phase in _phases(out, {Reinvite.CODEC}):
        offered = phase.caller_sdp_sent.media[0].formats if phase.caller_sdp_sent else []
        got = phase.caller_codec
        line = (f"[codec] the caller re-offered payload type(s) {offered}; the answer it got "
                f"selects {got.encoding + '/' + str(got.payload_type) if got else 'nothing'}")
        bad = got is None or str(got.payload_type) not in offered
        sdp.append((line if bad else "", [line]))
    return _judge(out, {Reinvite.CODEC, Reinvite.ADDRESS},
                  "the new codec and the new media addresses took effect on the wire", sdp)


@check
def offerless_reinvite(out: CallOutcome) -> Finding:
    """SIP-REINV-3: a re-INVITE without SDP gets the offer in the 200 and the answer in the
    ACK, and media flows both ways at the addresses that exchange set."""
    sdp = []
    for phase in _phases(out, {Reinvite.OFFERLESS}):
        line = (f"[offerless] offer in the 200 as received: {_address(phase.caller_sdp_received)}"
                f" (the callee offered {_address(phase.callee_sdp_sent)}); answer in the ACK "
                f"as received: {_address(phase.callee_sdp_received)}")
        bad = phase.accepted and phase.callee_sdp_received is None
        sdp.append(("[offerless] the ACK brought the callee no answer" if bad else "", [line]))
    return _judge(out, {Reinvite.OFFERLESS},
                  "offer in the 200, answer in the ACK; media both ways afterwards", sdp)


@check
def bypass_reinvite(out: CallOutcome) -> Finding:
    """MM-BYPASS-3: in bypass mode a re-INVITE's new addresses pass end to end and the media
    moves to them directly, never through the target."""
    phases = _phases(out, {Reinvite.ADDRESS})
    problems, evidence = [], []
    at_target = media_flows_at_target(out)
    if at_target:
        problems.append(f"{len(at_target)} media flow(s) to or from the target")
        evidence += at_target
    flows = flows_of(out.packets, kinds={PacketKind.RTP})
    caller, callee = out.hosts[out.caller], out.hosts[out.callee]
    for phase in phases:
        sdp_problems, sdp_evidence = _across(phase, "media address", _address)
        problems += sdp_problems
        evidence += sdp_evidence
        for src, dst in (((callee, phase.callee_port), (caller, phase.caller_port)),
                         ((caller, phase.caller_port), (callee, phase.callee_port))):
            into = [f for f in flows if f.dst == dst]
            direct = sum(len(f.packets) for f in into if f.src == src)
            # From the peer's host at another port is a later move of the peer, not a detour.
            others = [f"{f.src[0]}:{f.src[1]} ({len(f.packets)})" for f in into
                      if f.src[0] != src[0]]
            evidence.append(f"[{phase.name}] captured {direct} RTP packet(s) "
                            f"{src[0]}:{src[1]} -> {dst[0]}:{dst[1]}; from elsewhere: "
                            f"{others or 'none'}")
            if direct == 0:
                problems.append(f"[{phase.name}] no RTP went directly {src[0]}:{src[1]} -> "
                                f"{dst[0]}:{dst[1]} after the re-INVITE")
            if others:
                problems.append(f"[{phase.name}] RTP to {dst[0]}:{dst[1]} also came from "
                                f"{', '.join(others)}")
    base = _judge(out, {Reinvite.ADDRESS}, "")
    if base.verdict is not Verdict.OK:
        problems = [base.summary, *problems]
        evidence = list(base.evidence) + evidence
    if problems:
        return failed("; ".join(problems), evidence)
    if (gap := unread_gap(out, out.target_addresses,
                          "no media went to or from the target")) is not None:
        return gap
    return ok("the re-INVITE's new addresses passed end to end and media moved "
              "to them directly, none via the target", evidence)
