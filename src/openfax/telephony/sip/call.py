"""An outgoing SIP call's set-up as a sans-I/O state machine: the INVITE (RFC 3261 13.2)
with its digest challenges, a 422's Min-SE (RFC 4028), the servers of a located host in
turn (RFC 3263 4.3), redirections (8.1.3.4), provisional responses and their PRACKs
(RFC 3262), the ACK of the 2xx and of the 2xx of other branches (13.2.2.4), and CANCEL
when we hang up or the ring time-out runs out (9.1).

Its user (the asyncio user agent) moves the messages and the time. It calls :meth:`start`,
answers each :class:`Locate` with :meth:`CallMachine.located` or
:meth:`CallMachine.locate_failed`, sends what :class:`SendInvite`, :class:`SendCancel`,
:class:`SendRequest` and :class:`SendAck` say, feeds every response to them to
:meth:`CallMachine.receive` (with the endpoint's note when it was made here: a timeout, a
transport error), and calls :meth:`CallMachine.handle_timer` at
:meth:`CallMachine.next_timer`. Each call returns the events that follow; the call's user
hears :class:`Progress`, :class:`Connected` or :class:`Failed`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from openfax.errors import SdpError, SdpNegotiationError, SipParseError, TelephonyError
from openfax.telephony.sdp import SessionDescription, parse_sdp
from openfax.telephony.sip._grammar import quote
from openfax.telephony.sip.dialog import Dialog, new_branch, new_tag, requires
from openfax.telephony.sip.digest import stale_nonce
from openfax.telephony.sip.headers import SipUri, Via
from openfax.telephony.sip.location import Targets, failed_over
from openfax.telephony.sip.message import Headers, Message, Request, Response, response_to
from openfax.telephony.sip.redirect import TargetSet
from openfax.telephony.sip.registration import Authorize
from openfax.telephony.sip.transaction import make_cancel
from openfax.telephony.sip.transport import Peer, describe

log = logging.getLogger(__name__)

SDP = "application/sdp"
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"
EXTENSIONS = frozenset({"timer", "100rel"})
"""The option tags an INVITE may require of us (RFC 4028 session timers; RFC 3262 reliable
provisional responses, which we never send: see :class:`IncomingInvite`)."""


class CallFailure(enum.StrEnum):
    """Why an outgoing call was not answered, as a provider turns it into a job status."""

    BUSY = "busy"
    """486 Busy Here, 600 Busy Everywhere."""
    NO_ANSWER = "no_answer"
    """408, 480, or our ring timeout ran out."""
    REJECTED = "rejected"
    """403, 603, or our credentials were refused (401/407 again)."""
    NOT_FOUND = "not_found"
    """404, 484 (address incomplete), 410, 604."""
    UNREACHABLE = "unreachable"
    """503, a transport error, or no response at all."""
    INCOMPATIBLE = "incompatible"
    """488, 606, 415: the far end accepts nothing we offered."""
    CANCELLED = "cancelled"
    """We hung up before the answer (CANCEL), or the far end cancelled its INVITE."""
    REDIRECTED = "redirected"
    """A redirection (3xx) not followed: 380, no Contact we can call, a loop, too many."""
    FAILED = "failed"
    """Any other final response."""


_CAUSES = {
    486: CallFailure.BUSY,
    600: CallFailure.BUSY,
    408: CallFailure.NO_ANSWER,
    480: CallFailure.NO_ANSWER,
    401: CallFailure.REJECTED,
    403: CallFailure.REJECTED,
    407: CallFailure.REJECTED,
    603: CallFailure.REJECTED,
    404: CallFailure.NOT_FOUND,
    410: CallFailure.NOT_FOUND,
    484: CallFailure.NOT_FOUND,
    604: CallFailure.NOT_FOUND,
    502: CallFailure.UNREACHABLE,
    503: CallFailure.UNREACHABLE,
    415: CallFailure.INCOMPATIBLE,
    488: CallFailure.INCOMPATIBLE,
    606: CallFailure.INCOMPATIBLE,
}


def failure_cause(status: int, local: str | None = None) -> CallFailure:
    """The cause of a final failure response; ``local`` is the endpoint's note when the
    response was made here: a timeout with no answer at all, or a transport error, means
    the far end is unreachable."""
    if local is not None:
        return CallFailure.UNREACHABLE
    return _CAUSES.get(status, CallFailure.FAILED)


class CallState(enum.Enum):
    """Where a call is: set up (calling, ringing), connected, or ended."""

    CALLING = "calling"
    RINGING = "ringing"
    CONNECTED = "connected"
    ENDED = "ended"


@dataclass(frozen=True)
class CallEnd:
    """How a call ended. ``remote`` is True when the far end ended it (BYE, CANCEL) or it was
    lost (no ACK, session expired) before we hung up: for a fax, a BYE before the last page
    was confirmed makes a partial outcome. ``status`` is the final response of a call that
    never connected."""

    remote: bool
    reason: str
    status: int | None = None


class SessionTimer:
    """RFC 4028 for one dialog: the interval, which end refreshes, and the timer that either
    refreshes (half the interval) or gives up on a far end that stopped refreshing."""

    def __init__(self, interval: int | None = None, *, we_refresh: bool = False) -> None:
        self.interval = interval
        self.we_refresh = we_refresh

    @classmethod
    def requested(cls, request: Request, min_se: int) -> SessionTimer | Response:
        """The timer a received INVITE or UPDATE asks for, or the 422 refusing an interval
        shorter than our ``min_se``. The far end refreshes if it asked to or says it can."""
        value = request.headers.get("Session-Expires")
        if value is None:
            return cls()
        interval, refresher = _session_expires(value)
        if interval < min_se:
            headers = [("Min-SE", str(min_se))]
            return response_to(request, 422, "Session Interval Too Small", headers=headers)
        supported = {option.lower() for option in request.headers.get_all("Supported")}
        if refresher is None:
            refresher = "uac" if "timer" in supported else "uas"
        return cls(interval, we_refresh=refresher == "uas")

    def response_headers(self) -> list[tuple[str, str]]:
        """Session-Expires (and Require: timer when the far end refreshes) for our 2xx."""
        if self.interval is None:
            return []
        refresher = "uas" if self.we_refresh else "uac"
        headers = [("Session-Expires", f"{self.interval};refresher={refresher}")]
        if not self.we_refresh:
            headers.append(("Require", "timer"))
        return headers

    def request_headers(self, session_expires: int | None, min_se: int) -> list[tuple[str, str]]:
        """Session-Expires and Min-SE for a request we send (a refresh keeps the interval;
        ``session_expires`` is what a first request asks, None: no timer)."""
        interval = self.interval or session_expires
        if interval is None:
            return []
        value = f"{interval};refresher=uac" if self.interval and self.we_refresh else str(interval)
        return [("Session-Expires", value), ("Min-SE", str(min_se))]

    def answered(self, response: Response) -> None:
        """The 2xx to a request of ours says what was agreed (nothing: no session timer)."""
        value = response.headers.get("Session-Expires")
        if value is None:
            self.interval = None
            return
        self.interval, refresher = _session_expires(value)
        self.we_refresh = refresher != "uas"


def _session_expires(value: str) -> tuple[int, str | None]:
    number, _, params = value.partition(";")
    if not number.strip().isdigit():
        raise SipParseError(f"Session-Expires: {value!r} is not a number of seconds")
    refresher = None
    for param in params.split(";"):
        name, _, raw = param.partition("=")
        if name.strip().lower() == "refresher":
            refresher = raw.strip().lower()
    if refresher not in (None, "uac", "uas"):
        raise SipParseError(f"Session-Expires: refresher={refresher!r} is not uac or uas")
    return int(number), refresher


def warning(text: str, code: int = 399) -> tuple[str, str]:
    """A Warning header (RFC 3261 20.43): ``code`` (304 media type not available, 305
    incompatible media format, 399 miscellaneous) and the text, cut to 200 characters."""
    return ("Warning", f"{code} openfax {quote(text[:200])}")


def warnings_of(refusal: SdpNegotiationError) -> list[tuple[str, str]]:
    """The Warning headers of an offer refused for the reasons ``refusal`` gives."""
    return [warning(text, code) for code, text in refusal.warnings]


def versioned(
    description: SessionDescription, current: SessionDescription | None
) -> SessionDescription:
    """A description of ours with the origin RFC 3264 8 asks for, ``current`` being the
    one in force (None: none yet): the current one when nothing changed, the next version
    when something did."""
    if current is None:
        return description
    if replace(description, origin=current.origin) == current:
        return current
    if description.origin.version > current.origin.version:
        return description
    return replace(description, origin=current.origin.next_version())


def same_session(one: SessionDescription, other: SessionDescription | None) -> bool:
    """True when a description repeats ``other`` (a session refresh): the same origin and
    version, or the same content under another version."""
    if other is None:
        return False
    return one.origin == other.origin or replace(one, origin=other.origin) == other


def body_sdp(message: Message) -> SessionDescription | None:
    """The SDP body of a message, None without a body; a body of another type is refused."""
    if not message.body:
        return None
    if message.content_type not in (None, SDP):
        raise TelephonyError(f"body of type {message.content_type} is not {SDP}")
    try:
        return parse_sdp(message.body)
    except SdpError as error:
        raise TelephonyError(f"bad SDP body: {error}") from None


# --- Events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Locate:
    """Locate ``uri``'s host (RFC 3263) and answer with ``located`` or ``locate_failed``."""

    uri: str


