"""One captured call through a target: capture on, call, capture off, analysis.

This is the unit of work of every media-mode case (the pytest fixture
``media_call`` wraps it with Allure evidence) and of the benchmarks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TypeVar

from harness.capture.ladder import sip_ladder
from harness.capture.pcap import load_capture
from harness.capture.tcpdump import Capture
from harness.errors import HarnessError
from harness.evidence.call import (
    CallOutcome,
    CallPlan,
    CaptureRead,
    Reinvite,
    Side,
)
from harness.evidence.fork import BranchPlan, ForkOutcome, ForkPlan
from harness.evidence.preconditions import RoutingMismatch
from harness.evidence.teams import DrPlan
from harness.lab import Lab
from harness.media.modes import MediaMode
from harness.net import Address
from harness.scenarios.call import AfterMedia, CallProgress, basic_call
from harness.scenarios.forking import FORK_TONES, ForkProgress, forked_call
from harness.scenarios.reinvite import run_reinvites
from harness.targets.base import Target
from harness.targets.ready import target_still_answers


def plan_call(
    lab: Lab, target: Target, mode: MediaMode, *, pcap: Path, caller: Side | None = None,
    callee: Side | None = None, label: str | None = None, callee_host: str = "callee1",
    reinvites: tuple[Reinvite, ...] = (), caller_host: str = "caller",
    request_uri: str | None = None, caller_port: int = 5060, callee_port: int = 5060,
    final_timeout: float | None = None, caller_media_host: str | None = None,
    capture_only_hosts: bool = False,
) -> CallPlan:
    """What a call is to be: who calls whom through which mode, and where the pcap goes.
    `request_uri`: what the caller dials instead of the mode's dial plan (a policy
    profile's); several calls at once on one host need their own SIP ports."""
    caller = caller or Side()
    callee = callee or Side()
    hosts = {h: _seen_at(lab, h) for h in (caller_host, callee_host)}
    if caller_media_host is not None:
        hosts[caller_media_host] = _seen_at(lab, caller_media_host)
    return CallPlan(
        mode=mode, label=label or mode.value,
        request_uri=request_uri or target.loaded.spec.request_uri(
            mode, _seen_at(lab, callee_host), callee_port),
        caller=caller_host, callee=callee_host, caller_side=caller, callee_side=callee,
        caller_tone_hz=caller.tone_hz or 700.0, callee_tone_hz=callee.tone_hz or 1300.0,
        reinvites=reinvites, caller_port=caller_port, callee_port=callee_port,
        final_timeout=final_timeout, caller_media_host=caller_media_host, hosts=hosts,
        target_addresses=target.addresses, pcap=pcap, capture_only_hosts=capture_only_hosts,
    )


def _seen_at(lab: Lab, host: str) -> str:
    """The address a host's packets carry on the main bridge: its own, or for a host
    behind NAT its router's (what the target and the capture see)."""
    site = lab.topology.site_of(host)
    return lab.address(site.router.name if site is not None and site.nat else host)


@asynccontextmanager
async def capturing(lab: Lab, pcap: Path, hosts: Iterable[str] = (), *,
                    only_hosts: bool = False, buffer_kib: int = 4096,
                    snaplen: int = 0) -> AsyncIterator[None]:
    """A capture on the lab bridge around the body, confirmed listening before it runs.

    Immediate mode with a 4 MiB kernel buffer: no 1 s libpcap block timeout to
    wait out before stopping, and no drops in a burst. A drop is a HarnessError
    (the evidence would be incomplete, so there is no verdict).

    When one of `hosts` sits in a site behind a router, that site's bridge is
    captured too (into `site_pcap(pcap, site)`), for the traffic that stays inside
    the site: a branch office's client and gateway talking directly never cross the
    main bridge. What leaves the site is seen on the main bridge already, so the
    site's capture keeps only traffic from and to its own subnet. `read_capture`
    merges the files in time order.

    `only_hosts`: keep only traffic from or to `hosts` on the main bridge (a sampled
    call during a load run, beside thousands of packets that are not its own). A load
    run's own capture takes a bigger kernel buffer and a `snaplen` that still holds a
    whole SIP datagram.
    """
    pcap.parent.mkdir(parents=True, exist_ok=True)
    hosts = list(hosts)
    bpf = "udp"
    if only_hosts and hosts:
        bpf += " and (" + " or ".join(f"host {lab.address(h)}" for h in hosts) + ")"
    points: list[tuple[str | None, str, str, Path]] = [
        (lab.bridge_netns, lab.bridge_interface, bpf, pcap)]
    for site in {s.name: s for h in hosts if (s := lab.topology.site_of(h))}.values():
        site_ns, bridge = lab.site_bridge(site.name)
        points.append((site_ns, bridge, f"udp and src net {site.subnet} and dst net "
                       f"{site.subnet}", site_pcap(pcap, site.name)))
    async with AsyncExitStack() as stack:
        for netns, interface, bpf, path in points:
            await stack.enter_async_context(_one_capture(lab, interface, netns, bpf, path,
                                                         buffer_kib, snaplen))
        yield


