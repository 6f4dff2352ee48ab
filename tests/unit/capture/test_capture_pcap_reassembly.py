"""IPv4 fragments are reassembled (RFC 791): a SIP INVITE too big for the MTU, taken from a
real capture and padded with a=crypto lines, comes back byte for byte whatever the order of
its fragments, with duplicates, among other traffic, on the frame of the fragment that
completed it; a datagram never completed, in conflict, too long or not UDP is listed
unread frame by frame; and the real captures refragmented at a small MTU read as before,
checked against dpkt's fragments."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections import Counter
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_capture_pcap_unread import (
    FIXTURES,
    REAL_CAPTURES,
    T0,
    V4_OTHER,
    V4_PEER,
    V4_TARGET,
    V6_PEER,
    V6_TARGET,
    Record,
    _classic,
    _classic_records,
    _eth,
    _ipv4,
    _ipv6,
    _pcapng,
    _udp,
    _v6_fragment,
    assert_agrees_with_dpkt,
)

from harness.capture.pcap import (
    LINKTYPE_ETHERNET,
    CapturedPacket,
    CaptureFile,
    parse_capture,
    pcap_bytes,
)
from harness.sip import parse_message

REAL = FIXTURES / "pcap/kamailio_rtpengine_ice_lite_call.pcap"
IDENT = 0x5A5A


def _invite(size: int) -> bytes:
    """The real capture's INVITE grown to `size` bytes with a=crypto lines (and one a=x-pad
    line to make up the rest), its Content-Length kept true."""
    (real,) = [p.payload for p in parse_capture(REAL.read_bytes()).packets
               if p.payload.startswith(b"INVITE") and p.src[0] == V4_TARGET]
    head, body = real.split(b"\r\n\r\n", 1)

    def head_for(length: int) -> bytes:
        return re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % length, head)

    length = size - 4 - len(head_for(size))  # the body's length once the message is `size`
    n = 0
    while True:
        n += 1
        key = base64.b64encode(hashlib.sha256(b"%d" % n).digest()[:30]).decode()
        line = f"a=crypto:{n} AES_CM_128_HMAC_SHA1_80 inline:{key}\r\n".encode()
        if len(body) + len(line) + 16 > length:
            break
        body += line
    body += b"a=x-pad:" + b"0" * (length - len(body) - 10) + b"\r\n"
    message = head_for(len(body)) + b"\r\n\r\n" + body
    assert len(message) == size
    return message


INVITE = _invite(3100)  # three fragments over a 1500-byte MTU
INVITE_1926 = _invite(1926)  # two


def _pieces(body: bytes, size: int) -> list[tuple[int, bytes, bool]]:
    """`body` cut into (byte offset, data, MF) pieces of `size` bytes (a multiple of 8)."""
    assert size % 8 == 0
    return [(at, body[at : at + size], at + size < len(body)) for at in range(0, len(body), size)]


def _fragment(piece: tuple[int, bytes, bool], *, proto: int = 17, ident: int = IDENT,
              src: str = V4_TARGET, dst: str = V4_PEER) -> bytes:
    """One piece as an Ethernet frame carrying an IPv4 fragment."""
    at, data, more = piece
    return _eth(0x0800, _ipv4(src, dst, proto, data, frag=(at // 8) | (0x2000 if more else 0),
                              ident=ident))


def _udp_fragments(payload: bytes, mtu: int = 1500, *, ident: int = IDENT) -> list[bytes]:
    """A UDP datagram from the target to the peer in IPv4 fragments for `mtu`."""
    return [_fragment(p, ident=ident) for p in _pieces(_udp(5060, 5060, payload),
                                                      (mtu - 20) // 8 * 8)]


def _among_real(extra: list[bytes], every: int = 3) -> tuple[bytes, list[int], list[float]]:
    """The real capture with the `extra` frames put in after every `every`-th of its
    frames, in order: the file, the frame numbers and the times of the extra frames."""
    _linktype, real = _classic_records(REAL.read_bytes())
    records: list[Record] = []
    numbers, times = [], []
    pending = list(extra)
    for i, record in enumerate(real):
        records.append(record)
        if i % every == every - 1 and pending:
            frame = pending.pop(0)
            records.append((record[0] + 1e-4, frame, len(frame)))
            numbers.append(len(records))
            times.append(record[0] + 1e-4)
    assert not pending, "the real capture is too short for the extra frames"
    return _classic(LINKTYPE_ETHERNET, records), numbers, times


def _container(data: bytes, container: str) -> bytes:
    if container == "pcap":
        return data
    return _pcapng("<" if container.endswith("le") else ">", *_classic_records(data))


def _real_packets() -> list[CapturedPacket]:
    return parse_capture(REAL.read_bytes()).packets


def _accounted(cap: CaptureFile) -> list[int]:
    return sorted([*(u.index for u in cap.unread),
                   *(f for p in cap.packets for f in p.fragments or (p.index,))])


# --- reassembled --------------------------------------------------------------------------------

#: fragment order as indices into the pieces (repeats are duplicates), MTU, message
ORDERS: dict[str, tuple[list[int], int, bytes]] = {
    "1926_bytes_2_in_order": ([0, 1], 1500, INVITE_1926),
    "2_reversed": ([1, 0], 1628, INVITE),
    "3_in_order": ([0, 1, 2], 1500, INVITE),
    "3_last_first": ([2, 0, 1], 1500, INVITE),
    "3_first_last": ([1, 2, 0], 1500, INVITE),
    "3_duplicate_before_complete": ([0, 1, 1, 2], 1500, INVITE),
    "3_all_duplicated_in_turn": ([0, 0, 1, 1, 2, 2], 1500, INVITE),
    "3_duplicates_after_complete": ([2, 1, 0, 1, 2, 0], 1500, INVITE),
    "12_shuffled": ([5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6], 300, INVITE),
}


@pytest.mark.parametrize("container", ["pcap", "pcapng-le", "pcapng-be"])
@pytest.mark.parametrize("name", list(ORDERS))
def test_a_fragmented_invite_is_reassembled_among_other_traffic(name: str, container: str
                                                                ) -> None:
    order, mtu, invite = ORDERS[name]
    frames = _udp_fragments(invite, mtu)
    assert len(frames) == max(order) + 1, "the message is not cut into the pieces named"
    # A second datagram between the same hosts, other identification, fragments reversed,
    # its fragments and ours taking turns.
    other = b"OPTIONS sip:t SIP/2.0\r\n" + bytes(700)
    others = _udp_fragments(other, 576, ident=IDENT + 1)[::-1]
    labelled = [("other", f) for f in others]
    for k, i in enumerate(order):
        labelled.insert(2 * k, ("ours", frames[i]))
    data, numbers, times = _among_real([f for _label, f in labelled], every=2)
    ours = [k for k, (label, _f) in enumerate(labelled) if label == "ours"]
    cap = assert_agrees_with_dpkt(_container(data, container))
    assert not cap.unread and not cap.skipped

    completing = next(k for k in range(len(order)) if set(order[: k + 1]) == set(order))
    (packet,) = [p for p in cap.packets if p.payload == invite]
    assert (packet.src, packet.dst, packet.transport) == ((V4_TARGET, 5060), (V4_PEER, 5060),
                                                          "udp")
    assert packet.index == numbers[ours[completing]]
    assert packet.ts == pytest.approx(times[ours[completing]], abs=1e-6)
    by_offset = sorted(zip(order, (numbers[i] for i in ours), strict=True))
    assert packet.fragments == tuple(frame for _piece, frame in by_offset)

    (second,) = [p for p in cap.packets if p.payload == other]
    assert second.fragments == tuple(sorted(second.fragments, reverse=True))
    assert second.index == max(second.fragments)  # the first piece came last
    # The real packets are untouched, and every packet is where its frame is.
    assert [(p.src, p.dst, p.payload) for p in cap.packets if not p.fragments] == [
        (p.src, p.dst, p.payload) for p in _real_packets()]
    assert [p.index for p in cap.packets] == sorted(p.index for p in cap.packets)
    message = parse_message(packet.payload)
    assert message.body.count(b"a=crypto:") == invite.count(b"a=crypto:") > 0


def test_the_1926_byte_invite_needs_two_fragments_and_reads_as_sip() -> None:
    frames = _udp_fragments(INVITE_1926)
    assert len(INVITE_1926) == 1926
    assert [len(f) - 14 for f in frames] == [1500, 20 + 8 + len(INVITE_1926) - 1480]
    cap = parse_capture(_classic(LINKTYPE_ETHERNET, [(T0, f, len(f)) for f in frames]))
    (packet,) = cap.packets
    assert (packet.index, packet.fragments, packet.payload) == (2, (1, 2), INVITE_1926)
    assert parse_message(packet.payload).body.startswith(b"v=0")


def test_a_packet_built_without_fragments_has_none_and_stays_frozen() -> None:
    packet = CapturedPacket(1, T0, (V4_PEER, 1), (V4_TARGET, 2), b"x")
    assert packet.fragments == () and packet.transport == "udp"
    with pytest.raises(FrozenInstanceError):
        packet.fragments = (1,)  # type: ignore[misc]
    (again,) = parse_capture(pcap_bytes([packet])).packets
    assert again == packet


def test_the_same_identification_used_again_is_another_datagram() -> None:
    first, second = b"first " + bytes(2000), b"second " + bytes(2000)
    frames = [*_udp_fragments(first), *_udp_fragments(second)]
    cap = assert_agrees_with_dpkt(_classic(LINKTYPE_ETHERNET,
                                           [(T0 + i, f, len(f)) for i, f in enumerate(frames)]))
    assert [(p.index, p.fragments, p.payload) for p in cap.packets] == [
        (2, (1, 2), first), (4, (3, 4), second)]


def test_an_agreeing_overlap_is_harmless() -> None:
    body = _udp(5060, 5060, INVITE)
    pieces = _pieces(body, 1480)
    across = (1472, body[1472:1496], True)  # refragmented: the end of one, the start of two
    frames = [_fragment(p) for p in (pieces[0], across, pieces[2], pieces[1])]
    cap = parse_capture(_classic(LINKTYPE_ETHERNET, [(T0, f, len(f)) for f in frames]))
    (packet,) = cap.packets
    assert (packet.index, packet.fragments, packet.payload) == (4, (1, 2, 4, 3), INVITE)


# --- unread ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [0, 1, 2])
def test_a_datagram_never_completed_is_unread_frame_by_frame(missing: int) -> None:
    frames = [f for i, f in enumerate(_udp_fragments(INVITE)) if i != missing]
    data, numbers, times = _among_real(frames)
    cap = assert_agrees_with_dpkt(data)
    assert [(u.index, u.reason, u.src, u.dst, u.protocol) for u in cap.unread] == [
        (n, "ip_fragment", V4_TARGET, V4_PEER, "udp") for n in numbers]
    assert [u.ts for u in cap.unread] == pytest.approx(times, abs=1e-6)
    assert cap.skipped == {"ip_fragment": 2} == Counter(u.reason for u in cap.unread)
    assert [p.payload for p in cap.packets] == [p.payload for p in _real_packets()]


def test_a_capture_cut_before_the_last_fragment_lists_the_others() -> None:
    frames = _udp_fragments(INVITE)
    data = _classic(LINKTYPE_ETHERNET, [(T0 + i, f, len(f)) for i, f in enumerate(frames)])
    cap = parse_capture(data[:-100], strict=False)
    assert [(u.index, u.reason) for u in cap.unread] == [
        (1, "ip_fragment"), (2, "ip_fragment"), (3, "truncated_tail")]
    assert not cap.packets and cap.frames == 2
    assert Counter(u.reason for u in cap.unread) == cap.skipped


def _flipped(piece: tuple[int, bytes, bool], at: int) -> tuple[int, bytes, bool]:
    offset, data, more = piece
    return offset, data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :], more


PIECES = _pieces(_udp(5060, 5060, INVITE), 1480)
#: the fragments sent, each in its own frame; all of them are in conflict
CONFLICTS: dict[str, list[tuple[int, bytes, bool]]] = {
    "same_offset_other_bytes": [PIECES[0], _flipped(PIECES[1], 700), PIECES[1], PIECES[2]],
    "partial_overlap_other_bytes": [PIECES[0], PIECES[1], (1472, bytes(16), True), PIECES[2]],
    "two_ends": [PIECES[2], PIECES[0], (2960, PIECES[2][1][:-8], False), PIECES[1]],
    "data_past_the_end": [PIECES[0], PIECES[2], (2960, PIECES[2][1] + bytes(8), True),
                          PIECES[1]],
    "conflict_then_a_copy": [PIECES[0], _flipped(PIECES[0], 9), PIECES[1], PIECES[2], PIECES[0]],
}


@pytest.mark.parametrize("name", list(CONFLICTS))
def test_fragments_that_disagree_leave_the_whole_datagram_unread(name: str) -> None:
    frames = [_fragment(p) for p in CONFLICTS[name]]
    data, numbers, _times = _among_real(frames)
    cap = assert_agrees_with_dpkt(data)
    assert [(u.index, u.reason, u.src, u.dst) for u in cap.unread] == [
        (n, "ip_fragment_overlap", V4_TARGET, V4_PEER) for n in numbers]
    assert cap.skipped == {"ip_fragment_overlap": len(frames)}
    assert INVITE not in [p.payload for p in cap.packets]


def test_fragmented_icmp_is_non_udp_frame_by_frame() -> None:
    echo = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + bytes(range(256)) * 12
    first, middle, last = [_fragment(p, proto=1, src=V4_OTHER) for p in _pieces(echo, 1480)]
    frames = [first, last, last, middle, first]  # a duplicate before completion, one after
    data, numbers, _times = _among_real(frames)
    cap = assert_agrees_with_dpkt(data)
    assert [(u.index, u.reason, u.src, u.dst, u.protocol) for u in cap.unread] == [
        (n, "non_udp", V4_OTHER, V4_PEER, "icmp") for n in numbers]
    assert cap.skipped == {"non_udp": 5}


def test_a_datagram_over_65535_bytes_is_malformed() -> None:
    echo = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + bytes(65536 - 8)  # 20 + 65536 bytes
    frames = [_fragment(p, proto=1) for p in _pieces(echo, 8192)]
    cap = assert_agrees_with_dpkt(_classic(LINKTYPE_ETHERNET,
                                           [(T0 + i, f, len(f)) for i, f in enumerate(frames)]))
    assert [(u.index, u.reason) for u in cap.unread] == [
        (i, "malformed_ipv4") for i in range(1, 9)]
    # The ping of death: a last fragment at the highest offset, past 65535 at once.
    death = [_fragment((0, echo[:1480], True), proto=1),
             _fragment((65528, bytes(100), False), proto=1)]
    cap = parse_capture(_classic(LINKTYPE_ETHERNET, [(T0, f, len(f)) for f in death]))
    assert [(u.index, u.reason) for u in cap.unread] == [(1, "malformed_ipv4"),
                                                         (2, "malformed_ipv4")]


def test_ipv6_fragments_stay_unread() -> None:
    udp = _udp(40000, 5060, INVITE_1926)
    frames = [_eth(0x86DD, _ipv6(V6_PEER, V6_TARGET, 44, _v6_fragment(17, 0, True) + udp[:1448])),
              _eth(0x86DD, _ipv6(V6_PEER, V6_TARGET, 44, _v6_fragment(17, 181, False)
                                 + udp[1448:]))]
    cap = assert_agrees_with_dpkt(_classic(LINKTYPE_ETHERNET, [(T0, f, len(f)) for f in frames]))
    assert [(u.index, u.reason, u.protocol) for u in cap.unread] == [
        (1, "non_ipv4", "udp"), (2, "non_ipv4", "udp")]
    assert not cap.packets


# --- the real captures, refragmented ----------------------------------------------------------


def _refragmented(frame: bytes, mtu: int, ident: int) -> list[bytes]:
    """An Ethernet frame carrying an unfragmented IPv4 packet longer than `mtu`, cut into
    IPv4 fragments of at most `mtu` bytes with identification `ident` (Ethernet padding
    dropped); others as they are.

    A fresh identification, as a sender fragmenting a datagram must give it (RFC 6864):
    the real captures have identification 0 on every datagram (Linux's choice for DF
    datagrams, never fragmented), and datagrams of one key cut at the same points
    would otherwise look like copies of each other's fragments."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return [frame]
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    (total, flags) = struct.unpack_from("!H2xH", ip, 2)
    if total <= mtu or flags & 0x3FFF:
        return [frame]
    out = []
    for at, data, more in _pieces(ip[ihl:total], (mtu - ihl) // 8 * 8):
        head = bytearray(ip[:ihl])
        struct.pack_into("!HHH", head, 2, ihl + len(data), ident,
                         (at // 8) | (0x2000 if more else 0))
        struct.pack_into("!H", head, 10, 0)
        out.append(frame[:14] + bytes(head) + data)
    return out


@pytest.mark.parametrize("container", ["pcap", "pcapng-be"])
@pytest.mark.parametrize("path", REAL_CAPTURES, ids=lambda p: p.name)
def test_real_captures_refragmented_read_as_before(path: Path, container: str) -> None:
    linktype, records = _classic_records(path.read_bytes())
    assert linktype == LINKTYPE_ETHERNET
    cut: list[Record] = [(ts, piece, len(piece)) for n, (ts, frame, _orig) in enumerate(records)
                         for piece in _refragmented(frame, 576, 0x1000 + n)]
    assert len(cut) > len(records), "nothing was long enough to fragment"
    cap = assert_agrees_with_dpkt(_container(_classic(linktype, cut), container))
    whole = parse_capture(path.read_bytes())
    assert [(p.src, p.dst, p.payload) for p in cap.packets] == [
        (p.src, p.dst, p.payload) for p in whole.packets]
    assert [p.ts for p in cap.packets] == pytest.approx([p.ts for p in whole.packets], abs=1e-6)
    assert cap.skipped == whole.skipped and cap.frames == len(cut)
    assert any(len(p.fragments) > 1 for p in cap.packets)


# --- any order, any duplicates, any loss ----------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=14), st.integers(1, 2))
def test_any_fragments_in_any_order(order: list[int], every: int) -> None:
    pieces = _udp_fragments(INVITE, 516)  # seven pieces
    assert len(pieces) == 7
    data, numbers, times = _among_real([pieces[i] for i in order], every)
    cap = parse_capture(data)
    assert Counter(u.reason for u in cap.unread) == cap.skipped
    assert _accounted(cap) == list(range(1, cap.frames + 1))
    if set(order) == set(range(7)):
        completing = next(k for k in range(len(order)) if set(order[: k + 1]) == set(order))
        (packet,) = [p for p in cap.packets if p.fragments]
        assert (packet.payload, packet.index) == (INVITE, numbers[completing])
        assert packet.ts == pytest.approx(times[completing], abs=1e-6)
        assert packet.fragments == tuple(n for _i, n in sorted(zip(order, numbers, strict=True)))
        assert not cap.unread
    else:
        assert [(u.index, u.reason, u.src, u.dst, u.protocol) for u in cap.unread] == [
            (n, "ip_fragment", V4_TARGET, V4_PEER, "udp") for n in numbers]
        assert [u.ts for u in cap.unread] == pytest.approx(times, abs=1e-6)
        assert not any(p.fragments for p in cap.packets)


def test_a_copy_is_never_used_to_build_another_datagram() -> None:
    """The same identification used again for a datagram whose last piece has the same bytes
    as the last piece of one already complete: that piece is taken as a copy of the old
    one's, so the new datagram stays unread rather than being built from a stranger's piece
    (the evidence may lack a datagram; it never shows one that was not sent)."""
    tail = bytes(1600)
    old, new = b"old " + tail, b"new " + tail
    frames = [*_udp_fragments(old), *_udp_fragments(new)]
    cap = parse_capture(_classic(LINKTYPE_ETHERNET,
                                 [(T0 + i, f, len(f)) for i, f in enumerate(frames)]))
    assert [(p.index, p.fragments, p.payload) for p in cap.packets] == [(2, (1, 2, 4), old)]
    assert [(u.index, u.reason) for u in cap.unread] == [(3, "ip_fragment")]


def _refragmented_real() -> bytes:
    linktype, records = _classic_records(REAL.read_bytes())
    return _classic(linktype, [(ts, piece, len(piece)) for n, (ts, frame, _orig)
                               in enumerate(records) for piece in _refragmented(frame, 300, n)])


REFRAGMENTED = _refragmented_real()


@settings(max_examples=150, deadline=None)
@given(st.integers(24, len(REFRAGMENTED)))
def test_a_fragmented_capture_cut_short_reads_as_a_prefix(cut: int) -> None:
    full = parse_capture(REFRAGMENTED)
    lenient = parse_capture(REFRAGMENTED[:cut], strict=False)
    assert lenient.packets == full.packets[: len(lenient.packets)]
    assert Counter(u.reason for u in lenient.unread) == lenient.skipped
    assert set(lenient.skipped) <= {"ip_fragment", "truncated_tail"}
    assert _accounted(lenient) == list(range(1, lenient.frames + 1 + lenient.skipped[
        "truncated_tail"]))
    # What is held at the cut is exactly the fragments of the datagrams not yet complete.
    done = {f for p in lenient.packets for f in p.fragments}
    assert {u.index for u in lenient.unread if u.reason == "ip_fragment"} == {
        f for p in full.packets for f in p.fragments if f <= lenient.frames} - done