@dataclass(frozen=True)
class SendInvite:
    """Send this INVITE to ``peer`` in a new client transaction; feed its responses back."""

    request: Request
    peer: Peer


@dataclass(frozen=True)
class SendCancel:
    """Send this CANCEL of the INVITE in flight to ``peer`` (its answer matters not)."""

    request: Request
    peer: Peer


@dataclass(frozen=True)
class Abandon:
    """Stop the client transaction of this INVITE: no final response came after the CANCEL
    within 64*T1 (RFC 3261 9.1)."""

    request: Request


@dataclass(frozen=True)
class SendRequest:
    """Send this request of a dialog (a PRACK, a BYE) in a client transaction to its next
    hop (first Route or Request-URI, over the call's transport); feed its final response
    back."""

    request: Request


@dataclass(frozen=True)
class SendAck:
    """Send this ACK of a 2xx to its next hop, outside any transaction."""

    request: Request


@dataclass(frozen=True)
class Progress:
    """A provisional response to our INVITE: its status (180, 183 ...) and early SDP."""

    status: int
    early: SessionDescription | None


@dataclass(frozen=True)
class Connected:
    """The far end answered with ``answer`` (None: no SDP); ``response`` is its 2xx."""

    answer: SessionDescription | None
    response: Response


@dataclass(frozen=True)
class Failed:
    """The call was not answered: ``cause`` classifies it, ``status`` and ``reason`` are
    the final response's (or why none came)."""

    cause: CallFailure
    status: int
    reason: str


Event = (
    Locate
    | SendInvite
    | SendCancel
    | Abandon
    | SendRequest
    | SendAck
    | Progress
    | Connected
    | Failed
)


