"""The media-path classifier on synthetic captures of each pattern."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pylibsrtp
import pytest

from harness.capture.mediapath import DelayStats, MediaPath, MediaPathReport, classify_media_path
from harness.capture.pcap import CapturedPacket, read_pcap, write_pcap
from harness.media.rtp import RtcpPacket, RtpPacket

CALLER = ("198.18.0.10", 40000)
CALLEE = ("198.18.0.21", 50000)
T_CALLER = ("198.18.0.2", 30010)  # target port facing the caller
T_CALLEE = ("198.18.0.2", 30020)  # target port facing the callee
STRANGER = ("198.18.0.99", 7000)
ENDPOINTS = {"caller": CALLER[0], "callee1": CALLEE[0], "callee2": "198.18.0.22"}
T0 = 1_700_000_000.0
N = 10

Addr = tuple[str, int]


def stream(ssrc: int, pt: int = 0, fill: int = 0xFF, n: int = N) -> list[RtpPacket]:
    return [
        RtpPacket(payload_type=pt, sequence=1000 + i, timestamp=160 * i, ssrc=ssrc,
                  payload=bytes([(fill + i) & 0xFF]) * 160)
        for i in range(n)
    ]


def send(rtps: list[RtpPacket], src: Addr, dst: Addr, offset: float = 0.0,
         encode: Callable[[RtpPacket], bytes] = bytes) -> list[CapturedPacket]:
    return [CapturedPacket(0, T0 + offset + 0.02 * i, src, dst, encode(p))
            for i, p in enumerate(rtps)]


def judge(tmp_path: Path, pkts: list[CapturedPacket]) -> MediaPathReport:
    pkts = sorted(pkts, key=lambda p: p.ts)
    path = tmp_path / "call.pcap"
    write_pcap(path, pkts)
    report = classify_media_path(
        read_pcap(path), endpoints=ENDPOINTS, target_addresses={"198.18.0.2"},
        a="caller", b="callee1",
    )
    assert report.summary().startswith("media path caller <-> callee1")
    return report


def relay_pattern(delay: float = 60e-6) -> list[CapturedPacket]:
    up, down = stream(0x1234ABCD), stream(0x0BADF00D, fill=0x10)
    return (
        send(up, CALLER, T_CALLER, 0.001) + send(up, T_CALLEE, CALLEE, 0.001 + delay)
        + send(down, CALLEE, T_CALLEE, 0.005) + send(down, T_CALLER, CALLER, 0.005 + delay)
    )


def test_bypass(tmp_path: Path) -> None:
    r = judge(tmp_path, send(stream(1), CALLER, CALLEE) + send(stream(2), CALLEE, CALLER, 0.003))
    assert r.verdict is MediaPath.BYPASS
    assert len(r.direct_flows) == 2 and not r.stray_flows
    assert r.forwarding_delay == {"caller->callee1": None, "callee1->caller": None}
    assert any("caller 198.18.0.10:40000 -> callee1 198.18.0.21:50000: 10 RTP, PT 0, "
               "SSRC 0x00000001" in e for e in r.evidence)


def test_proxy_with_60us_delay(tmp_path: Path) -> None:
    r = judge(tmp_path, relay_pattern())
    assert r.verdict is MediaPath.PROXY
    for key in (r.ab, r.ba):
        assert r.payload_identical[key] and r.header_identical[key]
        assert r.matched_by[key] == "ssrc_seq"
        assert r.matches[key].by_ssrc_seq == N and r.matches[key].unmatched_inbound == 0
        delay = r.forwarding_delay[key]
        assert delay is not None and delay.count == N
        assert delay.median_s == pytest.approx(60e-6, abs=1e-6)
        assert delay.p99_s == pytest.approx(60e-6, abs=1e-6)
        assert delay.jitter_s == pytest.approx(0.0, abs=1e-6)
    assert len(r.legs[r.ab].inbound) == 1 and r.legs[r.ab].outbound[0].src == T_CALLEE
    assert any("caller 198.18.0.10:40000 -> target 198.18.0.2:30010: 10 RTP, PT 0, "
               "SSRC 0x1234abcd" in e for e in r.evidence)


def test_proxy_tolerates_loss_through_target(tmp_path: Path) -> None:
    pkts = relay_pattern()
    lost = next(p for p in pkts if p.src == T_CALLEE)
    r = judge(tmp_path, [p for p in pkts if p is not lost])
    assert r.verdict is MediaPath.PROXY
    assert r.matches[r.ab].unmatched_inbound == 1 and r.matches[r.ab].matched == N - 1


def test_transcoding_is_anchored_matched_by_order(tmp_path: Path) -> None:
    up, down = stream(0x1111), stream(0x2222)
    up_t, down_t = stream(0x9999, pt=8, fill=0x55), stream(0x8888, pt=8, fill=0x66)
    pkts = (send(up, CALLER, T_CALLER) + send(up_t, T_CALLEE, CALLEE, 150e-6)
            + send(down, CALLEE, T_CALLEE, 0.004) + send(down_t, T_CALLER, CALLER, 0.004 + 2e-4))
    r = judge(tmp_path, pkts)
    assert r.verdict is MediaPath.ANCHORED
    assert r.matched_by == {"caller->callee1": "order", "callee1->caller": "order"}
    assert not r.payload_identical[r.ab] and not r.header_identical[r.ab]
    assert r.matches[r.ab].by_order == N
    ab, ba = r.forwarding_delay[r.ab], r.forwarding_delay[r.ba]
    assert ab is not None and ab.median_s == pytest.approx(150e-6, abs=1e-6)
    assert ba is not None and ba.median_s == pytest.approx(200e-6, abs=1e-6)


def test_srtp_on_one_leg_is_anchored_matched_by_ssrc_seq(tmp_path: Path) -> None:
    key = bytes(range(30))
    tx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    up, down = stream(0xAAAA), stream(0xBBBB)
    pkts = (send(up, CALLER, T_CALLER, encode=lambda p: tx.protect(bytes(p)))
            + send(up, T_CALLEE, CALLEE, 80e-6)
            + send(down, CALLEE, T_CALLEE, 0.002) + send(down, T_CALLER, CALLER, 0.002 + 70e-6))
    r = judge(tmp_path, pkts)
    assert r.verdict is MediaPath.ANCHORED
    assert r.matched_by[r.ab] == "ssrc_seq" and r.matches[r.ab].by_ssrc_seq == N
    assert not r.payload_identical[r.ab] and r.header_identical[r.ab]
    assert r.payload_identical[r.ba] and r.header_identical[r.ba]
    delay = r.forwarding_delay[r.ab]
    assert delay is not None and delay.median_s == pytest.approx(80e-6, abs=1e-6)


def test_one_way(tmp_path: Path) -> None:
    up = stream(5)
    r = judge(tmp_path, send(up, CALLER, T_CALLER) + send(up, T_CALLEE, CALLEE, 1e-4))
    assert r.verdict is MediaPath.ONE_WAY
    r2 = judge(tmp_path, send(stream(6), CALLEE, CALLER))
    assert r2.verdict is MediaPath.ONE_WAY


def test_no_media_and_black_hole(tmp_path: Path) -> None:
    sip = [CapturedPacket(0, T0, CALLER, T_CALLER, b"INVITE sip:b@x SIP/2.0\r\n\r\n")]
    assert judge(tmp_path, sip).verdict is MediaPath.NO_MEDIA
    swallowed = send(stream(7), CALLER, T_CALLER) + send(stream(8), CALLEE, T_CALLEE)
    r = judge(tmp_path, swallowed)
    assert r.verdict is MediaPath.NO_MEDIA
    assert any("received media but sent none" in e for e in r.evidence)


def test_mixed_reports_relay_and_lists_stray(tmp_path: Path) -> None:
    stray = send(stream(0x77, n=3), CALLER, CALLEE, 0.0001)
    r = judge(tmp_path, relay_pattern() + stray)
    assert r.verdict is MediaPath.PROXY
    assert [f.src for f in r.stray_flows] == [CALLER]
    assert any(e.startswith("stray: caller") for e in r.evidence)


def test_mixed_both_ways_prefers_bigger_path(tmp_path: Path) -> None:
    direct = send(stream(1, n=40), CALLER, CALLEE) + send(stream(2, n=40), CALLEE, CALLER)
    r = judge(tmp_path, relay_pattern() + direct)
    assert r.verdict is MediaPath.BYPASS
    assert len(r.stray_flows) == 4
    assert any("judged the direct path" in e for e in r.evidence)


def test_asymmetric(tmp_path: Path) -> None:
    up = stream(3)
    pkts = send(up, CALLER, T_CALLER) + send(up, T_CALLEE, CALLEE, 1e-4)
    pkts += send(stream(4), CALLEE, CALLER, 0.003)
    assert judge(tmp_path, pkts).verdict is MediaPath.ASYMMETRIC


def test_unknown_sources_and_rtcp_do_not_vote(tmp_path: Path) -> None:
    rtcp = bytes(RtcpPacket(packet_type=200, count=0, ssrc=0x1234ABCD, length_words=6))
    extra = send(stream(9), STRANGER, CALLER)
    extra += [CapturedPacket(0, T0 + 0.5, CALLER, ("198.18.0.2", 30011), rtcp)]
    r = judge(tmp_path, relay_pattern() + extra)
    assert r.verdict is MediaPath.PROXY
    assert r.unknown_source_packets == N
    assert len(r.rtcp_flows) == 1 and r.rtcp_flows[0].ssrcs == (0x1234ABCD,)
    assert any(e.startswith("unknown source: unknown 198.18.0.99:7000") for e in r.evidence)


def test_other_endpoint_is_stray(tmp_path: Path) -> None:
    r = judge(tmp_path, relay_pattern() + send(stream(11), T_CALLEE, ("198.18.0.22", 50000)))
    assert r.verdict is MediaPath.PROXY
    assert [f.dst[0] for f in r.stray_flows] == ["198.18.0.22"]


def test_header_rewrite_is_anchored(tmp_path: Path) -> None:
    up, down = stream(0x1), stream(0x2)
    up_new = [RtpPacket(payload_type=p.payload_type, sequence=p.sequence + 7,
                        timestamp=p.timestamp, ssrc=0x5, payload=p.payload) for p in up]
    pkts = (send(up, CALLER, T_CALLER) + send(up_new, T_CALLEE, CALLEE, 5e-5)
            + send(down, CALLEE, T_CALLEE, 0.003) + send(down, T_CALLER, CALLER, 0.003 + 5e-5))
    r = judge(tmp_path, pkts)
    assert r.verdict is MediaPath.ANCHORED
    assert r.matched_by[r.ab] == "payload" and r.payload_identical[r.ab]
    assert not r.header_identical[r.ab]


def test_delay_stats() -> None:
    delays = [i * 1e-5 for i in range(1, 101)]
    s = DelayStats.of(delays)
    assert s is not None
    assert s.count == 100 and s.max_s == pytest.approx(1e-3)
    assert s.median_s == pytest.approx(505e-6) and s.p99_s == pytest.approx(990e-6)
    assert s.jitter_s == pytest.approx(1e-5) and s.min_s == pytest.approx(1e-5)
    assert DelayStats.of([]) is None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        classify_media_path([], endpoints=ENDPOINTS, target_addresses=["198.18.0.2"],
                            a="caller", b="nobody")
    with pytest.raises(ValueError):
        classify_media_path([], endpoints={"x": "1.1.1.1", "y": "1.1.1.1"},
                            target_addresses=[], a="x", b="y")
