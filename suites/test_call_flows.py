"""Call flows: parallel forking with early dialogs and early media (seed 002, design card).

Three callees ring in parallel behind the target; each answers 183 with its
own To-tag, SDP and early media (a tone of its own); the caller streams its
early media toward the first early dialog; after the early-media phase the
first callee answers and the target must cancel the others. Judged from what
every agent sent and received, on one clock, and from the capture.
"""

from __future__ import annotations

import pytest

from harness.conformance import case
from harness.conformance import fork_checks as fc
from harness.evidence.preconditions import ANSWERED, EARLY_DIALOG
from harness.media.modes import MediaMode
from harness.pytest_plugin.calls import ForkCall
from harness.pytest_plugin.verdicts import Judge
from harness.targets.base import Target

REF = ("seed 002 (gateways must handle many early dialogs from forking); seed 003 "
       "(forked 183s); RFC 3261 §12.1, §16.7; RFC 3960 (early media)")
FORK_EXPECTATION = ("Three callees forked in parallel each answer 183 with their own To-tag "
                    "and SDP: the caller sees three early dialogs, each with its SDP; when the "
                    "first answers 200, the other two get CANCEL and the call stays up to its "
                    "BYE.")
EARLY_EXPECTATION = ("Each callee streams early media: it reaches the caller from the address "
                     "its own early dialog's SDP named; the caller's early media for the first "
                     "dialog reaches only the first callee; media goes on both ways after the "
                     "200. A packet that crosses over is reported with where it went.")


@case("SIP-FORK-1", "SIP-FORK-2", title="Bypass: forking gives separate early dialogs",
      reference=REF, expectation=FORK_EXPECTATION, mode=MediaMode.BYPASS, forking=True,
      needs=(ANSWERED, EARLY_DIALOG))
async def test_fork_dialogs_bypass(fork_call: ForkCall, judge: Judge) -> None:
    out = await fork_call(MediaMode.BYPASS, early_media_s=0.3)
    judge(fc.early_dialogs_distinct(out), fc.others_ended(out))


@case("SIP-FORK-1", "SIP-FORK-2", title="Proxy: forking gives separate early dialogs",
      reference=REF, expectation=FORK_EXPECTATION, mode=MediaMode.PROXY, forking=True,
      needs=(ANSWERED, EARLY_DIALOG))
async def test_fork_dialogs_proxy(fork_call: ForkCall, judge: Judge) -> None:
    out = await fork_call(MediaMode.PROXY, early_media_s=0.3)
    judge(fc.early_dialogs_distinct(out), fc.others_ended(out))


@case("SIP-FORK-1", "SIP-FORK-2", title="Anchored: forking gives separate early dialogs",
      reference=REF, expectation=FORK_EXPECTATION, mode=MediaMode.ANCHORED, forking=True,
      needs=(ANSWERED, EARLY_DIALOG))
async def test_fork_dialogs_anchored(fork_call: ForkCall, judge: Judge) -> None:
    out = await fork_call(MediaMode.ANCHORED, early_media_s=0.3)
    judge(fc.early_dialogs_distinct(out), fc.others_ended(out))


@case("SIP-EARLY-1", title="Bypass: early media of forked dialogs stays separate",
      reference=REF, expectation=EARLY_EXPECTATION, mode=MediaMode.BYPASS, forking=True,
      needs=(ANSWERED,))
async def test_fork_early_media_bypass(fork_call: ForkCall, judge: Judge) -> None:
    judge(fc.early_media_separated(await fork_call(MediaMode.BYPASS)))


@case("SIP-EARLY-1", title="Proxy: early media of forked dialogs stays separate",
      reference=REF, expectation=EARLY_EXPECTATION, mode=MediaMode.PROXY, forking=True,
      needs=(ANSWERED,))
async def test_fork_early_media_proxy(fork_call: ForkCall, judge: Judge) -> None:
    judge(fc.early_media_separated(await fork_call(MediaMode.PROXY)))


@case("SIP-EARLY-1", title="Anchored: early media of forked dialogs stays separate",
      reference=REF, expectation=EARLY_EXPECTATION, mode=MediaMode.ANCHORED, forking=True,
      needs=(ANSWERED,))