class CallMachine:
    """One outgoing call from the INVITE to the answer or the failure.

    ``target`` is called with ``offer`` (None: a delayed offer) from ``from_`` (our From,
    tagged ``local_tag``); ``via`` and ``contact`` give our Via (without branch) and Contact
    URI for a peer; ``proxy`` is an outbound proxy every INVITE goes through; ``headers``
    (ours: User-Agent, Allow ...) and ``extra_headers`` (the caller's) go in every INVITE.
    ``session_expires``/``min_se`` are RFC 4028's; ``ring_timeout`` (None: none) cancels a
    call not answered in time; ``t1`` is RFC 3261's; ``authorize`` answers digest
    challenges (None: no password); ``label`` starts the log lines (a trunk's name).
    ``state``, ``peer``, ``dialog``, ``timer`` and ``final`` say where the call is.
    """

    def __init__(
        self,
        target: str,
        offer: SessionDescription | None,
        *,
        call_id: str,
        local_tag: str,
        from_: str,
        via: Callable[[Peer], Via],
        contact: Callable[[Peer], str],
        transport: str = "UDP",
        proxy: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        extra_headers: tuple[tuple[str, str], ...] = (),
        session_expires: int | None = None,
        min_se: int = 90,
        ring_timeout: float | None = None,
        max_redirects: int = 5,
        t1: float = 0.5,
        authorize: Authorize | None = None,
        label: str = "",
    ) -> None:
        self.target = target
        self.offer = offer
        self.call_id = call_id
        self.local_tag = local_tag
        self.from_ = from_
        self.via = via
        self.contact = contact
        self.proxy = proxy
        self.headers = headers
        self.extra_headers = extra_headers
        self.session_expires = session_expires
        self.min_se = min_se
        self.ring_timeout = ring_timeout
        self.t1 = t1
        self.authorize = authorize
        self.label = label
        self.state = CallState.CALLING
        self.peer = Peer(transport, "", 0)
        """Where the INVITE goes (its host located), then the dialog's transport."""
        self.dialog: Dialog | None = None
        """The dialog of the first 2xx (None before it)."""
        self.timer = SessionTimer()
        self.final: Response | None = None
        """The last final response to our INVITE."""
        self._targets = TargetSet(target, max_redirects=max_redirects)
        self._located: Targets | None = None
        self._cseq = 1
        self._challenged = 0
        self._auth: list[tuple[str, str]] = []
        self._invite: Request | None = None
        """The INVITE in flight (None before it, and once its final response came)."""
        self._sent: Request | None = None
        """The last INVITE sent."""
        self._responded = False
        """A response to the INVITE in flight came from the far end: it may be cancelled."""
        self._cancel_cause: CallFailure | None = None
        self._cancelled = False
        self._failed = False
        self._ring_at: float | None = None
        self._abandon_at: float | None = None
        self._early: dict[str, Dialog] = {}
        """Early dialogs made by reliable provisional responses, by To tag."""
        self._acks: dict[tuple[int, str], Request] = {}
        """The ACKs of the 2xx we had, by CSeq number and To tag."""

    @property
    def invite_cseq(self) -> int | None:
        """The CSeq number of the last INVITE sent (None before the first)."""
        return None if self._sent is None else self._sent.cseq.number

    # --- Driving it ---------------------------------------------------------------------------

    def start(self) -> list[Event]:
        """The call begins: locate the first target (or the outbound proxy)."""
        return [Locate(self.proxy or self._targets.current)]

    def located(self, targets: Targets, now: float) -> list[Event]:
        """The current target's host was located: INVITE its first server."""
        if self._cancel_cause is not None:
            return []
        self._located = targets
        self.peer = targets.current
        self._challenged, self._auth = 0, []
        return self._send_invite(now)

    def locate_failed(self, reason: str, now: float) -> list[Event]:
        """The current target's host could not be located: the next target, if any."""
        if self._cancel_cause is not None:
            return []
        if self._targets.pending:
            log.warning("SIP call %s: %s; trying the next target", self.call_id, reason)
            self._targets.next()
            return [Locate(self.proxy or self._targets.current)]
        log.warning("SIP %scall %s to %s failed: %s", self.label, self.call_id, self.target, reason)
        return self._fail(CallFailure.UNREACHABLE, 503, reason)

    def hang_up(self, now: float) -> list[Event]:
        """We give up before the answer: the call fails as CANCELLED at once; the CANCEL
        goes once the far end responded (RFC 3261 9.1), and a 2xx crossing it is ACKed and
        hung up."""
        if self.state not in (CallState.CALLING, CallState.RINGING):
            return []
        self._cancel_cause = CallFailure.CANCELLED
        return [*self._fail(CallFailure.CANCELLED, 487, "Request Terminated"), *self._cancel(now)]

    def next_timer(self) -> float | None:
        """When ``handle_timer`` must next be called: the ring time-out, or the end of the
        wait for the final response after a CANCEL; None when neither runs."""
        due = [at for at in (self._ring_at, self._abandon_at) if at is not None]
        return min(due, default=None)

    def handle_timer(self, now: float) -> list[Event]:
        """The ring time-out cancels the call; a cancelled INVITE still without its final
        response 64*T1 after the CANCEL is abandoned."""
        events: list[Event] = []
        if self._ring_at is not None and now >= self._ring_at:
            self._ring_at = None
            if self._cancel_cause is None:
                log.info("SIP call %s: no answer in %.0f s", self.call_id, self.ring_timeout)
                self._cancel_cause = CallFailure.NO_ANSWER
                events += self._cancel(now)
        if self._abandon_at is not None and now >= self._abandon_at and self._invite is not None:
            invite, self._invite, self._abandon_at = self._invite, None, None
            cause = self._cancel_cause or CallFailure.CANCELLED
            events += [Abandon(invite), *self._fail(cause, 408, "Request Timeout")]
        return events

    def receive(self, response: Response, now: float, local: str | None = None) -> list[Event]:
        """A response to a request of the call; ``local`` is the endpoint's note when it was
        made here (a timeout, a transport error)."""
        method = response.cseq.method
        if method == "INVITE":
            if 200 <= response.status < 300:
                return self._on_2xx(response, now)
            invite = self._invite
            if invite is None or response.cseq.number != invite.cseq.number:
                return []
            if response.status < 200:
                return self._on_provisional(response, now)
            return self._on_failure(invite, response, now, local)
        if response.status >= 200:
            log.info(
                "SIP call %s: %s answered %d %s",
                self.call_id,
                method,
                response.status,
                response.reason,
            )
        return []

    # --- The INVITE ---------------------------------------------------------------------------

    def _send_invite(self, now: float) -> list[Event]:
        invite = self._make_invite(self._targets.current)
        self._invite = self._sent = invite
        self._responded = self._cancelled = False
        self._early.clear()
        self._ring_at = None if self.ring_timeout is None else now + self.ring_timeout
        return [SendInvite(invite, self.peer)]

    def _make_invite(self, uri: str) -> Request:
        """The INVITE to ``uri`` (the target, or where a redirection sent us: To stays the
        target, RFC 3261 8.1.3.4) with the digest answer we have."""
        fields = [("Via", str(self.via(self.peer).with_params(branch=new_branch())))]
        if self.proxy is not None:
            proxy = SipUri.parse(self.proxy)
            fields.append(("Route", f"<{replace(proxy, params={**proxy.params, 'lr': None})}>"))
        fields += [
            ("Max-Forwards", "70"),
            ("From", self.from_),
            ("To", f"<{self.target}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self._cseq} INVITE"),
            ("Contact", f"<{self.contact(self.peer)}>"),
            *self.headers,
            *self.timer.request_headers(self.session_expires, self.min_se),
            *self.extra_headers,
            *self._auth,
        ]
        body = b""
        if self.offer is not None:
            fields.append(("Content-Type", SDP))
            body = self.offer.to_bytes()
        return Request(method="INVITE", uri=uri, headers=Headers.of(fields), body=body)

    def _on_provisional(self, response: Response, now: float) -> list[Event]:
        self._responded = True
        events = self._cancel(now)
        if response.status == 100 or self.state is CallState.ENDED:
            return events
        if requires(response, "100rel"):
            prack = self._acknowledge(response)
            if prack is None:
                return events
            events = [*prack, *events]
        if self.state is CallState.CALLING:
            self.state = CallState.RINGING
        try:
            early = body_sdp(response)
        except TelephonyError as error:
            log.warning("SIP call %s: %d with %s", self.call_id, response.status, error)
            early = None
        return [*events, Progress(response.status, early)]

    def _acknowledge(self, response: Response) -> list[Event] | None:
        """The PRACK of a reliable provisional response (RFC 3262 4) in its early dialog.
        None for one not to process again (a retransmission, out of order)."""
        invite = self._invite
        tag = response.to.tag
        if invite is None or tag is None:
            log.warning("SIP call %s: reliable %d without a To tag", self.call_id, response.status)
            return []
        try:
            dialog = self._early.get(tag) or Dialog.as_uac(invite, response)
            self._early[tag] = dialog
            prack = dialog.prack(response, self.via(self.peer))
        except TelephonyError as error:
            log.warning(
                "SIP call %s: %d not acknowledged: %s", self.call_id, response.status, error
            )
            return []
        return None if prack is None else [SendRequest(prack)]

    def _on_failure(
        self, invite: Request, response: Response, now: float, local: str | None
    ) -> list[Event]:
        """The INVITE failed: the next server, a digest answer, a longer session interval,
        the next target; else the call fails."""
        self._invite, self._ring_at, self._abandon_at = None, None, None
        self.final = response
        status = response.status
        if self._cancel_cause is not None:
            return self._fail(self._cancel_cause, status, response.reason)
        assert self._located is not None
        if failed_over(self._located, response, local, now, self.label):
            # RFC 3263 4.3: the same request to the next server, in a new transaction.
            self.peer, self._challenged, self._auth = self._located.current, 0, []
            return self._send_invite(now)
        if status in (401, 407) and self._challenged < 2 and self.authorize is not None:
            answer = self.authorize(invite, response, 1)
            if answer is not None and (not self._auth or stale_nonce(response)):
                self._auth = [answer]
                self._challenged += 1
                self._cseq += 1
                return self._send_invite(now)
        if status == 422 and (min_se := response.headers.get("Min-SE")) is not None:
            number = min_se.split(";")[0]
            interval = int(number) if number.isdigit() else 0
            if interval > (self.timer.interval or 0):
                self.timer = SessionTimer(interval)
                self._cseq += 1
                return self._send_invite(now)
        return self._next_target(response, local)

    def _next_target(self, response: Response, local: str | None) -> list[Event]:
        """The target failed: the next one (those a 3xx names first), unless a 6xx says no
        target will do; else the call fails."""
        targets, status = self._targets, response.status
        why = targets.redirect(response) if 300 <= status < 400 else None
        if why is None and status < 600 and targets.next() is not None:
            log.info(
                "SIP call %s: %d %s, calling %s",
                self.call_id,
                status,
                response.reason,
                targets.current,
            )
            self._cseq += 1
            return [Locate(self.proxy or targets.current)]
        if why is not None:
            log.info("SIP call %s: %d not followed: %s", self.call_id, status, why)
            return self._fail(CallFailure.REDIRECTED, status, f"{response.reason}: {why}")
        # A response made here says why: "timeout", or the transport error.
        reason = response.reason if local is None else f"{response.reason} ({local})"
        return self._fail(failure_cause(status, local), status, reason)

    def _cancel(self, now: float) -> list[Event]:
        """The CANCEL of the INVITE in flight, once we give up and the far end responded."""
        invite = self._invite
        if self._cancel_cause is None or self._cancelled or not self._responded or invite is None:
            return []
        self._cancelled = True
        self._abandon_at = now + 64 * self.t1
        return [SendCancel(make_cancel(invite), self.peer)]

    # --- The answer ---------------------------------------------------------------------------

    def _on_2xx(self, response: Response, now: float) -> list[Event]:
        """A 2xx to our INVITE: the first one makes the dialog and is ACKed, again on each
        retransmission; a 2xx of another branch of a forked INVITE (another To tag,
        RFC 3261 13.2.2.4) is ACKed and its dialog hung up."""
        sent = self._sent
        if sent is None or response.cseq.number != sent.cseq.number:
            return []
        tag = response.to.tag or ""
        ack = self._acks.get((response.cseq.number, tag))
        if ack is not None:
            return [SendAck(ack)]
        try:
            dialog = self._dialog_of(sent, response)
            ack = dialog.request("ACK", self.via(self.peer), cseq=sent.cseq.number)
        except TelephonyError as error:
            log.warning(
                "SIP call %s: a %d not acknowledged: %s", self.call_id, response.status, error
            )
            return []
        self._acks[(response.cseq.number, tag)] = ack
        if self.dialog is not None:
            log.info(
                "SIP call %s: another branch answered (To tag %s): ACK and BYE", self.call_id, tag
            )
            return [SendAck(ack), self._bye(dialog)]
        self.dialog = dialog
        self.final = response
        self._invite, self._ring_at, self._abandon_at = None, None, None
        if self._located is not None:
            self._located.succeeded()
        if self._cancel_cause is not None:
            # Answered as we gave up on it: the 2xx is ACKed and the call hung up at once.
            failed = self._fail(self._cancel_cause, 487, "Request Terminated")
            return [SendAck(ack), self._bye(dialog), *failed]
        try:
            self.timer.answered(response)
            answer = body_sdp(response)
        except SipParseError as error:  # the Session-Expires
            failed = self._fail(CallFailure.UNREACHABLE, 503, str(error))
            return [SendAck(ack), self._bye(dialog), *failed]
        except TelephonyError as error:
            failed = self._fail(CallFailure.INCOMPATIBLE, 488, str(error))
            return [SendAck(ack), self._bye(dialog), *failed]
        self.state = CallState.CONNECTED
        log.info("SIP call %s to %s connected", self.call_id, self.target)
        return [SendAck(ack), Connected(answer, response)]

    def _bye(self, dialog: Dialog) -> SendRequest:
        """The BYE of a dialog answered that the call does not keep."""
        return SendRequest(dialog.request("BYE", self.via(self.peer)))

    def _dialog_of(self, invite: Request, response: Response) -> Dialog:
        """The dialog a 2xx to our INVITE confirms: the early dialog of its To tag (whose
        PRACKs moved the CSeq on), else a new one."""
        early = self._early.pop(response.to.tag or "", None)
        if early is None:
            return Dialog.as_uac(invite, response)
        early.confirm(response)
        return early

    def _fail(self, cause: CallFailure, status: int, reason: str) -> list[Event]:
        """The call fails (once; a cancelled call's INVITE is still followed to its end)."""
        self.state = CallState.ENDED
        if self._failed:
            return []
        self._failed = True
        return [Failed(cause, status, reason)]


