"""RTP sender pacing of the harness's own agents (issue 8): the error of each packet's
departure against the 20 ms its RTP timestamp promises, from capture timestamps taken on
the lab bridge next to the sender, for 1 stream and for 50 concurrent streams (goal:
p99 <= 1 ms). The anchor measured in the same run: the same streams with their pacing
left to a plain loop of `time.sleep`, in a thread of its own (what a naive sender does).

No target involved: caller -> callee1 on the main bridge. Run as root:
.venv/bin/python bench/bench_pacing.py [--packets 250]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from harness.capture.classify import PacketKind, classify
from harness.capture.pcap import read_pcap
from harness.endpoints.rtp import RtpEndpoint, StreamConfig
from harness.lab import Lab, default_topology
from harness.media import g711
from harness.media.rtp import RtpPacket
from harness.media.stats import stats_by_ssrc
from harness.net import udp_socket
from harness.scenarios.captured import capturing


def _pacing(pcap: Path) -> tuple[float, float, int]:
    """(p50, p99 in ms, streams) over every stream in the capture: the worst stream's."""
    packets = [(p.ts, RtpPacket.parse(p.payload)) for p in read_pcap(pcap)
               if classify(p.payload) is PacketKind.RTP]
    stats = stats_by_ssrc(packets).values()
    return (max(s.departure_error_p50_s for s in stats) * 1000,
            max(s.departure_error_p99_s for s in stats) * 1000, len(stats))


async def _agents(lab: Lab, streams: int, packets: int, pcap: Path) -> tuple[float, float, int]:
    senders = [RtpEndpoint("caller", lab.netns("caller"), lab.address("caller"))
               for _ in range(streams)]
    sink = udp_socket(lab.netns("callee1"), lab.address("callee1"), 7100)
    try:
        for s in senders:
            await s.open()
            s.remote = (lab.address("callee1"), 7100)
        silence = g711.encode("PCMU", [0] * 160)
        async with capturing(lab, pcap, buffer_kib=65536, snaplen=2048):
            await asyncio.gather(*(s.send_stream(StreamConfig(0), lambda n: silence, packets)
                                   for s in senders))
    finally:
        for s in senders:
            s.close()
        sink.close()
    await asyncio.sleep(0)
    return _pacing(pcap)


async def _naive(lab: Lab, streams: int, packets: int, pcap: Path) -> tuple[float, float, int]:
    socks = [udp_socket(lab.netns("caller"), lab.address("caller"), 0) for _ in range(streams)]
    sink = udp_socket(lab.netns("callee1"), lab.address("callee1"), 7101)
    dest = (lab.address("callee1"), 7101)

    def run() -> None:
        for n in range(packets):
            for i, sock in enumerate(socks):
                sock.sendto(bytes(RtpPacket(payload_type=0, sequence=n, timestamp=160 * n,
                                            ssrc=1000 + i, payload=bytes(160))), dest)
            time.sleep(0.02)

    try:
        async with capturing(lab, pcap, buffer_kib=65536, snaplen=2048):
            await asyncio.to_thread(run)
    finally:
        for sock in socks:
            sock.close()
        sink.close()
    return _pacing(pcap)


async def main(packets: int) -> None:
    out = Path(tempfile.mkdtemp(prefix="sbc-bench-pacing-"))
    with Lab(default_topology()) as lab:
        for streams in (1, 50):
            p50, p99, n = await _agents(lab, streams, packets, out / f"agents-{streams}.pcap")
            a50, a99, _ = await _naive(lab, streams, packets, out / f"naive-{streams}.pcap")
            print(f"{streams:2} stream(s), {packets} packets each ({n} captured): harness "
                  f"agents departure error p50 {p50:.3f} ms, p99 {p99:.3f} ms (worst "
                  f"stream); sleep(20 ms) loop p50 {a50:.3f} ms, p99 {a99:.3f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=250)
    asyncio.run(main(parser.parse_args().packets))
