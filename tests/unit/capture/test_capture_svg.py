"""SVG rendering of captures: the SIP ladder and the media-path diagram."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from harness.capture.pcap import CapturedPacket
from harness.capture.svg import (
    _DIRECT,
    _REQUEST,
    _RESPONSE,
    _VIA_TARGET,
    _WARN,
    ladder_svg,
    media_svg,
)
from harness.media.rtp import RtcpPacket, RtpPacket

SVG = "{http://www.w3.org/2000/svg}"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"

CALLER = ("198.18.0.10", 40000)
CALLEE = ("198.18.0.21", 50000)
T_CALLER = ("198.18.0.2", 30010)  # target port facing the caller
T_CALLEE = ("198.18.0.2", 30020)  # target port facing the callee
SIP_CALLER, SIP_TARGET = ("198.18.0.10", 5060), ("198.18.0.2", 5060)
SIP_CALLEE1, SIP_CALLEE2 = ("198.18.0.21", 5060), ("198.18.0.22", 5060)
SIP_SHIM, SIP_STRANGER = ("198.18.0.5", 5060), ("198.18.0.77", 5062)
TARGETS = {"198.18.0.2"}
NAMES = {"198.18.0.10": "caller", "198.18.0.2": "target", "198.18.0.21": "callee1",
         "198.18.0.22": "callee2", "198.18.0.5": "shim"}
T0 = 1_700_000_000.0
N = 10

Addr = tuple[str, int]

# The Request-URI names the scenario; the Call-ID carries every character XML cares about.
INVITE_BYPASS = (b"INVITE sip:bypass@198.18.0.21 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.0.10:5060\r\n"
                 b"Call-ID: <a&\"'>@198.18.0.10\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n")
BUSY = b"SIP/2.0 486 Busy Here\r\nCall-ID: <a&\"'>@198.18.0.10\r\nContent-Length: 0\r\n\r\n"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def stream(ssrc: int, pt: int = 0, fill: int = 0xFF, n: int = N) -> list[RtpPacket]:
    return [
        RtpPacket(payload_type=pt, sequence=1000 + i, timestamp=160 * i, ssrc=ssrc,
                  payload=bytes([(fill + i) & 0xFF]) * 160)
        for i in range(n)
    ]


def send(rtps: list[RtpPacket], src: Addr, dst: Addr, offset: float = 0.0) -> list[CapturedPacket]:
    return [CapturedPacket(0, T0 + offset + 0.02 * i, src, dst, bytes(p))
            for i, p in enumerate(rtps)]


def numbered(pkts: list[CapturedPacket]) -> list[CapturedPacket]:
    pkts = sorted(pkts, key=lambda p: p.ts)
    return [CapturedPacket(i + 1, p.ts, p.src, p.dst, p.payload) for i, p in enumerate(pkts)]


def rtcp(ssrc: int, src: Addr, dst: Addr, offset: float) -> CapturedPacket:
    payload = bytes(RtcpPacket(packet_type=200, count=0, ssrc=ssrc, length_words=6))
    return CapturedPacket(0, T0 + offset, src, dst, payload)


def relay_media() -> list[CapturedPacket]:
    up, down = stream(0x1234ABCD), stream(0x0BADF00D, fill=0x10)
    return (send(up, CALLER, T_CALLER, 0.001) + send(up, T_CALLEE, CALLEE, 0.00106)
            + send(down, CALLEE, T_CALLEE, 0.005) + send(down, T_CALLER, CALLER, 0.00506)
            + [rtcp(0x1234ABCD, (CALLER[0], CALLER[1] + 1), (T_CALLER[0], T_CALLER[1] + 1), 0.3)])


def direct_media() -> list[CapturedPacket]:
    return send(stream(1), CALLER, CALLEE) + send(stream(2), CALLEE, CALLER, 0.003)


def relayed_call() -> list[CapturedPacket]:
    """A call relayed by the target: SIP from the Kamailio fixtures plus proxied RTP."""
    sip = [
        (0.0, SIP_CALLER, SIP_TARGET, fixture("kamailio_invite_relayed_proxy.sip")),
        (0.001, SIP_TARGET, SIP_CALLER, fixture("kamailio_100_trying.sip")),
        (0.002, SIP_TARGET, SIP_CALLEE1, fixture("kamailio_invite_relayed_proxy.sip")),
        (0.050, SIP_CALLEE1, SIP_TARGET, fixture("kamailio_200_invite_relayed.sip")),
        (0.051, SIP_TARGET, SIP_CALLER, fixture("kamailio_200_invite_relayed.sip")),
        (0.060, SIP_CALLER, SIP_TARGET, fixture("kamailio_ack_relayed.sip")),
        (0.061, SIP_TARGET, SIP_CALLEE1, fixture("kamailio_ack_relayed.sip")),
        (2.000, SIP_CALLER, SIP_TARGET, fixture("kamailio_bye_relayed.sip")),
        (2.001, SIP_TARGET, SIP_CALLEE1, fixture("kamailio_bye_relayed.sip")),
    ]
    media = [CapturedPacket(0, p.ts + 0.1, p.src, p.dst, p.payload) for p in relay_media()]
    return numbered([CapturedPacket(0, T0 + t, s, d, p) for t, s, d, p in sip] + media)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert root.find(f"{SVG}title") is not None
    return root


def by_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if cls in (e.get("class") or "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in by_class(root, "text", cls)]


# --- ladder ---------------------------------------------------------------------------------


def test_ladder_lanes_arrows_and_escaping() -> None:
    rtp = bytes(RtpPacket(payload_type=0, sequence=1, timestamp=0, ssrc=7, payload=bytes(160)))
    pkts = [
        CapturedPacket(1, T0, SIP_CALLEE2, SIP_TARGET, b"OPTIONS sip:target SIP/2.0\r\n\r\n"),
        CapturedPacket(2, T0 + 0.001, SIP_STRANGER, SIP_TARGET, b"REGISTER sip:x SIP/2.0\r\n\r\n"),
        CapturedPacket(3, T0 + 0.002, SIP_CALLER, SIP_SHIM, INVITE_BYPASS),
        CapturedPacket(4, T0 + 0.0021, CALLER, CALLEE, rtp),  # RTP: ignored
        CapturedPacket(5, T0 + 0.003, SIP_SHIM, SIP_TARGET, INVITE_BYPASS),
        CapturedPacket(6, T0 + 0.004, SIP_TARGET, SIP_CALLEE1, INVITE_BYPASS),
        CapturedPacket(7, T0 + 0.0405, SIP_CALLEE1, SIP_TARGET, BUSY),
        CapturedPacket(8, T0 + 0.05, SIP_TARGET, SIP_CALLEE1, fixture("kamailio_ack_relayed.sip")),
        CapturedPacket(9, T0 + 0.06, SIP_TARGET, SIP_CALLER,
                       fixture("kamailio_200_invite_relayed.sip")),
        # target to itself (another port): a loop; \x01 is a character XML cannot carry
        CapturedPacket(10, T0 + 0.07, SIP_TARGET, ("198.18.0.2", 5080),
                       b"INFO sip:\x01x SIP/2.0\r\n"),
    ]
    root = parse(ladder_svg(pkts, NAMES))
    lanes = {e.text: float(e.get("x") or "nan") for e in by_class(root, "text", "lane")}
    order = ["caller", "shim", "target", "callee1", "callee2", "198.18.0.77:5062"]
    assert sorted(lanes, key=lambda name: lanes[name]) == order

    groups = by_class(root, "g", "msg")
    assert len(groups) == len(pkts) - 1
    labels = texts(root, "label")
    assert labels[2] == "INVITE sip:bypass@198.18.0.21  [SDP]  Call-ID <a&\"'>@1"
    tip = groups[2].findtext(f"{SVG}title") or ""
    assert tip.startswith("frame 3  +2.000 ms  caller (198.18.0.10:5060)")
    assert tip.endswith("\nINVITE sip:bypass@198.18.0.21 SIP/2.0")
    assert labels[-1] == "INFO sip:\ufffdx"

    def stroke(group: ET.Element) -> str | None:
        shape = group.find(f"{SVG}line")
        if shape is None:
            shape = group.find(f"{SVG}path")  # a loop: target -> target
        return None if shape is None else shape.get("stroke")

    busy = next(g for g, label in zip(groups, labels, strict=True) if label.startswith("486"))
    ok = next(g for g, label in zip(groups, labels, strict=True) if label.startswith("200"))
    assert "error" in (busy.get("class") or "") and stroke(busy) == _WARN
    assert stroke(ok) == _RESPONSE and stroke(groups[0]) == _REQUEST
    assert stroke(groups[-1]) == _REQUEST and groups[-1].find(f"{SVG}path") is not None

    times = [float(t.split()[0]) for t in texts(root, "time")]
    assert times[0] == 0.0 and times[5] == 40.5
    assert times == sorted(times) and len(set(times)) == len(times)


def test_ladder_heights_grow_and_labels_are_capped() -> None:
    long_uri = b"INVITE sip:" + b"x" * 200 + b"@198.18.0.2 SIP/2.0\r\n\r\n"
    one = [CapturedPacket(1, T0, SIP_CALLER, SIP_TARGET, long_uri)]
    two = one + [CapturedPacket(2, T0 + 0.1, SIP_TARGET, SIP_CALLER, BUSY)]
    r1, r2 = parse(ladder_svg(one, NAMES)), parse(ladder_svg(two, NAMES))
    assert float(r2.get("height") or 0) > float(r1.get("height") or 0)
    label = texts(r1, "label")[0]
    assert len(label) == 90 and label.endswith("\u2026")
    assert "x" * 200 in (by_class(r1, "g", "msg")[0].findtext(f"{SVG}title") or "")


def test_ladder_of_a_relayed_call() -> None:
    root = parse(ladder_svg(relayed_call(), NAMES, title="call 1 & <more>"))
    assert root.findtext(f"{SVG}title") == "call 1 & <more>"
    assert texts(root, "lane") == ["caller", "target", "callee1"]
    assert len(by_class(root, "g", "msg")) == 9
    assert texts(root, "label")[1].startswith("100 trying -- your call is important to us")


def test_ladder_empty() -> None:
    for pkts in ([], direct_media()):
        root = parse(ladder_svg(pkts, NAMES))
        assert texts(root, "empty") == ["(no SIP packets)"]
        assert float(root.get("height") or 0) < 150


# --- media ----------------------------------------------------------------------------------


def edges(root: ET.Element) -> dict[str, ET.Element]:
    return {e.findtext(f"{SVG}text") or "": e for e in by_class(root, "g", "edge")}


def test_media_direct() -> None:
    root = parse(media_svg(direct_media(), NAMES, TARGETS, verdict="BYPASS"))
    found = edges(root)
    assert sorted(found) == ["RTP 10 pkts  40000\u219250000", "RTP 10 pkts  50000\u219240000"]
    for group in found.values():
        assert "direct" in (group.get("class") or "").split()
        path = group.find(f"{SVG}path")
        assert path is not None and path.get("stroke") == _DIRECT
    assert texts(root, "verdict") == ["verdict: BYPASS"]
    assert texts(root, "host") == ["caller", "callee1"]


def test_media_relayed() -> None:
    root = parse(media_svg(relay_media(), NAMES, TARGETS, verdict="PROXY"))
    found = edges(root)
    assert set(found) == {
        "RTP 10 pkts  40000\u219230010", "RTP 10 pkts  30020\u219250000",
        "RTP 10 pkts  50000\u219230020", "RTP 10 pkts  30010\u219240000",
        "RTCP 1 pkt  40001\u219230011",
    }
    for group in found.values():
        assert "via-target" in (group.get("class") or "").split()
        path = group.find(f"{SVG}path")
        assert path is not None and path.get("stroke") == _VIA_TARGET
    assert "stroke-dasharray" in found["RTCP 1 pkt  40001\u219230011"][1].attrib
    assert texts(root, "verdict") == ["verdict: PROXY"]
    hosts = {e.text: float(e.get("x") or "nan") for e in by_class(root, "text", "host")}
    assert hosts["caller"] < hosts["target"] < hosts["callee1"]


def test_media_several_ports_unknown_hosts_and_tooltips() -> None:
    pkts = (relay_media() + send(stream(3, n=4), ("198.18.0.10", 40002), T_CALLER, 0.5)
            + send(stream(4, n=2), ("198.18.0.99", 7000), CALLER, 0.6)
            + send(stream(5, n=3), T_CALLEE, ("198.18.0.98", 9000), 0.7))
    root = parse(media_svg(pkts, NAMES, TARGETS))
    found = edges(root)
    assert "RTP 14 pkts  40000\u219230010, 40002\u219230010" in found
    assert "RTP 2 pkts  7000\u219240000" in found and "RTP 3 pkts  30020\u21929000" in found
    assert "direct" in (found["RTP 2 pkts  7000\u219240000"].get("class") or "")
    tip = found["RTP 14 pkts  40000\u219230010, 40002\u219230010"].findtext(f"{SVG}title") or ""
    assert "198.18.0.10:40002 \u2192 198.18.0.2:30010  4 packets" in tip
    assert texts(root, "verdict") == []
    x = {ip.text: float(ip.get("x") or "nan") for ip in by_class(root, "text", "ip")}
    # 198.18.0.99 only talks to the caller: left; 198.18.0.98 only to the target: middle.
    assert x["198.18.0.99"] == x["198.18.0.10"] < x["198.18.0.2"] < x["198.18.0.21"]
    assert x["198.18.0.98"] == x["198.18.0.2"]


def test_media_empty() -> None:
    sip = [CapturedPacket(1, T0, SIP_CALLER, SIP_TARGET, INVITE_BYPASS)]
    root = parse(media_svg(sip, NAMES, TARGETS))
    assert texts(root, "empty") == ["(no media packets)"]
    root = parse(media_svg([], {}, (), verdict="NO_MEDIA"))
    assert texts(root, "empty") == ["(no media packets)"]
    assert texts(root, "verdict") == ["verdict: NO_MEDIA"]


# --- both -----------------------------------------------------------------------------------


def test_deterministic_and_ascii() -> None:
    call = relayed_call()
    renders: list[Callable[[], str]] = [
        lambda: ladder_svg(call, NAMES),
        lambda: media_svg(call, NAMES, TARGETS, verdict="PROXY"),
    ]
    for render in renders:
        first, second = render(), render()
        assert first == second
        assert first.isascii() and first.endswith("</svg>\n")
    assert ladder_svg(iter(call), NAMES) == ladder_svg(call, NAMES)