# --- The confirmed dialog's time --------------------------------------------------------------


@dataclass(frozen=True)
class RefreshDue:
    """Time to refresh the session (RFC 4028: we refresh, at half the interval)."""


@dataclass(frozen=True)
class SessionExpired:
    """The far end did not refresh the session in time: the call is lost."""


@dataclass(frozen=True)
class Resend:
    """Send our 2xx to a re-INVITE or INVITE again to ``peer``: its ACK has not come
    (RFC 3261 13.3.1.4)."""

    response: Response
    peer: Peer


@dataclass(frozen=True)
class NoAck:
    """No ACK came for our 2xx within 64*T1: the call is lost."""

    cseq: int


@dataclass(frozen=True)
class Acked:
    """The awaited ``ack`` of our 2xx came (the answer it carries to an offer in our 2xx is
    the session machine's ``remote_sdp`` now)."""

    ack: Request


@dataclass(frozen=True)
class RetryDue:
    """The random wait after a 491 to our re-INVITE is over (RFC 3261 14.1): send it again."""


@dataclass(frozen=True)
class Lost:
    """The dialog is gone (a 408 or 481 to our request, or none came): the call ends as
    lost; ``bye`` False when the far end said it knows the dialog no more (481)."""

    reason: str
    bye: bool


@dataclass(frozen=True)
class HangUp:
    """The far end's answer cannot be used: we hang up (BYE)."""


