"""A fault-injecting SIP relay ("shim"): proves that each conformance check can FAIL.

Placed between an endpoint and the real target, the shim forwards UDP datagrams
between two fixed peers and damages exactly one thing on purpose (a `Fault`):
drops the first 18x, swallows CANCELs, rewrites a To-tag or an SDP. A
self-test then runs a check on the damaged call and must see it fail.

Why a relay and not a B2BUA: a B2BUA terminates both legs and re-originates
every message, so it would change Via, Call-ID, tags, CSeq and timing along
with the one fault, and the self-test would no longer prove that *that* fault
is what the check caught. The shim keeps both ends' transactions and dialogs
intact and only edits bytes in flight. It is hand-written, not built on
`SipEndpoint`, for the same reason the SIP core is ours: byte-level control.
A datagram the fault leaves alone is forwarded byte for byte; a changed one
is re-serialised from the parsed message with a correct Content-Length.

The fault logic is the pure function `apply_fault(fault, message, state)`;
`SipShim` is the socket around it.

Forwarding rule: a datagram from ``downstream`` goes to the upstream peer
(the fixed ``upstream`` when given, else the last peer that sent to the shim);
a datagram from anyone else makes that peer the upstream peer and goes to
``downstream``. The shim sends from its one socket, so the peers see the
shim's address as the source of everything it relays.

Two placements:

1. **Caller side** (`captured_call_via_shim`): the caller sends its INVITE
   (and CANCEL) to the shim, ``downstream`` is the target's SIP address. The
   caller's Via carries ``;rport``, so the target answers to the source of the
   request (the shim), which relays the responses to the caller. In-dialog
   requests (ACK for a 2xx, BYE, re-INVITE) follow the target's Record-Route
   and the remote Contact, so they go to the target directly and **bypass the
   shim**; the ACK for a non-2xx final goes to where the INVITE went (the shim).
   With ``in_dialog=True`` the shim stays on the caller's in-dialog path as a
   record-routing proxy in front of the target would: it appends a Record-Route
   of its own to the 1xx/2xx of an initial INVITE (last in the list, so the
   caller's route set starts with the shim) and takes its own Route entry off
   the requests it relays. That is how a fault reaches a re-INVITE's answer
   (OLD_SDP_IN_REINVITE_ANSWER). The callee never sees the shim.
2. **Callee side**: the Request-URI dialled through the target names the shim
   (e.g. ``sip:proxy@198.18.0.5:5060``) and ``downstream`` is one callee's
   ``(address, 5060)``. The target's INVITE and CANCEL for that branch pass the
   shim. A callee that answers to the request's source (the harness's agents
   do, as with rport) sends its responses back through the shim; one that
   follows the top Via (the target's, without rport) answers the target
   directly. So this placement is for faults in requests, e.g. SWALLOW_CANCEL
   of the target's CANCEL to one forked branch.

Only SIP is judged: a datagram that does not parse as SIP is forwarded
unchanged. Media never goes to the shim (the SDP names the endpoints or the
target, never the shim), so it relays no RTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from harness.errors import HarnessError
from harness.evidence.call import CallOutcome, CallPlan
from harness.lab import Lab
from harness.net import Address, UdpEndpoint
from harness.scenarios.captured import captured_call
from harness.sdp import (
    Candidate,
    Connection,
    CryptoAttribute,
    SdpParseError,
    SessionDescription,
    effective_address,
)
from harness.sip import (
    Message,
    NameAddr,
    Request,
    Response,
    SipParseError,
    parse_message,
)
from harness.sip.message import canonical_name
from harness.targets.base import Target

__all__ = [
    "UNREACHABLE_ADDRESS",
    "Fault",
    "ShimRecord",
    "ShimState",
    "SipShim",
    "apply_fault",
    "stay_in_route",
    "captured_call_via_shim",
]

UNREACHABLE_ADDRESS = "198.18.0.99"
"""In the lab's range, on no host: media sent there goes nowhere."""


