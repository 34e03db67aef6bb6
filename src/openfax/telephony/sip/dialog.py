"""SIP dialogs (RFC 3261 section 12, re-INVITE rules of section 14) without I/O.

A :class:`Dialog` holds the state both ends share after an INVITE: Call-ID, tags, CSeq
numbers, the remote target and the route set. It builds the requests sent inside it
(re-INVITE to T.38, BYE, the ACK of a 2xx) with loose or strict routing, checks the requests
received in it, and keeps the re-INVITE rules: a re-INVITE crossing ours is refused with 491
(glare), one arriving while an earlier one is unanswered with 500.
"""

from __future__ import annotations

import enum
import random
import secrets
from dataclasses import dataclass

from openfax.errors import SipParseError, SipTransactionError
from openfax.telephony.sip.headers import NameAddr, SipUri, Via
from openfax.telephony.sip.message import Headers, Request, Response
from openfax.telephony.sip.transaction import MAGIC_COOKIE

TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})
"""Requests whose Contact replaces the remote target (RFC 3261 12.2, RFC 3311)."""


def new_branch() -> str:
    """A fresh Via branch: the magic cookie and 64 random bits."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def requires(message: Request | Response, option: str) -> bool:
    """True when a message's Require header names ``option`` (``100rel``, ``timer``)."""
    return option in {value.lower() for value in message.headers.get_all("Require")}


def new_tag() -> str:
    """A fresh From/To tag (RFC 3261 19.3: at least 32 random bits)."""
    return secrets.token_hex(6)


