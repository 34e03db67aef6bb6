"""SIP transactions (RFC 3261 section 17, with the RFC 6026 Accepted state) as sans-I/O
state machines.

Each transaction is driven by its user with the messages received for it (``receive``), the
responses the user sends (server side, ``respond``) and the time (``handle_timer(now)``, at
``next_timer()``); each call returns the events that follow: messages to transmit to the
transaction's peer, responses or requests for the user, timeouts, the end. The transitions
of each kind sit in one table (``_TRANSITIONS``): a peer's message that the table does not
list for the current state is absorbed, as RFC 3261 asks; a user's call it does not list
ends the transaction and raises :class:`~openfax.errors.SipTransactionError`.

Timers A/B/D (client INVITE), E/F/K (client non-INVITE), G/H/I (server INVITE), J (server
non-INVITE) and L/M (RFC 6026) run as the RFC sets them from T1, T2 and T4; the
retransmission timers only on unreliable transports (UDP).
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import ClassVar

from openfax.errors import SipTransactionError
from openfax.telephony.sip.message import Headers, Message, Request, Response, response_to

MAGIC_COOKIE = "z9hG4bK"
"""RFC 3261 8.1.1.7: branches starting with it are unique transaction ids."""


@dataclass(frozen=True)
class TimerValues:
    """RFC 3261 timer base values in seconds (table 4): T1 RTT estimate, T2 cap, T4 lifetime."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0


class State(enum.Enum):
    """Transaction states (RFC 3261 figures 5-8, RFC 6026 Accepted)."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


@dataclass(frozen=True)
class Transmit:
    """Send this message to the transaction's peer (the transport decides how)."""

    message: Message


@dataclass(frozen=True)
class ResponseReceived:
    """A response for the transaction user (client side)."""

    response: Response


@dataclass(frozen=True)
class AckReceived:
    """An ACK reached an INVITE server transaction in the Accepted state (the 2xx's ACK)."""

    request: Request


@dataclass(frozen=True)
class Timeout:
    """No final response (timer B or F) or no ACK (timer H) in time: the peer is gone."""

    timer: str


@dataclass(frozen=True)
class Terminated:
    """The transaction is over; its user may forget it."""


Event = Transmit | ResponseReceived | AckReceived | Timeout | Terminated


def _status_class(response: Response) -> str:
    if response.status < 200:
        return "1xx"
    return "2xx" if response.status < 300 else "3xx-6xx"


