"""A full, controlling ICE agent on one media port: what a Teams endpoint does toward an
ICE-Lite SBC (seed 003; RFC 8445).

It shares the `RtpEndpoint`'s socket (rtcp-mux, one component, STUN and SRTP
demultiplexed by their first byte, RFC 7983), offers one host candidate,
sends connectivity checks to the peer's candidates and nominates with
*regular* nomination: a check, then the same check again with USE-CANDIDATE
(RFC 8445 §8.1.1). Every STUN message in either direction is recorded with
its time, so the checks can judge what the target answered (DR-ICE-2), that
it never asked anything itself (DR-ICE-3) and where media went before and
after the nomination (DR-ICE-4, DR-EM-*). A Binding request from the target
is answered, as RFC 8445 asks of a full agent, and recorded as evidence.

The check logic is ours (it is small, and the negative cases need to send
bytes no library would); message encoding and integrity are aioice's
(`harness.ice.stun`).
"""

from __future__ import annotations

import asyncio
import secrets
import string

from aioice import stun as aio

from harness.endpoints.rtp import RtpEndpoint
from harness.evidence.records import CheckResult, StunRecord
from harness.ice.stun import BindingCheck, attribute_types, binding_request, binding_success, parse
from harness.net import Address
from harness.sdp.reading import RemoteIce

__all__ = ["CheckResult", "IceAgent", "RemoteIce", "StunRecord", "host_priority"]

_ICE_CHARS = string.ascii_letters + string.digits + "+/"


def host_priority(component: int = 1, local_preference: int = 65535) -> int:
    """RFC 8445 §5.1.2.1 priority of a host candidate (type preference 126)."""
    return (126 << 24) | (local_preference << 8) | (256 - component)


def _token(n: int) -> str:
    return "".join(secrets.choice(_ICE_CHARS) for _ in range(n))


