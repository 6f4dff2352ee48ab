"""tcpdump runner, for real on the loopback interface."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path

import pytest

from harness.capture.pcap import load_capture
from harness.capture.tcpdump import Capture, CaptureStats, parse_tcpdump_stats
from harness.errors import CaptureError, MissingToolError

needs_tcpdump = pytest.mark.skipif(
    shutil.which("tcpdump") is None or os.geteuid() != 0, reason="needs tcpdump and root"
)
PORT = 45678


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@needs_tcpdump
async def test_capture_on_loopback(tmp_path: Path) -> None:
    path = tmp_path / "lo.pcap"
    cap = Capture("lo", path, bpf_filter=f"udp port {PORT}")
    assert cap.command()[-1] == f"udp port {PORT}"
    async with cap:
        assert cap.pid is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(20):
                sock.sendto(f"datagram {i:02d}".encode(), ("127.0.0.1", PORT))
        await asyncio.sleep(0.2)
    assert cap.result is not None
    out_path, stats = cap.result
    assert out_path == path
    assert stats.captured == 20 and stats.dropped_by_kernel == 0
    capture = load_capture(path)
    assert [p.payload for p in capture.packets] == [f"datagram {i:02d}".encode()
                                                    for i in range(20)]
    assert all(p.dst == ("127.0.0.1", PORT) for p in capture.packets)
    assert cap.pid is not None and not _alive(cap.pid)
    assert await cap.stop() == cap.result  # idempotent


@needs_tcpdump
async def test_bad_interface_raises_with_stderr(tmp_path: Path) -> None:
    cap = Capture("nosuchif0", tmp_path / "x.pcap")
    with pytest.raises(CaptureError, match="nosuchif0"):
        await cap.start()
    assert cap.pid is not None and not _alive(cap.pid)


@needs_tcpdump
async def test_cancellation_stops_process(tmp_path: Path) -> None:
    cap = Capture("lo", tmp_path / "c.pcap", bpf_filter=f"udp port {PORT + 1}")

    async def run() -> None:
        async with cap:
            await asyncio.sleep(30)

    task = asyncio.create_task(run())
    for _ in range(100):
        await asyncio.sleep(0.05)
        if cap.stderr:
            break
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cap.pid is not None and not _alive(cap.pid)


async def test_missing_tool(tmp_path: Path) -> None:
    with pytest.raises(MissingToolError):
        await Capture("lo", tmp_path / "x.pcap", tcpdump="no-such-tcpdump-binary").start()


async def test_stop_before_start(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="never started"):
        await Capture("lo", tmp_path / "x.pcap").stop()


def test_parse_stats() -> None:
    text = (
        "tcpdump: listening on br0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"
        "1 packet captured\n1234 packets received by filter\n5 packets dropped by kernel\n"
    )
    assert parse_tcpdump_stats(text) == CaptureStats(1, 5, 1234)
    assert parse_tcpdump_stats("") == CaptureStats(None, None, None)


def test_command_in_namespace(tmp_path: Path) -> None:
    cap = Capture("br0", tmp_path / "n.pcap", bpf_filter="udp", netns="lab1-br", buffer_kib=8192)
    assert cap.command() == [
        "ip", "netns", "exec", "lab1-br", "tcpdump", "-i", "br0", "-w", str(tmp_path / "n.pcap"),
        "-U", "-n", "-s", "0", "-B", "8192", "udp",
    ]
    assert cap.pid is None and cap.flush_wait == 1.1
    assert Capture("lo", tmp_path / "i.pcap", immediate=True).command()[-1] == "--immediate-mode"
