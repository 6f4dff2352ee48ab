"""Frames the pcap reader does not read are listed with their addresses, and the reader
agrees frame by frame with an independent one (dpkt) on the project's real captures and on
hand-built captures of IPv6, TCP, IPv4 fragments, ARP, an unknown link type and frames
cut short. (dpkt does not reassemble: a datagram the reader rebuilt from IPv4 fragments is
compared with the concatenation of dpkt's fragment payloads.)"""

from __future__ import annotations

import io
import ipaddress
import socket
import struct
from collections import Counter
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import dpkt
import pytest

from harness.capture.pcap import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    CapturedPacket,
    CaptureFile,
    UnreadFrame,
    parse_capture,
    pcap_bytes,
    unread_involving,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REAL_CAPTURES = sorted([*FIXTURES.glob("pcap/*.pcap"), *FIXTURES.glob("load/*.pcap")])

V4_TARGET = "198.18.0.10"
V4_PEER = "198.18.0.2"
V4_OTHER = "198.18.0.99"
V6_TARGET = "2001:db8::10"
V6_PEER = "2001:db8::2"
T0 = 1_700_000_000.0


# --- building frames by hand ------------------------------------------------------------------


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _tcp(sport: int, dport: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)


def _ipv4(
    src: str, dst: str, proto: int, body: bytes, *, frag: int = 0x4000, ident: int = 7
) -> bytes:
    return struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, frag, 64, proto, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    ) + body


def _ipv6(src: str, dst: str, nxt: int, body: bytes) -> bytes:
    return struct.pack(
        "!IHBB16s16s", 6 << 28, len(body), nxt, 64,
        ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed,
    ) + body


def _v6_fragment(nxt: int, offset_units: int, more: bool) -> bytes:
    return struct.pack("!BBHI", nxt, 0, (offset_units << 3) | int(more), 0x1234)


def _eth(etype: int, body: bytes, *, vlan: int | None = None) -> bytes:
    head = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02"
    if vlan is not None:
        head += struct.pack("!HH", 0x8100, vlan)
    return head + struct.pack("!H", etype) + body


def _arp(sender: str, target: str) -> bytes:
    return struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02\x00\x00\x00\x00\x02",
        socket.inet_aton(sender), bytes(6), socket.inet_aton(target),
    )


def _sll2(etype: int, body: bytes) -> bytes:
    mac = b"\x02\x00\x00\x00\x00\x02\x00\x00"
    return struct.pack("!HHIHBB8s", etype, 0, 2, 1, 0, 6, mac) + body


Record = tuple[float, bytes, int]  # ts, captured bytes, original length


def _classic(linktype: int, records: list[Record], *, snaplen: int = 65535) -> bytes:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
    for ts, frame, orig in records:
        ticks = round(ts * 1_000_000)
        out += struct.pack("<IIII", ticks // 1_000_000, ticks % 1_000_000, len(frame), orig)
        out += frame
    return bytes(out)


def _full(ts: float, frame: bytes) -> Record:
    return (ts, frame, len(frame))


def _classic_records(data: bytes) -> tuple[int, list[Record]]:
    (linktype,) = struct.unpack_from("<I", data, 20)
    records, pos = [], 24
    while pos < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, pos)
        records.append((sec + usec / 1e6, data[pos + 16 : pos + 16 + incl], orig))
        pos += 16 + incl
    return linktype, records


