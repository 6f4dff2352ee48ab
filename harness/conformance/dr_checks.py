"""Checks for the Teams Direct Routing media-bypass profile (DR-*, seed 003): pure functions
of a `DrOutcome`: the target's SDP as the Teams side got it, every STUN message the
Teams-like endpoint exchanged, both sides' RTP records and the capture."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from harness.capture.classify import PacketKind, classify
from harness.conformance.case import Verdict
from harness.conformance.findings import Finding, check, failed, ok
from harness.conformance.gaps import unread_gap
from harness.conformance.media_checks import TONE_PURITY_MIN, heard, judge_dtmf
from harness.conformance.srtp_checks import crypto_lines_for_teams, srtp_encrypted
from harness.evidence.records import RtpRecord
from harness.evidence.teams import DrOutcome
from harness.ice.stun import UNKNOWN_OPTIONAL_ATTRIBUTE, parse
from harness.sdp import SessionDescription
from harness.sdp.crypto import ParamEffect, session_param

__all__ = [
    "audio_both_ways_dr", "bypass_offer_attributes", "candidates_ice_lite", "checks_answered",
    "early_dtmf_to_teams", "early_media_follows_nomination", "early_media_latches",
    "early_media_on_highest_priority", "forked_devices_converge", "ice_stable_183_to_200",
    "malformed_stun_discarded", "no_checks_from_target", "no_checks_needed_after_200",
    "nominated_pair_carries_media", "non_audio_rejected", "one_offered_suite_answered",
    "reinvite_without_restart", "sdes_offer_format", "several_crypto_lines_accepted",
    "unknown_attribute_ignored",
]


def _lines(sd: SessionDescription | None, name: str) -> list[str]:
    if sd is None:
        return []
    found = [f"a={name}:{a.value}" if a.value is not None else f"a={name}"
             for a in sd.get_attributes(name)]
    for md in sd.media:
        found += [f"a={name}:{a.value}" if a.value is not None else f"a={name}"
                  for a in md.get_attributes(name)]
    return found


def _no_offer(out: DrOutcome) -> Finding | None:
    if out.offer_to_teams is None:
        return failed("no offer reached the Teams side", out.notes)
    return None


@check
def candidates_ice_lite(out: DrOutcome) -> Finding:
    """DR-ICE-1: exactly one candidate, IPv4, and ``a=ice-lite``."""
    if (missing := _no_offer(out)) is not None:
        return missing
    candidates = _lines(out.offer_to_teams, "candidate")
    lite = _lines(out.offer_to_teams, "ice-lite")
    evidence = [*candidates, *(lite or ["(no a=ice-lite)"])]
    problems = []
    if len(candidates) != 1:
        problems.append(f"{len(candidates)} candidates offered, exactly one required")
    for line in candidates:
        parts = line.split()
        address = parts[4] if len(parts) > 4 else ""
        try:
            if ipaddress.ip_address(address).version != 4:
                problems.append(f"candidate address {address} is not IPv4")
        except ValueError:
            problems.append(f"candidate address {address!r} is not an IP address")
    if not lite:
        problems.append("no a=ice-lite: the target does not declare itself ICE-Lite")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("one IPv4 candidate, a=ice-lite declared", evidence)


@check
def checks_answered(out: DrOutcome) -> Finding:
    """DR-ICE-2: each valid check got a success response with XOR-MAPPED-ADDRESS,
    MESSAGE-INTEGRITY (the target's ice-pwd) and FINGERPRINT."""
    evidence = [
        f"check to {c.remote[0]}:{c.remote[1]}{' with USE-CANDIDATE' if c.use_candidate else ''}"
        f": {'answered' if c.response else 'NOT answered'}"
        + (f" in {(c.answered_at - c.sent_at) * 1000:.1f} ms" if c.answered_at else "")
        + (f", attributes {[f'{t:#06x}' for t in c.attributes]}" if c.attributes else "")
        + (f"; {'; '.join(c.problems)}" if c.problems else "")
        for c in out.checks
    ]
    if not out.checks:
        return failed("no connectivity check could be sent (no candidate or no "
                      "ice-ufrag/ice-pwd in the target's SDP)", out.notes)
    bad = [c for c in out.checks if not c.succeeded]
    if bad:
        return failed(f"{len(bad)} of {len(out.checks)} check(s) not answered as "
                      "required: " + "; ".join(bad[0].problems), evidence)
    return ok(f"all {len(out.checks)} checks answered with XOR-MAPPED-ADDRESS, "
              "MESSAGE-INTEGRITY and FINGERPRINT", evidence)


@check
def no_checks_from_target(out: DrOutcome) -> Finding:
    """DR-ICE-3: no Binding request from any target address, in the whole capture."""
    requests = []
    for packet in out.packets:
        if packet.src[0] not in out.target_addresses:
            continue
        if classify(packet.payload) is not PacketKind.STUN:
            continue
        message, _ = parse(packet.payload)
        if message is not None and message.message_class.name == "REQUEST":
            requests.append(f"frame {packet.index}: Binding request {packet.src[0]}:"
                            f"{packet.src[1]} -> {packet.dst[0]}:{packet.dst[1]}")
    if requests:
        return failed(f"the target sent {len(requests)} connectivity check(s) of "
                      "its own", requests[:20])
    if (gap := unread_gap(out, out.target_addresses,
                          "the target sent no connectivity check")) is not None:
        return gap
    stun = sum(1 for p in out.packets if classify(p.payload) is PacketKind.STUN)
    return ok("no Binding request from the target in the capture",
              [f"{stun} STUN packet(s) captured, none a request from a target address"])


def _received(records: Sequence[RtpRecord], after: float | None) -> list[RtpRecord]:
    return [r for r in records if r.direction == "received"
            and (after is None or r.time >= after)]


@check
def nominated_pair_carries_media(out: DrOutcome) -> Finding:
    """DR-ICE-4 (and DR-ICE-5 with the nomination order): after USE-CANDIDATE, the target's
    media reaches the Teams endpoint from the nominated candidate, and the Teams media sent
    to that candidate reaches the PSTN side."""
    if out.nominated is None or out.nominated_at is None:
        return failed("the nomination did not complete (see DR-ICE-2)", out.notes)
    got = _received(out.teams_rtp, out.nominated_at)
    sources = sorted({f"{r.peer[0]}:{r.peer[1]}" for r in got})
    nominated = f"{out.nominated[0]}:{out.nominated[1]}"
    sent = sum(1 for r in out.teams_rtp if r.direction == "sent")
    through = len(_received(out.pstn_rtp, out.nominated_at))
    evidence = [
        f"nominated {nominated} ({out.nomination.replace('-', ' ')}, "
        f"{'before' if out.ok_sent_at and out.nominated_at < out.ok_sent_at else 'after'} "
        "the 200 was sent)",
        f"the Teams endpoint received {len(got)} media packet(s) after it, from {sources or '-'}",
        f"the Teams endpoint sent {sent} to {nominated}; the PSTN side received {through}",
    ]
    problems = []
    if not got:
        problems.append("no media reached the Teams endpoint on the nominated pair")
    elif sources != [nominated]:
        problems.append(f"media came from {sources}, not only from the nominated {nominated}")
    if through < max(1, sent // 2):
        problems.append(f"only {through} of the {sent} packets the Teams endpoint sent on the "
                        "nominated pair reached the PSTN side")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("media flowed both ways on the nominated pair", evidence)


@check
def sdes_offer_format(out: DrOutcome) -> Finding:
    """DR-SRTP-1: every a=crypto line of the offer, read whole, is AES_CM_128_HMAC_SHA1_80
    with ``inline:<40 base64 chars>[|lifetime]`` decoding to 30 bytes of key||salt and no
    session parameter that turns encryption or authentication off; and the SRTP it keys
    is encrypted both ways on the Teams leg (`srtp_encrypted`)."""
    if (missing := _no_offer(out)) is not None:
        return missing
    lines = _lines(out.offer_to_teams, "crypto")
    problems, read = crypto_lines_for_teams([line.split(":", 1)[1] for line in lines])
    evidence = [*lines, *read]
    if not lines:
        problems.append("no a=crypto line in the offer")
    media = srtp_encrypted(out)
    evidence += media.evidence
    evidence += [note for note in out.notes if note not in evidence]
    if media.verdict is not Verdict.OK:
        problems.append(media.summary)
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("AES_CM_128_HMAC_SHA1_80 inline key of 30 bytes, no session parameter turning "
              "protection off; SRTP encrypted both ways", evidence)


@check
def bypass_offer_attributes(out: DrOutcome) -> Finding:
    """DR-SRTP-4: the offer carries SDES, DTLS only as a=fingerprint with a=setup:actpass,
    and a=rtcp-mux."""
    if (missing := _no_offer(out)) is not None:
        return missing
    sd = out.offer_to_teams
    crypto, mux = _lines(sd, "crypto"), _lines(sd, "rtcp-mux")
    fingerprint, setup = _lines(sd, "fingerprint"), _lines(sd, "setup")
    evidence = [f"{len(crypto)} a=crypto", *(mux or ["(no a=rtcp-mux)"]), *fingerprint, *setup]
    problems = []
    if not crypto:
        problems.append("no SDES (a=crypto)")
    if not mux:
        problems.append("no a=rtcp-mux")
    if fingerprint and setup != ["a=setup:actpass"]:
        problems.append(f"a=fingerprint with {setup or 'no a=setup'}, not a=setup:actpass")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("SDES and a=rtcp-mux offered"
              + (", DTLS fingerprint with actpass" if fingerprint else ""), evidence)


@check
def audio_both_ways_dr(out: DrOutcome) -> Finding:
    """Each side hears the other's tone (the Teams side through SRTP)."""
    problems, evidence = [], []
    for who, records, tone in (("the PSTN side", out.pstn_rtp, out.teams_tone_hz),
                               ("the Teams side", out.teams_rtp, out.pstn_tone_hz)):
        got = [r for r in records if r.direction == "received" and r.packet is not None]
        encoding = "PCMA" if got and got[0].packet and got[0].packet.payload_type == 8 \
            else "PCMU"
        count, freq, purity = heard(got, encoding, tone)
        evidence.append(f"{who}: {count} packet(s), {purity:.0%} of the power at {tone:.0f} Hz")
        if count == 0 or purity < TONE_PURITY_MIN:
            problems.append(f"{who} did not hear the other side's {tone:.0f} Hz tone")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("audio both ways", evidence)


@check
def unknown_attribute_ignored(out: DrOutcome) -> Finding:
    """DR-STUN-1: a check carrying an unknown comprehension-optional attribute (covered by
    MESSAGE-INTEGRITY) still gets a proper success response."""
    check = out.unknown_attribute_check
    if check is None:
        return failed("the check with an unknown attribute was never sent "
                      "(no usable candidate)", out.notes)
    evidence = [f"sent attribute {UNKNOWN_OPTIONAL_ATTRIBUTE:#06x} (comprehension-optional, "
                f"unregistered) in a check to {check.remote[0]}:{check.remote[1]}",
                f"response attributes {[f'{t:#06x}' for t in check.attributes] or 'none'}"]
    if not check.succeeded:
        return failed("the check with an unknown optional attribute was not "
                      "answered properly: " + "; ".join(check.problems), evidence)
    return ok("the unknown optional attribute was ignored and the check answered", evidence)


@check
def malformed_stun_discarded(out: DrOutcome) -> Finding:
    """DR-STUN-2: garbage, a truncated check and checks with a wrong MESSAGE-INTEGRITY or
    FINGERPRINT get no success response, and the call then sets up and carries media."""
    if not out.probes:
        return failed("no malformed STUN was sent (no usable candidate)", out.notes)
    answers = {r.transaction_id: r for r in out.stun if r.direction == "received"}
    problems, evidence = [], []
    for what, tid in out.probes:
        reply = answers.get(tid)
        evidence.append(f"{what}: " + (f"answered with a {reply.kind} response" if reply
                                       else "no answer"))
        if reply is not None and reply.kind == "success":
            problems.append(f"the target answered the {what} with a success response")
    media = nominated_pair_carries_media(out)
    evidence += list(media.evidence)
    if media.verdict is not Verdict.OK:
        problems.append("after the malformed STUN the call did not carry media: "
                        + media.summary)
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("malformed STUN got no success response and the call worked", evidence)


def _ice_lines(sd: SessionDescription | None) -> list[str]:
    return [*_lines(sd, "ice-ufrag"), *_lines(sd, "ice-pwd"), *_lines(sd, "candidate")]


@check
def ice_stable_183_to_200(out: DrOutcome) -> Finding:
    """DR-ICE-7: the target's ufrag, password and candidates are the same in the 183 and
    the 200 (a change would be an ICE restart the Teams side did not ask for)."""
    if out.teams_got_183 is None or out.teams_got_200 is None:
        return failed("the Teams side did not get both a 183 and a 200 with SDP", out.notes)
    early, final = _ice_lines(out.teams_got_183), _ice_lines(out.teams_got_200)
    evidence = [f"183: {line}" for line in early] + [f"200: {line}" for line in final]
    if not early:
        return failed("the 183 carries no ICE attributes", evidence)
    if early != final:
        changed = sorted(set(early) ^ set(final))
        return failed(f"ICE attributes changed from the 183 to the 200: "
                      f"{', '.join(changed)}", evidence)
    return ok("ufrag, password and candidates identical in the 183 and the 200", evidence)


@check
def no_checks_needed_after_200(out: DrOutcome) -> Finding:
    """DR-ICE-8: checks completed during the 183; the 200 asks for none again (its ICE
    credentials and candidates are those of the 183: new ones would oblige the Teams side
    to check again) and after it media flows with no new check."""
    media = nominated_pair_carries_media(out)
    evidence = [f"{out.checks_after_200} check(s) sent after the 200",
                *media.evidence]
    if out.nominated_at is None or out.ok_sent_at is None or out.nominated_at > out.ok_sent_at:
        return failed("the nomination did not complete before the 200", evidence)
    early, final = _ice_lines(out.teams_got_183), _ice_lines(out.teams_got_200)
    if final and early != final:
        changed = sorted(set(early) ^ set(final))
        return failed("the 200 brings other ICE credentials or candidates than "
                      f"the 183 ({', '.join(changed)}): the Teams side would have to check "
                      "again", evidence)
    if media.verdict is not Verdict.OK:
        return failed("after the 200, without new checks: " + media.summary, evidence)
    return ok("media flowed after the 200 on the pair nominated before it, with "
              "no new check", evidence)


@check
def one_offered_suite_answered(out: DrOutcome) -> Finding:
    """DR-SRTP-3: offered AES_CM_128_HMAC_SHA1_80 and _32, the target answers with one
    crypto line of a suite offered (same tag) that leaves encryption and authentication
    on, the SRTP is encrypted both ways with those keys (`srtp_encrypted`) and each side
    hears the other."""
    offer, answer = out.teams_offer, out.teams_got_200
    if offer is None or answer is None or not answer.media:
        return failed("no answer to the Teams side's SDES offer", out.notes)
    offered = {(c.tag, c.suite) for c in offer.media[0].crypto()}
    lines = answer.media[0].crypto()
    evidence = [f"offered: {', '.join(f'{t} {s}' for t, s in sorted(offered))}",
                *(f"answered: a=crypto:{c}" for c in lines)]
    problems = []
    if len(lines) != 1:
        problems.append(f"{len(lines)} crypto lines in the answer, one expected")
    for line in lines:
        if (line.tag, line.suite) not in offered:
            problems.append(f"answered tag {line.tag} {line.suite}, which was not offered "
                            "under that tag")
        problems += [f"answered a=crypto:{line.tag} {line.suite} carries {p.text} "
                     f"({p.meaning})" for p in map(session_param, line.session_params)
                     if p.effect is ParamEffect.PROTECTION_OFF]
    media = srtp_encrypted(out)
    evidence += media.evidence
    if media.verdict is not Verdict.OK:
        problems.append(media.summary)
    audio = audio_both_ways_dr(out)
    evidence += list(audio.evidence)
    if audio.verdict is not Verdict.OK:
        problems.append(audio.summary)
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("one offered suite answered under its tag; SRTP both ways", evidence)


@check
def non_audio_rejected(out: DrOutcome) -> Finding:
    """DR-SDP-1: each non-audio m-line of the offer has a matching m-line with port 0 in
    the answer (RFC 3264 §6)."""
    offer, answer = out.teams_offer, out.teams_got_200
    if offer is None or answer is None:
        return failed("no answer to the Teams side's offer", out.notes)
    evidence = [f"offer:  {' | '.join(md.mline for md in offer.media)}",
                f"answer: {' | '.join(md.mline for md in answer.media)}"]
    problems = []
    if len(answer.media) != len(offer.media):
        problems.append(f"{len(offer.media)} m-lines offered, {len(answer.media)} answered")
    for index, (asked, given) in enumerate(zip(offer.media, answer.media, strict=False)):
        if given.kind != asked.kind:
            problems.append(f"m-line {index + 1}: {asked.kind} answered as {given.kind}")
        elif asked.kind != "audio" and given.port != 0:
            problems.append(f"m-line {index + 1} ({asked.kind}) answered with port "
                            f"{given.port}, not 0")
    if not any(md.kind != "audio" for md in offer.media):
        problems.append("the offer had no non-audio m-line to reject")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("every non-audio m-line answered with port 0", evidence)


@check
def reinvite_without_restart(out: DrOutcome) -> Finding:
    """DR-REINV-1: the Teams side's re-INVITE with a=remote-candidates is answered with the
    same ice-ufrag and ice-pwd (no ICE restart), and media goes on both ways after it."""
    if out.reinvite_offer is None:
        return failed("no re-INVITE was sent (the nomination did not complete)", out.notes)
    before, after = out.teams_got_200, out.reinvite_answer
    evidence = [f"re-INVITE answered {out.reinvite_status}",
                *(f"a=remote-candidates:{a.value}" for a in
                  out.reinvite_offer.media[0].get_attributes("remote-candidates"))]
    if after is None:
        return failed(f"the re-INVITE was answered {out.reinvite_status}, "
                      "without an SDP answer", evidence)
    was, now = _ice_lines(before)[:2], _ice_lines(after)[:2]
    evidence += [f"before: {line}" for line in was] + [f"after:  {line}" for line in now]
    problems = []
    if was != now:
        problems.append("the answer changed ice-ufrag/ice-pwd: an ICE restart nobody asked for")
    start = out.media_after_reinvite
    teams_got = len(_received(out.teams_rtp, start))
    pstn_got = len(_received(out.pstn_rtp, start))
    evidence.append(f"after it: the Teams side received {teams_got} packet(s), the PSTN side "
                    f"{pstn_got}")
    if not teams_got or not pstn_got:
        problems.append("media did not go on both ways after the re-INVITE")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("answered with the same ICE credentials; media went on", evidence)


@check
def early_dtmf_to_teams(out: DrOutcome) -> Finding:
    """DR-EM-3: RFC 4733 events the PSTN side sends during the 183 reach the Teams side,
    through SRTP, before the 200: the digits and their durations."""
    before = out.ok_sent_at if out.ok_sent_at is not None else float("inf")
    early = [r for r in out.teams_rtp if r.direction == "received" and r.time < before]
    return judge_dtmf(out.dtmf_sent, out.offer_to_teams, early, out.notes)


@check
def forked_devices_converge(out: DrOutcome) -> Finding:
    """DR-ICE-6: with the call forked to several Teams devices, the target answers every
    device's checks; after the 200 the answering device's pair carries media both ways and
    no other device gets any."""
    if not out.devices:
        return failed("the call was not forked", out.notes)
    answerer = out.devices[out.answering_device]
    after = out.ok_sent_at if out.ok_sent_at is not None else float("inf")
    problems, evidence = [], []
    for device in out.devices:
        got = [r for r in device.rtp if r.direction == "received" and r.time >= after]
        sources = sorted({f"{r.peer[0]}:{r.peer[1]}" for r in got})
        answered = sum(1 for c in device.checks if c.succeeded)
        evidence.append(
            f"{device.host}{' (answered)' if device is answerer else ''}: "
            f"{'reached' if device.reached else 'NOT reached'}, {answered} of "
            f"{len(device.checks)} check(s) answered, {len(got)} media packet(s) from the "
            f"target after the 200 from {sources or '-'}")
        if not device.reached:
            problems.append(f"{device.host} never got the INVITE")
            continue
        if not device.checks or answered != len(device.checks):
            problems.append(f"the checks of {device.host} were not all answered")
        if device is not answerer and got:
            problems.append(f"{len(got)} packet(s) went to {device.host}, which did not answer, "
                            "after the 200")
    sent = sum(1 for r in answerer.rtp if r.direction == "sent")
    pstn_got = len(_received(out.pstn_rtp, None))
    answerer_got = sum(1 for r in answerer.rtp if r.direction == "received" and r.time >= after)
    evidence.append(f"{answerer.host} sent {sent}; the PSTN side received {pstn_got}; "
                    f"{answerer.host} received {answerer_got} of the PSTN side's "
                    f"{sum(1 for r in out.pstn_rtp if r.direction == 'sent')}")
    if answerer_got < max(1, out.packets_each_way // 2):
        problems.append(f"the answering device {answerer.host} received {answerer_got} media "
                        "packet(s) after the 200")
    if pstn_got < max(1, sent // 2):
        problems.append(f"the PSTN side received {pstn_got} of the {sent} packets the "
                        f"answering device {answerer.host} sent")
    if problems:
        return failed("; ".join(problems), [*evidence, *out.notes])
    return ok("every device's checks answered; after the 200 only the answering "
              "device's pair carried media, both ways", evidence)


@check
def several_crypto_lines_accepted(out: DrOutcome) -> Finding:
    """DR-SRTP-2: Teams answers with two crypto lines, the one it sends with carrying an MKI
    (``|2^31|1:1``): the call is set up, the target decrypts that SRTP (the PSTN side hears
    the Teams tone), and the Teams leg is encrypted both ways with the negotiated keys,
    the MKI included (`srtp_encrypted`)."""
    if out.final_status != 200:
        return failed(f"the call toward Teams ended with {out.final_status} "
                      "instead of 200 after an answer with several crypto lines",
                      _lines(out.answer_from_teams, "crypto"))
    sent = _lines(out.answer_from_teams, "crypto")
    evidence = [f"the Teams answer: {line}" for line in sent]
    both = audio_both_ways_dr(out)
    media = srtp_encrypted(out)
    evidence += [*both.evidence, *media.evidence]
    problems = [] if both.verdict is Verdict.OK else [both.summary]
    if media.verdict is not Verdict.OK:
        problems.append(media.summary)
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("answer with two crypto lines (MKI |1:1 on the one used) accepted; "
              "SRTP both ways", evidence)


def _path_counts(out: DrOutcome, start: str, end: str) -> dict[str, int]:
    """Packets from a target address each Teams candidate received between two marks."""
    lo, hi = out.marks.get(start), out.marks.get(end)
    if lo is None or hi is None:
        return {}
    return {path.label: sum(1 for r in path.rtp if r.direction == "received"
                            and r.peer[0] in out.target_addresses and lo <= r.time < hi)
            for path in out.paths}


def _paths_evidence(out: DrOutcome) -> list[str]:
    lines = [f"Teams candidate {p.label}: {p.address[0]}:{p.address[1]} priority {p.priority}"
             + (" (the offer's c=/m= default)" if p.default else "")
             + f"; checks sent: {len(p.checks)}, USE-CANDIDATE: "
             + ("yes" if any(c.use_candidate and c.succeeded for c in p.checks) else "no")
             for p in out.paths]
    for what, start, end in (("before nomination", "checked", "nominated"),
                             ("after nomination", "nominated", "early media ended")):
        counts = _path_counts(out, start, end)
        lines.append(f"early media {what}: " + ", ".join(
            f"{n} packet(s) to the {label} candidate" for label, n in counts.items()))
    return lines


@check
def early_media_on_highest_priority(out: DrOutcome) -> Finding:
    """DR-EM-2: with checks received on two Teams candidates and no nomination yet, the
    target sends its early media to the one of highest priority."""
    if not out.paths or "nominated" not in out.marks:
        return failed("the Teams side could not check both candidates (no usable "
                      "ICE in the target's 183)", out.notes)
    evidence = _paths_evidence(out)
    best = max(out.paths, key=lambda p: p.priority)
    counts = _path_counts(out, "checked", "nominated")
    elsewhere = {label: n for label, n in counts.items() if label != best.label and n}
    if not any(counts.values()):
        return failed("no early media reached the Teams side before nomination, "
                      "although both candidates had been checked", evidence)
    if elsewhere:
        where = ", ".join(f"{n} to the {label}" for label, n in elsewhere.items())
        return failed(f"before nomination the target sent early media to a "
                      f"lower-priority candidate ({where}), not to the {best.label} one of "
                      f"priority {best.priority}", evidence)
    return ok(f"before nomination all early media went to the {best.label} "
              "candidate, the highest-priority one checked", evidence)


@check
def early_media_follows_nomination(out: DrOutcome) -> Finding:
    """DR-EM-4: once the Teams side nominates a candidate, the target's media goes there."""
    nominated = [p for p in out.paths if any(c.use_candidate and c.succeeded for c in p.checks)]
    if not nominated:
        return failed("no nomination succeeded (the USE-CANDIDATE check got no "
                      "valid success response)", [*_paths_evidence(out), *out.notes])
    evidence = _paths_evidence(out)
    target = nominated[0]
    counts = _path_counts(out, "nominated", "early media ended")
    stray = {label: n for label, n in counts.items() if label != target.label and n}
    if not counts.get(target.label):
        return failed(f"after the {target.label} candidate was nominated no early "
                      "media reached it", evidence)
    if stray:
        where = ", ".join(f"{n} to the {label}" for label, n in stray.items())
        return failed(f"after nominating the {target.label} candidate the target "
                      f"still sent early media elsewhere ({where})", evidence)
    before = _path_counts(out, "checked", "nominated")
    moved = any(n for label, n in before.items() if label != target.label)
    return ok(f"after nomination all early media went to the nominated "
              f"{target.label} candidate" + (" (it moved there)" if moved else ""), evidence)


@check
def early_media_latches(out: DrOutcome) -> Finding:
    """DR-EM-1: of two forked Teams devices that checked but did not nominate, one streams
    early media; the target's media toward Teams goes to that device (and not the other),
    and the PSTN side hears it."""
    k = out.early_media_device
    lo, hi = out.marks.get("early media"), out.marks.get("early media ended")
    if not 0 <= k < len(out.devices) or lo is None or hi is None:
        return failed("the early-media phase did not take place", out.notes)
    streamer = out.devices[k]

    def window(records: Sequence[RtpRecord], direction: str) -> list[RtpRecord]:
        return [r for r in records if r.direction == direction and lo <= r.time < hi]

    sent = window(streamer.rtp, "sent")
    to_devices = {d.host: [r for r in window(d.rtp, "received")
                           if r.peer[0] in out.target_addresses] for d in out.devices}
    pstn_got = [r for r in window(out.pstn_rtp, "received") if r.packet is not None]
    count, _, purity = heard(pstn_got, "PCMA" if pstn_got and pstn_got[0].packet
                             and pstn_got[0].packet.payload_type == 8 else "PCMU",
                             out.teams_tone_hz)
    evidence = [f"{streamer.host} streamed {len(sent)} early-media packet(s) before any "
                "nomination; the other device stayed silent",
                *(f"target media received by {host} meanwhile: {len(got)} packet(s)"
                  for host, got in to_devices.items()),
                f"the PSTN side meanwhile: {count} packet(s), {purity:.0%} of the power at "
                f"{out.teams_tone_hz:.0f} Hz", *out.notes]
    problems = []
    if not to_devices[streamer.host]:
        problems.append(f"the target sent none of the PSTN side's early media to "
                        f"{streamer.host}, the device that streamed")
    strays = [host for host, got in to_devices.items() if got and host != streamer.host]
    if strays:
        problems.append(f"the target sent early media to {', '.join(strays)}, which did not "
                        "stream")
    if count == 0 or purity < TONE_PURITY_MIN:
        problems.append(f"the PSTN side did not hear {streamer.host}'s early media")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok(f"the target latched to {streamer.host}, the device that streamed "
              "first, before any nomination", evidence)
