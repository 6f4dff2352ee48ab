"""Errors of the SIP core, and whose fault they are.

::

    ValueError
    └── SipParseError        bytes from the network (or a header value) do not parse:
                             the *peer* is at fault; carries the bytes and the line
    HarnessError (harness.errors)
    └── SipUsageError        the harness code called the SIP API in a way that cannot work
                             (responding to a request with no transaction, ...)
"""

from __future__ import annotations

from harness.errors import HarnessError


class SipParseError(ValueError):
    """A SIP message, or one header value, does not follow the grammar.

    ``reason`` says what is wrong, ``line`` is the 1-based line of the message
    where it is (``None`` when not tied to a line), ``data`` holds the offending
    bytes (the whole datagram when parsing a message).
    """

    def __init__(self, reason: str, *, line: int | None = None, data: bytes = b"") -> None:
        self.reason = reason
        self.line = line
        self.data = data
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is not None:
            return f"line {self.line}: {self.reason}"
        return self.reason

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_parse_error, (self.reason, self.line, self.data))


def _rebuild_parse_error(reason: str, line: int | None, data: bytes) -> SipParseError:
    return SipParseError(reason, line=line, data=data)


class SipUsageError(HarnessError):
    """The harness used the SIP core wrongly (our fault, not the target's)."""