async def test_fork_early_media_anchored(fork_call: ForkCall, judge: Judge) -> None:
    judge(fc.early_media_separated(await fork_call(MediaMode.ANCHORED)))


@case("SIP-FORK-1", "SIP-EARLY-1",
      title="Bypass: forked SDES-SRTP early dialogs, each with its own key", reference=REF
      + "; RFC 4568 (SDES)", expectation="The caller offers RTP/SAVP with its key; each of the "
      "three callees answers 183 with a key of its own. The caller sees three early dialogs "
      "with three different keys, and decrypts each callee's early media with the key of the "
      "dialog whose address it comes from; nothing crosses over.",
      mode=MediaMode.BYPASS, forking=True, needs=(ANSWERED,))
async def test_fork_srtp_bypass(fork_call: ForkCall, judge: Judge) -> None:
    out = await fork_call(MediaMode.BYPASS, srtp=True, early_media_s=0.5, label="SRTP fork")
    judge(fc.early_dialogs_distinct(out), fc.early_media_separated(out))


@case("MM-PROXY-4", title="Proxy: each forked branch's a=crypto reaches the caller unchanged",
      reference=REF + "; RFC 4568 (SDES); seed 001 (proxy media: SDP untouched)",
      expectation="The caller offers RTP/SAVP; three callees answer 183, each with a key of "
      "its own. In proxy mode the target passes SRTP through, so each early dialog must reach "
      "the caller with that callee's a=crypto unchanged, and every callee must get the "
      "caller's a=crypto unchanged.", mode=MediaMode.PROXY, forking=True,
      needs=(ANSWERED, EARLY_DIALOG))
async def test_fork_srtp_keys_proxy(fork_call: ForkCall, judge: Judge) -> None:
    out = await fork_call(MediaMode.PROXY, srtp=True, early_media_s=0.3, streaming=(),
                          label="SRTP fork")
    judge(fc.fork_crypto_unchanged(out))


@case("SIP-FORK-3", "SFB-5", title="Proxy: as many early dialogs as the target declares, and "
      "one more", reference=REF + "; seed 002 (a Mediation Server peer must handle forked "
      "responses: gateways declare how many early dialogs they support)",
      expectation="With as many parallel forks as the target declares (max_early_dialogs), "
      "every 183 reaches the caller as its own early dialog; with one fork more, the call "
      "still ends properly (no 5xx, no lost call) and the target still answers OPTIONS.",
      mode=MediaMode.PROXY, forking=True, needs=(ANSWERED, EARLY_DIALOG))
async def test_fork_declared_early_dialogs(fork_call: ForkCall, target: Target,
                                           judge: Judge) -> None:
    n = target.loaded.spec.capabilities.max_early_dialogs
    if n < 1:
        pytest.skip(f"UNSUPPORTED: {target.loaded.spec.target.name} declares no "
                    "capabilities.max_early_dialogs")
    declared = await fork_call(MediaMode.PROXY, callees=n, early_media_s=0.3, streaming=(),
                               label=f"{n} forks")
    beyond = await fork_call(MediaMode.PROXY, callees=n + 1, early_media_s=0.3, streaming=(),
                             label=f"{n + 1} forks")
    judge(fc.declared_early_dialogs(declared, beyond))


@case("MM-ANCHOR-4", title="Anchored: RFC 4733 DTMF in the early dialog",
      reference="RFC 4733; RFC 3960 (early media); seed 001 (default mode: DTMF interception)",
      expectation="The callee answers 183 with SDP and streams early media; before the 200 the "
      "caller sends 1, 5, 9, # as RFC 4733 events of 100 ms toward the early dialog: the "
      "callee receives the same digits, each with an end packet and a duration within 20 ms, "
      "before the call is answered.", mode=MediaMode.ANCHORED, needs=(ANSWERED, EARLY_DIALOG))
async def test_anchored_dtmf_in_early_dialog(fork_call: ForkCall, judge: Judge) -> None:
    out = await fork_call(MediaMode.ANCHORED, callees=1, early_media_s=0.3, dtmf="159#",
                          label="early DTMF")
    judge(fc.early_dtmf_delivered(out))
