"""RFC 4733 telephone-event payloads (DTMF as RTP), parsed and built by hand with `struct`.

Byte-level control is the point: checks read exactly the events the target
relayed or generated, and negative cases can build odd ones. Malformed input
raises `DtmfParseError` (a `ValueError`).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     event     |E|R| volume    |          duration             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["DIGIT_EVENTS", "DtmfEvent", "DtmfParseError", "digit_of", "event_of"]

_PAYLOAD = struct.Struct("!BBH")

#: RFC 4733 §3.2 event codes for the DTMF keys (16 is "flash").
DIGIT_EVENTS: dict[str, int] = {
    **{str(d): d for d in range(10)},
    "*": 10,
    "#": 11,
    "A": 12,
    "B": 13,
    "C": 14,
    "D": 15,
}
_EVENT_DIGITS = {code: digit for digit, code in DIGIT_EVENTS.items()}


class DtmfParseError(ValueError):
    """Bytes that are not a telephone-event payload."""


def event_of(digit: str) -> int:
    """Event code of a DTMF key (``"0"``..``"9"``, ``"*"``, ``"#"``, ``"A"``..``"D"``)."""
    try:
        return DIGIT_EVENTS[digit.upper()]
    except KeyError:
        raise ValueError(f"{digit!r} is not a DTMF key") from None


def digit_of(event: int) -> str | None:
    """The DTMF key of an event code, or None for other events (flash, tones ...)."""
    return _EVENT_DIGITS.get(event)


@dataclass(frozen=True)
class DtmfEvent:
    """One telephone-event payload. `volume` is in -dBm0 (0..63); `duration` in timestamp units.

    `reserved` is the R bit (senders set it to 0, receivers ignore it).
    """

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0
    reserved: bool = False

    @property
    def digit(self) -> str | None:
        """The DTMF key, if the event is one."""
        return digit_of(self.event)

    @classmethod
    def parse(cls, data: bytes) -> DtmfEvent:
        """Parse the first 4 bytes of a telephone-event payload.

        RFC 4733 §2.5.1.5 allows several events in one payload (redundancy);
        use `parse_all` for those.
        """
        if len(data) < _PAYLOAD.size:
            raise DtmfParseError(f"telephone-event payload too short: {len(data)} bytes, need 4")
        event, flags, duration = _PAYLOAD.unpack_from(data, 0)
        return cls(
            event=event,
            end=bool(flags & 0x80),
            reserved=bool(flags & 0x40),
            volume=flags & 0x3F,
            duration=duration,
        )

    @classmethod
    def parse_all(cls, data: bytes) -> list[DtmfEvent]:
        """Parse every 4-byte event block of a payload."""
        if not data or len(data) % _PAYLOAD.size:
            raise DtmfParseError(f"telephone-event payload of {len(data)} bytes is not 4*n")
        return [cls.parse(data[i : i + 4]) for i in range(0, len(data), 4)]

    def __bytes__(self) -> bytes:
        """Serialise; out-of-range fields raise ValueError."""
        if not 0 <= self.event <= 255 or not 0 <= self.volume <= 63:
            raise ValueError(f"event {self.event} or volume {self.volume} out of range")
        if not 0 <= self.duration <= 0xFFFF:
            raise ValueError(f"duration {self.duration} out of range 0..65535")
        flags = (0x80 if self.end else 0) | (0x40 if self.reserved else 0) | self.volume
        return _PAYLOAD.pack(self.event, flags, self.duration)
