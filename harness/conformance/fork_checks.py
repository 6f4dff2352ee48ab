"""Checks for forked calls with early media (SIP-FORK-*, SIP-EARLY-1): pure functions of a
`ForkOutcome`: what each agent sent and received, with times on one clock."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

from harness.conformance.findings import Finding, check, failed, ok
from harness.conformance.media_checks import judge_dtmf
from harness.evidence.fork import Branch, ForkOutcome
from harness.evidence.records import RtpRecord
from harness.sdp import SessionDescription
from harness.sdp.reading import media_address


def _ssrc(records: Sequence[RtpRecord]) -> int | None:
    sent = [r.packet.ssrc for r in records if r.direction == "sent" and r.packet is not None]
    return sent[0] if sent else None


def _received(records: Sequence[RtpRecord], ssrc: int | None,
              before: float | None = None, after: float | None = None) -> list[RtpRecord]:
    return [
        r for r in records
        if r.direction == "received" and r.packet is not None and r.packet.ssrc == ssrc
        and (before is None or r.time < before) and (after is None or r.time >= after)
    ]


@check
def early_dialogs_distinct(out: ForkOutcome) -> Finding:
    """SIP-FORK-1: every forked branch reaches the caller as its own early dialog with SDP."""
    evidence = [
        f"early dialog {i + 1}: {d.status} To-tag {d.to_tag} from {d.source[0]}:{d.source[1]}, "
        + ("SDP {}:{}".format(*media_address(d.sdp)) if d.sdp and d.sdp.media else "no SDP")
        for i, d in enumerate(out.early_dialogs)
    ]
    problems = []
    for branch in out.branches:
        dialog = out.dialog_of(branch)
        if not branch.reached:
            problems.append(f"{branch.host} never got the INVITE")
        elif dialog is None:
            problems.append(f"{branch.host}'s 183 (To-tag {branch.to_tag}) never reached the "
                            "caller as an early dialog")
        elif dialog.sdp is None:
            problems.append(f"{branch.host}'s early dialog reached the caller without SDP")
    if out.srtp:
        keys = Counter(_key_of(d.sdp) for d in out.early_dialogs if d.sdp is not None)
        evidence += [f"early dialog {i + 1}: SRTP key {(_key_of(d.sdp) or 'none')[:8]}..."
                     for i, d in enumerate(out.early_dialogs)]
        shared = [k for k, n in keys.items() if k is not None and n > 1]
        if shared:
            problems.append(f"{len(shared)} SRTP key(s) shared by several early dialogs")
        if None in keys:
            problems.append(f"{keys[None]} early dialog(s) without an SRTP key")
    strays = [d for d in out.early_dialogs
              if all(d.to_tag != b.to_tag for b in out.branches)]
    if strays:
        problems.append(f"{len(strays)} early dialog(s) with To-tags no callee sent: "
                        + ", ".join(d.to_tag for d in strays))
    if problems:
        return failed("; ".join(problems), evidence)
    return ok(f"{len(out.branches)} forks, {len(out.early_dialogs)} distinct "
              "early dialogs, each with its own SDP", evidence)


def _key_of(sd: SessionDescription | None) -> str | None:
    """The first a=crypto key (base64 key||salt) of the first stream, if any."""
    if sd is None or not sd.media:
        return None
    lines = sd.media[0].crypto()
    return lines[0].key_params[0].base64 if lines else None


def _ending(branch: Branch) -> str:
    if branch.answered:
        return "answered"
    if branch.cancelled:
        return "CANCEL received"
    return "BYE received" if branch.got_bye else "not ended"


@check
def others_ended(out: ForkOutcome) -> Finding:
    """SIP-FORK-2: the branches that did not answer get CANCEL (or BYE); the call stays up."""
    answerer = out.branches[out.answerer]
    evidence = [f"{b.host}: {_ending(b)}" for b in out.branches]
    evidence.append(f"final response to the caller: {out.final_status} {out.final_reason} "
                    f"(To-tag {out.final_to_tag}); BYE answered {out.bye_status}")
    problems = []
    for i, branch in enumerate(out.branches):
        if i != out.answerer and not (branch.cancelled or branch.got_bye):
            problems.append(f"{branch.host} did not answer and was never sent CANCEL or BYE")
    if out.final_status != 200 or out.final_to_tag != answerer.to_tag:
        problems.append(f"the caller's call is not {answerer.host}'s: final {out.final_status} "
                        f"with To-tag {out.final_to_tag}")
    elif out.bye_status != 200:
        problems.append(f"the call did not stay up to its BYE (BYE answered {out.bye_status})")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("the other branches were cancelled and the call stayed up", evidence)


def _describe(address: tuple[str, int], out: ForkOutcome) -> str:
    names = [f"dialog {i + 1} ({out.branches[j].host})"
             for i, d in enumerate(out.early_dialogs) if d.sdp and d.sdp.media
             and media_address(d.sdp) == address
             for j, b in enumerate(out.branches) if b.to_tag == d.to_tag]
    return f"{address[0]}:{address[1]}" + (f", the address {' and '.join(names)} named"
                                           if names else "")


@check
def early_media_separated(out: ForkOutcome) -> Finding:
    """SIP-EARLY-1: early media before the 200, kept per early dialog, continuing after it."""
    if out.answered_at is None:
        return failed("the call was never answered", out.notes)
    t = out.answered_at
    evidence: list[str] = []
    problems: list[str] = []
    caller_ssrc = out.caller_ssrc
    chosen = out.branches[out.early_to]
    # The caller's early media must reach only the chosen dialog's callee.
    for branch in out.branches:
        got = _received(branch.rtp, caller_ssrc, before=t)
        sources = Counter(r.peer for r in got)
        evidence.append(f"caller's early media (SSRC {caller_ssrc:#x}) at {branch.host}: "
                        f"{len(got)} packet(s)"
                        + (f" from {', '.join(f'{a[0]}:{a[1]} x{n}' for a, n in sources.items())}"
                           if got else ""))
        if branch is chosen and not got:
            problems.append(f"the caller's early media for {branch.host}'s dialog never "
                            "reached it")
        if branch is not chosen and got:
            first = got[0].packet
            assert first is not None
            problems.append(
                f"CROSSOVER: {len(got)} of the caller's early packets for {chosen.host}'s "
                f"dialog reached {branch.host} (first: seq {first.sequence})"
            )
    # Each callee's early media must reach the caller from the address its dialog named.
    for branch in (b for b in out.branches if b.streams_early and b.reached):
        dialog = out.dialog_of(branch)
        ssrc = _ssrc(branch.rtp)
        got = _received(out.caller_rtp, ssrc, before=t)
        sources = Counter(r.peer for r in got)
        evidence.append(f"{branch.host}'s early media (SSRC {ssrc:#x}) at the caller: "
                        f"{len(got)} packet(s) from "
                        + (", ".join(f"{_describe(a, out)} x{n}" for a, n in sources.items())
                           or "nowhere"))
        if dialog is None or dialog.sdp is None or not dialog.sdp.media:
            continue
        named = media_address(dialog.sdp)
        if not got:
            problems.append(f"{branch.host}'s early media never reached the caller")
        for address, n in sources.items():
            if address != named:
                problems.append(
                    f"CROSSOVER: {n} of {branch.host}'s early packets reached the caller from "
                    f"{_describe(address, out)}, not from {named[0]}:{named[1]} that its "
                    "dialog named"
                )
    # With SRTP each dialog has its own key: a packet from a dialog's address that does not
    # decrypt with that dialog's key came from another dialog (or was damaged).
    undecrypted = Counter(r.peer for r in out.caller_rtp
                          if r.direction == "received" and r.packet is None and r.time < t)
    for address, n in undecrypted.items():
        problems.append(f"CROSSOVER: {n} early packet(s) from {_describe(address, out)} did "
                        "not decrypt with the SRTP key of the dialog that named that address")
    # After the 200, media goes on both ways on the confirmed dialog.
    answerer: Branch = out.branches[out.answerer]
    after_in = _received(out.caller_rtp, _ssrc(answerer.rtp), after=t)
    after_out = _received(answerer.rtp, caller_ssrc, after=t)
    evidence.append(f"after the 200: caller got {len(after_in)} packet(s) from "
                    f"{answerer.host}, {answerer.host} got {len(after_out)} from the caller")
    if not after_in or not after_out:
        problems.append("media did not continue both ways after the 200")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("early media flowed per early dialog, no crossover, and went on "
              "after the 200", evidence)


@check
def declared_early_dialogs(declared: ForkOutcome, beyond: ForkOutcome) -> Finding:
    """SIP-FORK-3: N forks (N declared) all arrive as early dialogs; N+1 is handled cleanly."""
    n = len(declared.branches)
    evidence = [f"{n} forks: {len(declared.early_dialogs)} early dialog(s) reached the caller",
                f"{len(beyond.branches)} forks: {len(beyond.early_dialogs)} early dialog(s), "
                f"final {beyond.final_status} {beyond.final_reason}, BYE answered "
                f"{beyond.bye_status}, target answers OPTIONS afterwards: "
                f"{beyond.target_alive_after}"]
    problems = []
    distinct = early_dialogs_distinct(declared)
    if distinct.verdict.name == "FAILED":
        problems.append(f"with the {n} forks it declares: {distinct.summary}")
    if beyond.final_status is None or beyond.final_status >= 500:
        problems.append(f"with {len(beyond.branches)} forks the call got "
                        f"{beyond.final_status} {beyond.final_reason}")
    elif beyond.final_status == 200 and beyond.bye_status != 200:
        problems.append(f"with {len(beyond.branches)} forks the call was lost before its BYE")
    if beyond.target_alive_after is False:
        problems.append(f"after {len(beyond.branches)} forks the target no longer answers "
                        "OPTIONS")
    if problems:
        return failed("; ".join(problems), evidence + list(distinct.evidence))
    return ok(f"all {n} declared early dialogs arrived; {n + 1} were handled "
              "cleanly", evidence)


@check
def early_dtmf_delivered(out: ForkOutcome) -> Finding:
    """MM-ANCHOR-4 in the early dialog: the caller's RFC 4733 events, sent before the 200,
    reach the callee of that early dialog before the answer, with digits and durations."""
    branch = out.branches[out.early_to]
    answered = out.answered_at if out.answered_at is not None else float("inf")
    received = [r for r in branch.rtp if r.direction == "received"]
    early = [r for r in received if r.time < answered]
    found = judge_dtmf(out.dtmf_sent, branch.offer_received, early, out.notes)
    evidence = [*found.evidence, f"{branch.host} received {len(early)} packet(s) before the "
                f"caller got the 200, {len(received) - len(early)} after (events are counted "
                "only before)"]
    return dataclasses.replace(found, evidence=tuple(evidence))


@check
def fork_crypto_unchanged(out: ForkOutcome) -> Finding:
    """MM-PROXY-4 with forking: each callee's a=crypto reaches the caller unchanged in that
    callee's own early dialog (and the caller's a=crypto reaches every callee unchanged)."""
    problems, evidence = [], []
    offered = _crypto_lines(out.offer_sent)
    for branch in out.branches:
        if not branch.reached:
            problems.append(f"{branch.host} never got the INVITE")
            continue
        got_offer = _crypto_lines(branch.offer_received)
        evidence.append(f"offer to {branch.host}: a=crypto {_short(got_offer)} "
                        f"(sent {_short(offered)})")
        if got_offer != offered:
            problems.append(f"the caller's a=crypto reached {branch.host} changed")
        dialog = out.dialog_of(branch)
        sent = _crypto_lines(branch.sdp_sent)
        arrived = _crypto_lines(dialog.sdp if dialog is not None else None)
        evidence.append(f"{branch.host}'s 183: sent a=crypto {_short(sent)}, the caller got "
                        f"{_short(arrived)} in that early dialog")
        if dialog is None:
            problems.append(f"{branch.host}'s early dialog never reached the caller")
        elif arrived != sent:
            owner = next((b.host for b in out.branches
                          if b is not branch and _crypto_lines(b.sdp_sent) == arrived), None)
            problems.append(f"{branch.host}'s a=crypto arrived changed"
                            + (f": the caller got {owner}'s key instead" if owner else ""))
    if not offered:
        problems.append("the caller offered no a=crypto (the call was not SRTP)")
    if problems:
        return failed("; ".join(problems), evidence)
    return ok("every branch's a=crypto reached the caller unchanged in its own "
              "early dialog, and the caller's reached every branch", evidence)


def _crypto_lines(sd: SessionDescription | None) -> list[str]:
    if sd is None or not sd.media:
        return []
    return [str(c) for c in sd.media[0].crypto()]


def _short(lines: Sequence[str]) -> str:
    """Crypto lines with the key cut to 8 characters (enough to tell keys apart)."""
    return ", ".join(line[: line.find("inline:") + 15] + "..." if "inline:" in line else line
                     for line in lines) or "none"