class Fault(enum.Enum):
    """The one thing the shim damages. Each is keyed per Call-ID."""

    NONE = "none"
    """Relay everything unchanged."""
    DROP_18X = "drop-18x"
    """Drop the first 18x (to an INVITE) carrying a To-tag; later 18x pass."""
    REUSE_TO_TAG = "reuse-to-tag"
    """Give every 18x/2xx to an INVITE the To-tag of the first one: two branches, one dialog."""
    REWRITE_SDP_ADDRESS = "rewrite-sdp-address"
    """Set every c= of every SDP body (requests and responses) to `UNREACHABLE_ADDRESS`."""
    SWALLOW_CANCEL = "swallow-cancel"
    """Drop every CANCEL request."""
    OLD_SDP_IN_REINVITE_ANSWER = "old-sdp-in-reinvite-answer"
    """Answer a re-INVITE's 2xx with the SDP of the 2xx to the initial INVITE."""
    REDIRECT_EARLY_MEDIA = "redirect-early-media"
    """In the 2nd, 3rd... 18x with SDP, put the c= address and m= port of the first one."""
    NEW_ICE_CREDENTIALS_IN_200 = "new-ice-credentials-in-200"
    """In the 2xx to an INVITE, replace a=ice-ufrag and a=ice-pwd with new values."""
    DROP_NON_AUDIO_MEDIA = "drop-non-audio-media"
    """In every 18x/2xx SDP to an INVITE, remove the m-sections that are not audio."""
    NEW_CRYPTO_KEY_IN_200 = "new-crypto-key-in-200"
    """In the 2xx to an INVITE, replace each a=crypto key with a new one of the same suite."""
    NEW_ICE_CREDENTIALS_IN_REINVITE_ANSWER = "new-ice-credentials-in-reinvite-answer"
    """In the 2xx to a re-INVITE only, replace a=ice-ufrag and a=ice-pwd (an ICE restart)."""
    RELAY_MEDIA = "relay-media"
    """In the SDP of an initial INVITE (callee side: the target's offer toward Teams), name
    ``ShimState.relay`` instead of the target's media: c=, m= port, a=rtcp and every
    a=candidate. The target's candidate and ice-pwd go to ``ShimState.relayed_ice``, for
    the `harness.faults.media_relay.MediaRelay` that then stands between the two."""
    STRIP_MKI = "strip-mki"
    """In every 18x/2xx SDP to an INVITE, drop the ``|<mki>:<length>`` of each a=crypto key:
    what a target that ignores MKI would make of the answer (callee side)."""


@dataclass
class ShimState:
    """What the faults remember between messages, per Call-ID."""

    dropped_18x: set[str] = field(default_factory=set)
    first_to_tag: dict[str, str] = field(default_factory=dict)
    initial_invite_cseq: dict[str, int] = field(default_factory=dict)
    reinvite_cseqs: dict[str, set[int]] = field(default_factory=dict)
    initial_answer: dict[str, bytes] = field(default_factory=dict)  # SDP of the first 2xx
    early_sdp_count: dict[str, int] = field(default_factory=dict)
    first_early_media: dict[str, Address] = field(default_factory=dict)  # (c= address, port)
    relay: Address | None = None  # RELAY_MEDIA: where the media relay listens
    relayed_ice: list[tuple[Address, str]] = field(default_factory=list)  # (candidate, pwd)


FaultResult = tuple[Message | None, str | None]
"""(message to send, or None: dropped; what was done, or None: left alone)."""


# --------------------------------------------------------------------------- helpers


def _is_sdp(message: Message) -> bool:
    ctype = message.content_type
    return bool(message.body) and ctype is not None and (
        ctype.split(";")[0].strip().lower() == "application/sdp"
    )


def _sdp(message: Message) -> SessionDescription | None:
    if not _is_sdp(message):
        return None
    try:
        return SessionDescription.parse(message.body)
    except SdpParseError:
        return None  # not ours to judge: forwarded as it is


def _invite_response(message: Message) -> Response | None:
    if isinstance(message, Response) and message.cseq.method == "INVITE":
        return message
    return None


