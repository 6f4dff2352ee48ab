"""RFC 3261 §12 dialogs: creation on both sides, early dialogs, in-dialog requests.

A :class:`Dialog` is plain state; it never sends anything. The endpoint owns
the dialogs and drives them. One INVITE may create several early dialogs
(forking: one per To-tag of a 1xx); each is its own :class:`Dialog`.

Route set rules (§12.1.1 / §12.1.2): the UAS takes Record-Route from the
request in order; the UAC takes it from the response, reversed. The route
set is fixed once the dialog is confirmed (it is recomputed from the 2xx that
confirms an early dialog); a target refresh only changes the remote target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from harness.sip.headers import CSeq, NameAddr, SipUri, Via
from harness.sip.message import Request, Response, build_request

__all__ = ["Dialog", "DialogId", "DialogState", "TARGET_REFRESH_METHODS"]

DialogId = tuple[str, str, str]
"""``(call_id, local_tag, remote_tag)``."""

TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})
"""Methods whose requests and 2xx responses may change the remote target."""


class DialogState(Enum):
    """Dialog states (§12)."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass
class Dialog:
    """The state of one dialog, seen from our side."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    local_seq: int
    """Last CSeq number we used (0: none yet; the next request uses local_seq + 1)."""
    remote_seq: int | None
    """Last CSeq number received from the peer (None: none yet)."""
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    """Route header values (``<sip:...;lr>``) in the order they go into requests."""
    secure: bool = False
    state: DialogState = DialogState.EARLY
    local_target: str | None = None
    """Our Contact URI, put into target-refresh requests."""
    is_uac: bool = True
    """True if we sent the request that created the dialog."""
    invite_cseq: int | None = None
    """CSeq number of the INVITE that created (or last refreshed) the dialog."""

    @property
    def id(self) -> DialogId:
        """``(call_id, local_tag, remote_tag)``."""
        return (self.call_id, self.local_tag, self.remote_tag)

    # -- creation

    @classmethod
    def from_uac_response(
        cls, request: Request, response: Response, *, local_target: str | None = None
    ) -> Dialog:
        """Dialog of the UAC from a 101-299 response (with To-tag) to ``request`` (§12.1.2)."""
        tag = response.to.tag
        if tag is None:
            raise ValueError("a response without a To tag does not create a dialog")
        local = request.from_
        contact = response.contact
        return cls(
            call_id=request.call_id,
            local_tag=local.tag or "",
            remote_tag=tag,
            local_uri=str(local.uri),
            remote_uri=str(request.to.uri),
            local_seq=request.cseq.seq,
            remote_seq=None,
            remote_target=str(contact.uri) if contact else request.uri,
            route_set=[str(r) for r in reversed(response.record_routes)],
            secure=request.uri.lower().startswith("sips:"),
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
            local_target=local_target,
            is_uac=True,
            invite_cseq=request.cseq.seq,
        )

    @classmethod
    def from_uas_request(
        cls,
        request: Request,
        local_tag: str,
        *,
        state: DialogState = DialogState.EARLY,
        local_target: str | None = None,
    ) -> Dialog:
        """Dialog of the UAS from a dialog-creating request and our To-tag (§12.1.1)."""
        remote = request.from_
        contact = request.contact
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote.tag or "",
            local_uri=str(request.to.uri),
            remote_uri=str(remote.uri),
            local_seq=0,
            remote_seq=request.cseq.seq,
            remote_target=str(contact.uri) if contact else str(remote.uri),
            route_set=[str(r) for r in request.record_routes],
            secure=request.uri.lower().startswith("sips:"),
            state=state,
            local_target=local_target,
            is_uac=False,
            invite_cseq=request.cseq.seq,
        )

    # -- updates

    def confirm(self, response: Response | None = None) -> None:
        """Early -> confirmed. For a UAC, ``response`` is the 2xx: route set recomputed."""
        if response is not None and self.is_uac:
            self.route_set = [str(r) for r in reversed(response.record_routes)]
            self.refresh_target(response)
        self.state = DialogState.CONFIRMED

    def refresh_target(self, message: Request | Response) -> None:
        """Take the remote target from the Contact of a target refresh, if it has one."""
        contact = message.contact
        if contact is not None:
            self.remote_target = str(contact.uri)

    def terminate(self) -> None:
        """Mark the dialog terminated."""
        self.state = DialogState.TERMINATED

    # -- requests within the dialog (§12.2.1.1)

    @property
    def strict_routing(self) -> bool:
        """True if the first route is a strict (RFC 2543, no ``;lr``) router."""
        return bool(self.route_set) and not NameAddr.parse(self.route_set[0]).uri.lr

    def next_hop(self, request_uri: str, routes: Sequence[str]) -> tuple[str, int]:
        """Where to send (§8.1.2): the Request-URI when strict routing, else the first
        Route's URI if any, else the Request-URI."""
        if routes and not self.strict_routing:
            return NameAddr.parse(routes[0]).uri.address()
        return SipUri.parse(request_uri).address()

    def _uri_and_routes(self) -> tuple[str, list[str]]:
        if not self.route_set:
            return self.remote_target, []
        first = NameAddr.parse(self.route_set[0])
        if first.uri.lr:
            return self.remote_target, list(self.route_set)
        # Strict routing (RFC 2543 next hop): the first route becomes the
        # Request-URI and the remote target goes last in Route.
        return str(first.uri), [*self.route_set[1:], f"<{self.remote_target}>"]

    def create_request(
        self,
        method: str,
        *,
        via: Via | str | None = None,
        cseq: int | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        extra: Sequence[tuple[str, str]] = (),
    ) -> tuple[Request, tuple[str, int]]:
        """Build a request inside the dialog and the address of its next hop.

        CSeq: ``local_seq + 1`` (and local_seq advances) unless ``cseq`` is
        given; ACK and CANCEL never advance it. ``via=None`` builds the request
        without a Via (the endpoint inserts its own). Contact is added for
        target-refresh methods when ``local_target`` is known.
        """
        if cseq is None:
            if method in ("ACK", "CANCEL"):
                cseq = self.local_seq
            else:
                self.local_seq += 1
                cseq = self.local_seq
        uri, routes = self._uri_and_routes()
        contact = (
            f"<{self.local_target}>"
            if self.local_target and method in TARGET_REFRESH_METHODS
            else None
        )
        request = build_request(
            method,
            uri,
            via=via if via is not None else "",
            from_=NameAddr(SipUri.parse(self.local_uri), params={"tag": self.local_tag}),
            to=NameAddr(SipUri.parse(self.remote_uri), params={"tag": self.remote_tag}),
            call_id=self.call_id,
            cseq=CSeq(cseq, method),
            contact=contact,
            route=routes,
            body=body,
            content_type=content_type,
            extra=extra,
        )
        if via is None:
            request.headers.remove("Via")
        return request, self.next_hop(uri, routes)

    def create_ack(
        self,
        invite_cseq: int,
        *,
        via: Via | str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> tuple[Request, tuple[str, int]]:
        """The ACK for a 2xx (§13.2.2.4): CSeq number of the INVITE, method ACK."""
        return self.create_request(
            "ACK", via=via, cseq=invite_cseq, body=body, content_type=content_type
        )

    def accept_remote_cseq(self, seq: int) -> bool:
        """§12.2.2: a request with a CSeq lower than the last one is out of order (False)."""
        if self.remote_seq is not None and seq < self.remote_seq:
            return False
        self.remote_seq = seq
        return True
