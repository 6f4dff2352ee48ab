"""An RTP endpoint on a lab host: paced sending and a record of every packet.

Each `RtpEndpoint` owns one UDP socket (an even port) in its host's
namespace. It sends a paced stream (20 ms by default) of payloads given by a
generator, protecting them with SRTP when a key is set, and records every
packet sent and received with the loop's clock, the peer address, the raw
bytes and the decoded RTP packet (after SRTP unprotect, when keyed).

Pacing does not use the event loop's timers, which are late by up to a
millisecond (epoll rounds up; LAB-NOTES: p99 2.7 ms at 20 ms): a pacer thread
wakes the loop at each deadline (`_Pacer`; bench/bench_pacing.py measures it).
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.evidence.records import RtpRecord
from harness.ice.stun import is_stun
from harness.media.dtmf import DtmfEvent, event_of
from harness.media.rtp import RtpPacket, RtpParseError, looks_like_rtcp
from harness.media.srtp import SrtpError, SrtpSession
from harness.net import Address, UdpEndpoint

PayloadSource = Callable[[int], bytes]


@dataclass
class StreamConfig:
    """One outgoing RTP stream; `sequence` and `timestamp` are the *next* packet's, so
    tone and DTMF sent one after the other form one continuous stream."""

    payload_type: int
    clock_rate: int = 8000
    ptime_ms: int = 20
    ssrc: int = field(default_factory=lambda: secrets.randbits(32))
    sequence: int = field(default_factory=lambda: secrets.randbits(15))
    timestamp: int = field(default_factory=lambda: secrets.randbits(31))

    @property
    def samples_per_packet(self) -> int:
        return self.clock_rate * self.ptime_ms // 1000


@dataclass
class _Repeat:
    """A stream's departures for the pacer: `step(n)` at `start + n * interval`."""

    start: float
    interval: float
    count: int
    step: Callable[[int], None]
    done: asyncio.Future[None]
    n: int = 0

    @property
    def next_at(self) -> float:
        return self.start + self.n * self.interval

    def run_one(self) -> bool:
        """Run the next step; True if more are to come."""
        if self.done.done():  # the sender was cancelled
            return False
        try:
            self.step(self.n)
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting sender
            self.done.set_exception(exc)
            return False
        self.n += 1
        if self.n >= self.count:
            self.done.set_result(None)
            return False
        return True


class _Pacer:
    """One clock per event loop for every stream's departures.

    An asyncio timer is late by up to a millisecond: epoll rounds its timeout up to the
    next millisecond (LAB-NOTES: p99 2.7 ms with one stream). So the deadlines are kept
    here and a thread of the pacer's own sleeps until the earliest (a futex wait, with
    tens of microseconds of slack) and then wakes the loop at once through
    `call_soon_threadsafe`, whose self-pipe write ends the loop's epoll wait without any
    rounding. The streams due are then woken in a fixed order (deadline, then the order
    they asked in), so with many streams each keeps its place in the tick and its packets
    leave evenly spaced; a stream's packet is sent from the wake-up itself (`repeat`),
    with no task to schedule in between. The thread ends after a few idle seconds and
    starts again on the next deadline. The garbage collector's automatic passes are
    held off while streams are paced (see `repeat`).
    """

    IDLE_S = 5.0
    BATCH_S = 0.0001  # deadlines this close to the one due leave with it

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # (next deadline, order, stream): loop thread only
        self.queue: list[tuple[float, int, _Repeat]] = []
        self.order = itertools.count()
        self._cond = threading.Condition()
        self._next: float | None = None  # earliest deadline the thread is to wake for
        self._thread: threading.Thread | None = None
        self.active = 0  # paced streams running
        self.gc_paused = False  # we turned the garbage collector off

    def repeat(self, start: float, interval: float, count: int,
               step: Callable[[int], None]) -> asyncio.Future[None]:
        """Run ``step(n)`` at ``start + n * interval`` for n < `count`, from the pacer's own
        wake-up (no task to schedule in between); the future ends with the last step, or
        with the exception a step raised."""
        job = _Repeat(start, interval, count, step, self.loop.create_future())
        if count <= 0:
            job.done.set_result(None)
            return job.done
        # The collector's automatic passes hold the GIL for milliseconds, which is most of
        # what remained of the pacing error (bench_pacing, 50 streams: p99 1.5 ms with it,
        # 0.7 ms without). It is off while at least one stream is paced, and on again
        # (if it was on) when the last one ends, so garbage waits seconds at most.
        if self.active == 0 and gc.isenabled():
            gc.disable()
            self.gc_paused = True
        self.active += 1
        job.done.add_done_callback(self._stream_ended)
        heapq.heappush(self.queue, (start, next(self.order), job))
        self._tell(self.queue[0][0])
        return job.done

    def _stream_ended(self, _: asyncio.Future[None]) -> None:
        self.active -= 1
        if self.active == 0 and self.gc_paused:
            self.gc_paused = False
            gc.enable()

    def _tell(self, when: float | None) -> None:
        with self._cond:
            self._next = when
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="rtp-pacer",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        idle_since = time.monotonic()
        with self._cond:
            while True:
                if self.loop.is_closed():
                    return
                if self._next is None:
                    if time.monotonic() - idle_since > self.IDLE_S:
                        self._thread = None
                        return
                    self._cond.wait(self.IDLE_S)
                    continue
                delay = self._next - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                self._next = None
                idle_since = time.monotonic()
                try:
                    self.loop.call_soon_threadsafe(self._fire)
                except RuntimeError:  # the loop closed under us
                    return

    def _fire(self) -> None:
        now = self.loop.time() + self.BATCH_S
        while self.queue and self.queue[0][0] <= now:
            _, order, job = heapq.heappop(self.queue)
            if job.run_one():
                heapq.heappush(self.queue, (job.next_at, order, job))
        if self.queue:
            self._tell(self.queue[0][0])


_PACERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pacer] = (
    weakref.WeakKeyDictionary())


def _pacer(loop: asyncio.AbstractEventLoop) -> _Pacer:
    pacer = _PACERS.get(loop)
    if pacer is None:
        pacer = _PACERS[loop] = _Pacer(loop)
    return pacer


class RtpEndpoint:
    """One media endpoint (RTP port) of a user agent."""

    def __init__(self, name: str, netns: str | None, address: str) -> None:
        self.name = name
        self.netns = netns
        self.address = address
        self.records: list[RtpRecord] = []
        self.remote: Address | None = None
        self.tx_srtp: SrtpSession | None = None
        self.rx_srtp: SrtpSession | None = None
        # Per-source inbound keys (forked SRTP: each early dialog has its own key, and its
        # media is decrypted with the key of the dialog whose address it comes from).
        self.rx_srtp_from: dict[Address, SrtpSession] = {}
        # STUN on the media port (ICE): handed to this callback instead of being recorded.
        self.stun_handler: Callable[[bytes, Address, float], None] | None = None
        self._udp: UdpEndpoint | None = None

    async def open(self) -> RtpEndpoint:
        self._udp = await UdpEndpoint.open_even(self.netns, self.address, self._received)
        return self

    @property
    def port(self) -> int:
        assert self._udp is not None, "media endpoint is not open"
        return self._udp.local[1]

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    def _received(self, data: bytes, source: Address, now: float) -> None:
        if self.stun_handler is not None and is_stun(data):
            self.stun_handler(data, source, now)
            return
        if looks_like_rtcp(data):
            return  # RTCP is seen in the capture; the endpoint records media only
        packet: RtpPacket | None = None
        error: str | None = None
        try:
            session = self.rx_srtp_from.get(source, self.rx_srtp)
            plain = session.unprotect(data) if session is not None else data
            packet = RtpPacket.parse(plain)
        except (SrtpError, RtpParseError) as exc:
            error = str(exc)
        self.records.append(RtpRecord(now, "received", source, data, packet, error, self.port))

    def send_raw(self, data: bytes, destination: Address) -> None:
        """Send bytes as they are (STUN on the media port, or deliberate garbage)."""
        assert self._udp is not None, "media endpoint is not open"
        self._udp.sendto(data, destination)

    async def send_stream(
        self, config: StreamConfig, payloads: PayloadSource, count: int
    ) -> None:
        """Send `count` packets to `remote`, one every ptime, starting now."""
        assert self._udp is not None, "media endpoint is not open"
        if self.remote is None:
            raise ValueError(f"{self.name}: no remote media address to send to")
        loop = asyncio.get_running_loop()

        def step(n: int) -> None:
            self._send(config, config.payload_type, payloads(n), marker=n == 0)
            config.timestamp = (config.timestamp + config.samples_per_packet) & 0xFFFFFFFF

        # the pacer sends each packet itself when it wakes: no task to schedule between
        # the deadline and the datagram
        await _pacer(loop).repeat(loop.time(), config.ptime_ms / 1000, count, step)

    def _send(self, config: StreamConfig, payload_type: int, payload: bytes,
              *, marker: bool = False) -> RtpPacket:
        assert self._udp is not None and self.remote is not None
        packet = RtpPacket(
            payload_type=payload_type, sequence=config.sequence, timestamp=config.timestamp,
            ssrc=config.ssrc, payload=payload, marker=marker,
        )
        config.sequence = (config.sequence + 1) & 0xFFFF
        plain = bytes(packet)
        wire = self.tx_srtp.protect(plain) if self.tx_srtp is not None else plain
        self._udp.sendto(wire, self.remote)
        self.records.append(RtpRecord(asyncio.get_running_loop().time(), "sent", self.remote,
                                      wire, packet, None, self.port))
        return packet

    async def send_dtmf(
        self, config: StreamConfig, digits: str, event_payload_type: int,
        *, duration_ms: int = 100, gap_ms: int = 60,
    ) -> list[tuple[str, int]]:
        """Send each digit as an RFC 4733 event on the same stream; return (digit, duration).

        Per RFC 4733 §2.5: every packet of an event carries the event's start timestamp
        and the duration so far, the first has the marker bit, the end packet (E bit) is
        sent three times. The stream's timestamp then moves past the event and the gap.
        """
        step = config.samples_per_packet
        total = config.clock_rate * duration_ms // 1000
        sent = []
        for digit in digits:
            code = event_of(digit)
            durations = list(range(step, total + 1, step))
            for n, duration in enumerate(durations):
                final = n == len(durations) - 1
                payload = bytes(DtmfEvent(code, end=final, volume=10, duration=duration))
                for _ in range(3 if final else 1):
                    self._send(config, event_payload_type, payload, marker=n == 0)
                await asyncio.sleep(config.ptime_ms / 1000)
            sent.append((digit, total))
            config.timestamp = (config.timestamp + total) & 0xFFFFFFFF
            await asyncio.sleep(gap_ms / 1000)
            config.timestamp = (config.timestamp + config.clock_rate * gap_ms // 1000) \
                & 0xFFFFFFFF
        return sent

    @property
    def sent(self) -> list[RtpRecord]:
        return [r for r in self.records if r.direction == "sent"]

    @property
    def received(self) -> list[RtpRecord]:
        return [r for r in self.records if r.direction == "received"]
