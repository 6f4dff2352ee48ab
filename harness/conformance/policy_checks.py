"""Checks for the bypass policies (SFB-*, KZ-*, MM-NAT-1; seeds 000, 002, 004): the target
decides between bypass and media through itself; these judge whether the wire followed
the decision the policy asks for, and what a NATed callee got.

Pure functions of a `CallOutcome`, like `media_checks`: the media path comes from the
capture (`CallOutcome.path`), the audio from what each endpoint received.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.capture.mediapath import MediaPath
from harness.conformance.findings import Finding, check, failed, informational, ok
from harness.conformance.gaps import endpoint_addresses, unread_gap
from harness.conformance.media_checks import TONE_PURITY_MIN, heard
from harness.evidence.call import CallOutcome
from harness.evidence.policy import CacOutcome, CallQuality
from harness.evidence.records import RtpRecord
from harness.sdp import SessionDescription

__all__ = [
    "BYPASS_ID", "admission_control", "bypass_id_carried", "bypass_ids",
    "clean_failure_without_common_codec", "g711_untouched", "media_decision", "nat_audio",
    "wan_quality",
]

BYPASS_ID = "x-bypassid"


def bypass_ids(sd: SessionDescription | None) -> list[str]:
    """The a=x-bypassid values of an SDP (session and media level)."""
    if sd is None:
        return []
    found = [a.value or "" for a in sd.get_attributes(BYPASS_ID)]
    for md in sd.media:
        found += [a.value or "" for a in md.get_attributes(BYPASS_ID)]
    return found


def _not_set_up(call: CallOutcome) -> Finding | None:
    if call.established:
        return None
    return failed(f"the call was not set up: {call.final_status} "
                  f"{call.final_reason}".strip(), call.notes)


@check
def media_decision(call: CallOutcome, *, bypass: bool, why: str) -> Finding:
    """The media path on the wire is the one the policy decides: endpoint to endpoint both
    ways and nothing through the target (`bypass`), or relayed through the target both
    ways and nothing direct. `why` says what in the policy decides it."""
    if (missing := _not_set_up(call)) is not None:
        return missing
    assert call.path is not None, "the call was not analysed"
    path = call.path
    evidence = [f"policy: {why}",
                f"client's a=x-bypassid: {bypass_ids(call.offer_sent) or 'none'}",
                *path.summary().splitlines()]
    wanted = (MediaPath.BYPASS.words if bypass else
              "media through the target (PROXY or ANCHORED)")
    if bypass:
        right = path.verdict is MediaPath.BYPASS
    else:
        right = (path.verdict in (MediaPath.PROXY, MediaPath.ANCHORED)
                 and not path.direct_flows)
    if not right:
        return failed(f"{why}: expected {wanted}; the wire shows {path.verdict.words}",
                      evidence)
    gap = (unread_gap(call, call.target_addresses, "no media went to or from the target")
           if bypass else
           unread_gap(call, endpoint_addresses(call), "no media went endpoint to endpoint",
                      besides=call.target_addresses))
    if gap is not None:
        return gap
    return ok(f"{wanted}, as the policy decides ({why})", evidence)


@check
def bypass_id_carried(call: CallOutcome, invite_id: str, answer_id: str | None = None,
                      ) -> Finding:
    """SFB-3: a bypassed call carries a=x-bypassid in the INVITE's SDP (as the callee got
    it: `invite_id`) and in the 183's and the 200's (as the caller got them: `answer_id`,
    by default the same). A client calling out offers its own ID and gets it back; a
    client called from a gateway gets the gateway's ID and answers with its own."""
    if (missing := _not_set_up(call)) is not None:
        return missing
    answer_id = answer_id or invite_id
    seen = {f"INVITE (at {call.callee})": (bypass_ids(call.offer_received), invite_id),
            f"183 (at {call.caller})": (bypass_ids(call.early_answer_received), answer_id),
            f"200 (at {call.caller})": (bypass_ids(call.answer_received), answer_id)}
    evidence = [f"{where}: a=x-bypassid {ids or 'absent'}" for where, (ids, _) in seen.items()]
    if call.early_answer_received is None:
        evidence.append(f"no 183 with SDP reached {call.caller}")
    problems = [f"{where} has no a=x-bypassid" for where, (ids, _) in seen.items() if not ids]
    problems += [f"{where} names {ids}, not {wanted}"
                 for where, (ids, wanted) in seen.items() if ids and wanted not in ids]
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("a=x-bypassid in the INVITE, the 183 and the 200", evidence)