def _is_18x(status: int) -> bool:
    return status // 10 == 18


def _connections(sd: SessionDescription) -> list[Connection]:
    found = [sd.connection] if sd.connection is not None else []
    return found + [md.connection for md in sd.media if md.connection is not None]


def _first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0][:120].decode("utf-8", "replace")


# --------------------------------------------------------------------------- the faults


def _none(message: Message, state: ShimState) -> FaultResult:
    return message, None


def _drop_18x(message: Message, state: ShimState) -> FaultResult:
    response = _invite_response(message)
    if response is None or not _is_18x(response.status) or response.to.tag is None:
        return message, None
    if response.call_id in state.dropped_18x:
        return message, None
    state.dropped_18x.add(response.call_id)
    return None, f"dropped the first {response.status} with a To-tag of this call"


def _reuse_to_tag(message: Message, state: ShimState) -> FaultResult:
    response = _invite_response(message)
    if response is None or not (_is_18x(response.status) or 200 <= response.status < 300):
        return message, None
    tag = response.to.tag
    if tag is None:
        return message, None
    first = state.first_to_tag.setdefault(response.call_id, tag)
    if tag == first:
        return message, None
    name = next((n for n, _ in response.headers if canonical_name(n) == "To"), "To")
    response.headers.set(name, str(response.to.with_tag(first)))
    return response, f"To-tag {tag} -> {first}"


def _rewrite_sdp_address(message: Message, state: ShimState) -> FaultResult:
    sd = _sdp(message)
    if sd is None:
        return message, None
    before = sorted({c.address for c in _connections(sd) if c.address != UNREACHABLE_ADDRESS})
    if not before:
        return message, None
    for conn in _connections(sd):
        conn.address = UNREACHABLE_ADDRESS
    message.set_body(bytes(sd))
    return message, f"c= {', '.join(before)} -> {UNREACHABLE_ADDRESS}"


def _swallow_cancel(message: Message, state: ShimState) -> FaultResult:
    if isinstance(message, Request) and message.method == "CANCEL":
        return None, "swallowed the CANCEL"
    return message, None


def _reinvite_2xx(message: Message, state: ShimState) -> Response | None:
    """The 2xx to a re-INVITE, telling it from the initial INVITE's by the CSeqs seen (and
    remembering the initial answer's SDP); None for anything else."""
    call_id = message.call_id
    if isinstance(message, Request):
        if message.method == "INVITE":
            seq = message.cseq.seq
            if message.to.tag is None:
                state.initial_invite_cseq.setdefault(call_id, seq)
            else:
                state.reinvite_cseqs.setdefault(call_id, set()).add(seq)
        return None
    response = _invite_response(message)
    if response is None or not 200 <= response.status < 300:
        return None
    seq = response.cseq.seq
    initial = state.initial_invite_cseq.get(call_id)
    reinvite = seq in state.reinvite_cseqs.get(call_id, set()) or (
        initial is not None and seq != initial
    )
    if not reinvite:
        state.initial_invite_cseq.setdefault(call_id, seq)
        if _is_sdp(response):
            state.initial_answer.setdefault(call_id, response.body)
        return None
    return response


def _old_sdp_in_reinvite_answer(message: Message, state: ShimState) -> FaultResult:
    response = _reinvite_2xx(message, state)
    if response is None:
        return message, None
    old = state.initial_answer.get(response.call_id)
    if old is None or response.body == old:
        return message, None
    response.set_body(old, "application/sdp")
    return response, (f"SDP of the 2xx to re-INVITE (CSeq {response.cseq.seq}) replaced by "
                      "the initial answer")


def _new_ice_in_reinvite_answer(message: Message, state: ShimState) -> FaultResult:
    response = _reinvite_2xx(message, state)
    if response is None:
        return message, None
    return _new_ice_credentials(response, state)