class IceAgent:
    """ICE-full, controlling (by default), one component, on `rtp`'s socket."""

    def __init__(self, rtp: RtpEndpoint, *, controlling: bool = True,
                 local_preference: int = 65535, sibling: IceAgent | None = None) -> None:
        """`sibling`: another candidate of the same ICE session (another port of the same
        endpoint), whose ufrag, password, tie-breaker and STUN transcript (`records`) this
        one shares; its own priority comes from `local_preference` (RFC 8445 §5.1.2.1)."""
        self.rtp = rtp
        self.controlling = controlling
        if sibling is None:
            self.ufrag, self.pwd = _token(8), _token(24)
            self.tie_breaker = secrets.randbits(64)
        else:
            self.ufrag, self.pwd = sibling.ufrag, sibling.pwd
            self.tie_breaker = sibling.tie_breaker
        self.priority = host_priority(local_preference=local_preference)
        self.records: list[StunRecord] = sibling.records if sibling is not None else []
        self.checks: list[CheckResult] = []
        self.nominated: Address | None = None
        self.nominated_at: float | None = None
        self._pending: dict[bytes, asyncio.Future[tuple[bytes, float]]] = {}
        rtp.stun_handler = self._received

    @property
    def address(self) -> Address:
        return self.rtp.address, self.rtp.port

    def candidate(self) -> str:
        """Our host candidate, as the value of an a=candidate line."""
        host, port = self.address
        return f"1 1 UDP {self.priority} {host} {port} typ host"

    def sdp_attributes(self, *siblings: IceAgent) -> list[tuple[str, str | None]]:
        """ice-ufrag, ice-pwd, our host candidate (then the siblings') and rtcp-mux."""
        return [
            ("ice-ufrag", self.ufrag), ("ice-pwd", self.pwd),
            *(("candidate", agent.candidate()) for agent in (self, *siblings)),
            ("rtcp-mux", None),
        ]

    # ------------------------------------------------------------------ receiving

    def _received(self, data: bytes, source: Address, now: float) -> None:
        message, error = parse(data)
        if message is None:
            self.records.append(StunRecord(now, "received", source, data, f"invalid: {error}",
                                           local_port=self.rtp.port))
            return
        kind = {aio.Class.REQUEST: "request", aio.Class.RESPONSE: "success",
                aio.Class.ERROR: "error"}.get(message.message_class, "indication")
        self.records.append(StunRecord(now, "received", source, data, kind,
                                       message.transaction_id, self.rtp.port))
        if kind == "request":
            # A full agent answers any valid check; the target sending one is the evidence.
            if message.check_message_integrity(self.pwd.encode()):
                reply = binding_success(message, source, self.pwd)
                self._send(reply, source, "success", message.transaction_id)
            return
        pending = self._pending.pop(message.transaction_id, None)
        if pending is not None and not pending.done():
            pending.set_result((data, now))

    def _send(self, data: bytes, destination: Address, kind: str, tid: bytes = b"") -> float:
        now = asyncio.get_running_loop().time()
        self.rtp.send_raw(data, destination)
        self.records.append(StunRecord(now, "sent", destination, data, kind, tid,
                                       self.rtp.port))
        return now

    def send_raw(self, data: bytes, destination: Address, kind: str = "raw") -> None:
        """Send deliberately made bytes to the peer (negative cases), recorded as `kind`."""
        self._send(data, destination, kind)

    # ------------------------------------------------------------------ checks

    def _binding(self, remote: RemoteIce, use_candidate: bool) -> BindingCheck:
        return BindingCheck(self.ufrag, remote.ufrag, remote.pwd, self.priority,
                            self.tie_breaker, use_candidate, self.controlling)

    async def check(
        self, remote: RemoteIce, candidate: Address, *, use_candidate: bool = False,
        request: bytes | None = None, rto: float = 0.1, attempts: int = 5,
    ) -> CheckResult:
        """Send one check to `candidate` (retransmitted RFC 8489 style: 100 ms, doubling)
        and judge its answer: a success response with XOR-MAPPED-ADDRESS equal to our
        address, MESSAGE-INTEGRITY under the peer's password and a FINGERPRINT."""
        data = request or binding_request(self._binding(remote, use_candidate))
        tid = data[8:20]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[bytes, float]] = loop.create_future()
        self._pending[tid] = future
        sent_at = loop.time()
        # The list keeps the order the checks were sent in, also when several are in flight.
        index = len(self.checks)
        self.checks.append(CheckResult(candidate, use_candidate, sent_at, data))
        wait = rto
        try:
            for _ in range(attempts):
                self._send(data, candidate, "request", tid)
                try:
                    response, at = await asyncio.wait_for(asyncio.shield(future), wait)
                    break
                except TimeoutError:
                    wait *= 2
            else:
                result = CheckResult(candidate, use_candidate, sent_at, data, problems=(
                    f"no response from {candidate[0]}:{candidate[1]} to {attempts} "
                    "transmissions",))
                self.checks[index] = result
                return result
        finally:
            self._pending.pop(tid, None)
        problems, mapped = self._judge(response, remote)
        result = CheckResult(candidate, use_candidate, sent_at, data, response, at,
                             tuple(problems), mapped, tuple(attribute_types(response)))
        self.checks[index] = result
        if use_candidate and result.succeeded:
            self.nominated, self.nominated_at = candidate, at
        return result

    def _judge(self, response: bytes, remote: RemoteIce) -> tuple[list[str], Address | None]:
        """What is wrong with a check's response, and the address it says it saw."""
        message, error = parse(response)
        if message is None:
            return [f"the response does not parse: {error}"], None
        if message.message_class != aio.Class.RESPONSE:
            code = message.attributes.get("ERROR-CODE")
            return [f"an error response ({code}) instead of a success"], None
        problems: list[str] = []
        mapped: Address | None = None
        xor_mapped = message.attributes.get("XOR-MAPPED-ADDRESS")
        if xor_mapped is None:
            problems.append("no XOR-MAPPED-ADDRESS")
        else:
            mapped = (str(xor_mapped[0]), int(xor_mapped[1]))
            if mapped != self.address:
                problems.append(f"XOR-MAPPED-ADDRESS {mapped[0]}:{mapped[1]} is not "
                                f"our address {self.address[0]}:{self.address[1]}")
        if "MESSAGE-INTEGRITY" not in message.attributes:
            problems.append("no MESSAGE-INTEGRITY")
        elif not message.check_message_integrity(remote.pwd.encode()):
            problems.append("MESSAGE-INTEGRITY does not verify with the peer's ice-pwd")
        if "FINGERPRINT" not in message.attributes:
            problems.append("no FINGERPRINT")
        return problems, mapped

    async def nominate(self, remote: RemoteIce, candidate: Address) -> CheckResult:
        """Regular nomination: a plain check first, then the same pair with USE-CANDIDATE."""
        first = await self.check(remote, candidate)
        if not first.succeeded:
            return first
        return await self.check(remote, candidate, use_candidate=True)
