"""What the parser fuzz tests share: one deterministic settings profile, the real fixtures
as seeds, and a mutator that damages them the way a broken peer or a lossy capture would.

Imported by the fuzz tests as a plain module (pytest puts this folder on sys.path).

The property every test checks is the one `harness.errors` promises: for any bytes, a
parser returns a value or raises its *own* parse error (`SipParseError`, `SdpParseError`,
`RtpParseError`, `DtmfParseError`, `SrtpError`, `CaptureError`; STUN's `parse` returns
``(None, reason)``). Anything else (IndexError, struct.error, UnicodeDecodeError ...)
escaping a parser would crash an agent instead of giving the target a failed verdict.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from harness.capture.classify import PacketKind, classify
from harness.capture.pcap import CapturedPacket, parse_capture

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: A real call through the default target (Kamailio + rtpengine, Teams-style ICE-Lite,
#: SDES-SRTP on the Teams leg), cut to its SIP, STUN and first RTP/SRTP frames.
CAPTURE = FIXTURES / "pcap" / "kamailio_rtpengine_ice_lite_call.pcap"
#: The SDES keys of that call (a=crypto of frame 3, the offer to the callee, and of
#: frame 5, the callee's answer): SRTP from 198.18.0.2:32513 and from 198.18.0.21:47446.
CAPTURE_SRTP_KEYS = {
    ("198.18.0.2", 32513): "1vImNkqxDswvZTUh8bQOioDkDufGEPQBwS5ZNw3a",
    ("198.18.0.21", 47446): "HALlVBFqBVwuVjqSZThm3a7Fk1aRbTsumi+4SnCO",
}


def fuzz_settings(max_examples: int) -> settings:
    """Deterministic (same examples every run, no example database) and without deadline.

    ``SBC_FUZZ_EXAMPLES=20000`` runs that many random (not derandomized) examples per
    test instead, to hunt locally; CI leaves it unset.
    """
    deep = int(os.environ.get("SBC_FUZZ_EXAMPLES", "0"))
    return settings(
        max_examples=deep or max_examples,
        derandomize=not deep,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@cache
def sip_seeds() -> tuple[bytes, ...]:
    """Every SIP fixture (one datagram each), plus the SIP datagrams of the real capture."""
    files = tuple(p.read_bytes() for p in sorted((FIXTURES / "sip").glob("*.sip")))
    return files + captured_payloads(PacketKind.SIP)


@cache
def sdp_seeds() -> tuple[bytes, ...]:
    """Every SDP fixture."""
    return tuple(p.read_bytes() for p in sorted((FIXTURES / "sdp").glob("*.sdp")))


@cache
def capture_bytes() -> bytes:
    """The real capture, as a classic little-endian pcap file."""
    return CAPTURE.read_bytes()


@cache
def captured_packets() -> tuple[CapturedPacket, ...]:
    """The UDP datagrams of the real capture."""
    return tuple(parse_capture(capture_bytes(), str(CAPTURE)).packets)


@cache
def captured_payloads(kind: PacketKind) -> tuple[bytes, ...]:
    """The UDP payloads of the real capture that classify as `kind`."""
    return tuple(p.payload for p in captured_packets() if classify(p.payload) is kind)


# --- mutation ---------------------------------------------------------------------------

#: Bytes that mean something to one grammar or another.
TOKENS: tuple[bytes, ...] = (
    b"\x00", b"\xff", b"\x80", b"\x7f", b"\xc3", b"\xed\xa0\x80", b" ", b"\t", b"\r", b"\n",
    b"\r\n", b"\r\n\r\n", b"\r\n ", b":", b";", b",", b"<", b">", b'"', b"\\", b"@", b"[",
    b"]", b"=", b"/", b"|", b"*", b"%", b"%zz", b"sip:", b"sips:", b"tel:", b"2^", b"2^99999",
    b"inline:", b"a=", b"m=", b"c=", b"o=", b"v=0", b"IN IP4 ", b"IN IP6 ", b"::", b"0",
    b"-1", b"65536", b"4294967296", b"99999999999999999999999", b";branch=", b";tag=",
    b";rport", b";received=", b";lr", b";maddr=", b"Content-Length: ", b"l: ", b"CSeq: ",
    b"Via: ", b"v: ", b"SIP/2.0", b"SIP/3.0", b"INVITE", b"ACK",
)
#: Field values that make length and count fields lie (written big-endian).
INTERESTING_INTS = (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
                    0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)

_BYTE_OPS = ("flip", "byte", "int", "truncate", "insert", "delete", "splice")
_LINE_OPS = ("dup_line", "drop_line", "swap_lines", "crlf_to_lf", "all_lf", "lf_to_crlf",
             "bare_cr", "fold", "blank_line")


def _spread(draw: st.DrawFn, n: int) -> int:
    """A position in range(n), spread evenly: hypothesis favours 0 and small integers,
    which would put most of the damage on the first byte."""
    return (draw(st.integers(0, 2**16)) + 0x5DEE) * 0x9E37 % 65537 % (n or 1)


def _mutate_once(draw: st.DrawFn, buf: bytearray, op: str) -> bytearray:
    def pos(extra: int = 0) -> int:
        return _spread(draw, len(buf) + extra)

    if op == "flip" and buf:
        buf[pos()] ^= 1 << draw(st.integers(0, 7))
    elif op == "byte" and buf:
        buf[pos()] = draw(st.integers(0, 255))
    elif op == "int" and buf:
        width = draw(st.sampled_from([1, 2, 4]))
        value = draw(st.sampled_from(INTERESTING_INTS) | st.integers(0, 2**32 - 1))
        at = pos()
        buf[at : at + width] = (value & (256**width - 1)).to_bytes(width, "big")
    elif op == "truncate":
        del buf[pos(1):]
    elif op == "insert":
        junk = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=8))
        at = pos(1)
        buf[at:at] = junk * draw(st.sampled_from([1, 1, 1, 2, 50]))
    elif op == "delete" and buf:
        at = pos()
        del buf[at : at + draw(st.integers(1, 16))]
    elif op == "splice" and buf:
        start = pos()
        chunk = bytes(buf[start : start + draw(st.integers(1, 64))])
        at = pos(1)
        buf[at:at] = chunk
    else:
        return _mutate_lines(draw, buf, op)
    return buf


def _mutate_lines(draw: st.DrawFn, buf: bytearray, op: str) -> bytearray:
    lines = bytes(buf).split(b"\n")  # each line keeps its CR, if any
    index = _spread(draw, len(lines))
    if op == "dup_line":
        lines.insert(index, lines[index])
    elif op == "drop_line" and len(lines) > 1:
        del lines[index]
    elif op == "swap_lines" and len(lines) > 1:
        other = _spread(draw, len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    elif op == "crlf_to_lf":
        lines[index] = lines[index].removesuffix(b"\r")
    elif op == "all_lf":
        lines = [line.removesuffix(b"\r") for line in lines]
    elif op == "lf_to_crlf":
        lines[index] = lines[index].removesuffix(b"\r") + b"\r"
    elif op == "bare_cr":
        at = _spread(draw, len(lines[index]) + 1)
        lines[index] = lines[index][:at] + b"\r" + lines[index][at:]
    elif op == "fold":
        at = _spread(draw, len(lines[index]) + 1)
        lines[index] = lines[index][:at] + b"\r\n" + draw(st.sampled_from([b" ", b"\t"])) \
            + lines[index][at:]
    elif op == "blank_line":
        lines.insert(index, draw(st.sampled_from([b"", b"\r", b" \r"])))
    return bytearray(b"\n".join(lines))


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], *, text: bool = True,
            max_ops: int = 4) -> bytes:
    """One of `seeds` after 1..`max_ops` mutations: bit flips, odd bytes, lying length
    fields, truncation, insertion and deletion, duplicated chunks and, for text
    protocols, duplicated, dropped and swapped lines and changed line ends."""
    buf = bytearray(draw(st.sampled_from(list(seeds))))
    ops = _BYTE_OPS + (_LINE_OPS if text else ())
    for _ in range(draw(st.integers(1, max_ops))):
        buf = _mutate_once(draw, buf, draw(st.sampled_from(ops)))
    return bytes(buf)