class _Transaction(abc.ABC):
    """Timers, state and the transition table shared by the four kinds."""

    _TRANSITIONS: ClassVar[dict[tuple[State, str], State]]
    _INITIAL: ClassVar[State]
    _INVITE: ClassVar[bool]
    """True for the INVITE kinds, which take only an INVITE; the others take neither an
    INVITE nor an ACK (which has no transaction of its own)."""
    _CANNOT: ClassVar[str] = "transaction cannot send"
    """The error's words for a request of a method the kind cannot carry."""

    def __init__(
        self, request: Request, *, reliable: bool = False, timers: TimerValues | None = None
    ) -> None:
        method = request.method
        if (method == "INVITE") != self._INVITE or method == "ACK":
            kind = "an INVITE" if self._INVITE else "a non-INVITE"
            raise SipTransactionError(f"{kind} {self._CANNOT} {method}")
        self.request = request
        self.reliable = reliable
        self.timers = timers or TimerValues()
        self.state = self._INITIAL
        self._deadlines: dict[str, float] = {}
        self._intervals: dict[str, float] = {}

    @property
    def terminated(self) -> bool:
        """True once the transaction has ended."""
        return self.state is State.TERMINATED

    def next_timer(self) -> float | None:
        """The time at which ``handle_timer`` must next be called, or None."""
        return min(self._deadlines.values(), default=None)

    def handle_timer(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``, in deadline order."""
        events: list[Event] = []
        for name, deadline in sorted(self._deadlines.items(), key=lambda item: item[1]):
            if deadline <= now and self._deadlines.get(name) == deadline:
                del self._deadlines[name]
                events += self._on_timer(name, now)
        return events

    @abc.abstractmethod
    def _on_timer(self, name: str, now: float) -> list[Event]:
        """What the timer ``name`` does when it fires."""

    def _go(self, trigger: str) -> bool:
        """Follow the table for ``trigger``; False when it does not apply in this state."""
        following = self._TRANSITIONS.get((self.state, trigger))
        if following is None:
            return False
        self.state = following
        if following is State.TERMINATED:
            self._deadlines.clear()
        return True

    def _refuse(self, what: str) -> SipTransactionError:
        state = self.state
        self.state = State.TERMINATED
        self._deadlines.clear()
        return SipTransactionError(f"{type(self).__name__}: cannot {what} in state {state.value}")

    def _start_timer(self, name: str, now: float, delay: float) -> None:
        self._intervals[name] = delay
        self._deadlines[name] = now + delay

    def _stop_timers(self, *names: str) -> None:
        for name in names:
            self._deadlines.pop(name, None)

    def _end(self) -> list[Event]:
        return [Terminated()] if self._go("end") else []


class ClientInviteTransaction(_Transaction):
    """Sends an INVITE and collects its responses (RFC 3261 17.1.1, RFC 6026 7.2)."""

    _INVITE = True
    _INITIAL = State.CALLING
    _TRANSITIONS: ClassVar[dict[tuple[State, str], State]] = {
        (State.CALLING, "1xx"): State.PROCEEDING,
        (State.CALLING, "2xx"): State.ACCEPTED,
        (State.CALLING, "3xx-6xx"): State.COMPLETED,
        (State.CALLING, "timer B"): State.TERMINATED,
        (State.PROCEEDING, "1xx"): State.PROCEEDING,
        (State.PROCEEDING, "2xx"): State.ACCEPTED,
        (State.PROCEEDING, "3xx-6xx"): State.COMPLETED,
        (State.COMPLETED, "3xx-6xx"): State.COMPLETED,
        (State.COMPLETED, "end"): State.TERMINATED,
        (State.ACCEPTED, "2xx"): State.ACCEPTED,
        (State.ACCEPTED, "end"): State.TERMINATED,
        (State.CALLING, "abandon"): State.TERMINATED,
        (State.PROCEEDING, "abandon"): State.TERMINATED,
    }

    def start(self, now: float) -> list[Event]:
        """Send the INVITE: timer A retransmits it over UDP, timer B gives up."""
        if not self.reliable:
            self._start_timer("A", now, self.timers.t1)
        self._start_timer("B", now, 64 * self.timers.t1)
        return [Transmit(self.request)]

    def receive(self, response: Response, now: float) -> list[Event]:
        """A response matched to this transaction."""
        kind = _status_class(response)
        before = self.state
        if not self._go(kind):
            return []
        if kind == "1xx":
            self._stop_timers("A")
            return [ResponseReceived(response)]
        if kind == "2xx":
            if before is not State.ACCEPTED:
                self._stop_timers("A", "B")
                self._start_timer("M", now, 64 * self.timers.t1)
            return [ResponseReceived(response)]
        ack = Transmit(self.ack_for(response))
        if before is State.COMPLETED:
            return [ack]
        self._stop_timers("A", "B")
        self._start_timer("D", now, 0.0 if self.reliable else 32.0)
        return [ResponseReceived(response), ack]

    def abandon(self) -> list[Event]:
        """Give up waiting for a final response. A proceeding INVITE has no timeout of its
        own: the user sends CANCEL and, if no final response follows within 64*T1, abandons
        the transaction (RFC 3261 9.1)."""
        return [Terminated()] if self._go("abandon") else []

    def ack_for(self, response: Response) -> Request:
        """The ACK of a non-2xx final response (RFC 3261 17.1.1.3): same branch and
        Request-URI, the top Via only, To from the response, CSeq number of the INVITE."""
        invite = self.request
        headers = Headers.of(
            [
                ("Via", invite.headers.get_all("Via")[0]),
                *(("Route", route) for route in invite.headers.get_all("Route")),
                ("Max-Forwards", "70"),
                ("From", invite.required("From")),
                ("To", response.required("To")),
                ("Call-ID", invite.call_id),
                ("CSeq", f"{invite.cseq.number} ACK"),
            ]
        )
        return Request(method="ACK", uri=invite.uri, headers=headers)

    def _on_timer(self, name: str, now: float) -> list[Event]:
        if name == "A":
            self._start_timer("A", now, 2 * self._intervals["A"])
            return [Transmit(self.request)]
        if name == "B":
            return [Timeout("B"), Terminated()] if self._go("timer B") else []
        return self._end()


class ClientTransaction(_Transaction):
    """Sends a non-INVITE request (OPTIONS, BYE, REGISTER, CANCEL ...) (RFC 3261 17.1.2)."""

    _INVITE = False
    _INITIAL = State.TRYING
    _TRANSITIONS: ClassVar[dict[tuple[State, str], State]] = {
        (State.TRYING, "1xx"): State.PROCEEDING,
        (State.TRYING, "final"): State.COMPLETED,
        (State.TRYING, "timer F"): State.TERMINATED,
        (State.PROCEEDING, "1xx"): State.PROCEEDING,
        (State.PROCEEDING, "final"): State.COMPLETED,
        (State.PROCEEDING, "timer F"): State.TERMINATED,
        (State.COMPLETED, "end"): State.TERMINATED,
    }

    def start(self, now: float) -> list[Event]:
        """Send the request: timer E retransmits it over UDP, timer F gives up."""
        if not self.reliable:
            self._start_timer("E", now, self.timers.t1)
        self._start_timer("F", now, 64 * self.timers.t1)
        return [Transmit(self.request)]

    def receive(self, response: Response, now: float) -> list[Event]:
        """A response matched to this transaction."""
        kind = "1xx" if response.status < 200 else "final"
        if not self._go(kind):
            return []
        if kind == "final":
            self._stop_timers("E", "F")
            self._start_timer("K", now, 0.0 if self.reliable else self.timers.t4)
        return [ResponseReceived(response)]

    def _on_timer(self, name: str, now: float) -> list[Event]:
        if name == "E":
            interval = self._intervals["E"]
            following = self.timers.t2 if self.state is State.PROCEEDING else interval * 2
            self._start_timer("E", now, min(following, self.timers.t2))
            return [Transmit(self.request)]
        if name == "F":
            return [Timeout("F"), Terminated()] if self._go("timer F") else []
        return self._end()


class _ServerTransaction(_Transaction):
    """What both server kinds share: the last response sent, resent on retransmissions."""

    _CANNOT = "server transaction cannot take"

    def __init__(
        self, request: Request, *, reliable: bool = False, timers: TimerValues | None = None
    ) -> None:
        super().__init__(request, reliable=reliable, timers=timers)
        self.last_response: Response | None = None

    def _resend(self) -> list[Event]:
        return [] if self.last_response is None else [Transmit(self.last_response)]


class ServerInviteTransaction(_ServerTransaction):
    """Answers a received INVITE (RFC 3261 17.2.1, RFC 6026 7.1).

    ``start`` sends 100 Trying at once, so the client stops retransmitting. A 2xx moves to
    Accepted: retransmitting the 2xx until the ACK comes is the user's (UAS core's) work.
    """

    _INVITE = True
    _INITIAL = State.PROCEEDING
    _TRANSITIONS: ClassVar[dict[tuple[State, str], State]] = {
        (State.PROCEEDING, "request"): State.PROCEEDING,
        (State.PROCEEDING, "send 1xx"): State.PROCEEDING,
        (State.PROCEEDING, "send 2xx"): State.ACCEPTED,
        (State.PROCEEDING, "send 3xx-6xx"): State.COMPLETED,
        (State.COMPLETED, "request"): State.COMPLETED,
        (State.COMPLETED, "ACK"): State.CONFIRMED,
        (State.COMPLETED, "timer H"): State.TERMINATED,
        (State.CONFIRMED, "end"): State.TERMINATED,
        (State.ACCEPTED, "send 2xx"): State.ACCEPTED,
        (State.ACCEPTED, "ACK"): State.ACCEPTED,
        (State.ACCEPTED, "end"): State.TERMINATED,
    }

    def start(self, now: float) -> list[Event]:
        """Send 100 Trying (RFC 3261 17.2.1: at once, if the user will not answer in 200 ms)."""
        return self.respond(response_to(self.request, 100, "Trying"), now)

    def respond(self, response: Response, now: float) -> list[Event]:
        """Send the user's response; a final one moves the transaction on."""
        kind = _status_class(response)
        if not self._go(f"send {kind}"):
            raise self._refuse(f"send a {response.status}")
        self.last_response = response
        if kind == "2xx":
            if "L" not in self._deadlines:
                self._start_timer("L", now, 64 * self.timers.t1)
        elif kind == "3xx-6xx":
            if not self.reliable:
                self._start_timer("G", now, self.timers.t1)
            self._start_timer("H", now, 64 * self.timers.t1)
        return [Transmit(response)]

    def receive(self, request: Request, now: float) -> list[Event]:
        """A request matched to this transaction: a retransmitted INVITE or the ACK."""
        trigger = "ACK" if request.method == "ACK" else "request"
        before = self.state
        if not self._go(trigger):
            return []
        if trigger == "request":
            return self._resend()
        if before is State.ACCEPTED:
            return [AckReceived(request)]
        self._stop_timers("G", "H")
        self._start_timer("I", now, 0.0 if self.reliable else self.timers.t4)
        return []

    def _on_timer(self, name: str, now: float) -> list[Event]:
        if name == "G":
            self._start_timer("G", now, min(2 * self._intervals["G"], self.timers.t2))
            return self._resend()
        if name == "H":
            return [Timeout("H"), Terminated()] if self._go("timer H") else []
        return self._end()