@dataclass(frozen=True)
class ByeDone:
    """Our BYE was answered, or 4*T1 passed without its answer: the call is over for its
    user (RFC 3261 15.1.1: the session ends once the BYE is sent; its answer, or a digest
    challenge to answer, is waited for only briefly)."""


SessionEvent = (
    RefreshDue | SessionExpired | Resend | NoAck | Acked | RetryDue | Lost | HangUp | ByeDone
)


@dataclass(frozen=True)
class Respond:
    """Send this response to the far end's request."""

    response: Response


@dataclass(frozen=True)
class ByeReceived:
    """The far end hung up (its BYE is answered)."""


@dataclass(frozen=True)
class OfferReceived:
    """A re-INVITE or UPDATE of the far end's that the dialog takes: a session refresh or a
    new offer, the user's to answer."""

    request: Request


InDialog = Respond | ByeReceived | OfferReceived


@dataclass(frozen=True)
class OfferTaken:
    """A re-INVITE or UPDATE of the far end's to answer: its ``offer`` (None: none), the
    session ``timer`` it asks for, and ``refresh`` True when it changes nothing (no SDP, or
    the session in force): it is answered with our session as it is."""

    offer: SessionDescription | None
    timer: SessionTimer
    refresh: bool


@dataclass(frozen=True)
class ReinviteResult:
    """The far end's final answer to our re-INVITE: accepted with ``answer``, or refused
    (488/415 ...) with the old session still in force."""

    status: int
    reason: str
    answer: SessionDescription | None = None

    @property
    def accepted(self) -> bool:
        """True when the far end took the new session."""
        return 200 <= self.status < 300


class DialogRequest:
    """One request of ours in a confirmed ``dialog`` (a re-INVITE, an UPDATE, a BYE), sans
    I/O: :meth:`start` makes it, :meth:`receive` takes each final response and returns the
    request once more with the answer to a digest challenge (401/407, answered once by
    ``authorize``; None: no password), or None when the response is the last.

    ``via`` is ours without branch, ``headers`` and ``body`` (SDP) go in every attempt."""

    def __init__(
        self,
        dialog: Dialog,
        method: str,
        via: Via,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        authorize: Authorize | None = None,
    ) -> None:
        self.dialog = dialog
        self.method = method
        self.via = via
        self.headers = [*headers, ("Content-Type", SDP)] if body else list(headers)
        self.body = body
        self.authorize = authorize
        self.sent: Request | None = None
        """The last attempt made."""
        self._challenged = False

    def start(self) -> Request:
        """The first attempt."""
        return self._make()

    def receive(self, response: Response) -> Request | None:
        """The final response to the last attempt: the attempt answering its challenge, or
        None when ``response`` is the outcome."""
        assert self.sent is not None, "receive() before start()"
        if self.method == "INVITE":
            self.dialog.invite_finished(response)
        if response.status not in (401, 407) or self._challenged or self.authorize is None:
            return None
        answer = self.authorize(self.sent, response, 1)
        if answer is None:
            return None
        self._challenged = True
        self.headers = [pair for pair in self.headers if pair[0] != answer[0]] + [answer]
        return self._make()

    def _make(self) -> Request:
        self.sent = self.dialog.request(
            self.method, self.via, headers=tuple(self.headers), body=self.body
        )
        return self.sent


