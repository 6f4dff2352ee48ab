"""The one error the SDP package raises for bad input.

``SdpParseError`` is a ``ValueError``: the text handed to a parser is not valid
SDP (or not a valid attribute value). It carries the 1-based line number in the
SDP body where the problem is (0 when the text did not come from a parsed body,
for example ``CryptoAttribute.parse("...")`` called on its own) and the reason.
User agents turn it into a ``TargetViolation`` when the text came from the
target.
"""

from __future__ import annotations


class SdpParseError(ValueError):
    """The SDP text (or one attribute value) does not follow the grammar."""

    def __init__(self, line: int, reason: str) -> None:
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{reason}")
        self.line = line
        self.reason = reason
