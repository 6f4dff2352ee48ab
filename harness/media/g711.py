"""G.711 μ-law and A-law (ITU-T G.711), test tones and a Goertzel tone detector.

Own implementation (the stdlib `audioop` is deprecated and gone in 3.13).
Samples are 16-bit signed linear integers; encoded audio is `bytes`, one
byte per sample. Encoding follows the segment/mantissa construction of
G.711 (μ-law on 14-bit magnitudes with a bias of 33, A-law on 13-bit
magnitudes, even bits inverted); all 65,536 input values are tabulated once
at import, so encoding is a table lookup.

The detector helpers let a check prove that a tone *survived* the target
(for instance a 1 kHz tone sent as PCMU arriving as PCMA after transcoding):
`energy` for "is there sound at all" and `dominant_frequency` (Goertzel over
a grid of candidate frequencies) for "is it the right tone".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = [
    "FRAME_SAMPLES",
    "alaw_decode",
    "alaw_encode",
    "dominant_frequency",
    "energy",
    "goertzel_power",
    "pcma_frame",
    "pcmu_frame",
    "tone",
    "transcode_alaw_to_ulaw",
    "transcode_ulaw_to_alaw",
    "ulaw_decode",
    "ulaw_encode",
]

#: Samples in one 20 ms frame at 8 kHz (and bytes in one G.711 payload).
FRAME_SAMPLES = 160

_ULAW_BIAS = 33  # on the 14-bit magnitude (0x84 >> 2)
_ULAW_CLIP = 8159


def _ulaw_byte(sample: int) -> int:
    mag = sample >> 2  # 16-bit -> 14-bit, arithmetic shift keeps the sign
    mask = 0xFF
    if mag < 0:
        mag = -mag
        mask = 0x7F
    mag = min(mag, _ULAW_CLIP) + _ULAW_BIAS
    seg = max(0, mag.bit_length() - 6)  # segment: 0 for 33..63, 7 for 4096..8191
    if seg >= 8:  # the clipped maximum lands exactly on 8192: top code of segment 7
        return 0x7F ^ mask
    return ((seg << 4) | ((mag >> (seg + 1)) & 0x0F)) ^ mask


def _ulaw_linear(code: int) -> int:
    code = ~code & 0xFF
    mag = (((code & 0x0F) << 3) + (_ULAW_BIAS << 2)) << ((code & 0x70) >> 4)
    mag -= _ULAW_BIAS << 2
    return -mag if code & 0x80 else mag


def _alaw_byte(sample: int) -> int:
    mag = sample >> 3  # 16-bit -> 13-bit
    if mag >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        mag = -mag - 1
    seg = max(0, mag.bit_length() - 5)  # 0 for 0..31, 7 for 2048..4095
    if seg >= 8:
        return 0x7F ^ mask
    shift = 1 if seg < 2 else seg
    return ((seg << 4) | ((mag >> shift) & 0x0F)) ^ mask


def _alaw_linear(code: int) -> int:
    code ^= 0x55
    mag = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        mag += 8
    else:
        mag = (mag + 0x108) << (seg - 1)
    return mag if code & 0x80 else -mag


# Tables indexed by the sample as an unsigned 16-bit value, and by the code byte.
_ULAW_ENC = bytes(_ulaw_byte(s - 65536 if s >= 32768 else s) for s in range(65536))
_ALAW_ENC = bytes(_alaw_byte(s - 65536 if s >= 32768 else s) for s in range(65536))
_ULAW_DEC = tuple(_ulaw_linear(c) for c in range(256))
_ALAW_DEC = tuple(_alaw_linear(c) for c in range(256))
_U2A = bytes(_ALAW_ENC[_ULAW_DEC[c] & 0xFFFF] for c in range(256))
_A2U = bytes(_ULAW_ENC[_ALAW_DEC[c] & 0xFFFF] for c in range(256))


def _clamp(sample: int) -> int:
    return -32768 if sample < -32768 else 32767 if sample > 32767 else sample


def ulaw_encode(samples: Iterable[int]) -> bytes:
    """Encode 16-bit linear samples (clamped to the 16-bit range) as μ-law bytes."""
    return bytes(_ULAW_ENC[_clamp(s) & 0xFFFF] for s in samples)


def ulaw_decode(data: bytes) -> list[int]:
    """Decode μ-law bytes to 16-bit linear samples."""
    return [_ULAW_DEC[b] for b in data]


def alaw_encode(samples: Iterable[int]) -> bytes:
    """Encode 16-bit linear samples (clamped to the 16-bit range) as A-law bytes."""
    return bytes(_ALAW_ENC[_clamp(s) & 0xFFFF] for s in samples)


def alaw_decode(data: bytes) -> list[int]:
    """Decode A-law bytes to 16-bit linear samples."""
    return [_ALAW_DEC[b] for b in data]


def transcode_ulaw_to_alaw(data: bytes) -> bytes:
    """μ-law to A-law, through linear, byte by byte (what a transcoding SBC does)."""
    return data.translate(_U2A)


def transcode_alaw_to_ulaw(data: bytes) -> bytes:
    """A-law to μ-law, through linear."""
    return data.translate(_A2U)


def tone(
    freq_hz: float,
    n_samples: int,
    rate: int = 8000,
    amplitude: int = 8000,
    *,
    start: int = 0,
) -> list[int]:
    """Samples ``start .. start + n_samples - 1`` of a sine tone (phase 0 at sample 0)."""
    w = 2.0 * math.pi * freq_hz / rate
    return [round(amplitude * math.sin(w * n)) for n in range(start, start + n_samples)]


def pcmu_frame(freq_hz: float = 1000.0, index: int = 0, amplitude: int = 8000) -> bytes:
    """The `index`-th 20 ms PCMU payload (160 bytes) of a continuous tone; 0 Hz is silence."""
    return ulaw_encode(tone(freq_hz, FRAME_SAMPLES, 8000, amplitude, start=index * FRAME_SAMPLES))


def pcma_frame(freq_hz: float = 1000.0, index: int = 0, amplitude: int = 8000) -> bytes:
    """The `index`-th 20 ms PCMA payload (160 bytes) of a continuous tone; 0 Hz is silence."""
    return alaw_encode(tone(freq_hz, FRAME_SAMPLES, 8000, amplitude, start=index * FRAME_SAMPLES))


def energy(samples: Sequence[int]) -> float:
    """Mean square of the samples (0.0 for none); a full-scale sine gives ~5.4e8."""
    if not samples:
        return 0.0
    return sum(s * s for s in samples) / len(samples)


def goertzel_power(samples: Sequence[int], freq_hz: float, rate: int = 8000) -> float:
    """Power of `samples` at `freq_hz` (Goertzel algorithm), normalised by the length squared."""
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * freq_hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)


def dominant_frequency(
    samples: Sequence[int],
    rate: int = 8000,
    candidates: Iterable[float] | None = None,
) -> float:
    """The candidate frequency with the most Goertzel power (default grid: 50 Hz steps to 3950).

    Returns 0.0 for silence or no samples.
    """
    grid = list(candidates) if candidates is not None else [50.0 * k for k in range(1, 80)]
    if not samples or not grid or energy(samples) == 0.0:
        return 0.0
    return max(grid, key=lambda f: goertzel_power(samples, f, rate))


def tone_purity(samples: Sequence[int], freq_hz: float, rate: int = 8000) -> float:
    """Share of the signal's power at `freq_hz`: ~1.0 for a pure tone there, ~2/len for noise.

    A far better test of "this is the tone" than `dominant_frequency`, which
    always names *some* frequency, even for random bytes.
    """
    power = energy(samples)
    if power == 0.0:
        return 0.0
    return min(1.0, 2.0 * goertzel_power(samples, freq_hz, rate) / power)


_CODECS = {"PCMU": (ulaw_encode, ulaw_decode), "PCMA": (alaw_encode, alaw_decode)}


def encode(encoding: str, samples: Iterable[int]) -> bytes:
    """Encode linear samples with the G.711 law an SDP encoding name ("PCMU"/"PCMA") names."""
    return _CODECS[encoding.upper()][0](samples)


def decode(encoding: str, data: bytes) -> list[int]:
    """Decode G.711 bytes by encoding name; an encoding that is not G.711 gives no samples."""
    pair = _CODECS.get(encoding.upper())
    return pair[1](data) if pair is not None else []
