"""G.711 codecs and tone detection."""

from __future__ import annotations

import pytest

from harness.media.g711 import (
    FRAME_SAMPLES,
    alaw_decode,
    alaw_encode,
    dominant_frequency,
    energy,
    pcma_frame,
    pcmu_frame,
    tone,
    transcode_alaw_to_ulaw,
    transcode_ulaw_to_alaw,
    ulaw_decode,
    ulaw_encode,
)


def _max_step(decode_table: list[int], value: int) -> int:
    """Quantisation step around `value`: half the gap to the nearest code levels."""
    levels = sorted(set(decode_table))
    if not levels[0] <= value <= levels[-1]:  # clipped beyond the outermost level
        return 1024
    above = min((x for x in levels if x >= value), default=levels[-1])
    below = max((x for x in levels if x <= value), default=levels[0])
    return max(above - below, 16)


@pytest.mark.parametrize(
    ("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)]
)
def test_round_trip_within_quantisation(encode, decode) -> None:  # type: ignore[no-untyped-def]
    table = decode(bytes(range(256)))
    for s in range(-32768, 32768, 7):
        back = decode(encode([s]))[0]
        assert abs(back - s) <= _max_step(table, s), s


def test_known_codes() -> None:
    # Silence, and the reference points of G.711 (Table 1/2): 0 -> 0xff (μ) / 0xd5 (A).
    assert ulaw_encode([0]) == b"\xff" and alaw_encode([0]) == b"\xd5"
    assert ulaw_decode(b"\xff") == [0] and ulaw_decode(b"\x7f") == [0]
    assert ulaw_encode([32767, -32768]) == b"\x80\x00"
    assert alaw_encode([32767, -32768]) == b"\xaa\x2a"
    assert ulaw_decode(b"\x80") == [32124] and alaw_decode(b"\xaa") == [32256]
    # Code bytes decode and re-encode to themselves (except μ-law's two zeros).
    assert alaw_encode(alaw_decode(bytes(range(256)))) == bytes(range(256))
    codes = bytes(c for c in range(256) if c != 0x7F)
    assert ulaw_encode(ulaw_decode(codes)) == codes


def test_frames_and_transcoding_keep_the_tone() -> None:
    frames = [pcmu_frame(1000.0, i) for i in range(5)]
    assert all(len(f) == FRAME_SAMPLES for f in frames)
    alaw = transcode_ulaw_to_alaw(b"".join(frames))
    samples = alaw_decode(alaw)
    assert dominant_frequency(samples) == 1000.0
    assert energy(samples) == pytest.approx(8000**2 / 2, rel=0.1)  # two quantisations
    back = ulaw_decode(transcode_alaw_to_ulaw(alaw))
    assert dominant_frequency(back) == 1000.0
    assert dominant_frequency(alaw_decode(pcma_frame(440.0)), candidates=[440, 1000]) == 440
    assert energy(ulaw_decode(pcmu_frame(0.0))) == 0.0
    assert dominant_frequency([0] * 160) == 0.0


def test_tone_is_continuous_across_frames() -> None:
    whole = tone(1000, 320)
    assert tone(1000, 160, start=160) == whole[160:]
    assert pcmu_frame(1000, 1) == ulaw_encode(whole[160:])
