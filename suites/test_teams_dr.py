"""Teams Direct Routing with media bypass (seed 003): the target as ICE-Lite toward a
Teams-like endpoint (ICE-full, controlling, SDES-SRTP, rtcp-mux), plain RTP toward the
PSTN side.

Each case places a call from the PSTN side through the target to the Teams side; the
Teams endpoint answers 183, checks the target's candidate and nominates it (regular
nomination), before or after its 200; then media flows both ways. Judged from the
target's SDP as the Teams side got it, every STUN message the Teams endpoint exchanged,
the capture and what each side received.
"""

from __future__ import annotations

from harness.conformance import case
from harness.conformance import dr_checks as dc
from harness.evidence.preconditions import ANSWERED, EARLY_DIALOG, TEAMS_SDES
from harness.pytest_plugin.calls import DrCall
from harness.pytest_plugin.verdicts import Judge

REF = "seed 003 (Direct Routing media bypass, ICE Lite); RFC 8445; RFC 8489"
SRTP_REF = "seed 003 (SRTP support requirements); RFC 4568 (SDES); RFC 5761 (rtcp-mux)"

# Every case needs the call answered and the 183 (a Teams call always has one), and all but
# DR-SRTP-1 (which judges it) an SDES offer the Teams endpoint can take.
NEEDS = (ANSWERED, EARLY_DIALOG, TEAMS_SDES)


@case("DR-ICE-1", title="To Teams: the target offers one IPv4 candidate and a=ice-lite",
      reference=REF + " §5.1.1", expectation="The target's offer toward the Teams endpoint "
      "has exactly one a=candidate, an IPv4 address, and declares a=ice-lite.", teams_dr=True,
      needs=NEEDS)
async def test_dr_one_candidate_ice_lite(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.candidates_ice_lite(await dr_call()))


@case("DR-ICE-2", title="To Teams: every connectivity check is answered",
      reference=REF + " §7.3", expectation="Each Binding request of the Teams endpoint (a plain "
      "check, then one with USE-CANDIDATE) gets a success response with XOR-MAPPED-ADDRESS "
      "naming the endpoint's address, MESSAGE-INTEGRITY under the target's ice-pwd and a "
      "FINGERPRINT.", teams_dr=True, needs=NEEDS)
async def test_dr_checks_answered(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.checks_answered(await dr_call()))


@case("DR-ICE-3", title="To Teams: the ICE-Lite target sends no checks of its own",
      reference=REF + " §2.5", expectation="Not one Binding request from any target address "
      "in the capture of the whole call.", teams_dr=True,
      needs=NEEDS)
async def test_dr_no_checks_from_target(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.no_checks_from_target(await dr_call()))


@case("DR-ICE-4", "DR-ICE-5", title="To Teams: media on the nominated pair, nominated "
      "before the 200", reference=REF + " §8.1.1", expectation="The Teams endpoint nominates "
      "the target's candidate during the 183, then answers 200: the target's media reaches it "
      "from the nominated candidate, its media through the nominated pair reaches the PSTN "
      "side, and both sides hear each other.", teams_dr=True,
      needs=NEEDS)
async def test_dr_nominated_before_200(dr_call: DrCall, judge: Judge) -> None:
    out = await dr_call("before-200", label="nominated before 200")
    judge(dc.nominated_pair_carries_media(out), dc.audio_both_ways_dr(out))


@case("DR-ICE-5", title="To Teams: media on the nominated pair, nominated after the 200",
      reference=REF + " §8.1.1", expectation="The Teams endpoint answers 200 first and "
      "nominates afterwards: media flows both ways on the nominated pair all the same.",
      teams_dr=True, needs=NEEDS)
async def test_dr_nominated_after_200(dr_call: DrCall, judge: Judge) -> None:
    out = await dr_call("after-200", label="nominated after 200")
    judge(dc.nominated_pair_carries_media(out),
            dc.audio_both_ways_dr(out))


@case("DR-SRTP-1", title="To Teams: SDES offer with AES_CM_128_HMAC_SHA1_80, inline key",
      reference=SRTP_REF, expectation="Every a=crypto of the target's offer is "
      "AES_CM_128_HMAC_SHA1_80 with inline:<40 base64 characters> (optionally |lifetime), "
      "decoding to 30 bytes of key and salt, and no session parameter that turns encryption "
      "or authentication off (UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP); "
      "on the Teams leg the SRTP it keys is encrypted both ways: the bytes on the wire differ "
      "from what the sender sent and decrypt with the negotiated key to exactly that.",
      teams_dr=True, needs=(ANSWERED, EARLY_DIALOG))
async def test_dr_sdes_offer(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.sdes_offer_format(await dr_call()))