class SessionMachine:
    """The timers of a confirmed dialog, sans I/O: the session timer (RFC 4028) that either
    refreshes the session or gives up on a far end that stopped refreshing it, our 2xx to an
    INVITE resent (T1 doubling up to T2, over UDP) until its ACK comes or 64*T1 passed
    (RFC 3261 13.3.1.4), and the wait before a re-INVITE refused with 491 is sent again
    (14.1). It also knows whether an offer exchange of ours (a re-INVITE, an UPDATE) is
    under way, with its 491 retries left (``glare_retries`` each), so that a refresh falling
    due meanwhile waits or, once that exchange re-armed the timer, is not sent at all. Its
    user calls ``handle_timer(now)`` at ``next_timer()`` and carries out the events."""

    def __init__(self, *, t1: float = 0.5, t2: float = 4.0, glare_retries: int = 3) -> None:
        self.t1 = t1
        self.t2 = t2
        self.glare_retries = glare_retries
        self.offering = False
        """An offer exchange of ours (a re-INVITE, an UPDATE) is under way."""
        self._wanted: SessionDescription | None = None
        """The session the user's re-INVITE under way offers (None: a refresh, or none)."""
        self._glare_left = glare_retries
        self._refresh_due = False
        """A :class:`RefreshDue` was given and no refresh nor accepted exchange followed."""
        self._session_at: float | None = None
        self._session_event: RefreshDue | SessionExpired | None = None
        self._retry_at: float | None = None
        self._bye_at: float | None = None
        """When we stop waiting for the answer to our BYE."""
        self.peer_allows_update = False
        """The far end's Allow names UPDATE: a session refresh may be an UPDATE."""
        self._sent: dict[int, tuple[Response, Peer, float, float, float]] = {}
        """Our 2xx waiting for their ACK, by CSeq number: the response, where it went, the
        next resend, its interval, and when to give up."""
        self._offered: set[int] = set()
        """The CSeq numbers of those 2xx that hold our offer: their ACK carries the answer."""
        self.refreshes = 0
        """Session refreshes sent or answered without a change of media."""
        self.local_sdp: SessionDescription | None = None
        """Our session description in force (the last offer or answer of ours accepted)."""
        self.remote_sdp: SessionDescription | None = None
        """The far end's session description in force."""
        self.timer = SessionTimer()
        """The session timer agreed (RFC 4028), by the INVITE and each exchange since."""
        self._acks: dict[int, tuple[Request, Peer]] = {}
        """The ACKs of the 2xx to our re-INVITEs and their next hop, by CSeq number."""

    def next_timer(self) -> float | None:
        """When ``handle_timer`` must next be called, or None."""
        due = [at for at in (self._session_at, self._retry_at, self._bye_at) if at is not None]
        for _, peer, at, _, give_up in self._sent.values():
            due.append(give_up if peer.reliable else at)
        return min(due, default=None)

    def handle_timer(self, now: float) -> list[SessionEvent]:
        """What falls due at ``now``."""
        events: list[SessionEvent] = []
        for number, (response, peer, at, interval, give_up) in list(self._sent.items()):
            if now >= give_up:
                del self._sent[number]
                self._offered.discard(number)
                events.append(NoAck(number))
            elif not peer.reliable and now >= at:
                interval = min(2 * interval, self.t2)
                self._sent[number] = (response, peer, now + interval, interval, give_up)
                events.append(Resend(response, peer))
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            events.append(RetryDue())
        if self._bye_at is not None and now >= self._bye_at:
            self._bye_at = None
            events.append(ByeDone())
        if self._session_at is not None and now >= self._session_at:
            assert self._session_event is not None
            events.append(self._session_event)
            self._refresh_due = isinstance(self._session_event, RefreshDue)
            self._session_at = self._session_event = None
        return events

    def arm(self, now: float) -> None:
        """(Re)start the session timer (``timer``) after a successful INVITE, re-INVITE or
        UPDATE: the refresh at half the interval when we refresh, else the expiry a little
        before the interval runs out (RFC 4028 10: the lesser of 32 s and a third of it)."""
        interval = self.timer.interval
        self._refresh_due = False
        if interval is None:
            self._session_at = self._session_event = None
        elif self.timer.we_refresh:
            self._session_at, self._session_event = now + interval / 2, RefreshDue()
        else:
            self._session_at = now + interval - min(32, interval / 3)
            self._session_event = SessionExpired()

    def refresh_later(self, now: float, delay: float) -> None:
        """The refresh could not be made now (another re-INVITE under way, or refused):
        try again ``delay`` seconds on."""
        self._session_at, self._session_event = now + delay, RefreshDue()

    def begin_offer(self, offer: SessionDescription | None = None) -> None:
        """An offer exchange of ours begins (its 491 retries counted afresh): the user's
        re-INVITE with ``offer``, or a session refresh (None)."""
        self.offering = True
        self._glare_left = self.glare_retries
        self._wanted = offer

    def end_offer(self) -> None:
        """Our offer exchange is over, answered or not."""
        self.offering = False
        self._wanted = None

    @property
    def retrying(self) -> bool:
        """A re-INVITE of ours met 491: its retry waits for :class:`RetryDue`."""
        return self._retry_at is not None

    def offer_now(self, method: str) -> SessionDescription | None:
        """What the request of our exchange sent now by ``method`` carries: the user's
        offer with RFC 3264 8's origin against our session in force, or for a refresh that
        session unchanged (nothing in an UPDATE)."""
        if self._wanted is not None:
            return versioned(self._wanted, self.local_sdp)
        return None if method == "UPDATE" else self.local_sdp

    def offer_done(
        self, method: str, result: ReinviteResult, dialog: Dialog, now: float
    ) -> str | None:
        """The final answer to our exchange's request by ``method`` (the call still
        connected): the method of its next request (the re-INVITE again once the 491's
        wait is over, :attr:`retrying`; a re-INVITE after a refused refresh by UPDATE), or
        None when the exchange is over."""
        if self._wanted is not None:
            return method if self.glare(result.status, dialog, now) else None
        if not result.accepted:
            log.warning(
                "SIP call %s: session refresh by %s refused (%d)",
                dialog.call_id,
                method,
                result.status,
            )
        return self.refreshed(method, result.accepted, now)

    def start_refresh(self, now: float) -> str | None:
        """The refresh fallen due begins (an offer exchange of ours): the method to send it
        by; None when no refresh goes now: an accepted exchange re-armed the timer since
        (it refreshed the session), or one of ours is under way (the refresh then falls due
        again a second later, unless that exchange re-arms the timer first)."""
        if not self._refresh_due:
            return None
        self._refresh_due = False
        if self.offering:
            self.refresh_later(now, 1.0)
            return None
        self.begin_offer()
        return self.refresh_method()

    def refresh_method(self) -> str:
        """How to refresh the session: UPDATE without a body when the far end allows it,
        else a re-INVITE with our session unchanged, so the media goes on."""
        return "UPDATE" if self.peer_allows_update else "INVITE"

    def refreshed(self, method: str, accepted: bool, now: float) -> str | None:
        """The answer to our refresh by ``method`` (the call still connected): a refused
        UPDATE is followed by a re-INVITE (returned, the method to send next), a refused
        re-INVITE is tried again T2 later; None when nothing follows now."""
        if accepted:
            self.refreshes += 1
            return None
        if method == "UPDATE":
            self.peer_allows_update = False
            return "INVITE"
        self.refresh_later(now, self.t2)
        return None

    def retry_after(self, delay: float, now: float) -> None:
        """Our re-INVITE met a 491: the retry falls due ``delay`` seconds on."""
        self._retry_at = now + delay

    def glare(self, status: int, dialog: Dialog, now: float) -> bool:
        """The final ``status`` of our re-INVITE in ``dialog``: True when it met a 491 with
        retries of this exchange left, its retry falling due (:class:`RetryDue`) after
        RFC 3261 14.1's random wait; False when the answer stands."""
        if status != 491 or self._glare_left <= 0:
            return False
        self._glare_left -= 1
        delay = dialog.glare_retry_delay()
        log.info("SIP re-INVITE of %s met 491; retrying in %.2f s", dialog.call_id, delay)
        self.retry_after(delay, now)
        return True

    def bye_sent(self, now: float) -> None:
        """We hang up: the BYE goes now, and its answer is waited for 4*T1 at most."""
        self._bye_at = now + 4 * self.t1

    def bye_answered(self) -> list[SessionEvent]:
        """The BYE's final response came (or it could not be sent): the call is over."""
        if self._bye_at is None:
            return []
        self._bye_at = None
        return [ByeDone()]

    def sent_2xx(self, response: Response, peer: Peer, now: float, *, offer: bool = False) -> None:
        """Our 2xx to an INVITE went to ``peer``: resent over UDP until its ACK, which is
        given up (:class:`NoAck`) after 64*T1. ``offer`` True when the 2xx holds our offer
        (the re-INVITE had none): its ACK carries the answer (:class:`Acked`)."""
        number = response.cseq.number
        self._sent[number] = (response, peer, now + self.t1, self.t1, now + 64 * self.t1)
        if offer:
            self._offered.add(number)

    def acked(self, ack: Request) -> list[SessionEvent]:
        """An ACK of the far end's: :class:`Acked` when it is the awaited one of our 2xx
        (the answer it carries to our offer becomes ``remote_sdp``; without one, or with a
        bad one, the session goes on as it was), nothing for another or a repeated one."""
        number = ack.cseq.number
        if self._sent.pop(number, None) is None:
            return []
        if number not in self._offered:
            return [Acked(ack)]
        self._offered.discard(number)
        try:
            answer = body_sdp(ack)
        except TelephonyError as error:
            log.warning("SIP ACK of %s: %s; the session stays as it was", ack.call_id, error)
            answer = None
        if answer is not None:
            self.remote_sdp = answer
        return [Acked(ack)]

    def ack_2xx(
        self, dialog: Dialog, response: Response, via: Via, hop: Peer
    ) -> tuple[Request, Peer]:
        """The ACK of a 2xx to our re-INVITE in ``dialog`` and ``hop``, where it goes: made
        for the first 2xx, the same again for each retransmission (RFC 3261 13.2.2.4)."""
        number = response.cseq.number
        if number not in self._acks:
            self._acks[number] = (dialog.request("ACK", via, cseq=number), hop)
        return self._acks[number]

    def ack_again(self, response: Response) -> tuple[Request, Peer] | None:
        """The ACK made for a 2xx to our re-INVITE, for its retransmission; None when the
        re-INVITE's own exchange has not ACKed one yet."""
        return self._acks.get(response.cseq.number)

    def note_allow(self, message: Message) -> None:
        """A message of the far end's with an Allow header says what it takes."""
        allowed = {method.upper() for method in message.headers.get_all("Allow")}
        if allowed:
            self.peer_allows_update = "UPDATE" in allowed

    def offer_answered(
        self,
        method: str,
        offer: SessionDescription | None,
        response: Response,
        local: str | None,
    ) -> tuple[ReinviteResult, list[SessionEvent]]:
        """The final response to our re-INVITE or UPDATE with ``offer`` (None: a bare
        session refresh); ``local``: the endpoint's note when it was made here. A 2xx
        updates ``timer`` (re-arm it after) and, with its answer, the session in force;
        408, 481 or none at all lose the call, and a 2xx without a usable answer to our
        offer hangs it up."""
        status, reason = response.status, response.reason
        if local is not None:
            reason = f"{reason} ({local})"
        if status in (408, 481) or local is not None:
            log.info("SIP %s of %s got %d: the dialog is gone", method, response.call_id, status)
            # A 408 or a transport error: the far end stopped answering, or cannot be
            # reached any more; the call is lost, not ended by us.
            return ReinviteResult(status, reason), [Lost(f"{status} {reason}", status != 481)]
        if not 200 <= status < 300:
            return ReinviteResult(status, reason), []
        self.note_allow(response)
        self.timer.answered(response)
        if offer is None:
            return ReinviteResult(status, reason), []
        try:
            answer = body_sdp(response)
        except TelephonyError as error:
            log.warning("SIP %s of %s: %s; hanging up", method, response.call_id, error)
            return ReinviteResult(488, str(error)), [HangUp()]
        if answer is None:
            log.warning("SIP %s of %s: 2xx without an answer; hanging up", method, response.call_id)
            return ReinviteResult(488, "no SDP answer"), [HangUp()]
        self.local_sdp, self.remote_sdp = offer, answer
        return ReinviteResult(status, reason, answer), []

    def request_received(
        self, dialog: Dialog, request: Request, headers: list[tuple[str, str]]
    ) -> list[InDialog]:
        """A request the far end sent in ``dialog``: refused as the dialog's rules say (a
        CSeq out of order, glare), a BYE answered, OPTIONS answered with ``headers`` (ours)
        and what we accept, a re-INVITE or UPDATE passed on, others refused (405)."""
        refusal = dialog.receive(request)
        if refusal is not None:
            extra = []
            if refusal.retry_after is not None:
                extra.append(("Retry-After", str(refusal.retry_after)))
            return [Respond(response_to(request, refusal.status, refusal.reason, headers=extra))]
        method = request.method
        if method == "BYE":
            return [Respond(response_to(request, 200, "OK")), ByeReceived()]
        if method in ("INVITE", "UPDATE"):
            return [OfferReceived(request)]
        if method == "OPTIONS":
            accept = [*headers, ("Accept", SDP)]
            return [Respond(response_to(request, 200, "OK", headers=accept))]
        if method == "INFO":
            return [Respond(response_to(request, 200, "OK"))]
        allow = [("Allow", ALLOW)]
        return [Respond(response_to(request, 405, "Method Not Allowed", headers=allow))]

    def offer_received(
        self, request: Request, *, min_se: int, connected: bool
    ) -> OfferTaken | Response:
        """A re-INVITE or UPDATE the dialog took: what to answer (a refresh when it offers
        nothing or the far end's session in force), or the response refusing it (400 for a
        body we cannot read, 422 for a session interval under ``min_se``, 481 once the call
        is over)."""
        try:
            offer = body_sdp(request)
            timer = SessionTimer.requested(request, min_se)
        except TelephonyError as error:
            log.warning("SIP refused %s: %s", describe(request), error)
            return response_to(request, 400, "Bad Request", headers=[warning(str(error))])
        if isinstance(timer, Response):
            headers = [("Min-SE", str(min_se))]
            return response_to(request, timer.status, timer.reason, headers=headers)
        if not connected:
            return response_to(request, 481, "Call/Transaction Does Not Exist")
        refresh = offer is None or same_session(offer, self.remote_sdp)
        if refresh:
            log.info("SIP call %s: session refresh, media unchanged", request.call_id)
            self.refreshes += 1
        return OfferTaken(offer, timer, refresh)

    def offer_refused(self, request: Request, refusal: SdpNegotiationError | None) -> Response:
        """Our answer refusing the far end's re-INVITE or UPDATE (the old session stays):
        488, or 415, with the Warnings of ``refusal``; 500 when no answer could be made
        (None: the offer handler failed)."""
        if refusal is None:
            return response_to(request, 500, "Server Internal Error")
        reason = "Not Acceptable Here" if refusal.status != 415 else "Unsupported Media"
        return response_to(request, refusal.status, reason, headers=warnings_of(refusal))

    def offer_accepted(
        self,
        request: Request,
        taken: OfferTaken,
        *,
        contact: str,
        headers: list[tuple[str, str]],
        answer: SessionDescription | None = None,
    ) -> Response:
        """The 200 to the far end's re-INVITE or UPDATE ``taken``: our ``contact``,
        ``headers`` and the timer it asked for, with our session (none to a bare UPDATE).
        ``answer`` (our answer to its new offer, RFC 3264 8's origin version given here)
        and that offer become the session in force; None for a refresh, which keeps it."""
        self.note_allow(request)
        if answer is not None:
            self.local_sdp, self.remote_sdp = versioned(answer, self.local_sdp), taken.offer
        if taken.timer.interval is not None:
            self.timer = taken.timer
        fields = [("Contact", f"<{contact}>"), *headers, *self.timer.response_headers()]
        body = b""
        ours = self.local_sdp
        if ours is not None and (request.method != "UPDATE" or request.body):
            fields.append(("Content-Type", SDP))
            body = ours.to_bytes()
        return response_to(request, 200, "OK", headers=fields, body=body)

    def stop(self) -> None:
        """The call ended: no timer runs any more."""
        self._session_at = self._session_event = self._retry_at = self._bye_at = None
        self.offering = self._refresh_due = False
        self._wanted = None
        self._sent.clear()
        self._offered.clear()
        self._acks.clear()