class ServerTransaction(_ServerTransaction):
    """Answers a received non-INVITE request (RFC 3261 17.2.2)."""

    _INVITE = False
    _INITIAL = State.TRYING
    _TRANSITIONS: ClassVar[dict[tuple[State, str], State]] = {
        (State.TRYING, "request"): State.TRYING,
        (State.TRYING, "send 1xx"): State.PROCEEDING,
        (State.TRYING, "send final"): State.COMPLETED,
        (State.PROCEEDING, "request"): State.PROCEEDING,
        (State.PROCEEDING, "send 1xx"): State.PROCEEDING,
        (State.PROCEEDING, "send final"): State.COMPLETED,
        (State.COMPLETED, "request"): State.COMPLETED,
        (State.COMPLETED, "end"): State.TERMINATED,
    }

    def respond(self, response: Response, now: float) -> list[Event]:
        """Send the user's response; a final one completes the transaction (timer J)."""
        kind = "1xx" if response.status < 200 else "final"
        if not self._go(f"send {kind}"):
            raise self._refuse(f"send a {response.status}")
        self.last_response = response
        if kind == "final":
            self._start_timer("J", now, 0.0 if self.reliable else 64 * self.timers.t1)
        return [Transmit(response)]

    def receive(self, request: Request, now: float) -> list[Event]:
        """A retransmission of the request: the last response is sent again."""
        return self._resend() if self._go("request") else []

    def _on_timer(self, name: str, now: float) -> list[Event]:
        return self._end()


