"""Group captured packets into unidirectional flows by (source, destination) address pair.

A flow is one direction of one UDP 5-tuple (the transport is always UDP
here) *and* one packet kind, so RTP and RTCP multiplexed on the same ports
(RFC 5761) become two flows with the same addresses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from harness.capture.classify import PacketKind, classify
from harness.capture.pcap import CapturedPacket
from harness.media.rtp import RtcpPacket, RtpPacket, RtpParseError

__all__ = ["Flow", "flows_of"]

Address = tuple[str, int]


@dataclass(eq=False)
class Flow:
    """The packets of one kind sent from `src` to `dst`, in capture order."""

    src: Address
    dst: Address
    kind: PacketKind
    packets: list[CapturedPacket] = field(default_factory=list)

    @property
    def first_ts(self) -> float:
        """Capture time of the first packet (0.0 for an empty flow)."""
        return self.packets[0].ts if self.packets else 0.0

    @property
    def last_ts(self) -> float:
        """Capture time of the last packet (0.0 for an empty flow)."""
        return self.packets[-1].ts if self.packets else 0.0

    @cached_property
    def rtp(self) -> list[tuple[CapturedPacket, RtpPacket]]:
        """The packets that parse as RTP, with their parsed form (cached)."""
        parsed: list[tuple[CapturedPacket, RtpPacket]] = []
        for pkt in self.packets:
            try:
                parsed.append((pkt, RtpPacket.parse(pkt.payload)))
            except RtpParseError:
                continue
        return parsed

    @cached_property
    def ssrcs(self) -> tuple[int, ...]:
        """Distinct SSRCs in order of first appearance (RTP and RTCP flows)."""
        seen: dict[int, None] = {}
        if self.kind is PacketKind.RTCP:
            for pkt in self.packets:
                try:
                    seen.setdefault(RtcpPacket.parse(pkt.payload).ssrc, None)
                except RtpParseError:
                    continue
        else:
            for _, rtp in self.rtp:
                seen.setdefault(rtp.ssrc, None)
        return tuple(seen)

    @cached_property
    def payload_types(self) -> tuple[int, ...]:
        """Distinct RTP payload types in order of first appearance (empty for non-RTP)."""
        if self.kind is not PacketKind.RTP:
            return ()
        seen: dict[int, None] = {}
        for _, rtp in self.rtp:
            seen.setdefault(rtp.payload_type, None)
        return tuple(seen)

    def __len__(self) -> int:
        return len(self.packets)

    def describe(self) -> str:
        """One line: addresses, packet count, kind, payload types and SSRCs."""
        return f"{_addr(self.src)} -> {_addr(self.dst)}: {self.counts()}"

    def counts(self) -> str:
        """``10 RTP, PT 0, SSRC 0x1234abcd`` (payload types only for RTP)."""
        parts = [f"{len(self.packets)} {self.kind.name}"]
        if self.payload_types:
            parts.append("PT " + "/".join(str(pt) for pt in self.payload_types))
        if self.ssrcs:
            parts.append("SSRC " + ", ".join(f"0x{s:08x}" for s in self.ssrcs))
        return ", ".join(parts)


def _addr(addr: Address) -> str:
    return f"{addr[0]}:{addr[1]}"


def flows_of(
    packets: Iterable[CapturedPacket],
    kinds: Collection[PacketKind] = frozenset({PacketKind.RTP}),
) -> list[Flow]:
    """Group `packets` of the given kinds into flows, ordered by their first packet."""
    flows: dict[tuple[Address, Address, PacketKind], Flow] = {}
    for pkt in packets:
        kind = classify(pkt.payload)
        if kind not in kinds:
            continue
        key = (pkt.src, pkt.dst, kind)
        flow = flows.get(key)
        if flow is None:
            flow = flows[key] = Flow(pkt.src, pkt.dst, kind)
        flow.packets.append(pkt)
    return sorted(flows.values(), key=lambda f: (f.first_ts, f.packets[0].index))