def _redirect_early_media(message: Message, state: ShimState) -> FaultResult:
    response = _invite_response(message)
    if response is None or not _is_18x(response.status):
        return message, None
    sd = _sdp(response)
    if sd is None or not sd.media:
        return message, None
    try:
        here = (effective_address(sd, 0), sd.media[0].port)
    except SdpParseError:
        return message, None  # no c= for the first stream: nothing to compare or copy
    call_id = response.call_id
    n = state.early_sdp_count[call_id] = state.early_sdp_count.get(call_id, 0) + 1
    first = state.first_early_media.setdefault(call_id, here)
    if n < 2 or here == first:
        return message, None
    for conn in _connections(sd):
        conn.address = first[0]
    sd.media[0].port = first[1]
    response.set_body(bytes(sd))
    return response, (
        f"early media of 18x #{n} {here[0]}:{here[1]} -> {first[0]}:{first[1]} (the first 18x's)"
    )


def _answer_sdp(message: Message, final_only: bool) -> tuple[Response, SessionDescription] | None:
    response = _invite_response(message)
    if response is None:
        return None
    wanted = 200 <= response.status < 300 or (not final_only and _is_18x(response.status))
    sd = _sdp(response) if wanted else None
    return (response, sd) if sd is not None and sd.media else None


def _new_ice_credentials(message: Message, state: ShimState) -> FaultResult:
    found = _answer_sdp(message, final_only=True)
    if found is None:
        return message, None
    response, sd = found
    changed = []
    for section in (sd, *sd.media):
        for name, size in (("ice-ufrag", 8), ("ice-pwd", 24)):
            for attr in section.get_attributes(name):
                attr.value = "x" + secrets.token_hex(size)[: size - 1]
                changed.append(name)
    if not changed:
        return message, None
    response.set_body(bytes(sd))
    return response, f"new {' and '.join(sorted(set(changed)))} in the {response.status}"


def _drop_non_audio(message: Message, state: ShimState) -> FaultResult:
    found = _answer_sdp(message, final_only=False)
    if found is None:
        return message, None
    response, sd = found
    dropped = [md.kind for md in sd.media if md.kind != "audio"]
    if not dropped:
        return message, None
    sd.media = [md for md in sd.media if md.kind == "audio"]
    response.set_body(bytes(sd))
    return response, f"dropped m={', m='.join(dropped)} from the {response.status}"


def _edit_crypto(message: Message, final_only: bool,
                 edit: Callable[[CryptoAttribute], CryptoAttribute | None], what: str,
                 ) -> FaultResult:
    """Apply `edit` to each a=crypto of an INVITE's 2xx (and 18x unless `final_only`); it
    returns the new line or None to leave one alone."""
    found = _answer_sdp(message, final_only=final_only)
    if found is None:
        return message, None
    response, sd = found
    changed = 0
    for md in sd.media:
        for attr in md.get_attributes("crypto"):
            new = edit(CryptoAttribute.parse(attr.value or ""))
            if new is not None:
                attr.value = str(new)
                changed += 1
    if not changed:
        return message, None
    response.set_body(bytes(sd))
    return response, f"{what} in {changed} a=crypto line(s) of the {response.status}"


def _new_crypto_key(message: Message, state: ShimState) -> FaultResult:
    return _edit_crypto(message, True, lambda old: CryptoAttribute.generate(old.tag, old.suite),
                        "key replaced")


def _without_mki(crypto: CryptoAttribute) -> CryptoAttribute | None:
    keyed = [key for key in crypto.key_params if key.mki is not None]
    for key in keyed:
        key.mki = key.mki_length = None
    return crypto if keyed else None


def _relay_media(message: Message, state: ShimState) -> FaultResult:
    if (not isinstance(message, Request) or message.method != "INVITE"
            or message.to.tag is not None or state.relay is None):
        return message, None
    sd = _sdp(message)
    if sd is None or not sd.media or sd.media[0].port == 0:
        return message, None
    ip, port = state.relay
    md = sd.media[0]
    session_pwd = sd.get_attribute("ice-pwd")
    pwd = md.ice_pwd or (session_pwd.value if session_pwd is not None else None)
    candidates = md.get_attributes("candidate")
    if not candidates or not pwd:
        return message, None
    for attr in candidates:
        candidate = Candidate.parse(attr.value or "")
        if candidate.component == 1:
            state.relayed_ice.append(((candidate.ip, candidate.port), str(pwd)))
        candidate.ip, candidate.port = ip, port
        attr.value = str(candidate)
    for conn in _connections(sd):
        conn.address = ip
    md.port = port
    for attr in md.get_attributes("rtcp"):
        attr.value = str(port)
    message.set_body(bytes(sd))
    return message, f"media and {len(candidates)} candidate(s) now at the relay {ip}:{port}"