def _payloads(records: Sequence[RtpRecord], direction: str) -> dict[int, tuple[int, bytes]]:
    return {r.packet.sequence: (r.packet.payload_type, r.packet.payload)
            for r in records if r.direction == direction and r.packet is not None}


@check
def g711_untouched(call: CallOutcome) -> Finding:
    """SFB-6: on a bypassed call each G.711 packet arrives with the payload type and bytes
    it was sent with: no transcoding on the way."""
    if (missing := _not_set_up(call)) is not None:
        return missing
    problems, evidence = [], []
    for who, sent_by, got_by in ((f"{call.caller} -> {call.callee}", call.caller_rtp,
                                  call.callee_rtp),
                                 (f"{call.callee} -> {call.caller}", call.callee_rtp,
                                  call.caller_rtp)):
        sent, got = _payloads(sent_by, "sent"), _payloads(got_by, "received")
        codecs = sorted({pt for pt, _ in sent.values()})
        same = sum(1 for seq, item in got.items() if sent.get(seq) == item)
        changed = [seq for seq, item in got.items() if seq in sent and sent[seq] != item]
        evidence.append(f"{who}: sent {len(sent)} packet(s) of payload type {codecs}, "
                        f"received {len(got)}, {same} byte-equal with the same payload type")
        if not got:
            problems.append(f"{who}: nothing arrived")
        elif changed:
            pt, data = got[changed[0]]
            problems.append(f"{who}: {len(changed)} packet(s) changed on the way (seq "
                            f"{changed[0]}: payload type {sent[changed[0]][0]} -> {pt}, "
                            f"{len(data)} bytes)")
        if any(pt not in (0, 8) for pt in codecs):
            problems.append(f"{who}: not G.711 (payload types {codecs})")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("G.711 end to end: every packet arrived byte for byte", evidence)


@check
def nat_audio(call: CallOutcome) -> Finding:
    """MM-NAT-1: with the callee behind NAT, each side hears the other. Otherwise the
    failure is named: ONE-WAY (one direction missing) or DEAD AIR (both), with the packets
    that were sent and where they went unanswered."""
    if (missing := _not_set_up(call)) is not None:
        return missing
    lost, evidence = [], []
    for who, to, records, sent_by, codec, tone in (
        (call.caller, call.callee, call.caller_rtp, call.callee_rtp, call.caller_codec,
         call.callee_tone_hz),
        (call.callee, call.caller, call.callee_rtp, call.caller_rtp, call.callee_codec,
         call.caller_tone_hz),
    ):
        count, _, purity = heard(records, codec.encoding if codec else "PCMU", tone)
        sent = [r for r in sent_by if r.direction == "sent"]
        aims = sorted({f"{r.peer[0]}:{r.peer[1]}" for r in sent})
        evidence.append(f"{to} sent {len(sent)} packet(s) to {aims or '-'}; {who} received "
                        f"{count}, {purity:.0%} of the power at {tone:.0f} Hz")
        if count == 0 or purity < TONE_PURITY_MIN:
            lost.append(f"{to} -> {who}: {len(sent)} packet(s) sent to {aims or '-'} went "
                        "unanswered")
    if len(lost) == 2:
        return failed("DEAD AIR: " + "; ".join(lost), evidence)
    if lost:
        return failed("ONE-WAY audio: " + lost[0], evidence)
    return ok("audio both ways with the callee behind NAT", evidence)