@case("DR-SRTP-4", title="To Teams: the bypass offer carries SDES and a=rtcp-mux",
      reference=SRTP_REF, expectation="The offer toward Teams carries a=crypto and "
      "a=rtcp-mux; a DTLS a=fingerprint, if any, comes with a=setup:actpass.", teams_dr=True,
      needs=NEEDS)
async def test_dr_bypass_offer(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.bypass_offer_attributes(await dr_call()))


@case("DR-SRTP-2", title="To Teams: an answer with several crypto lines, MKI included",
      reference=SRTP_REF + " (format for answer containing SDES to SBC); RFC 3711 §3.1 (MKI)",
      expectation="The Teams side answers like the seed's example: two "
      "AES_CM_128_HMAC_SHA1_80 lines, the first under the offered tag with lifetime and MKI "
      "(|2^31|1:1), the second under another tag with another key. It sends SRTP keyed by "
      "the first line, each packet carrying the one-byte MKI 1: the call is set up, the PSTN "
      "side hears the Teams tone, and the target's SRTP decrypts with its offered key.",
      teams_dr=True, needs=NEEDS)
async def test_dr_several_crypto_lines_with_mki(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.several_crypto_lines_accepted(await dr_call(several_crypto=True)))


STUN_REF = "seed 003 (message format); RFC 8489 §14 (comprehension-optional attributes)"


@case("DR-STUN-1", title="To Teams: an unknown optional STUN attribute is ignored",
      reference=STUN_REF, expectation="A check carrying an unregistered "
      "comprehension-optional attribute (0x80AB), covered by MESSAGE-INTEGRITY, gets a "
      "success response like any other.", teams_dr=True, needs=NEEDS)
async def test_dr_unknown_stun_attribute(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.unknown_attribute_ignored(await dr_call(stun_probes=True)))


@case("DR-STUN-2", title="To Teams: malformed STUN is discarded and the call still works",
      reference=STUN_REF + "; RFC 8489 §6.3 (integrity, fingerprint)", expectation="Garbage, "
      "a truncated check, and checks with a wrong MESSAGE-INTEGRITY or FINGERPRINT on the "
      "target's media port get no success response; the checks and media that follow "
      "work as usual.", teams_dr=True, needs=NEEDS)
async def test_dr_malformed_stun(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.malformed_stun_discarded(await dr_call(stun_probes=True)))


OUT_EXPECTATION = ("The Teams side calls out: it offers SDES (AES_CM_128_HMAC_SHA1_80 and "
                   "_32), rtcp-mux, its host candidate and an m=video; the PSTN side "
                   "answers 183, then 200. The Teams side checks and nominates the target's "
                   "candidate during the 183 and sends no check after the 200. ")


@case("DR-ICE-7", title="From Teams: ufrag, password and candidates unchanged from 183 to 200",
      reference=REF + " (outbound call to SBC)", expectation=OUT_EXPECTATION + "The "
      "target's 183 and 200 carry the same ice-ufrag, ice-pwd and candidates.", teams_dr=True,
      needs=NEEDS)
async def test_dr_ice_stable_183_to_200(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.ice_stable_183_to_200(await dr_call(from_teams=True, video=True)))


@case("DR-ICE-8", title="From Teams: no new checks needed after the 200",
      reference=REF + " (outbound call to SBC)", expectation=OUT_EXPECTATION + "Media flows "
      "both ways after the 200 on the pair nominated during the 183.", teams_dr=True,
      needs=NEEDS)
async def test_dr_no_checks_after_200(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.no_checks_needed_after_200(await dr_call(from_teams=True, video=True)))


@case("DR-SRTP-3", title="From Teams: an offer of _80 and _32 gets one supported suite",
      reference=SRTP_REF, expectation=OUT_EXPECTATION + "The target answers with one "
      "a=crypto of an offered suite under its tag; SRTP decrypts both ways.", teams_dr=True,
      needs=NEEDS)
async def test_dr_sdes_answer(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.one_offered_suite_answered(await dr_call(from_teams=True, video=True)))


@case("DR-SDP-1", title="From Teams: m=video is answered with port 0",
      reference="seed 003 (handling m lines); RFC 3264 §6", expectation=OUT_EXPECTATION +
      "The target's answer has one m-line per offered one; m=video has port 0.",
      teams_dr=True, needs=NEEDS)
async def test_dr_video_rejected(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.non_audio_rejected(await dr_call(from_teams=True, video=True)))


@case("DR-REINV-1", title="From Teams: a re-INVITE with a=remote-candidates, no ICE restart",
      reference=REF + " (re-INVITE); RFC 8839 §5.2 (remote-candidates)",
      expectation=OUT_EXPECTATION + "After media, the Teams side re-offers with the same "
      "credentials and a=remote-candidates naming the nominated pair: the target answers "
      "with the same ice-ufrag and ice-pwd, and media goes on both ways.", teams_dr=True,
      needs=NEEDS)