def site_pcap(pcap: Path, site: str) -> Path:
    """Where `capturing` puts what it saw on a site's bridge, beside the main pcap."""
    return pcap.with_name(f"{pcap.stem}.site-{site}.pcap")


def site_pcaps(pcap: Path) -> list[Path]:
    """The site captures made beside `pcap`."""
    return sorted(pcap.parent.glob(f"{pcap.stem}.site-*.pcap"))


@asynccontextmanager
async def _one_capture(lab: Lab, interface: str, netns: str | None, bpf: str,
                       path: Path, buffer_kib: int, snaplen: int) -> AsyncIterator[None]:
    capture = Capture(interface, path, bpf_filter=bpf, netns=netns, immediate=True,
                      buffer_kib=buffer_kib, snaplen=snaplen)
    await capture.start()
    record = lab.register_process(capture.pid, "tcpdump") if capture.pid else None
    try:
        yield
    finally:
        result = await capture.stop()
        if record is not None:
            lab.forget_process(record)
    if result.stats.dropped_by_kernel:
        raise HarnessError(
            f"the capture on {interface} lost {result.stats.dropped_by_kernel} packet(s) in "
            "the kernel: the evidence is incomplete, no verdict"
        )


def plan_fork(
    lab: Lab, target: Target, mode: MediaMode, *, pcap: Path, callees: int = 3,
    answerer: int = 0, early_to: int = 0, early_media_s: float = 1.0,
    streaming: tuple[int, ...] | None = None, dial: dict[int, str] | None = None,
    dtmf: str = "", srtp: bool = False,
) -> ForkPlan:
    """What a forked call is to be: `callees` branches spread over callee1..3 (several user
    agents per host, each on its own port), all streaming early media unless `streaming`
    names the ones that do; `dial` maps a branch index to the "address:port" the target is
    told to fork to instead (a shim); `dtmf`: digits the caller sends in the early dialog;
    `srtp`: SDES-SRTP, every callee with a key of its own.
    One callee needs no forking: a call with early media."""
    spec = target.loaded.spec
    if spec.forking is None and callees > 1:
        raise HarnessError(f"target {spec.target.name} declares no [forking]")
    spread = [f"callee{i % 3 + 1}" for i in range(callees)]
    return ForkPlan(
        mode=mode, request_uri=spec.request_uri(mode, lab.address(spread[0]), 5060),
        fork_header=spec.forking.header if spec.forking is not None else "",
        branches=tuple(
            BranchPlan(host=host, tone_hz=FORK_TONES[i % len(FORK_TONES)],
                       streams_early=streaming is None or i in streaming,
                       port=5060 + 2 * (i // 3), dial=(dial or {}).get(i))
            for i, host in enumerate(spread)
        ),
        answerer=answerer, early_to=early_to, early_media_s=early_media_s, dtmf=dtmf,
        srtp=srtp,
        hosts={h: lab.address(h) for h in ("caller", *sorted(set(spread)))},
        target_addresses=target.addresses, pcap=pcap,
    )


async def captured_call(
    plan: CallPlan, lab: Lab, target: Target, *, packets: int = 10,
    sip_target: Address | None = None, then: AfterMedia | None = None,
    callee_contact: Address | None = None, more_names: Mapping[str, str] | None = None,
    on_evidence: Callable[[CallOutcome], None] | None = None,
) -> CallOutcome:
    """Place the call `plan` describes with a capture running on the lab bridge; what it
    left behind, with the capture read and the media path classified.

    `sip_target`: where the caller sends its INVITE instead of the target (a shim);
    `then`: a step after the first media phase (by default the plan's re-INVITEs);
    `callee_contact`: the address in the callee's Contact (a relay in front of it);
    `more_names`: name -> address of other lab hosts for the ladder. `on_evidence` gets
    the outcome whatever happens: if the call goes wrong (a violation, a malformed
    message), what it left behind until then, before the error goes on."""
    rec = CallProgress()
    return await observed(
        lab, plan, lambda: basic_call(plan, rec, lab=lab, packets=packets,
                                      sip_target=sip_target or target.sip_address,
                                      then=then or steps_of(plan),
                                      callee_contact=callee_contact),
        lambda capture: rec.observe(plan, capture), on_evidence=on_evidence,
        only_hosts=plan.capture_only_hosts, more_names=more_names)


Observed = TypeVar("Observed")


async def observed(
    lab: Lab, plan: CallPlan | ForkPlan | DrPlan, run: Callable[[], Awaitable[None]],
    observe: Callable[[CaptureRead | None], Observed], *,
    on_evidence: Callable[[Observed], None] | None,
    only_hosts: bool = False, more_names: Mapping[str, str] | None = None,
    after: Callable[[], Awaitable[None]] | None = None,
) -> Observed:
    """`run` a scenario under a capture of the plan's hosts, then `after` it (the capture
    stopped); its observation with what the capture showed. `on_evidence` gets the
    observation whatever happens: when the scenario goes wrong, what it left behind until
    then (without the capture, which may be cut short), before the error goes on."""
    assert plan.pcap is not None
    try:
        async with capturing(lab, plan.pcap, plan.hosts, only_hosts=only_hosts):
            await run()
        if after is not None:
            await after()
    except RoutingMismatch as mismatch:
        read = _readable(plan, more_names)
        if on_evidence is not None:
            on_evidence(observe(read))
        if read is None:
            raise
        raise mismatch.located(invites_sent_on(read, plan), read.ladder) from None
    except BaseException:
        if on_evidence is not None:
            on_evidence(observe(None))
        raise
    outcome = observe(read_capture_files(plan, **(more_names or {})))
    if on_evidence is not None:
        on_evidence(outcome)
    return outcome


def _readable(plan: CallPlan | ForkPlan | DrPlan, more_names: Mapping[str, str] | None
              ) -> CaptureRead | None:
    """The call's capture read, or None when it cannot be (it is evidence, not a must)."""
    try:
        return read_capture_files(plan, **(more_names or {}))
    except (HarnessError, OSError):
        return None


def invites_sent_on(read: CaptureRead, plan: CallPlan | ForkPlan | DrPlan) -> tuple[str, ...]:
    """Where the target sent INVITEs during the call, as the capture shows them: each
    destination once, by lab host name where the plan names it ("callee1 198.18.0.21:5060"),
    in the order sent. The caller's own INVITE to the target is not among them."""
    names = {addr: name for name, addr in plan.hosts.items()}
    targets = set(plan.target_addresses)
    seen: dict[str, None] = {}
    for packet in read.packets:
        if packet.src[0] in targets and packet.payload.startswith(b"INVITE "):
            ip, port = packet.dst
            seen[f"{names[ip] + ' ' if ip in names else ''}{ip}:{port}"] = None
    return tuple(seen)


def steps_of(plan: CallPlan) -> AfterMedia | None:
    """The step runner `basic_call` needs for the plan's re-INVITEs (None: none)."""
    return run_reinvites if plan.reinvites else None


async def captured_fork(
    plan: ForkPlan, lab: Lab, target: Target, *, via: tuple[str, int] | None = None,
    check_alive: bool = False, on_evidence: Callable[[ForkOutcome], None] | None = None,
) -> ForkOutcome:
    """Place the forked call `plan` describes with a capture running; what it left behind,
    with its capture read and its ladder drawn.

    `via`: where the caller sends its INVITE instead of the target (a shim).
    `check_alive`: afterwards, ask the target with OPTIONS whether it still answers.
    `on_evidence` gets the outcome whatever happens (as for `captured_call`)."""
    rec = ForkProgress.of(plan)

    async def ask_alive() -> None:
        rec.target_alive_after = await target_still_answers(
            lab.netns(target.loaded.spec.signalling.host), target.sip_address)

    return await observed(
        lab, plan, lambda: forked_call(plan, rec, lab=lab, sip_target=via or target.sip_address),
        lambda capture: rec.observe(plan, capture), on_evidence=on_evidence,
        after=ask_alive if check_alive else None)


def read_capture_files(call: CallPlan | ForkPlan | DrPlan, **more_names: str) -> CaptureRead:
    """Read a call's pcap (and its sites' captures, merged in time order) and render its
    SIP ladder with the hosts and the target named (`more_names`: name -> address of any
    other lab host, e.g. a shim)."""
    assert call.pcap is not None
    captures = [load_capture(call.pcap), *(load_capture(p) for p in site_pcaps(call.pcap))]
    packets = [p for c in captures for p in c.packets]
    if len(captures) > 1:  # frame numbers are per file; the merged list is in time order
        packets.sort(key=lambda p: p.ts)
    names = {addr: name for name, addr in call.hosts.items()}
    names |= {addr: "target" for addr in call.target_addresses}
    names |= {addr: name for name, addr in more_names.items()}
    return CaptureRead(tuple(packets), tuple(u for c in captures for u in c.unread),
                       sip_ladder(packets, names))

