"""A call the target routed elsewhere: the words say where it went and what to fix, and
the capture is read for where the target sent its INVITEs."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.capture.pcap import CapturedPacket
from harness.evidence.call import CaptureRead
from harness.evidence.preconditions import RoutingMismatch
from harness.scenarios.captured import invites_sent_on

TARGET, CALLER, CALLEE = "198.18.0.2", "198.18.0.10", "198.18.0.21"


@dataclass
class _Plan:  # what invites_sent_on reads of a plan
    hosts: dict[str, str] = field(default_factory=lambda: {"caller": CALLER, "callee1": CALLEE})
    target_addresses: tuple[str, ...] = (TARGET,)


def _sip(n: int, src: tuple[str, int], dst: tuple[str, int], first: str) -> CapturedPacket:
    return CapturedPacket(n, float(n), src, dst, f"{first}\r\nCall-ID: x\r\n\r\n".encode())


def test_where_the_target_sent_its_invites() -> None:
    read = CaptureRead((
        _sip(1, (CALLER, 5060), (TARGET, 5060), "INVITE sip:proxy@x SIP/2.0"),
        _sip(2, (TARGET, 5060), (CALLEE, 5999), "INVITE sip:proxy@x SIP/2.0"),
        _sip(3, (TARGET, 5060), (CALLEE, 5999), "INVITE sip:proxy@x SIP/2.0"),  # again
        _sip(4, (TARGET, 5060), (CALLER, 5060), "SIP/2.0 100 Trying"),
        _sip(5, (TARGET, 5060), ("198.18.0.99", 5060), "INVITE sip:other@x SIP/2.0"),
    ))
    assert invites_sent_on(read, _Plan()) == (  # type: ignore[arg-type]
        "callee1 198.18.0.21:5999", "198.18.0.99:5060")
    assert invites_sent_on(CaptureRead(read.packets[:1]), _Plan()) == ()  # type: ignore[arg-type]


def test_the_words_say_where_it_went_and_what_to_fix() -> None:
    astray = RoutingMismatch("callee1", (CALLEE, 5060), "callee1: the INVITE did not arrive",
                             request_uri="sip:proxy@198.18.0.21:5060")
    assert "could not tell where" in str(astray)
    nowhere = astray.located((), "ladder")
    assert str(nowhere).startswith("the target sent no INVITE on at all, expected one to "
                                   "callee1 at 198.18.0.21:5060 (unless it stopped routing "
                                   "calls altogether): check the dial plan")
    went = astray.located(("callee1 198.18.0.21:5999",), "ladder")
    assert str(went).startswith("the target sent the INVITE to callee1 198.18.0.21:5999, "
                                "expected callee1 at 198.18.0.21:5060: check the dial plan "
                                "in the target file (the caller dialled "
                                "sip:proxy@198.18.0.21:5060)")
    assert went.ladder == "ladder" and went.detail == "callee1: the INVITE did not arrive"