def _strip_mki(message: Message, state: ShimState) -> FaultResult:
    return _edit_crypto(message, False, _without_mki, "MKI dropped")


_FAULTS: dict[Fault, Callable[[Message, ShimState], FaultResult]] = {
    Fault.NONE: _none,
    Fault.DROP_18X: _drop_18x,
    Fault.REUSE_TO_TAG: _reuse_to_tag,
    Fault.REWRITE_SDP_ADDRESS: _rewrite_sdp_address,
    Fault.SWALLOW_CANCEL: _swallow_cancel,
    Fault.OLD_SDP_IN_REINVITE_ANSWER: _old_sdp_in_reinvite_answer,
    Fault.REDIRECT_EARLY_MEDIA: _redirect_early_media,
    Fault.NEW_ICE_CREDENTIALS_IN_200: _new_ice_credentials,
    Fault.DROP_NON_AUDIO_MEDIA: _drop_non_audio,
    Fault.NEW_CRYPTO_KEY_IN_200: _new_crypto_key,
    Fault.NEW_ICE_CREDENTIALS_IN_REINVITE_ANSWER: _new_ice_in_reinvite_answer,
    Fault.STRIP_MKI: _strip_mki,
    Fault.RELAY_MEDIA: _relay_media,
}


def apply_fault(fault: Fault, message: Message, state: ShimState) -> FaultResult:
    """Apply `fault` to one parsed message; pure apart from `state` (and `message`).

    Returns ``(None, what)`` to drop it, ``(message, what)`` when it was changed
    (edited in place, Content-Length kept in step), ``(message, None)`` when the
    fault left it alone. `state` is what the fault remembers between messages.
    """
    return _FAULTS[fault](message, state)


def stay_in_route(
    message: Message, direction: str, shim: Address, initial_invites: set[tuple[str, int]]
) -> bool:
    """Keep the shim at `shim` on the caller's in-dialog path, as a record-routing proxy
    in front of the target would; True when `message` was changed (in place).

    Requests on their way ``downstream`` lose a first Route entry naming the shim; an
    initial INVITE is remembered in `initial_invites` (Call-ID, CSeq). Its 1xx/2xx on
    their way ``upstream`` get a Record-Route of the shim appended after the target's
    (last in the list, so the caller's route set, reversed, starts with the shim).
    A target that does not record-route is left alone.
    """
    if isinstance(message, Request):
        if message.method == "INVITE" and message.to.tag is None:
            initial_invites.add((message.call_id, message.cseq.seq))
        routes = message.headers.get_all("Route")
        first = NameAddr.parse(routes[0]).uri if routes else None
        if direction != "downstream" or first is None or (first.host, first.port or 5060) != shim:
            return False
        if routes[1:]:
            message.headers.set("Route", ", ".join(routes[1:]))
        else:
            message.headers.remove("Route")
        return True
    if (direction == "upstream" and 100 < message.status < 300
            and message.cseq.method == "INVITE"
            and (message.call_id, message.cseq.seq) in initial_invites
            and "Record-Route" in message.headers):
        message.headers.add("Record-Route", f"<sip:{shim[0]}:{shim[1]};lr>")
        return True
    return False


# --------------------------------------------------------------------------- the relay


@dataclass(frozen=True)
class ShimRecord:
    """One datagram through the shim and what was done to it."""

    time: float
    direction: Literal["downstream", "upstream"]  # where it was headed
    source: Address
    destination: Address | None  # None: dropped before a destination was known
    first_line: str
    action: str  # "forwarded", "dropped: ...", "rewritten: ..."
    faulted: bool  # the fault dropped or changed it


