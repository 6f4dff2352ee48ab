"""Receive statistics."""

from __future__ import annotations

import pytest

from harness.media.rtp import RtpPacket
from harness.media.stats import stats_by_ssrc, stream_stats


def _pkt(seq: int, ssrc: int = 1) -> RtpPacket:
    return RtpPacket(sequence=seq & 0xFFFF, timestamp=(160 * seq) & 0xFFFFFFFF, ssrc=ssrc)


def test_perfect_stream() -> None:
    s = stream_stats([(0.02 * i, _pkt(i)) for i in range(50)])
    assert (s.count, s.expected, s.lost, s.duplicates, s.reordered) == (50, 50, 0, 0, 0)
    assert s.jitter == pytest.approx(0.0, abs=1e-6) and s.departure_error_max_s < 1e-9


def test_rfc3550_jitter_on_known_sequence() -> None:
    # Transit alternates 0 / 10 timestamp units: |D| = 10 on every arrival after the first,
    # so J_n = 10 * (1 - (15/16)^n) for n = 1..N-1.
    n = 40
    arrivals = [(0.02 * i + (10 / 8000 if i % 2 else 0.0), _pkt(i)) for i in range(n)]
    s = stream_stats(arrivals)
    expected = 10 * (1 - (15 / 16) ** (n - 1))
    assert s.jitter == pytest.approx(expected, rel=1e-6)
    assert s.jitter_s == pytest.approx(expected / 8000, rel=1e-6)
    assert s.departure_error_max_s == pytest.approx(10 / 8000, rel=1e-6)
    assert s.departure_error_p50_s == pytest.approx(10 / 8000, rel=1e-6)


def test_loss_duplicates_reordering_and_wrap() -> None:
    seqs = [65533, 65534, 65535, 65537, 65536, 65538, 65538, 65541]  # wraps to 0 after 65535
    # 0 (65536) arrives late, 2 is duplicated, 3 and 4 are lost.
    s = stream_stats([(0.02 * (q - 65533), _pkt(q)) for q in seqs])
    assert s.expected == 9 and s.lost == 2
    assert s.duplicates == 1 and s.reordered == 1 and s.count == 8
    assert s.loss_fraction == pytest.approx(2 / 9)
    assert s.jitter == pytest.approx(0.0, abs=1e-6)  # sent on time, only reordered


def test_by_ssrc_and_empty() -> None:
    mixed = [(0.0, _pkt(0, 1)), (0.0, _pkt(100, 2)), (0.02, _pkt(1, 1))]
    by = stats_by_ssrc(mixed)
    assert list(by) == [1, 2] and by[1].count == 2 and by[2].count == 1
    empty = stream_stats([])
    assert empty.count == 0 and empty.ssrc is None and empty.loss_fraction == 0.0
    with pytest.raises(ValueError):
        stream_stats([], clock_rate=0)