async def test_dr_reinvite_remote_candidates(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.reinvite_without_restart(await dr_call(from_teams=True, reinvite=True)))


@case("DR-EM-3", title="To Teams: RFC 4733 DTMF during early media",
      reference="seed 003 (early media: DTMF for IVR/voicemail); RFC 4733",
      expectation="After the Teams side's 183 and nomination, the PSTN side sends a little "
      "tone and then 1, 5, 9, # as RFC 4733 events of 100 ms: the Teams side decrypts the "
      "same digits, each with an end packet and a duration within 20 ms, before its 200.",
      teams_dr=True, needs=NEEDS)
async def test_dr_early_dtmf(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.early_dtmf_to_teams(await dr_call(early_dtmf="159#")))


PATHS_EXPECTATION = ("The Teams side calls out offering two host candidates: a default "
                     "one (c=/m=, low priority, as a relay would be) and a preferred one of "
                     "the highest priority. On the target's 183 it checks the default, then "
                     "the preferred candidate, without nominating; the PSTN side streams "
                     "early media; the Teams side nominates the candidate that got less of "
                     "it; the PSTN side streams again. ")


@case("DR-EM-2", title="From Teams: early media before nomination goes to the "
      "highest-priority checked candidate", reference="seed 003 (early media; outbound call "
      "to SBC); RFC 8445 §12.1", expectation=PATHS_EXPECTATION + "Before the nomination "
      "every early-media packet of the target reaches the preferred candidate.",
      teams_dr=True, needs=NEEDS)
async def test_dr_early_media_highest_priority(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.early_media_on_highest_priority(await dr_call(early_paths=True)))


@case("DR-EM-4", title="From Teams: early media moves to the nominated candidate",
      reference="seed 003 (outbound call to SBC: reset to the right context once a "
      "candidate is nominated); RFC 8445 §8.1.1", expectation=PATHS_EXPECTATION + "After the "
      "nomination every early-media packet of the target reaches the nominated candidate.",
      teams_dr=True, needs=NEEDS)
async def test_dr_early_media_follows_nomination(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.early_media_follows_nomination(await dr_call(early_paths=True)))


FORK_EXPECTATION = ("The call toward Teams forks to two Teams devices of one user; each "
                    "answers 183 with its own credentials and key, checks the target's "
                    "candidate and nominates it. ")


@case("DR-ICE-6", title="To Teams, forked: the device that answers gets the media, and only "
      "it (the second device answers)", reference=REF + " (converging for forking)",
      expectation=FORK_EXPECTATION + "Then the second device answers 200: the target has "
      "answered both devices' checks, and after the 200 media flows both ways between the "
      "PSTN side and that device only.", teams_dr=True, forking=True,
      needs=NEEDS)
async def test_dr_forked_second_device_answers(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.forked_devices_converge(await dr_call(devices=2, answering_device=1,
                                                     label="forked, second answers")))


@case("DR-ICE-6", title="To Teams, forked: the device that answers gets the media, and only "
      "it (the first device answers)", reference=REF + " (converging for forking); seed 003 "
      "(first hello)", expectation=FORK_EXPECTATION + "Then the first device answers 200: "
      "after it, not one packet reaches the other device (the first words are not lost).",
      teams_dr=True, forking=True, needs=NEEDS)
async def test_dr_forked_first_device_answers(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.forked_devices_converge(await dr_call(devices=2, answering_device=0,
                                                     label="forked, first answers")))


@case("DR-ICE-3", title="To Teams, forked: the ICE-Lite target sends no checks of its own",
      reference=REF + " §2.5", expectation=FORK_EXPECTATION + "Not one Binding request from "
      "any target address in the capture.", teams_dr=True, forking=True,
      needs=NEEDS)
async def test_dr_forked_no_checks_from_target(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.no_checks_from_target(await dr_call(devices=2, answering_device=1,
                                                   label="forked")))


@case("DR-EM-1", title="To Teams, forked: the target latches to the device that streams "
      "early media first", reference="seed 003 (early media; converging for forking)",
      expectation="The call toward Teams forks to two Teams devices; each answers 183 with "
      "its own credentials and key and checks the target's candidate, and neither "
      "nominates yet. The second device streams early media; 60 ms later the PSTN side "
      "streams toward the target's 183. Meanwhile the target's media reaches the second "
      "device only, and the PSTN side hears the second device. Then both nominate and the "
      "first device answers 200 (the 200 may come from another device than the early "
      "media).", teams_dr=True, forking=True, needs=NEEDS)
async def test_dr_forked_early_media_latching(dr_call: DrCall, judge: Judge) -> None:
    judge(dc.early_media_latches(await dr_call(devices=2, answering_device=0,
                                                 early_media_device=1,
                                                 label="forked, early media")))