def client_transaction(
    request: Request, *, reliable: bool = False, timers: TimerValues | None = None
) -> ClientInviteTransaction | ClientTransaction:
    """The client transaction of the kind ``request`` needs (INVITE or not)."""
    kind = ClientInviteTransaction if request.method == "INVITE" else ClientTransaction
    return kind(request, reliable=reliable, timers=timers)


def server_transaction(
    request: Request, *, reliable: bool = False, timers: TimerValues | None = None
) -> ServerInviteTransaction | ServerTransaction:
    """The server transaction of the kind a received ``request`` needs (INVITE or not)."""
    kind = ServerInviteTransaction if request.method == "INVITE" else ServerTransaction
    return kind(request, reliable=reliable, timers=timers)


def client_key(response: Response) -> tuple[str, str]:
    """The key matching a response to its client transaction (RFC 3261 17.1.3): the top
    Via's branch and the CSeq method."""
    return (response.top_via.branch or "", response.cseq.method)


def server_key(request: Request) -> tuple[str, str, str]:
    """The key matching a request to its server transaction (RFC 3261 17.2.3): the top Via's
    branch and sent-by, and the method, an ACK matching its INVITE."""
    via = request.top_via
    sent_by = f"{via.host}:{via.port or 5060}"
    method = "INVITE" if request.method == "ACK" else request.method
    return (via.branch or "", sent_by, method)


def make_cancel(invite: Request) -> Request:
    """The CANCEL of an INVITE (RFC 3261 9.1): same Request-URI, Call-ID, From, To, CSeq
    number and top Via (so the same branch), and the INVITE's Route headers."""
    headers = Headers.of(
        [
            ("Via", invite.headers.get_all("Via")[0]),
            *(("Route", route) for route in invite.headers.get_all("Route")),
            ("Max-Forwards", "70"),
            ("From", invite.required("From")),
            ("To", invite.required("To")),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{invite.cseq.number} CANCEL"),
        ]
    )
    return Request(method="CANCEL", uri=invite.uri, headers=headers)
