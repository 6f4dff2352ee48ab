"""The load run's figures from real captures of three SIPp calls through the default
target (proxy and bypass), and the same captures damaged on purpose."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.capture.pcap import CapturedPacket, read_pcap
from harness.load.measure import analyse_load, netns_cpu_seconds
from harness.media.stats import percentile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "load"
CALLER, CALLEE, TARGET = "198.18.0.10", "198.18.0.22", "198.18.0.2"
TARGETS = frozenset({TARGET})


def _packets(name: str) -> list[CapturedPacket]:
    return read_pcap(FIXTURES / f"sipp_3_calls_{name}.pcap")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100 and percentile([], 0.5) is None


def test_proxy_capture_gives_setup_times_and_media_through_the_target() -> None:
    got = analyse_load(_packets("proxy"), caller=CALLER, callee=CALLEE, targets=TARGETS)
    s = got.setup
    assert (s.calls, s.answered, s.unanswered, s.failed) == (3, 3, 0, {})
    assert s.p50_ms is not None and 0 < s.p50_ms <= s.p99_ms <= s.max_ms < 100  # type: ignore[operator]
    assert s.rate is not None and 5 < s.rate < 20  # SIPp was asked for 10 calls/s
    assert 1 <= s.peak_concurrent <= 3
    for d in got.media:
        assert (d.streams, d.direct_calls, d.direct) == (3, 0, 0)
        assert d.sent > 20 and d.delivered == d.sent and d.loss == 0
        assert d.delay_p50_ms is not None and 0 < d.delay_p50_ms < 5
    assert got.malformed == 0


def test_bypass_capture_counts_direct_media_and_nothing_through_the_target() -> None:
    got = analyse_load(_packets("bypass"), caller=CALLER, callee=CALLEE, targets=TARGETS)
    assert got.setup.answered == 3
    for d in got.media:
        assert (d.streams, d.sent, d.direct_calls) == (0, 0, 3) and d.direct > 20


def test_media_the_target_did_not_forward_is_loss() -> None:
    kept = [p for p in _packets("proxy")
            if not (p.src[0] == TARGET and p.dst[0] == CALLEE and p.payload[:1] == b"\x80")]
    got = analyse_load(kept, caller=CALLER, callee=CALLEE, targets=TARGETS)
    to_callee, to_caller = got.media
    assert to_callee.delivered == 0 and to_callee.loss == 1.0
    assert to_caller.loss == 0


def test_a_lost_200_is_an_unanswered_call_and_a_rejection_is_counted() -> None:
    packets = _packets("proxy")
    oks = [i for i, p in enumerate(packets) if p.src[0] == TARGET and p.dst[0] == CALLER
           and p.payload.startswith(b"SIP/2.0 200") and b"INVITE" in p.payload]
    first, second = oks[0], oks[1]
    packets[second] = replace(packets[second], payload=packets[second].payload.replace(
        b"SIP/2.0 200 OK", b"SIP/2.0 503 Service Unavailable", 1))
    del packets[first]
    s = analyse_load(packets, caller=CALLER, callee=CALLEE, targets=TARGETS).setup
    assert (s.answered, s.unanswered, s.failed) == (1, 1, {503: 1})


def test_malformed_sip_from_the_target_is_counted_with_its_bytes() -> None:
    packets = _packets("proxy")
    bad = b"SIP/2.0 2x0 OK\r\nCall-ID: x\r\n\r\n"
    packets.append(replace(packets[-1], src=(TARGET, 5060), dst=(CALLER, 5070), payload=bad))
    got = analyse_load(packets, caller=CALLER, callee=CALLEE, targets=TARGETS)
    assert got.malformed == 1 and got.malformed_examples == [bad]


def test_cpu_of_a_namespace_counts_its_processes() -> None:
    seconds, processes = netns_cpu_seconds("/proc/self/ns/net")
    assert seconds > 0 and processes >= 1
    with pytest.raises(FileNotFoundError):
        netns_cpu_seconds("no-such-namespace-here")
