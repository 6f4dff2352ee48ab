"""Media handling modes: bypass, proxy, anchored (seed 001; also seeds 000, 004).

Each case places real calls through the target with the harness's own user
agents, captures the bridge, and judges the media path and the SDP of both
legs from what was on the wire. The cases only compose the `media_call`
fixture and the checks in `harness.conformance.media_checks`.
"""

from __future__ import annotations

from harness.conformance import case
from harness.conformance import media_checks as mc
from harness.evidence.call import Side
from harness.evidence.preconditions import ANSWERED
from harness.media.modes import AnchoredFeature, MediaMode
from harness.pytest_plugin.calls import MediaCall
from harness.pytest_plugin.verdicts import Judge
from harness.sdp import PCMA, PCMU, TELEPHONE_EVENT, Codec, CryptoAttribute

SEED_001 = "seed 001 (FreeSWITCH media modes: bypass, proxy, default/anchored)"
UNKNOWN_CODEC = Codec(96, "X-HARNESS-OPAQUE", 8000)


@case(
    "MM-BYPASS-1",
    title="Bypass: RTP flows between the endpoints, never through the target",
    reference=f"{SEED_001}; seed 000 (Kazoo bypass_media); seed 004 (CCE media bypass)",
    expectation="No media packet to or from any target address; caller<->callee flows both ways.",
    mode=MediaMode.BYPASS,
)
async def test_bypass_media_path(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(MediaMode.BYPASS)
    judge(mc.call_established(call), mc.bypass_media_path(call))


@case(
    "MM-BYPASS-2",
    title="Bypass: the SDP passes end to end, c= included",
    reference=SEED_001,
    expectation="The callee receives the caller's connection address and port; the caller "
    "receives the callee's.",
    mode=MediaMode.BYPASS,
    needs=(ANSWERED,))
async def test_bypass_sdp_end_to_end(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(MediaMode.BYPASS)
    judge(mc.call_established(call), mc.bypass_sdp(call))


@case(
    "MM-PROXY-1",
    title="Proxy: RTP is relayed through the target's own address",
    reference=SEED_001,
    expectation="caller<->target and target<->callee flows both ways; none endpoint to endpoint.",
    mode=MediaMode.PROXY,
)
async def test_proxy_relays(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(MediaMode.PROXY)
    judge(mc.call_established(call), mc.relayed(call))


@case(
    "MM-PROXY-2",
    title="Proxy: nothing in the SDP changes but connection address, ports and origin",
    reference=SEED_001 + " ('c= modified, that's it')",
    expectation="The SDP diff between the legs, by meaning (attribute order ignored), shows "
    "only o=, c=, the m= port and a=rtcp.",
    mode=MediaMode.PROXY,
    needs=(ANSWERED,))
async def test_proxy_sdp_untouched(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(MediaMode.PROXY)
    judge(mc.call_established(call), mc.proxy_sdp_untouched(call))


@case(
    "MM-PROXY-3",
    title="Proxy: payloads relayed unchanged, even a codec the target does not know",
    reference=SEED_001 + " (proxy: 'static all-purpose codec that cannot be decoded')",
    expectation="Byte-equal payloads leg to leg, in order, both ways; a call with an unknown "
    "payload type (96 X-HARNESS-OPAQUE) carries media both ways unchanged.",
    mode=MediaMode.PROXY,
    needs=(ANSWERED,))
async def test_proxy_payload_unchanged(media_call: MediaCall, judge: Judge) -> None:
    g711 = await media_call(MediaMode.PROXY, label="g711")
    opaque = await media_call(
        MediaMode.PROXY,
        caller=Side(codecs=(UNKNOWN_CODEC,)),
        callee=Side(codecs=(UNKNOWN_CODEC, PCMU, PCMA)),
        label="unknown-codec",
    )
    judge(
        mc.call_established(g711),
        mc.payloads_unchanged(g711),
        mc.call_established(opaque),
        mc.payloads_unchanged(opaque),
    )


ZRTP_CALLER = ("zrtp-hash", "1.10 " + "a1" * 32)
ZRTP_CALLEE = ("zrtp-hash", "1.10 " + "c3" * 32)


@case(
    "MM-PROXY-4",
    title="Proxy: security attributes pass through unchanged",
    reference=SEED_001 + " (proxy keeps the ZRTP handshake); RFC 4568 (SDES), RFC 6189 "
    "(zrtp-hash)",
    expectation="An SRTP call offering a=crypto of two suites (AES_CM_128_HMAC_SHA1_80 and "
    "_32) and a=zrtp-hash, answered with one a=crypto and a=zrtp-hash: all arrive unchanged "
    "at the far end in offer and answer, none added or removed.",
    mode=MediaMode.PROXY,
    needs=(ANSWERED,))
async def test_proxy_security_attributes(media_call: MediaCall, judge: Judge) -> None:
    second = CryptoAttribute.generate(2, "AES_CM_128_HMAC_SHA1_32")
    call = await media_call(
        MediaMode.PROXY,
        caller=Side(srtp=True, attributes=(ZRTP_CALLER, ("crypto", str(second)))),
        callee=Side(srtp=True, attributes=(ZRTP_CALLEE,)),
    )
    judge(mc.call_established(call), mc.security_attributes_unchanged(call))


@case(
    "MM-ANCHOR-1",
    title="Anchored: media is relayed through the target and terminated there",
    reference=SEED_001 + " (default mode: media through the switch, full processing)",
    expectation="Flows via the target both ways, none direct; SSRC, sequence or payload may "
    "differ leg to leg (reported, not required: processing is MM-ANCHOR-2 and -3).",
    mode=MediaMode.ANCHORED,
)
async def test_anchored_terminates_media(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(MediaMode.ANCHORED)
    judge(mc.call_established(call), mc.relayed(call))


@case(
    "MM-ANCHOR-2",
    title="Anchored: endpoints without a common codec talk through transcoding",
    reference=SEED_001 + " (default mode: the switch controls codec negotiation)",
    expectation="Caller offers only PCMU, callee accepts only PCMA: the call is set up and each "
    "side hears the other's tone in its own codec.",
    mode=MediaMode.ANCHORED,
    features=(AnchoredFeature.TRANSCODING,),
    needs=(ANSWERED,))
async def test_anchored_transcodes(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(
        MediaMode.ANCHORED, caller=Side(codecs=(PCMU,)), callee=Side(codecs=(PCMA,))
    )
    judge(mc.call_established(call), mc.audio_both_ways(call))


@case(
    "MM-ANCHOR-3",
    title="Anchored: SRTP on the caller's leg bridged to plain RTP on the callee's",
    reference=SEED_001 + "; RFC 4568 (SDES), RFC 3711 (SRTP)",
    expectation="SRTP (AES_CM_128_HMAC_SHA1_80) between caller and target, plain RTP between "
    "target and callee, audio both ways; the caller leg's payload does not decode as audio "
    "without the key.",
    mode=MediaMode.ANCHORED,
    features=(AnchoredFeature.SRTP_BRIDGING,),
    needs=(ANSWERED,))
async def test_anchored_bridges_srtp(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(
        MediaMode.ANCHORED, caller=Side(srtp=True), callee=Side(srtp=False)
    )
    judge(mc.call_established(call), mc.srtp_bridged(call))


@case(
    "MM-LAT-1",
    title="Relay forwarding delay of the target (measurement)",
    reference="design card: relaying adds little delay",
    expectation="Per-packet forwarding delay and jitter, from capture timestamps, reported "
    "for a relayed call (50 packets each way).",
    mode=MediaMode.PROXY,
    informational=True,
    needs=(ANSWERED,))
async def test_forwarding_delay(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(MediaMode.PROXY, packets=50)
    judge(mc.call_established(call), mc.forwarding_delay(call))


@case(
    "MM-ANCHOR-4",
    title="Anchored: RFC 4733 DTMF events reach the far end",
    reference=SEED_001 + " (default mode: DTMF interception); RFC 4733",
    expectation="The caller (PCMU + telephone-event) sends 1, 5, 9, # as RFC 4733 events of "
    "100 ms after its tone; the callee (PCMA + telephone-event, so media is transcoded) "
    "receives the same digits, each with an end packet and a duration within 20 ms.",
    mode=MediaMode.ANCHORED,
    needs=(ANSWERED,))
async def test_anchored_carries_dtmf(media_call: MediaCall, judge: Judge) -> None:
    call = await media_call(
        MediaMode.ANCHORED,
        caller=Side(codecs=(PCMU, TELEPHONE_EVENT), dtmf="159#"),
        callee=Side(codecs=(PCMA, TELEPHONE_EVENT)),
    )
    judge(mc.call_established(call), mc.dtmf_delivered(call))