class SipShim:
    """A UDP relay in the lab's ``shim`` host that injects one `Fault` into SIP.

    ``async with SipShim(lab, downstream=target.sip_address, fault=...) as shim``;
    afterwards ``shim.log`` says what crossed it and ``shim.fired`` how many
    messages the fault changed or dropped.
    """

    def __init__(
        self, lab: Lab, *, host: str = "shim", port: int = 5060,
        upstream: Address | None = None, downstream: Address, fault: Fault = Fault.NONE,
        in_dialog: bool = False,
    ) -> None:
        self.netns = lab.netns(host)
        self.address: Address = (lab.address(host), port)
        self.in_dialog = in_dialog
        self._initial_invites: set[tuple[str, int]] = set()
        self.upstream = upstream
        self.downstream = downstream
        self.fault = fault
        self.state = ShimState()
        self.log: list[ShimRecord] = []
        self._last_upstream: Address | None = None
        self._udp: UdpEndpoint | None = None

    @property
    def fired(self) -> int:
        """How many messages the fault changed or dropped so far."""
        return sum(1 for r in self.log if r.faulted)

    async def start(self) -> SipShim:
        self._udp = await UdpEndpoint.open(self.netns, *self.address, self._received)
        return self

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    async def __aenter__(self) -> SipShim:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await asyncio.sleep(0)  # let the transport release the port before the next shim binds

    def _received(self, data: bytes, source: Address, now: float) -> None:
        direction: Literal["downstream", "upstream"]
        destination: Address | None
        if source == self.downstream:
            direction, destination = "upstream", self.upstream or self._last_upstream
        else:
            self._last_upstream = source
            direction, destination = "downstream", self.downstream
        first = _first_line(data)

        def record(action: str, faulted: bool) -> None:
            self.log.append(
                ShimRecord(now, direction, source, destination, first, action, faulted)
            )

        if destination is None:
            record("dropped: no upstream peer has sent anything yet", False)
            return
        out, note = self._apply(data, direction)
        if out is None:
            record(f"dropped: {note}", True)
            return
        self._send(out, destination)
        record(f"rewritten: {note}" if note else "forwarded", note is not None)

    def _apply(
        self, data: bytes, direction: Literal["downstream", "upstream"]
    ) -> tuple[bytes | None, str | None]:
        if not data.strip(b"\r\n"):
            return data, None  # keep-alive
        try:
            message = parse_message(data)
            routed = self.in_dialog and stay_in_route(
                message, direction, self.address, self._initial_invites)
            out, note = apply_fault(self.fault, message, self.state)
        except SipParseError:
            return data, None  # not SIP (or a header the fault needs is malformed): as is
        if out is None:
            return None, note
        if note is not None or routed:
            return bytes(out), note
        return data, None

    def _send(self, data: bytes, destination: Address) -> None:
        if self._udp is None:
            raise HarnessError("the shim is not started")
        self._udp.sendto(data, destination)


# --------------------------------------------------------------------------- a captured call


async def captured_call_via_shim(
    plan: CallPlan, lab: Lab, target: Target, shim: SipShim, *, packets: int = 10
) -> CallOutcome:
    """`harness.scenarios.captured.captured_call` with the caller's INVITE sent to the shim.

    The shim must be started with ``downstream=target.sip_address`` (caller-side
    placement). Same capture as `captured_call`; the ladder names the shim.
    """
    if shim.downstream != target.sip_address:
        raise HarnessError(
            f"the shim relays to {shim.downstream}, not to the target at {target.sip_address}"
        )
    outcome = await captured_call(plan, lab, target, packets=packets, sip_target=shim.address,
                                  more_names={"shim": shim.address[0]})
    return dataclasses.replace(outcome, notes=(
        *outcome.notes, f"signalling via the shim at {shim.address[0]}:{shim.address[1]}, "
        f"fault {shim.fault.name}, fired {shim.fired} time(s)"))
