"""The media handling modes a target may claim (seed 001), and the anchored-mode features.

A vocabulary shared by the target file (what a target claims), the cases (what they
judge) and the evidence (what mode a call was placed in).
"""

from __future__ import annotations

import enum

__all__ = ["AnchoredFeature", "MediaMode"]


class MediaMode(enum.Enum):
    """How a target handles media (seed 001): the three modes the harness judges."""

    BYPASS = "bypass"
    PROXY = "proxy"
    ANCHORED = "anchored"


class AnchoredFeature(enum.Enum):
    TRANSCODING = "transcoding"
    SRTP_BRIDGING = "srtp-bridging"

