"""Bypass policies (seeds 000, 002, 004): the target decides per call whether media
bypasses it, and the wire must follow the decision.

Skype for Business / Cloud Connector: the target is the mediation server. Clients on
the main subnet and in the branch office (a site behind a router) offer the bypass ID of
their site in a=x-bypassid; the gateway's ID is its site's. Bypass when they are equal,
media through the target when not, and never for unsupported or external clients.
Kazoo: the callee's bypass_media flag decides. NAT: a callee behind a NAT router, in
every media mode.
"""

from __future__ import annotations

from harness.conformance import case
from harness.conformance import policy_checks as pc
from harness.conformance.findings import Finding
from harness.conformance.media_checks import audio_both_ways, relayed
from harness.evidence.policy import Impairment
from harness.evidence.preconditions import ANSWERED, EARLY_DIALOG
from harness.media.modes import MediaMode
from harness.pytest_plugin.calls import MediaCall
from harness.pytest_plugin.policies import CacRun, KazooCall, SfbCall, WanRun
from harness.pytest_plugin.verdicts import Judge
from harness.sdp import PCMA, PCMU

SFB_REF = "seed 002 (Plan for media bypass in Skype for Business)"
CCE_REF = "seed 004 (Media bypass in Cloud Connector Edition)"
KZ_REF = "seed 000 (Kazoo bypass media mode)"
KZ_RING_S = 3.0  # how long the caller of KZ-2 waits for its final response


async def _decided(sfb_call: SfbCall, client: str, gateway: str, *,
                   id_of: str | None, bypass: bool, why: str, always: bool = False,
                   inbound: bool = False) -> list[Finding]:
    """One SfB call, judged on its media path (bypass or not, as `why` says) and audio."""
    label = (f"{'always bypass, ' if always else ''}"
             + (f"{gateway} to {client}" if inbound else f"{client} to {gateway}"))
    out = await sfb_call(client, gateway, id_of=id_of, label=label, always=always,
                         inbound=inbound)
    return [pc.media_decision(out, bypass=bypass, why=why), audio_both_ways(out)]


SFB_CALL = ("A client offers the bypass ID of its site in a=x-bypassid and G.711; the "
            "gateway answers 183 with its SDP, then 200; both send a tone. ")


@case("SFB-1", title="SfB: a main-site client and a main-site gateway bypass the mediation "
      "server", reference=SFB_REF + " (bypass IDs)", expectation=SFB_CALL + "Client and "
      "gateway both have the main site's bypass ID: media flows between them directly, none "
      "through the target.", profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_same_site_bypasses(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "caller", "callee1", id_of="main", bypass=True,
                            why="same bypass ID (main site)"))


@case("SFB-1", title="SfB: a branch client and the branch gateway bypass, media stays in the "
      "branch", reference=SFB_REF + " (branch sites, WAN links)", expectation=SFB_CALL +
      "Both are in the branch office behind the WAN link, with the branch's bypass ID: media "
      "flows between them inside the branch (captured on the branch's own segment).",
      profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_branch_local_bypasses(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "branch1", "branch2", id_of="branch", bypass=True,
                            why="same bypass ID (branch site)"))


@case("SFB-1", title="SfB: a branch client calling a main-site gateway goes through the "
      "mediation server", reference=SFB_REF + " (bypass IDs differ)", expectation=SFB_CALL +
      "The client has the branch's bypass ID, the gateway the main site's: media is relayed "
      "through the target both ways, none direct.", profile="skype_for_business",
      needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_other_site_is_anchored(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "branch1", "callee1", id_of="branch", bypass=False,
                            why="bypass IDs differ"))