def _pcapng_block(order: str, btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack(order + "II", btype, 12 + len(body)) + body + struct.pack(
        order + "I", 12 + len(body))


def _pcapng(order: str, linktype: int, records: list[Record]) -> bytes:
    """One section, one interface with nanosecond timestamps, one EPB per record."""
    shb = _pcapng_block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    tsresol = struct.pack(order + "HH", 9, 1) + b"\x09\x00\x00\x00"
    idb = _pcapng_block(order, 1, struct.pack(order + "HHI", linktype, 0, 262144) + tsresol
                        + struct.pack(order + "HH", 0, 0))
    blocks = [shb, idb]
    for ts, frame, orig in records:
        ticks = round(ts * 1e9)
        blocks.append(_pcapng_block(order, 6, struct.pack(
            order + "IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), orig) + frame))
    return b"".join(blocks)


def _nanosecond(data: bytes) -> bytes:
    """A little-endian microsecond classic pcap rewritten with the nanosecond magic."""
    out = bytearray(struct.pack("<I", 0xA1B23C4D) + data[4:24])
    pos = 24
    while pos < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, pos)
        out += struct.pack("<IIII", sec, usec * 1000, incl, orig) + data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
    return bytes(out)


# --- the independent reader -----------------------------------------------------------------

DPKT_PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 41: "ipv6", 58: "icmpv6"}


def _dpkt_frames(data: bytes) -> list[tuple[float, Any]]:
    """(ts, network-layer object or None) for every frame, as dpkt decodes it."""
    fh = io.BytesIO(data)
    pcapng = data[:4] == b"\x0a\x0d\x0d\x0a"
    reader: Any = dpkt.pcapng.Reader(fh) if pcapng else dpkt.pcap.Reader(fh)
    linktype = reader.datalink()
    frames = []
    for ts, buf in reader:
        net: Any = None
        if linktype == LINKTYPE_ETHERNET:
            net = dpkt.ethernet.Ethernet(buf).data
        elif linktype == LINKTYPE_LINUX_SLL2:
            net = dpkt.sll2.SLL2(buf).data
        elif linktype == LINKTYPE_RAW and buf:
            version = buf[0] >> 4
            net = dpkt.ip.IP(buf) if version == 4 else dpkt.ip6.IP6(buf) if version == 6 else None
        frames.append((float(ts), net if isinstance(net, dpkt.Packet) else None))
    return frames


def _dpkt_udp(net: Any) -> tuple[tuple[str, int], tuple[str, int], bytes] | None:
    """The datagram dpkt sees in an unfragmented, complete IPv4/UDP packet, else None."""
    if not isinstance(net, dpkt.ip.IP) or net.mf or net.offset:
        return None
    udp = net.data
    if not isinstance(udp, dpkt.udp.UDP) or udp.ulen < 8 or len(udp.data) < udp.ulen - 8:
        return None
    return ((socket.inet_ntoa(net.src), udp.sport), (socket.inet_ntoa(net.dst), udp.dport),
            bytes(udp.data[: udp.ulen - 8]))


def _dpkt_addresses(net: Any) -> tuple[str, str] | None:
    if isinstance(net, (dpkt.ip.IP, dpkt.ip6.IP6)):
        return str(ipaddress.ip_address(net.src)), str(ipaddress.ip_address(net.dst))
    return None


def _dpkt_fragment(net: Any) -> tuple[tuple[str, str, int, int], int, bool, bytes] | None:
    """(key, byte offset, MF, data) of an IPv4 fragment as dpkt decodes it, else None."""
    if not isinstance(net, dpkt.ip.IP) or not (net.mf or net.offset):
        return None
    body = net.data
    raw = body.pack_hdr() + bytes(body.data) if isinstance(body, dpkt.Packet) else bytes(body)
    return ((socket.inet_ntoa(net.src), socket.inet_ntoa(net.dst), net.p, net.id),
            net.offset * 8, bool(net.mf), raw)  # dpkt counts the offset in 8-byte units


def _dpkt_reassembled(
    fragments: list[tuple[tuple[str, str, int, int], int, bool, bytes]],
) -> tuple[tuple[str, int], tuple[str, int], bytes]:
    """The UDP datagram in dpkt's fragments of one datagram: their data concatenated in
    offset order (a repeated offset once), which must leave no hole and end on MF clear."""
    (src, dst, proto, _ident), = {f[0] for f in fragments}
    assert proto == 17
    pieces = sorted({(offset, more, raw) for _key, offset, more, raw in fragments})
    assert len({offset for offset, _more, _raw in pieces}) == len(pieces), "conflicting copies"
    whole = b""
    for offset, _more, raw in pieces:
        assert offset == len(whole), f"hole or overlap at {offset}"
        whole += raw
    assert not pieces[-1][1], "the last fragment has MF set"
    sport, dport, ulen = struct.unpack_from("!HHH", whole, 0)
    return (src, sport), (dst, dport), whole[8:ulen]


def assert_agrees_with_dpkt(data: bytes) -> CaptureFile:
    """Parse `data` with the reader and check every frame against dpkt; return the result."""
    cap = parse_capture(data, "agree.pcap")
    assert Counter(u.reason for u in cap.unread) == cap.skipped
    assert [u.index for u in cap.unread] == sorted(u.index for u in cap.unread)
    packets = {p.index: p for p in cap.packets}
    unread = {u.index: u for u in cap.unread}
    reassembled = {f: p for p in cap.packets for f in p.fragments}
    frames = _dpkt_frames(data)
    # Every frame is accounted for once: unread, an unfragmented packet, or a fragment.
    accounted = [*unread, *(f for p in cap.packets for f in p.fragments or (p.index,))]
    assert cap.frames == len(frames) == len(accounted)
    assert sorted(accounted) == list(range(1, len(frames) + 1))
    fragments_of: dict[int, list[Any]] = {}
    for index, (ts, net) in enumerate(frames, start=1):
        datagram = _dpkt_udp(net)
        if datagram is not None:
            assert index in packets, f"frame {index}: dpkt reads IPv4/UDP, we skipped it"
            ours = packets[index]
            assert (ours.src, ours.dst, ours.payload, ours.fragments) == (*datagram, ())
            assert abs(ours.ts - ts) < 1e-6, f"frame {index}: ts {ours.ts} vs dpkt {ts}"
            continue
        if index in reassembled:
            fragment = _dpkt_fragment(net)
            assert fragment is not None, f"frame {index}: dpkt sees no IPv4 fragment"
            fragments_of.setdefault(reassembled[index].index, []).append(fragment)
            if index == reassembled[index].index:
                assert abs(reassembled[index].ts - ts) < 1e-6, f"frame {index}"
            continue
        assert index in unread, f"frame {index}: dpkt reads no IPv4/UDP, we did"
        frame = unread[index]
        assert abs(frame.ts - ts) < 1e-6, f"frame {index}: ts {frame.ts} vs dpkt {ts}"
        addresses = _dpkt_addresses(net)
        if addresses is not None:
            assert (frame.src, frame.dst) == addresses, f"frame {index}: {frame}"
            if net.p in DPKT_PROTOCOLS:
                assert frame.protocol == DPKT_PROTOCOLS[net.p], f"frame {index}: {frame}"
    for index, fragments in fragments_of.items():
        ours = packets[index]
        assert (ours.src, ours.dst, ours.payload) == _dpkt_reassembled(fragments), ours
        offsets = [fragment[1] for fragment in fragments]  # in frame order
        assert [offsets[sorted(ours.fragments).index(f)] for f in ours.fragments] == sorted(
            offsets), f"frame {index}: fragments {ours.fragments} not in offset order"
    return cap


# --- the real captures ------------------------------------------------------------------------


@pytest.mark.parametrize("path", REAL_CAPTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("container", ["pcap", "pcap-ns", "pcapng-le", "pcapng-be"])
def test_real_captures_agree_with_dpkt(path: Path, container: str) -> None:
    data = path.read_bytes()
    if container == "pcap-ns":
        data = _nanosecond(data)
    elif container.startswith("pcapng"):
        data = _pcapng("<" if container.endswith("le") else ">", *_classic_records(data))
    cap = assert_agrees_with_dpkt(data)
    assert cap.packets, "a real capture with no IPv4/UDP frame checks nothing"
    assert not any(p.fragments for p in cap.packets)


# --- hand-built captures of what the reader does not read -----------------------------------

RTP = bytes([0x80, 0x00]) + bytes(170)
SIP = b"OPTIONS sip:t SIP/2.0\r\n\r\n"
# The first fragment of one datagram and the last of another: neither is ever complete.
FIRST_FRAGMENT = _ipv4(V4_PEER, V4_TARGET, 17, _udp(5060, 5060, SIP)[:16], frag=0x2000)
LATER_FRAGMENT = _ipv4(V4_PEER, V4_TARGET, 17, _udp(5060, 5060, SIP)[16:], frag=2, ident=8)

#: (linktype, record, expected (reason, src, dst, protocol) or None for a UDP datagram)
CASES: dict[str, tuple[int, Record, tuple[str, str | None, str | None, str | None] | None]] = {
    "ipv4_udp": (LINKTYPE_ETHERNET, _full(T0, _eth(0x0800, _ipv4(
        V4_PEER, V4_TARGET, 17, _udp(40000, 5060, SIP)))), None),
    "ipv6_udp": (LINKTYPE_ETHERNET, _full(T0 + 1, _eth(0x86DD, _ipv6(
        V6_PEER, V6_TARGET, 17, _udp(40000, 5060, SIP)))), ("non_ipv4", V6_PEER, V6_TARGET, "udp")),
    "ipv6_tcp_vlan": (LINKTYPE_ETHERNET, _full(T0 + 2, _eth(0x86DD, _ipv6(
        V6_TARGET, V6_PEER, 6, _tcp(5061, 40001)), vlan=12)),
        ("non_ipv4", V6_TARGET, V6_PEER, "tcp")),
    "ipv6_hop_by_hop_icmpv6": (LINKTYPE_ETHERNET, _full(T0 + 3, _eth(0x86DD, _ipv6(
        "fe80::1", "ff02::16", 0, bytes([58, 0, 5, 2, 0, 0, 1, 0]) + bytes([143]) + bytes(27)))),
        ("non_ipv4", "fe80::1", "ff02::16", "icmpv6")),
    "ipv6_first_fragment": (LINKTYPE_ETHERNET, _full(T0 + 4, _eth(0x86DD, _ipv6(
        V6_PEER, V6_TARGET, 44, _v6_fragment(17, 0, True) + _udp(40000, 5060, SIP)[:16]))),
        ("non_ipv4", V6_PEER, V6_TARGET, "udp")),
    "ipv6_later_fragment": (LINKTYPE_ETHERNET, _full(T0 + 5, _eth(0x86DD, _ipv6(
        V6_PEER, V6_TARGET, 44, _v6_fragment(17, 2, False) + _udp(40000, 5060, SIP)[16:]))),
        ("non_ipv4", V6_PEER, V6_TARGET, "udp")),
    "ipv6_raw_ip": (LINKTYPE_RAW, _full(T0 + 6, _ipv6(
        V6_PEER, "2001:0db8:0000:0000:0001:0000:0000:0007", 17, _udp(1, 2, b"x"))),
        ("non_ipv4", V6_PEER, "2001:db8::1:0:0:7", "udp")),
    "ipv6_sll2": (LINKTYPE_LINUX_SLL2, _full(T0 + 7, _sll2(0x86DD, _ipv6(
        V6_TARGET, V6_PEER, 58, bytes([128, 0, 0, 0, 0, 1, 0, 1])))),
        ("non_ipv4", V6_TARGET, V6_PEER, "icmpv6")),
    "ipv4_tcp": (LINKTYPE_ETHERNET, _full(T0 + 8, _eth(0x0800, _ipv4(
        V4_TARGET, V4_PEER, 6, _tcp(5061, 40002)))), ("non_udp", V4_TARGET, V4_PEER, "tcp")),
    "ipv4_icmp": (LINKTYPE_ETHERNET, _full(T0 + 9, _eth(0x0800, _ipv4(
        V4_OTHER, V4_PEER, 1, bytes([8, 0, 0, 0, 0, 1, 0, 1])))),
        ("non_udp", V4_OTHER, V4_PEER, "icmp")),
    "ipv4_unknown_protocol": (LINKTYPE_ETHERNET, _full(T0 + 10, _eth(0x0800, _ipv4(
        V4_OTHER, V4_PEER, 253, b"exp"))), ("non_udp", V4_OTHER, V4_PEER, "253")),
    "ipv4_first_fragment": (LINKTYPE_ETHERNET, _full(T0 + 11, _eth(0x0800, FIRST_FRAGMENT)),
                            ("ip_fragment", V4_PEER, V4_TARGET, "udp")),
    "ipv4_later_fragment": (LINKTYPE_ETHERNET, _full(T0 + 12, _eth(0x0800, LATER_FRAGMENT)),
                            ("ip_fragment", V4_PEER, V4_TARGET, "udp")),
    "arp": (LINKTYPE_ETHERNET, _full(T0 + 13, _eth(0x0806, _arp(V4_PEER, V4_TARGET))),
            ("non_ipv4", None, None, "arp")),
    "lldp": (LINKTYPE_ETHERNET, _full(T0 + 14, _eth(0x88CC, bytes(20))),
             ("non_ipv4", None, None, "ethertype_0x88cc")),
    "snaplen_truncated": (LINKTYPE_ETHERNET, (T0 + 15, _eth(0x0800, _ipv4(
        V4_TARGET, V4_PEER, 17, _udp(20000, 30000, RTP)))[:68], 14 + 20 + 8 + len(RTP)),
        ("snaplen_truncated", V4_TARGET, V4_PEER, "udp")),
    "malformed_udp": (LINKTYPE_ETHERNET, _full(T0 + 16, _eth(0x0800, _ipv4(
        V4_PEER, V4_TARGET, 17, struct.pack("!HHHH", 1, 2, 200, 0) + b"short")),
        ), ("malformed_udp", V4_PEER, V4_TARGET, "udp")),
    "unknown_linktype": (147, _full(T0 + 17, _ipv4(V4_PEER, V4_TARGET, 17, _udp(1, 2, b"x"))),
                         ("linktype_147", None, None, None)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_kind_of_frame_is_listed_with_its_addresses(name: str) -> None:
    linktype, record, expected = CASES[name]
    cap = assert_agrees_with_dpkt(_classic(linktype, [record]))
    if expected is None:
        assert not cap.unread and len(cap.packets) == 1
        return
    (frame,) = cap.unread
    assert (frame.reason, frame.src, frame.dst, frame.protocol) == expected
    assert frame.index == 1 and frame.ts == pytest.approx(record[0], abs=1e-6)
    assert cap.skipped == {expected[0]: 1} and not cap.packets


def _mixed_ethernet() -> tuple[bytes, list[str]]:
    """A real capture's frames with every hand-built Ethernet case after every fifth one."""
    _linktype, real = _classic_records((FIXTURES / "pcap/kamailio_rtpengine_ice_lite_call.pcap")
                                       .read_bytes())
    extra = [(n, c[1]) for n, c in CASES.items() if c[0] == LINKTYPE_ETHERNET and c[2] is not None]
    records, names = [], []
    for i, record in enumerate(real):
        records.append(record)
        names.append("real")
        if i % 5 == 4 and extra:
            name, (_ts, frame, orig) = extra.pop(0)
            records.append((record[0], frame, orig))  # keep the file in time order
            names.append(name)
    for name, built in extra:
        records.append(built)
        names.append(name)
    return _classic(LINKTYPE_ETHERNET, records), names


@pytest.mark.parametrize("container", ["pcap", "pcapng-le", "pcapng-be"])
def test_a_real_capture_mixed_with_unread_frames(container: str) -> None:
    data, names = _mixed_ethernet()
    if container != "pcap":
        data = _pcapng("<" if container.endswith("le") else ">", *_classic_records(data))
    cap = assert_agrees_with_dpkt(data)
    real = parse_capture((FIXTURES / "pcap/kamailio_rtpengine_ice_lite_call.pcap").read_bytes())
    assert [p.payload for p in cap.packets] == [p.payload for p in real.packets]
    listed = [names[u.index - 1] for u in cap.unread]
    assert listed == [n for n in names if n != "real"]
    for frame, name in zip(cap.unread, listed, strict=True):
        expected = CASES[name][2]
        assert (frame.reason, frame.src, frame.dst, frame.protocol) == expected, name

    touching_target = {
        "ipv6_udp", "ipv6_tcp_vlan", "ipv6_first_fragment", "ipv6_later_fragment",
        "ipv4_tcp", "ipv4_first_fragment", "ipv4_later_fragment", "snaplen_truncated",
        "malformed_udp"}  # not "arp": an ARP request for the target is no IP frame to it
    involving = unread_involving(cap.unread, [V4_TARGET, "2001:DB8:0:0::10"])
    assert [names[u.index - 1] for u in involving] == [n for n in listed if n in touching_target]
    assert [names[u.index - 1] for u in unread_involving(cap.unread, [V4_OTHER])] == [
        n for n in listed if n in ("ipv4_icmp", "ipv4_unknown_protocol")]
    assert unread_involving(cap.unread, ["203.0.113.1"]) == []
    assert unread_involving(cap.unread, []) == []


def test_unread_involving_is_pure_and_rejects_non_addresses() -> None:
    frames = [
        UnreadFrame(1, T0, "non_ipv4", V6_PEER, V6_TARGET, "udp"),
        UnreadFrame(2, T0, "non_ipv4", None, None, "arp"),
        UnreadFrame(3, T0, "ip_fragment", V4_PEER, V4_TARGET, "udp"),
    ]
    assert unread_involving(iter(frames), iter([V4_PEER])) == [frames[2]]
    assert unread_involving(frames, ["2001:0db8:0000::0002"]) == [frames[0]]
    assert unread_involving(frames, [V4_TARGET, V6_TARGET]) == [frames[0], frames[2]]
    with pytest.raises(ValueError, match="'198.18.0.256' is not an IP address"):
        unread_involving(frames, ["198.18.0.256"])


def test_describe_gives_one_line() -> None:
    assert UnreadFrame(12, T0, "ip_fragment", V4_PEER, V4_TARGET, "udp").describe() == (
        "frame 12: ip_fragment 198.18.0.2 -> 198.18.0.10 (udp)")
    assert str(UnreadFrame(3, T0, "non_ipv4", None, None, "arp")) == "frame 3: non_ipv4 (arp)"
    assert str(UnreadFrame(4, T0, "linktype_147")) == "frame 4: linktype_147"
    with pytest.raises(FrozenInstanceError):
        UnreadFrame(4, T0, "linktype_147").index = 5  # type: ignore[misc]


# --- a capture cut short ------------------------------------------------------------------------


def _two_packets() -> bytes:
    return pcap_bytes([CapturedPacket(1, T0 + i, (V4_PEER, 40000), (V4_TARGET, 5060), SIP)
                       for i in range(2)])


def _rounded(frames: list[UnreadFrame]) -> list[tuple[int, float, str, str | None]]:
    return [(u.index, round(u.ts, 6), u.reason, u.src or u.dst or u.protocol) for u in frames]


def test_a_classic_record_cut_short_is_listed() -> None:
    data = _two_packets()
    record = (len(data) - 24) // 2 + 24  # where the second record starts
    body_cut = parse_capture(data[: record + 16 + 10], strict=False)
    assert [p.index for p in body_cut.packets] == [1] and body_cut.frames == 1
    assert _rounded(body_cut.unread) == [(2, T0 + 1, "truncated_tail", None)]
    header_cut = parse_capture(data[: record + 7], strict=False)
    assert header_cut.unread == [UnreadFrame(2, 0.0, "truncated_tail")]
    for cap in (body_cut, header_cut):
        assert Counter(u.reason for u in cap.unread) == cap.skipped == {"truncated_tail": 1}


def test_a_pcapng_block_cut_short_is_listed() -> None:
    _linktype, records = _classic_records(_two_packets())
    for order in "<>":
        data = _pcapng(order, LINKTYPE_ETHERNET, records)
        last = len(data) - struct.unpack_from(order + "I", data, len(data) - 4)[0]
        # Cut after the EPB's timestamp, before it, and inside the block header.
        for cut, ts in {last + 30: T0 + 1, last + 16: 0.0, last + 10: 0.0}.items():
            cap = parse_capture(data[:cut], strict=False)
            assert [p.index for p in cap.packets] == [1] and cap.frames == 1
            assert _rounded(cap.unread) == [(2, ts, "truncated_tail", None)], (order, cut)
            assert Counter(u.reason for u in cap.unread) == cap.skipped
