"""pcap / pcapng reading and writing."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.capture.pcap import (
    CapturedPacket,
    load_capture,
    parse_capture,
    pcap_bytes,
    read_pcap,
    write_pcap,
)
from harness.errors import CaptureError

A = ("198.18.0.10", 40000)
B = ("198.18.0.21", 50000)


def _pkts(n: int = 3) -> list[CapturedPacket]:
    return [
        CapturedPacket(i + 1, 1700000000.0 + i * 0.02, A, B, bytes([i]) * (10 + i))
        for i in range(n)
    ]


def _ipv4_udp(src: tuple[str, int], dst: tuple[str, int], payload: bytes, *,
              proto: int = 17, frag: int = 0x4000) -> bytes:
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    return struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, frag, 64, proto, 0,
        socket.inet_aton(src[0]), socket.inet_aton(dst[0]),
    ) + udp


def test_round_trip(tmp_path: Path) -> None:
    pkts = _pkts()
    write_pcap(tmp_path / "x.pcap", pkts)
    back = read_pcap(tmp_path / "x.pcap")
    assert [(p.index, p.src, p.dst, p.payload, p.transport) for p in back] == [
        (p.index, p.src, p.dst, p.payload, "udp") for p in pkts
    ]
    assert all(abs(x.ts - y.ts) < 1e-6 for x, y in zip(back, pkts, strict=True))


def test_nanosecond_and_big_endian() -> None:
    pkts = [CapturedPacket(1, 1700000000.123456789, A, B, b"hello")]
    data = pcap_bytes(pkts, nanosecond=True)
    (back,) = parse_capture(data).packets
    assert abs(back.ts - 1700000000.123456789) < 1e-7
    # Re-encode the same file big-endian by hand.
    magic, vmaj, vmin, zone, sig, snap, net = struct.unpack_from("<IHHiIII", data, 0)
    sec, frac, incl, orig = struct.unpack_from("<IIII", data, 24)
    be = struct.pack(">IHHiIII", magic, vmaj, vmin, zone, sig, snap, net)
    be += struct.pack(">IIII", sec, frac, incl, orig) + data[40:]
    (back_be,) = parse_capture(be).packets
    assert back_be.payload == b"hello" and back_be.ts == back.ts


def test_checksums_are_valid() -> None:
    data = pcap_bytes(_pkts(1))
    frame = data[40:]
    ip = frame[14:34]
    total = sum(struct.unpack("!10H", ip))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF
    assert struct.unpack_from("!H", ip, 2)[0] == len(frame) - 14


def _classic(linktype: int, frames: list[bytes]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for n, f in enumerate(frames):
        out += struct.pack("<IIII", 100 + n, 0, len(f), len(f)) + f
    return out


def test_link_types_and_skips() -> None:
    ip = _ipv4_udp(A, B, b"payload")
    eth = bytes(12) + b"\x08\x00"
    vlan = bytes(12) + b"\x81\x00\x00\x05" + b"\x88\xa8\x00\x07"[:0] + b"\x08\x00"
    qinq = bytes(12) + b"\x88\xa8\x00\x07\x81\x00\x00\x05\x08\x00"
    for linktype, frame in [
        (1, eth + ip),
        (1, vlan + ip),
        (1, qinq + ip + bytes(6)),  # with Ethernet padding
        (113, struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800) + ip),
        (276, struct.pack("!HHIHBB8s", 0x0800, 0, 1, 1, 0, 6, bytes(8)) + ip),
        (101, ip),
    ]:
        (pkt,) = parse_capture(_classic(linktype, [frame])).packets
        assert (pkt.src, pkt.dst, pkt.payload) == (A, B, b"payload"), linktype
    cap = parse_capture(_classic(1, [
        eth + _ipv4_udp(A, B, b"x", proto=6),
        eth + _ipv4_udp(A, B, b"x", frag=0x2000),
        eth + _ipv4_udp(A, B, b"x", frag=0x0010),
        bytes(12) + b"\x86\xdd" + bytes(40),
        eth + ip,
    ]))
    assert [p.index for p in cap.packets] == [5]
    assert cap.skipped == {"non_udp": 1, "ip_fragment": 2, "non_ipv4": 1}
    assert parse_capture(_classic(147, [ip])).skipped == {"linktype_147": 1}


def test_truncated_record_reports_offset(tmp_path: Path) -> None:
    data = pcap_bytes(_pkts(2))
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:-5])
    with pytest.raises(CaptureError) as info:
        read_pcap(path)
    second = 24 + 16 + (len(data) - 24 - 32) // 2  # offset of the second record
    assert str(path) in str(info.value)
    assert "offset" in str(info.value)
    off = int(str(info.value).split("offset ")[1].split(":")[0])
    assert 24 < off <= second + 16
    lenient = load_capture(path, strict=False)
    assert len(lenient.packets) == 1 and lenient.skipped["truncated_tail"] == 1


def test_bad_magic_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="offset 0"):
        parse_capture(b"GIF89a" + bytes(40), "x.gif")
    with pytest.raises(CaptureError, match="cannot read"):
        read_pcap(tmp_path / "nope.pcap")


def _block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)


def test_pcapng_two_interfaces() -> None:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb_eth = _block(1, struct.pack("<HHI", 1, 0, 0))  # default microseconds
    idb_raw = _block(1, struct.pack("<HHI", 101, 0, 0) + _option(9, b"\x09") + _option(0, b""))
    ip = _ipv4_udp(A, B, b"first")
    frame = bytes(12) + b"\x08\x00" + ip
    t_us = 1_700_000_000_250_000
    epb0 = _block(6, struct.pack("<IIIII", 0, t_us >> 32, t_us & 0xFFFFFFFF, len(frame),
                                 len(frame)) + frame)
    t_ns = 1_700_000_001_000_000_500
    ip2 = _ipv4_udp(B, A, b"second")
    epb1 = _block(6, struct.pack("<IIIII", 1, t_ns >> 32, t_ns & 0xFFFFFFFF, len(ip2),
                                 len(ip2)) + ip2)
    nrb = _block(4, b"\x00\x00\x00\x00")
    cap = parse_capture(shb + idb_eth + idb_raw + nrb + epb0 + epb1)
    assert cap.format == "pcapng" and cap.linktypes == {1, 101}
    first, second = cap.packets
    assert first.payload == b"first" and abs(first.ts - 1700000000.25) < 1e-6
    assert second.payload == b"second" and second.src == B
    assert abs(second.ts - 1700000001.0000005) < 1e-6
    assert second.index == 2


def test_pcapng_big_endian_and_errors() -> None:
    def block_be(btype: int, body: bytes) -> bytes:
        n = len(body) + 12
        return struct.pack(">II", btype, n) + body + struct.pack(">I", n)

    ip = _ipv4_udp(A, B, b"be!!")
    data = (
        block_be(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1))
        + block_be(1, struct.pack(">HHI", 101, 0, 0))
        + block_be(6, struct.pack(">IIIII", 0, 0, 5_000_000, len(ip), len(ip)) + ip)
    )
    (pkt,) = parse_capture(data).packets
    assert pkt.payload == b"be!!" and abs(pkt.ts - 5.0) < 1e-9
    with pytest.raises(CaptureError, match="offset"):
        parse_capture(data[:-3])
    broken = bytearray(data)
    broken[-1] ^= 0xFF  # trailer length mismatch
    with pytest.raises(CaptureError, match="mismatch"):
        parse_capture(bytes(broken))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from([b"", b"\xd4\xc3\xb2\xa1", b"\n\r\r\n"]))
def test_garbage_raises_only_capture_error(data: bytes, prefix: bytes) -> None:
    try:
        parse_capture(prefix + data)
    except CaptureError:
        pass


@given(st.binary(max_size=200))
def test_garbage_frames_are_skipped_not_fatal(frame: bytes) -> None:
    for linktype in (1, 113, 276, 101):
        parse_capture(_classic(linktype, [frame]))