class DialogState(enum.Enum):
    """Early (after a 1xx with a To tag), confirmed (after a 2xx), terminated (BYE)."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class Refusal:
    """A request received in the dialog must be answered with this status, not processed."""

    status: int
    reason: str
    retry_after: int | None = None


class Dialog:
    """One dialog, seen from this end. Build it with :meth:`as_uac` or :meth:`as_uas`."""

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local: NameAddr,
        remote: NameAddr,
        remote_target: str,
        route_set: tuple[str, ...],
        local_contact: str,
        local_seq: int,
        remote_seq: int | None,
        is_uac: bool,
        state: DialogState,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local = local
        self.remote = remote
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_contact = local_contact
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.is_uac = is_uac
        self.state = state
        self._invite_sent: int | None = None
        self._invite_received: int | None = None
        self._rseq: int | None = None

    @classmethod
    def as_uac(cls, invite: Request, response: Response) -> Dialog:
        """The dialog a 1xx (with a To tag) or 2xx to our INVITE creates (RFC 3261 12.1.2):
        route set from Record-Route reversed, remote target from Contact."""
        if response.status >= 300:
            raise SipTransactionError(f"a {response.status} response creates no dialog")
        remote = response.to
        if remote.tag is None:
            raise SipParseError(f"{response.status} response without a To tag creates no dialog")
        local = invite.from_
        if local.tag is None:
            raise SipTransactionError("the INVITE was sent without a From tag")
        contacts = response.contacts
        return cls(
            call_id=invite.call_id,
            local_tag=local.tag,
            remote_tag=remote.tag,
            local=local,
            remote=remote,
            remote_target=contacts[0].uri if contacts else remote.uri,
            route_set=tuple(reversed(_uris(response.headers.get_all("Record-Route")))),
            local_contact=invite.contacts[0].uri if invite.contacts else local.uri,
            local_seq=invite.cseq.number,
            remote_seq=None,
            is_uac=True,
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
        )

    @classmethod
    def as_uas(
        cls, invite: Request, *, local_tag: str, local_contact: str, confirmed: bool = True
    ) -> Dialog:
        """The dialog our response to an INVITE creates (RFC 3261 12.1.1): route set from
        Record-Route in order, remote target from the INVITE's Contact."""
        remote = invite.from_
        if remote.tag is None:
            raise SipParseError("INVITE without a From tag")
        contacts = invite.contacts
        if len(contacts) != 1 or contacts[0].uri == "*":
            raise SipParseError("an INVITE must carry exactly one Contact URI")
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=remote.tag,
            local=invite.to.with_params(tag=local_tag),
            remote=remote,
            remote_target=contacts[0].uri,
            route_set=tuple(_uris(invite.headers.get_all("Record-Route"))),
            local_contact=local_contact,
            local_seq=random.randrange(1, 2**16),
            remote_seq=invite.cseq.number,
            is_uac=False,
            state=DialogState.CONFIRMED if confirmed else DialogState.EARLY,
        )

    @property
    def id(self) -> tuple[str, str, str]:
        """Call-ID, local tag, remote tag: the dialog's identity."""
        return (self.call_id, self.local_tag, self.remote_tag)

    def confirm(self, response: Response | None = None) -> None:
        """Move an early dialog to confirmed (the 2xx was sent or received); the UAC takes
        the 2xx's Contact as target and its Record-Route as route set (RFC 3261 13.2.2.4)."""
        if response is not None:
            self._refresh_target(response)
            if self.is_uac:
                self.route_set = tuple(reversed(_uris(response.headers.get_all("Record-Route"))))
        self.state = DialogState.CONFIRMED

    def prack(self, response: Response, via: Via) -> Request | None:
        """The PRACK of a reliable provisional response to our INVITE in this early dialog
        (RFC 3262 4, 7.2): RAck is its RSeq, then the INVITE's CSeq number and method. The
        first one sets the RSeq; then only the next number is acknowledged. None for a
        retransmission, one out of order, or an RSeq that is not a number from 1 to
        2**31 - 1: such a response is neither acknowledged nor processed again."""
        value = (response.headers.get("RSeq") or "").strip()
        if not value.isdigit() or not 1 <= int(value) < 2**31:
            return None
        rseq = int(value)
        if self._rseq is not None and rseq != self._rseq + 1:
            return None
        self._rseq = rseq
        rack = f"{rseq} {response.cseq.number} {response.cseq.method}"
        return self.request("PRACK", via, headers=(("RAck", rack),))

    def request(
        self,
        method: str,
        via: Via,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        cseq: int | None = None,
    ) -> Request:
        """A request inside the dialog (RFC 3261 12.2.1.1). ``via`` is this hop's Via, to
        which a fresh branch is given. ACK and CANCEL take ``cseq`` (the INVITE's number);
        other methods take the next local number. A re-INVITE sent is remembered until
        :meth:`invite_finished`, for the glare rule."""
        if self.state is DialogState.TERMINATED:
            raise SipTransactionError(f"cannot send {method} in a terminated dialog")
        if method in ("ACK", "CANCEL"):
            if cseq is None:
                raise SipTransactionError(f"{method} needs the CSeq number of its INVITE")
            number = cseq
        else:
            if method == "INVITE" and self._invite_sent is not None:
                raise SipTransactionError("a re-INVITE is already in progress in this dialog")
            self.local_seq += 1
            number = self.local_seq
        uri, routes = self._target_and_routes()
        fields = [
            ("Via", str(via.with_params(branch=new_branch()))),
            *(("Route", f"<{route}>") for route in routes),
            ("Max-Forwards", "70"),
            ("From", str(self.local)),
            ("To", str(self.remote)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{number} {method}"),
        ]
        if method in TARGET_REFRESH:
            fields.append(("Contact", f"<{self.local_contact}>"))
        if method == "INVITE":
            self._invite_sent = number
        return Request(method=method, uri=uri, headers=Headers.of([*fields, *headers]), body=body)

    def invite_finished(self, response: Response) -> None:
        """Our re-INVITE got its final response: a 2xx refreshes the remote target."""
        if self._invite_sent is not None and response.cseq.number == self._invite_sent:
            self._invite_sent = None
            if 200 <= response.status < 300:
                self._refresh_target(response)

    def receive(self, request: Request) -> Refusal | None:
        """Check a request received in this dialog (RFC 3261 12.2.2, 14.2). Returns None when
        it may be processed, or the refusal to answer with: 500 for a CSeq lower than the
        last, 491 for a re-INVITE crossing ours, 500 with Retry-After for a re-INVITE while an
        earlier one is unanswered. ACK and CANCEL do not move the CSeq."""
        if request.method in ("ACK", "CANCEL"):
            return None
        number = request.cseq.number
        if self.remote_seq is not None and number < self.remote_seq:
            return Refusal(500, "Server Internal Error (CSeq out of order)")
        if request.method == "INVITE":
            if self._invite_sent is not None:
                return Refusal(491, "Request Pending")
            if self._invite_received is not None:
                return Refusal(500, "Server Internal Error", retry_after=random.randint(0, 10))
            self._invite_received = number
        self.remote_seq = number
        if request.method in TARGET_REFRESH:
            self._refresh_target(request)
        if request.method == "BYE":
            self.state = DialogState.TERMINATED
        return None

    def answered(self, response: Response) -> None:
        """We sent the final response to the re-INVITE received: another may now come."""
        if response.status >= 200 and response.cseq.number == self._invite_received:
            self._invite_received = None

    def glare_retry_delay(self, rng: random.Random | None = None) -> float:
        """How long to wait before resending a re-INVITE refused with 491 (RFC 3261 14.1):
        2.1-4 s for the end that owns the Call-ID (the UAC), 0-2 s for the other."""
        draw = (rng or random.Random()).random()
        return 2.1 + 1.9 * draw if self.is_uac else 2.0 * draw

    def terminate(self) -> None:
        """The dialog is over (BYE sent or answered, or the call failed)."""
        self.state = DialogState.TERMINATED

    def _target_and_routes(self) -> tuple[str, list[str]]:
        """Request-URI and Route values: loose routing when the first route has ``lr``, strict
        routing (the first route as Request-URI, the target last) otherwise."""
        routes = list(self.route_set)
        if not routes or "lr" in SipUri.parse(routes[0]).params:
            return self.remote_target, routes
        return routes[0], [*routes[1:], self.remote_target]

    def _refresh_target(self, message: Request | Response) -> None:
        contacts = message.contacts
        if contacts and contacts[0].uri != "*":
            self.remote_target = contacts[0].uri


def _uris(values: list[str]) -> list[str]:
    return [NameAddr.parse(value, "Record-Route").uri for value in values]
