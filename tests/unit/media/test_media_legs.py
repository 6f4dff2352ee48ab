"""Leg quality from send and arrival times; its plot."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.capture.svg import legs_svg
from harness.media.legs import leg_stats


def test_loss_and_delay_of_a_leg() -> None:
    sent = {n: n * 0.02 for n in range(10)}
    arrived = {n: t + 0.04 for n, t in sent.items() if n not in (3, 7)}
    leg = leg_stats("a -> b", sent, arrived)
    assert (leg.sent, leg.received, leg.loss) == (10, 8, pytest.approx(0.2))
    assert leg.delay_ms_median == pytest.approx(40.0)
    assert leg.jitter_ms == pytest.approx(0.0, abs=1e-9)


def test_jitter_follows_rfc_3550_smoothing() -> None:
    # Transit alternates 40 and 50 ms: |D| is 10 ms each time, J -> 10 ms from below.
    sent = {n: n * 0.02 for n in range(200)}
    arrived = {n: t + (0.04 if n % 2 else 0.05) for n, t in sent.items()}
    leg = leg_stats("a -> b", sent, arrived)
    assert 9.9 < leg.jitter_ms < 10.0
    first = leg_stats("a -> b", {0: 0.0, 1: 0.02}, {0: 0.04, 1: 0.07})
    assert first.jitter_ms == pytest.approx(10 / 16)  # one step of J += (|D| - J) / 16


def test_keys_missing_on_the_sending_side_are_not_counted() -> None:
    leg = leg_stats("a -> b", {1: 0.0}, {1: 0.01, 2: 0.02})
    assert (leg.sent, leg.received) == (1, 1)


def test_plot_names_every_leg_and_is_well_formed() -> None:
    rows = [("bypass", leg_stats("x -> y", {1: 0.0}, {1: 0.001})),
            ("anchored", leg_stats("x -> target", {1: 0.0}, {1: 0.04}))]
    svg = legs_svg(rows, title="legs & <loss>")
    ET.fromstring(svg)
    assert "bypass: x -&gt; y" in svg and "anchored: x -&gt; target" in svg
    assert "40.0 ms" in svg
    assert "no leg was measured" in legs_svg([], title="t")