# --- An incoming call ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingInvite:
    """A new INVITE we may ring for: the far end's ``offer`` (None: it waits for ours), the
    session ``timer`` agreed, and whether provisional responses may be sent (``provisional``
    False when the caller requires them reliable, RFC 3262: we do not send those, so the 200
    follows the 100 Trying)."""

    offer: SessionDescription | None
    timer: SessionTimer
    provisional: bool


def incoming_invite(request: Request, *, min_se: int) -> IncomingInvite | Response:
    """What a new INVITE starts, or the response refusing it at once: 420 for an extension
    required that we lack, 422 for a session interval shorter than ``min_se``. A body that
    is not SDP raises TelephonyError (answered 400)."""
    unsupported = [
        option for option in request.headers.get_all("Require") if option.lower() not in EXTENSIONS
    ]
    if unsupported:
        headers = [("Unsupported", ", ".join(unsupported))]
        return response_to(request, 420, "Bad Extension", headers=headers)
    timer = SessionTimer.requested(request, min_se)
    if isinstance(timer, Response):
        return timer
    return IncomingInvite(body_sdp(request), timer, not requires(request, "100rel"))


@dataclass(frozen=True)
class Cancelled:
    """The far end cancelled its INVITE before our answer (the 487 goes first)."""


Incoming = Respond | Cancelled | Failed