@case("SFB-1", title="SfB: a main-site client calling the branch gateway goes through the "
      "mediation server", reference=SFB_REF + " (bypass IDs differ)", expectation=SFB_CALL +
      "The client has the main site's bypass ID, the gateway is in the branch: media is "
      "relayed through the target.", profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_main_client_to_branch_gateway_is_anchored(sfb_call: SfbCall,
                                                             judge: Judge) -> None:
    judge(*await _decided(sfb_call, "caller", "branch2", id_of="main", bypass=False,
                            why="bypass IDs differ"))


@case("SFB-3", title="SfB: a bypassed call carries a=x-bypassid in the INVITE, 183 and 200",
      reference=CCE_REF + " (confirm media bypass: tracing logs)", expectation=SFB_CALL +
      "Same site: the gateway's INVITE, and the 183 and 200 the client gets, each carry "
      "a=x-bypassid with the site's ID.", profile="skype_for_business",
      needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_bypass_id_in_three_sdps(sfb_call: SfbCall, judge: Judge) -> None:
    out = await sfb_call("caller", "callee1", id_of="main", label="bypassed")
    judge(pc.bypass_id_carried(out, sfb_call.profile.bypass_ids["main"]))


IN_CALL = ("A gateway calls a client through the mediation server; the client answers "
           "183, then 200, with its own site's a=x-bypassid; G.711 both ways. ")


@case("SFB-1", title="SfB inbound: a branch gateway calling a branch client bypasses",
      reference=SFB_REF + " (when a user receives a call from the PSTN)", expectation=IN_CALL +
      "Gateway and client are both in the branch: media flows between them directly.",
      profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_inbound_same_site_bypasses(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "branch1", "branch2", id_of="branch",
                            bypass=True, why="same site (branch)", inbound=True))


@case("SFB-1", title="SfB inbound: a main-site gateway calling a branch client goes through "
      "the mediation server", reference=SFB_REF + " (when a user receives a call from the "
      "PSTN)", expectation=IN_CALL + "The gateway is on the main site, the client in the "
      "branch: media is relayed through the target.", profile="skype_for_business",
      needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_inbound_other_site_is_anchored(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "branch1", "callee1", id_of="branch",
                            bypass=False, why="sites differ", inbound=True))


@case("SFB-3", title="SfB inbound: the gateway's a=x-bypassid reaches the client, the client's "
      "comes back", reference=CCE_REF + " (confirm media bypass: tracing logs)",
      expectation=IN_CALL + "Same site: the INVITE the client gets carries the gateway's "
      "site's ID; the 183 and 200 the gateway gets carry the client's.",
      profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_inbound_bypass_ids(sfb_call: SfbCall, judge: Judge) -> None:
    out = await sfb_call("branch1", "branch2", id_of="branch", inbound=True,
                         label="inbound, bypassed")
    branch = sfb_call.profile.bypass_ids["branch"]
    judge(pc.bypass_id_carried(out, branch, branch))


@case("SFB-6", title="SfB: G.711 end to end on a bypassed call", reference=CCE_REF +
      " (client to PSTN gateway traffic uses G.711)", expectation=SFB_CALL + "Same site: "
      "every RTP packet arrives with the payload type and bytes it was sent with.",
      profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_g711_untouched(sfb_call: SfbCall, judge: Judge) -> None:
    out = await sfb_call("caller", "callee1", id_of="main", label="bypassed")
    judge(pc.g711_untouched(out))


@case("SFB-8", title="SfB: a client without bypass support goes through the mediation server",
      reference=CCE_REF + " (unsupported clients)", expectation=SFB_CALL + "The client "
      "offers no a=x-bypassid (an unsupported client): media is relayed through the target.",
      profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_unsupported_client_anchored(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "caller", "callee1", id_of=None, bypass=False,
                            why="client without bypass support"))


@case("SFB-8", title="SfB: an external client behind NAT goes through the mediation server",
      reference=CCE_REF + " (external clients never use bypass)", expectation=SFB_CALL +
      "The client sits behind a NAT router and still offers the main site's bypass ID: "
      "media is relayed through the target, and audio flows both ways.",
      profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_external_client_anchored(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "natted", "callee1", id_of="main", bypass=False,
                            why="external client"))


@case("SFB-2", title="SfB Always Bypass: clients of every subnet bypass", reference=SFB_REF +
      " (media bypass modes: Always Bypass)", expectation=SFB_CALL + "Through the mediation "
      "server in Always Bypass, a main-site client and a branch client each call a main-site "
      "gateway: both calls bypass the target, although the branch's ID is not the "
      "gateway's.", profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_always_bypass_every_subnet(sfb_call: SfbCall, judge: Judge) -> None:
    findings = []
    for client, site in (("caller", "main"), ("branch1", "branch")):
        findings += await _decided(sfb_call, client, "callee1", id_of=site,
                                   bypass=True, why=f"Always Bypass, {site} client",
                                   always=True)
    judge(*findings)


@case("SFB-8", title="SfB Always Bypass: an unsupported client still goes through",
      reference=CCE_REF + " (unsupported clients)", expectation=SFB_CALL + "In Always "
      "Bypass, a client that offers no a=x-bypassid: media is relayed through the target.",
      profile="skype_for_business", needs=(ANSWERED, EARLY_DIALOG))
async def test_sfb_always_bypass_unsupported_client(sfb_call: SfbCall, judge: Judge) -> None:
    judge(*await _decided(sfb_call, "caller", "callee1", id_of=None, bypass=False,
                            why="client without bypass support", always=True))


@case("SFB-7", title="SfB: call admission control on the WAN link counts only calls that "
      "do not bypass", reference=SFB_REF + " (media bypass and call admission control)",
      expectation="Branch clients call a main-site gateway (bypass IDs differ: media crosses "
      "the WAN link through the target) until the target file's limit; they stay up. One "
      "more such call must be refused (or rerouted); a branch-local call that bypasses must "
      "still get through. Then, with as many bypassed branch-local calls up as the limit, a "
      "call across the link must get through: bypassed calls are not counted.",
      profile="skype_for_business", needs=(ANSWERED,), judges_routing=True)
async def test_sfb_cac_counts_only_anchored_calls(cac_run: CacRun, judge: Judge) -> None:
    judge(pc.admission_control(await cac_run()))


@case("SFB-4", title="SfB gateway peer: media straight from the client is accepted and "
      "answered", reference=SFB_REF + " (technical requirements: the peer must accept media "
      "traffic directly from Skype for Business endpoints)", expectation="The target is "
      "the PSTN-side peer. A mediation server signals the call (INVITE from its own host) "
      "for a client whose address is in the SDP; the client then sends RTP from its own "
      "address straight to the target, not via the mediation server: the target relays it "
      "to the PSTN side and sends the PSTN side's media back to the client.",
      mode=MediaMode.PROXY, needs=(ANSWERED,))
async def test_sfb_peer_accepts_media_from_the_client(media_call: MediaCall, judge: Judge) -> None:
    out = await media_call(MediaMode.PROXY, caller_host="medsrv", caller_media_host="caller",
                           label="client media, mediation server signalling")
    judge(relayed(out), audio_both_ways(out))


@case("SFB-1", title="Measured: bypass against media through the target over an impaired "
      "WAN link", reference=SFB_REF + " (media bypass improves quality by reducing latency "
      "and packet loss); " + KZ_REF + " (benefits: always important to measure)",
      expectation="The branch's WAN link gets 40 ms one-way delay and 2 % loss per "
      "direction. A branch client calls the branch gateway bypassed, then anchored. Per "
      "media leg, loss, one-way delay and RFC 3550 jitter are reported (table and plot): "
      "bypassed, media stays in the branch; anchored, it crosses the WAN twice.",
      informational=True, mode=MediaMode.ANCHORED, needs=(ANSWERED,))
async def test_measured_bypass_benefit_over_wan(wan_run: WanRun, judge: Judge) -> None:
    impairment = Impairment(delay_ms=40, loss=0.02)
    judge(pc.wan_quality(await wan_run(impairment), str(impairment)))


KZ_CALL = ("The same caller dials two callees the target file lists, one with "
           "bypass_media true and one with false; both answer with G.711 and send a tone. ")


@case("KZ-1", title="Kazoo: the device's bypass_media flag decides the media path",
      reference=KZ_REF + " (bypass for devices)", expectation=KZ_CALL + "To the device with "
      "the flag media flows endpoint to endpoint; to the device without it media is "
      "anchored through the target.", profile="kazoo", needs=(ANSWERED,))
async def test_kazoo_device_flag(kazoo_call: KazooCall, judge: Judge) -> None:
    judge(*await _kazoo_flag(kazoo_call, "device"))


@case("KZ-1", title="Kazoo: the resource's bypass_media flag decides the media path",
      reference=KZ_REF + " (bypass for resources)", expectation=KZ_CALL + "The same for two "
      "resources (carriers).", profile="kazoo", needs=(ANSWERED,))
async def test_kazoo_resource_flag(kazoo_call: KazooCall, judge: Judge) -> None:
    judge(*await _kazoo_flag(kazoo_call, "resource"))


async def _kazoo_flag(kazoo_call: KazooCall, kind: str) -> list[Finding]:
    findings = []
    for flag in (True, False):
        name = next((n for n, c in kazoo_call.profile.callees.items()
                     if c.kind == kind and c.bypass_media is flag), None)
        assert name is not None, f"the target file lists no {kind} with bypass_media {flag}"
        out = await kazoo_call(name, label=f"{name} (bypass_media {str(flag).lower()})")
        findings += [pc.media_decision(out, bypass=flag,
                                       why=f"{kind} {name}: bypass_media {str(flag).lower()}"),
                     audio_both_ways(out)]
    return findings


@case("KZ-2", title="Kazoo: no common codec in bypass fails cleanly", reference=KZ_REF +
      " (drawbacks: interop)", expectation="The caller offers PCMU only to the device with "
      "bypass_media true, which accepts PCMA only: the caller gets a 488 (or another "
      "4xx-6xx) within 3 s, never a 200 and never ringing into silence.", profile="kazoo",
      judges_routing=True)
async def test_kazoo_no_common_codec(kazoo_call: KazooCall, judge: Judge) -> None:
    name = next(n for n, c in kazoo_call.profile.callees.items() if c.bypass_media)
    out = await kazoo_call(name, label="no common codec", caller_codecs=(PCMU,),
                           callee_codecs=(PCMA,), final_timeout=KZ_RING_S)
    judge(pc.clean_failure_without_common_codec(out))


NAT_CALL = ("The callee sits behind a NAT router (masquerade; the router forwards SIP to "
            "it); its SDP names its inside address. Both sides send a tone. ")


@case("MM-NAT-1", title="NAT: anchored media reaches a callee behind NAT both ways",
      reference=KZ_REF + " (drawbacks: NAT); RFC 4961 (symmetric RTP)",
      expectation=NAT_CALL + "Through the target's relay (which latches to where the "
      "callee's media comes from) each side hears the other.", mode=MediaMode.PROXY,
      needs=(ANSWERED,))
async def test_nat_callee_relayed(media_call: MediaCall, judge: Judge) -> None:
    out = await media_call(MediaMode.PROXY, callee_host="natted", label="callee behind NAT")
    judge(pc.nat_audio(out))


@case("MM-NAT-1", title="NAT: a bypassed call to a callee behind NAT", reference=KZ_REF +
      " (drawbacks: NAT can foul this up, leading to dead air)", expectation=NAT_CALL +
      "In bypass the caller sends to the callee's inside address, which it cannot reach: "
      "expected to fail, and named ONE-WAY or DEAD AIR with the packets that went "
      "unanswered.", mode=MediaMode.BYPASS, needs=(ANSWERED,))
async def test_nat_callee_bypassed(media_call: MediaCall, judge: Judge) -> None:
    out = await media_call(MediaMode.BYPASS, callee_host="natted", label="callee behind NAT")
    judge(pc.nat_audio(out))