@check
def clean_failure_without_common_codec(call: CallOutcome) -> Finding:
    """KZ-2: caller and callee share no codec on a bypassed call: the caller gets a final
    failure (488 or another 4xx-6xx), never a 200, and is not left ringing (a 180/183 and
    no final response in the time the call allows, `CallOutcome.final_timeout`)."""
    rang = any(status in (180, 183) for status in call.provisionals)
    evidence = [f"the caller offered {[c.encoding for c in call.caller_side.codecs or ()]}, "
                f"the callee accepts {[c.encoding for c in call.callee_side.codecs or ()]}",
                f"provisional responses at the caller: {list(call.provisionals) or 'none'}",
                f"final response at the caller: {call.final_status} {call.final_reason}",
                *call.notes]
    if call.established:
        return failed(f"the call was answered ({call.final_status}) although the "
                      "two sides share no codec: silence", evidence)
    if call.final_status is None:
        return failed("the caller " + ("was left ringing into silence" if rang else
                      "got no final response") + " instead of a clean failure", evidence)
    if not 400 <= call.final_status < 700:
        return failed(f"final response {call.final_status} is not a failure", evidence)
    return ok(f"failed cleanly with {call.final_status} {call.final_reason}", evidence)


@check
def admission_control(cac: CacOutcome) -> Finding:
    """SFB-7: with the WAN link at its limit a further call that needs it is refused (or
    rerouted), a bypassed call still gets through, and bypassed calls are not counted:
    with `limit` of them up a call across the link gets through."""
    def status(call: CallOutcome | None) -> str:
        if call is None:
            return "not placed"
        return f"{call.final_status} {call.final_reason}".strip()

    evidence = [f"limit: {cac.limit} call(s) with media across the WAN link"]
    evidence += [f"{c.label}: {status(c)}" for c in cac.calls]
    problems = []
    refused = [c for c in cac.wan_held if not c.established]
    if refused:
        problems.append(f"{len(refused)} of the first {cac.limit} WAN calls were refused "
                        f"({status(refused[0])}) although the link had room")
    over = cac.over_limit
    if over is not None and over.established:
        problems.append(f"call {cac.limit + 1} across the full WAN link was accepted "
                        f"({status(over)})")
    by = cac.bypass_while_full
    if by is not None and not by.established:
        problems.append(f"a bypassed call was refused while the WAN link was full "
                        f"({status(by)}): CAC applied to a call bypass covers")
    elif by is not None and by.path is not None and by.path.verdict is not MediaPath.BYPASS:
        problems.append(f"the branch-local call did not bypass ({by.path.verdict.words})")
    late = cac.wan_while_bypass_held
    if late is not None and not late.established:
        problems.append(f"with {len(cac.bypass_held)} bypassed call(s) up, a WAN call was "
                        f"refused ({status(late)}): bypassed calls were counted")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok(f"the WAN link took {cac.limit} calls and refused the next "
              f"({status(over)}); bypassed calls were neither refused nor counted", evidence)


@check
def wan_quality(results: Sequence[CallQuality], impairment: str) -> Finding:
    """The measured benefit of bypass (seeds 000, 002): per call and per media leg, loss,
    one-way delay and jitter over the impaired WAN link. Informational: reported, not
    judged, once both calls carried media."""
    evidence = [f"WAN link: {impairment}"]
    problems = []
    for result in results:
        verdict = result.call.path.verdict.words if result.call.path else "?"
        evidence.append(f"{result.mode.value} (media path {verdict}):")
        evidence += [f"  {leg.line()}" for leg in result.legs]
        if not result.call.established or not any(leg.received for leg in result.legs):
            problems.append(f"the {result.mode.value} call carried no media to measure")
    if problems:
        return failed("; ".join(problems), evidence)

    def end_to_end(result: CallQuality) -> float:
        return sum(leg.delay_ms_median or 0.0 for leg in result.legs) / 2

    by_mode = {r.mode.value: end_to_end(r) for r in results}
    summary = ", ".join(f"{mode} {delay:.1f} ms" for mode, delay in by_mode.items())
    return informational(f"end-to-end one-way delay per direction: {summary}", evidence)