class IncomingCallMachine:
    """An incoming call from its INVITE to the ACK of our answer, sans I/O: the provisional
    responses (none when the caller requires them reliable), our 200 with the dialog it
    makes, a refusal, and the far end's CANCEL before the answer (RFC 3261 9.2). The 200 is
    resent until its ACK by ``session``, the dialog's timers, which the call keeps once
    connected: its user calls ``handle_timer(now)`` at ``next_timer()``.

    ``contact`` is our Contact URI and ``headers`` what our dialog-making responses say of
    us (User-Agent, Allow, Supported); ``t1``/``t2`` are RFC 3261's."""

    def __init__(
        self,
        request: Request,
        invite: IncomingInvite,
        *,
        local_tag: str,
        contact: str,
        headers: list[tuple[str, str]],
        t1: float = 0.5,
        t2: float = 4.0,
    ) -> None:
        self.request = request
        self.offer = invite.offer
        self.timer = invite.timer
        self.provisional = invite.provisional
        self.local_tag = local_tag
        self.contact = contact
        self.headers = headers
        self.state = CallState.CALLING
        self.answering = False
        """Our 200 went (or is going): neither a refusal nor a CANCEL ends the call now."""
        self.dialog: Dialog | None = None
        self.session = SessionMachine(t1=t1, t2=t2)
        self.session.remote_sdp, self.session.timer = invite.offer, invite.timer

    def next_timer(self) -> float | None:
        """When ``handle_timer`` must next be called (our 200 resent, its ACK given up)."""
        return self.session.next_timer()

    def handle_timer(self, now: float) -> list[SessionEvent]:
        """What falls due at ``now``: :class:`Resend` the 200, or :class:`NoAck`."""
        return self.session.handle_timer(now)

    def ring(self, status: int = 180, reason: str = "Ringing") -> list[Incoming]:
        """A provisional response while the call is set up; nothing when the caller requires
        them reliable."""
        if self.state not in (CallState.CALLING, CallState.RINGING):
            return []
        first = self.state is CallState.CALLING
        self.state = CallState.RINGING
        if not self.provisional:
            if first:
                log.info("SIP call %s: the caller requires 100rel; no %d", self.call_id, status)
            return []
        response = response_to(
            self.request, status, reason, to_tag=self.local_tag, headers=self._dialog_headers()
        )
        return [Respond(response)]

    def answer(self, answer: SessionDescription) -> list[Incoming]:
        """Our 200 with ``answer`` (the answer to the offer, or our offer when the INVITE had
        none): it makes the confirmed dialog. :class:`Failed` when the far end cancelled
        first or we answered already."""
        if self.state is CallState.ENDED or self.answering:
            return [Failed(CallFailure.CANCELLED, 487, "Request Terminated")]
        self.answering = True
        self.dialog = Dialog.as_uas(
            self.request, local_tag=self.local_tag, local_contact=self.contact
        )
        self.session.note_allow(self.request)
        self.session.local_sdp = answer
        self.state = CallState.CONNECTED
        headers = [*self._dialog_headers(), *self.timer.response_headers(), ("Content-Type", SDP)]
        response = response_to(
            self.request, 200, "OK", to_tag=self.local_tag, headers=headers, body=answer.to_bytes()
        )
        return [Respond(response)]

    def acked(self, ack: Request) -> SessionDescription | None:
        """The ACK of our 200: the far end's answer it carries to our offer (None when the
        INVITE had the offer). A delayed offer's ACK must carry the answer (RFC 3261 13.2.1,
        RFC 3264 4): TelephonyError without one, the call cannot carry media."""
        self.session.acked(ack)
        if self.offer is not None:
            return None
        self.session.remote_sdp = answer_in_ack(ack)
        return self.session.remote_sdp

    def reject(
        self, status: int, reason: str, headers: Iterable[tuple[str, str]] = ()
    ) -> list[Incoming]:
        """Refuse the call (486, 403, 480, 488 ...); nothing once answered or ended."""
        if self.state is CallState.ENDED or self.answering:
            return []
        self.state = CallState.ENDED
        response = response_to(
            self.request, status, reason, to_tag=self.local_tag, headers=list(headers)
        )
        return [Respond(response)]

    def receive(self, request: Request, now: float) -> list[Incoming]:
        """A CANCEL of the INVITE (its own 200 is the transaction's): 487 to the INVITE and
        the call ends, unless our 200 went first."""
        if request.method != "CANCEL" or self.answering or self.state is CallState.ENDED:
            return []
        self.state = CallState.ENDED
        log.info("SIP call %s cancelled by the far end", self.call_id)
        reply = response_to(self.request, 487, "Request Terminated", to_tag=self.local_tag)
        return [Respond(reply), Cancelled()]

    @property
    def call_id(self) -> str:
        return self.request.call_id

    def _dialog_headers(self) -> list[tuple[str, str]]:
        return [
            *(("Record-Route", value) for value in self.request.headers.get_all("Record-Route")),
            ("Contact", f"<{self.contact}>"),
            *self.headers,
        ]


def outside_dialog(request: Request, headers: list[tuple[str, str]]) -> Response | None:
    """The answer to a request no dialog of ours takes, or None for a new INVITE or a
    CANCEL (the user agent's to start or end a call): 481 in a dialog we do not know (a To
    tag) and to a BYE, OPTIONS answered with ``headers`` (ours) and what we accept, any
    other method refused (405)."""
    if request.to.tag is not None or request.method == "BYE":
        return response_to(request, 481, "Call/Transaction Does Not Exist")
    if request.method in ("INVITE", "CANCEL"):
        return None
    if request.method == "OPTIONS":
        accept = [*headers, ("Accept", SDP)]
        return response_to(request, 200, "OK", to_tag=new_tag(), headers=accept)
    return response_to(request, 405, "Method Not Allowed", headers=[("Allow", ALLOW)])


def answer_in_ack(ack: Request) -> SessionDescription:
    """The SDP answer the ACK of our 2xx carries when that 2xx held the offer (a delayed
    offer, RFC 3261 13.2.1, RFC 3264 4); TelephonyError when it has none or a bad one: the
    call cannot carry media."""
    answer = body_sdp(ack)
    if answer is None:
        raise TelephonyError("the ACK carried no SDP answer to our offer")
    return answer
