"""A fault-injecting media relay: proves that the STUN and media-path checks of the Teams
Direct Routing profile can FAIL (DR-STUN-1, DR-STUN-2, DR-ICE-4), where no setting of
the target breaks them.

Where it stands: the SIP shim (`Fault.RELAY_MEDIA`, callee side) makes the target's
offer toward Teams name the relay's address as the target's media address and
candidate, and hands the relay the target's real candidate and ice-pwd. The Teams
endpoint then checks and streams to the relay; the relay forwards to the target from
its own socket, and everything the target sends back to the relay goes on to the
Teams endpoint. To the target, the relay is a peer-reflexive candidate of the Teams
side; to the Teams side, the relay is the target.

So that a faultless relay changes no verdict, a Binding success response from the
target is re-signed on its way through: its XOR-MAPPED-ADDRESS (the relay's address,
as the target saw it) becomes the Teams endpoint's own address, and MESSAGE-INTEGRITY
and FINGERPRINT are recomputed with the target's password (aioice packs it). Media
passes byte for byte.

Like the SIP shim it is a relay, not a re-implementation of the target: apart from
the one `RelayFault`, what reaches either side is what the other sent.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field

from aioice import stun as aio

from harness.faults.shim import ShimState
from harness.ice.stun import UNKNOWN_OPTIONAL_ATTRIBUTE, attribute_types, is_stun, parse
from harness.lab import Lab
from harness.net import Address, UdpEndpoint

__all__ = ["MediaRelay", "RelayFault", "RelayRecord"]


class RelayFault(enum.Enum):
    """The one thing the relay damages."""

    NONE = "none"
    """Relay everything (success responses re-signed, see the module docstring)."""
    DROP_ANSWER_TO_UNKNOWN_ATTRIBUTE = "drop-answer-to-unknown-attribute"
    """Drop the target's response to a check that carried the unregistered
    comprehension-optional attribute: a target that chokes on it (DR-STUN-1)."""
    ANSWER_MALFORMED = "answer-malformed"
    """Answer a truncated check, or one whose MESSAGE-INTEGRITY or FINGERPRINT does not
    verify, with a success response instead of passing it on: a target that does not
    validate what it answers (DR-STUN-2)."""
    MEDIA_FROM_ANOTHER_PORT = "media-from-another-port"
    """Send the target's media on to the Teams endpoint from a second port of the relay,
    not from the nominated candidate (DR-ICE-4)."""


@dataclass(frozen=True)
class RelayRecord:
    time: float
    direction: str  # "to target", "to teams"
    kind: str  # "stun", "media"
    action: str
    faulted: bool = False


@dataclass
class _Peers:
    teams: Address | None = None
    requests: dict[bytes, Address] = field(default_factory=dict)  # tid -> who asked
    dropped: set[bytes] = field(default_factory=set)


class MediaRelay:
    """``async with MediaRelay(lab, shim.state, fault=...) as relay`` (then give the shim's
    state ``relay = relay.address``); ``relay.fired`` counts faulted packets."""

    def __init__(self, lab: Lab, shim_state: ShimState, *, host: str = "shim",
                 fault: RelayFault = RelayFault.NONE) -> None:
        self.netns = lab.netns(host)
        self.ip = lab.address(host)
        self.shim_state = shim_state
        self.fault = fault
        self.log: list[RelayRecord] = []
        self._peers = _Peers()
        self._main: UdpEndpoint | None = None
        self._other: UdpEndpoint | None = None

    @property
    def address(self) -> Address:
        assert self._main is not None, "the relay is not open"
        return self._main.local

    @property
    def fired(self) -> int:
        return sum(1 for r in self.log if r.faulted)

    async def __aenter__(self) -> MediaRelay:
        self._main = await UdpEndpoint.open(self.netns, self.ip, 0, self._received)
        self._other = await UdpEndpoint.open(self.netns, self.ip, 0, lambda *a: None)
        self.shim_state.relay = self.address
        return self

    async def __aexit__(self, *exc: object) -> None:
        for udp in (self._main, self._other):
            if udp is not None:
                udp.close()
        self._main = self._other = None
        await asyncio.sleep(0)

    def _target(self) -> tuple[Address, str] | None:
        found = self.shim_state.relayed_ice
        return found[-1] if found else None

    def _note(self, now: float, direction: str, kind: str, action: str,
              faulted: bool = False) -> None:
        self.log.append(RelayRecord(now, direction, kind, action, faulted))

    def _received(self, data: bytes, source: Address, now: float) -> None:
        target = self._target()
        if target is None:
            self._note(now, "?", "?", "dropped: no target candidate learnt yet")
            return
        (address, pwd) = target
        if source == address:
            self._from_target(data, pwd, now)
        else:
            self._from_teams(data, source, address, pwd, now)

    # ------------------------------------------------------------------ Teams -> target

    def _from_teams(self, data: bytes, source: Address, target: Address, pwd: str,
                    now: float) -> None:
        assert self._main is not None
        self._peers.teams = source
        if not is_stun(data) or data[0] & 0x01 or data[1] & 0x10:  # media, or not a request
            self._main.sendto(data, target)
            self._note(now, "to target", "stun" if is_stun(data) else "media", "forwarded")
            return
        tid = data[8:20]
        self._peers.requests[tid] = source
        if self.fault is RelayFault.ANSWER_MALFORMED and not self._valid(data, pwd):
            reply = aio.Message(aio.Method.BINDING, aio.Class.RESPONSE, tid)
            reply.attributes["XOR-MAPPED-ADDRESS"] = source
            reply.add_message_integrity(pwd.encode())
            self._main.sendto(bytes(reply), source)
            self._note(now, "to teams", "stun", "answered a malformed check with success",
                       True)
            return
        if (self.fault is RelayFault.DROP_ANSWER_TO_UNKNOWN_ATTRIBUTE
                and UNKNOWN_OPTIONAL_ATTRIBUTE in attribute_types(data)):
            self._peers.dropped.add(tid)
        self._main.sendto(data, target)
        self._note(now, "to target", "stun", "forwarded")

    @staticmethod
    def _valid(data: bytes, pwd: str) -> bool:
        message, _ = parse(data)
        return message is not None and message.check_message_integrity(pwd.encode())

    # ------------------------------------------------------------------ target -> Teams

    def _from_target(self, data: bytes, pwd: str, now: float) -> None:
        assert self._main is not None and self._other is not None
        teams = self._peers.teams
        if teams is None:
            self._note(now, "to teams", "?", "dropped: the Teams side has not sent yet")
            return
        if not is_stun(data):
            sender = (self._other if self.fault is RelayFault.MEDIA_FROM_ANOTHER_PORT
                      else self._main)
            sender.sendto(data, teams)
            self._note(now, "to teams", "media", "forwarded",
                       sender is self._other)
            return
        tid = data[8:20]
        if tid in self._peers.dropped:
            self._note(now, "to teams", "stun", "dropped the answer to a check with an "
                       "unknown attribute", True)
            return
        asker = self._peers.requests.get(tid, teams)
        message, _ = parse(data)
        if message is not None and message.message_class == aio.Class.RESPONSE \
                and "XOR-MAPPED-ADDRESS" in message.attributes:
            message.attributes["XOR-MAPPED-ADDRESS"] = asker
            message.add_message_integrity(pwd.encode())
            data = bytes(message)
        self._main.sendto(data, asker)
        self._note(now, "to teams", "stun", "forwarded (re-signed)")
