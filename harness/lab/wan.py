"""A WAN link in user space: delay, loss and a rate limit between a site and the main
subnet, where the kernel's netem is not available (it is not, on the CI machines:
measured, "Specified qdisc kind is unknown").

The site's router is split in two namespaces joined by this link: the outer one (on the
main bridge) and the inner one (the site's gateway). Each has a TUN device ``wan0``; this
process reads every IP packet from one and writes it to the other after the link's
delay, unless it drops it (loss) — and no faster than the link's rate, queueing behind
earlier packets as a serial line does. It runs as a process of its own (``python -m
harness.lab.wan``) so the harness's event loop and its GIL add no jitter to the link.

Parameters come from a JSON file (``{"delay_ms": 40, "loss": 0.02, "rate_kbit": 512,
"seed": 1, "version": 3}``, all optional) read at start and again on SIGUSR1, so
`Lab.impair` can change them without cutting the link; once they are in force the
process writes their "version" to ``<file>.applied``, which `Lab.impair` waits for.
Loss uses its own seeded random generator: the same seed and the same traffic drop the
same packets. The process ends when the run that started it is gone (its parent changes):
a run SIGKILLed between starting it and recording its PID must not leave it behind,
holding the router's namespaces open where no cleanup looks.

Hand-written because the point is the byte path itself: no library offers a
namespace-aware user-space link emulator.
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.net.netns import netns

__all__ = ["LinkParams", "main", "open_tun"]

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
DEVICE = "wan0"


@dataclass
class LinkParams:
    delay_ms: float = 0.0
    loss: float = 0.0
    rate_kbit: float = 0.0  # 0: no limit
    seed: int = 1

    @classmethod
    def read(cls, path: Path) -> LinkParams:
        data = json.loads(path.read_text()) if path.exists() else {}
        return cls(float(data.get("delay_ms", 0)), float(data.get("loss", 0)),
                   float(data.get("rate_kbit", 0)), int(data.get("seed", 1)))


def open_tun(ns: str, name: str = DEVICE) -> int:
    """Create TUN device `name` in namespace `ns`; the device lives as long as the fd."""
    with netns(ns):
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class _Link:
    """One direction of the link: a queue of packets with their release times."""

    def __init__(self, out_fd: int) -> None:
        self.out_fd = out_fd
        self.free_at = 0.0  # when the line has sent what is queued (rate limit)

    def release_time(self, now: float, size: int, params: LinkParams) -> float:
        start = max(now, self.free_at)
        if params.rate_kbit > 0:
            self.free_at = start + size * 8 / (params.rate_kbit * 1000)
            start = self.free_at
        return start + params.delay_ms / 1000


def _applied(params_path: Path) -> None:
    """Say which parameters are in force: the file's "version", in ``<params>.applied``."""
    data = json.loads(params_path.read_text()) if params_path.exists() else {}
    params_path.with_suffix(".applied").write_text(str(data.get("version", 0)))


def run(outer: int, inner: int, params_path: Path, parent: int | None = None) -> None:
    """Carry packets until SIGTERM/SIGINT, or until `parent` is no longer our parent."""
    params = LinkParams.read(params_path)
    rng = random.Random(params.seed)
    _applied(params_path)
    reload = False

    def on_usr1(signum: int, frame: object) -> None:
        nonlocal reload
        reload = True

    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    wake_r, wake_w = os.pipe()  # a signal wakes the select at once (PEP 475 would retry it)
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    links = {outer: _Link(inner), inner: _Link(outer)}
    queue: list[tuple[float, int, int, bytes]] = []  # (release, order, out fd, packet)
    order = 0
    print("ready", flush=True)
    while not stop:
        if parent is not None and os.getppid() != parent:
            return
        if reload:
            reload = False
            params = LinkParams.read(params_path)
            rng = random.Random(params.seed)
            _applied(params_path)
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, packet = heapq.heappop(queue)
            try:
                os.write(fd, packet)
            except OSError:
                pass  # the far side went away (lab coming down)
        wait = max(0.0, queue[0][0] - now) if queue else 0.5
        ready, _, _ = select.select([*links, wake_r], [], [], wait)
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 64):
                        break
                except BlockingIOError:
                    break
            ready.remove(wake_r)
        now = time.monotonic()
        for fd in ready:
            while True:
                try:
                    packet = os.read(fd, 65535)
                except BlockingIOError:
                    break
                except OSError:
                    return
                if params.loss > 0 and rng.random() < params.loss:
                    continue
                link = links[fd]
                order += 1
                heapq.heappush(queue, (link.release_time(now, len(packet), params), order,
                                       link.out_fd, packet))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outer", required=True, help="namespace of the router's outer half")
    parser.add_argument("--inner", required=True, help="namespace of the router's inner half")
    parser.add_argument("--params", required=True, type=Path, help="JSON link parameters")
    parser.add_argument("--parent", type=int, default=None,
                        help="PID of the process that started the link: exit when it is gone")
    args = parser.parse_args(argv)
    if args.parent is not None and os.getppid() != args.parent:
        return 1  # the run died before we got here
    outer, inner = open_tun(args.outer), open_tun(args.inner)
    try:
        run(outer, inner, args.params, args.parent)
    finally:
        os.close(outer)
        os.close(inner)
    return 0


if __name__ == "__main__":
    sys.exit(main())
