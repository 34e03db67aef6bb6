"""Our binding at a SIP registrar (RFC 3261 section 10) as a sans-I/O state machine.

Its user locates the registrar and moves the messages and the time: it starts an attempt
(``begin``), asks for the attempt's REGISTER to the located target (``request``), feeds the
final response (``receive``) or why none came (``fail``), and calls ``handle_timer(now)`` at
``next_timer()``. Each call returns the events that follow: a REGISTER to send (a digest
challenge answered, a 423's Min-Expires), the binding granted or refused, the state changed,
or the next attempt due. A refresh falls due at half the granted time; a failed attempt is
tried again after ``retry`` seconds, or, when the registrar refused our credentials (401,
403, 407), after a delay doubled at each refusal up to ``backoff_max``: each attempt sends
the credentials once (one unsigned then one signed REGISTER), so a carrier's fail2ban never
sees the same refused credentials again soon.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from openfax.telephony.sip.dialog import new_branch, new_tag
from openfax.telephony.sip.digest import stale_nonce
from openfax.telephony.sip.headers import NameAddr, Via
from openfax.telephony.sip.message import Headers, Request, Response

Authorize = Callable[[Request, Response, int], tuple[str, str] | None]
"""Answers the challenge in a 401/407 to a request with a nonce count: the (Proxy-)
Authorization header, or None when it cannot."""


class RegistrationState(enum.StrEnum):
    """Where a registration is: the first REGISTER under way, the binding in force, or the
    last attempt failed (and the next one is waiting)."""

    REGISTERING = "registering"
    """The first attempt is under way."""
    REGISTERED = "registered"
    FAILED = "failed"
    """The last attempt failed; another follows after a delay."""


@dataclass(frozen=True)
class Send:
    """Send this REGISTER to the attempt's target."""

    request: Request


@dataclass(frozen=True)
class Registered:
    """The registrar granted the binding for ``granted`` seconds (``renewal``: it was not
    the first binding)."""

    granted: int
    renewal: bool


@dataclass(frozen=True)
class Unregistered:
    """The registrar removed our binding (Expires: 0)."""


@dataclass(frozen=True)
class RegistrationFailed:
    """The attempt failed: ``reason`` says why, ``status`` is the final response's (None
    when none came), ``credentials_rejected`` is True for a 401, 403 or 407 the credentials
    could not get past. ``retry_at`` is when the next attempt falls due (None when removing
    the binding failed: nothing follows)."""

    reason: str
    status: int | None
    credentials_rejected: bool
    retry_at: float | None


@dataclass(frozen=True)
class StateChanged:
    """The state or the error changed (what a user's status display shows)."""

    state: RegistrationState
    error: str


@dataclass(frozen=True)
class AttemptDue:
    """Time for the next attempt (a refresh or a retry): locate the registrar and begin."""


Event = Send | Registered | Unregistered | RegistrationFailed | StateChanged | AttemptDue


class Registration:
    """One registration: REGISTER with digest authentication, 423 handling, refresh at half
    the granted time, retries with back-off. ``state``, ``error``, ``retry_in``,
    ``renewed_at``, ``rejections``, ``refreshes`` and ``granted`` say where it is.

    ``aor`` is our address of record (``<sip:user@domain>``); ``proxy`` an outbound proxy
    (a Route); ``authorize`` answers challenges (None: no password is configured)."""

    def __init__(
        self,
        *,
        registrar: str,
        aor: str,
        expires: int,
        retry: float,
        backoff_max: float,
        authorize: Authorize | None = None,
        proxy: str | None = None,
        user_agent: str = "OpenFax",
    ) -> None:
        self.registrar = registrar
        self.aor = aor
        self.proxy = proxy
        self.user_agent = user_agent
        self.retry = retry
        self.backoff_max = backoff_max
        self.authorize = authorize
        self.call_id = f"{secrets.token_hex(12)}@openfax"
        self.local_tag = new_tag()
        self.cseq = 0
        self.expires = expires
        self.registered = False
        self.granted: int | None = None
        self.refreshes = 0
        self.state = RegistrationState.REGISTERING
        self.error = ""
        """Why the last attempt failed ("" once registered)."""
        self.retry_in: float | None = None
        """Seconds from the last attempt to the next one."""
        self.renewed_at: float | None = None
        """When the binding was last renewed or an attempt failed (None before either):
        calls just after it may meet a registrar that lost its bindings."""
        self.rejections = 0
        """Attempts in a row whose credentials were refused."""
        self._auth: tuple[Request, Response] | None = None
        self._nonce_count = 0
        self._next_at: float | None = None
        # The attempt under way: what it asks, to whom, and what it sent last.
        self._asked = expires
        self._renewal = False
        self._unregistering = False
        self._challenges = 0
        self._target: tuple[Via, str] | None = None
        self._sent: Request | None = None

    # --- Time ---------------------------------------------------------------------------------

    def next_timer(self) -> float | None:
        """When ``handle_timer`` must next be called (the next attempt), or None."""
        return self._next_at

    def handle_timer(self, now: float) -> list[Event]:
        """The next attempt when it is due at ``now``."""
        if self._next_at is None or now < self._next_at:
            return []
        self._next_at = None
        return [AttemptDue()]

    def stop(self) -> None:
        """No more attempts (the user agent is closing)."""
        self._next_at = None

    # --- An attempt ---------------------------------------------------------------------------

    def begin(self, *, unregister: bool = False) -> None:
        """Start an attempt: asking for ``expires`` seconds, or 0 to remove the binding."""
        self._next_at = None
        self._unregistering = unregister
        self._asked = 0 if unregister else self.expires
        self._renewal = self.state is not RegistrationState.REGISTERING or self.granted is not None
        self._challenges = 0

    def request(self, via: Via, contact: str) -> Request:
        """The attempt's next REGISTER to the target our ``via`` (without branch) and
        ``contact`` were written for; again after failing over to another target."""
        self._target = (via, contact)
        return self._next_request()

    def receive(self, response: Response, now: float) -> list[Event]:
        """The final response to the last REGISTER sent."""
        request = self._sent
        assert request is not None, "receive() before request()"
        status = response.status
        if 200 <= status < 300:
            self.granted = _granted(response, request, self._asked)
            self.registered = self._asked > 0
            if self._unregistering:
                return [Unregistered()]
            return self._succeeded(now)
        again = self._auth is None or stale_nonce(response) or self._challenges == 0
        if status in (401, 407) and self._challenges < 2 and self.authorize and again:
            self._auth = (request, response)
            self._nonce_count = 0
            self._challenges += 1
            return [Send(self._next_request())]
        least = response.headers.get("Min-Expires") or ""
        if status == 423 and least.isdigit():
            self._asked = self.expires = int(least)
            return [Send(self._next_request())]
        answered = f"registrar {self.registrar} answered {status} {response.reason}"
        if status in (401, 403, 407):
            why = "the credentials were refused" if self.authorize else "no password is configured"
            return self._failed(now, f"{answered}: {why}", status, credentials_rejected=True)
        return self._failed(now, answered, status)

    def fail(self, now: float, reason: str) -> list[Event]:
        """The attempt got no response: timed out, the registrar could not be located or
        reached; tried again like any failure."""
        return self._failed(now, reason, None)

    # --- Inside -------------------------------------------------------------------------------

    def _succeeded(self, now: float) -> list[Event]:
        if self._renewal:
            self.refreshes += 1
            self.renewed_at = now
        self.rejections = 0
        self.retry_in = max(1.0, (self.granted or self.expires) / 2)
        self._next_at = now + self.retry_in
        return [
            Registered(self.granted or self.expires, self._renewal),
            *self._set(RegistrationState.REGISTERED, ""),
        ]

    def _failed(
        self, now: float, reason: str, status: int | None, *, credentials_rejected: bool = False
    ) -> list[Event]:
        self.registered = False
        if self._unregistering:
            return [RegistrationFailed(reason, status, credentials_rejected, None)]
        self.renewed_at = now
        if credentials_rejected:
            # Never the same refused credentials again soon: a carrier's fail2ban counts them.
            self._auth = None
            self.rejections += 1
            self.retry_in = min(self.retry * 2 ** min(self.rejections - 1, 32), self.backoff_max)
        else:
            self.rejections = 0
            self.retry_in = min(self.retry, self.expires / 2)
        self._next_at = now + self.retry_in
        failed = RegistrationFailed(reason, status, credentials_rejected, self._next_at)
        return [failed, *self._set(RegistrationState.FAILED, reason)]

    def _set(self, state: RegistrationState, error: str) -> list[Event]:
        if (state, error) == (self.state, self.error):
            return []
        self.state, self.error = state, error
        return [StateChanged(state, error)]

    def _next_request(self) -> Request:
        assert self._target is not None, "request() names the target first"
        via, contact = self._target
        self.cseq += 1
        fields = [("Via", str(via.with_params(branch=new_branch())))]
        if self.proxy is not None:
            fields.append(("Route", f"<{self.proxy};lr>"))
        fields += [
            ("Max-Forwards", "70"),
            ("From", f"{self.aor};tag={self.local_tag}"),
            ("To", self.aor),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"),
            ("Contact", f"<{contact}>"),
            ("Expires", str(self._asked)),
            ("User-Agent", self.user_agent),
        ]
        request = Request(method="REGISTER", uri=self.registrar, headers=Headers.of(fields))
        if self._auth is not None and self.authorize is not None:
            # Answer the last challenge again with the next nonce count (RFC 7616 3.4).
            self._nonce_count += 1
            answer = self.authorize(request, self._auth[1], self._nonce_count)
            if answer is not None:
                request = replace(request, headers=request.headers.add(*answer))
        self._sent = request
        return request


def _granted(response: Response, request: Request, asked: int) -> int:
    """The seconds the registrar granted our Contact: its expires parameter, else the
    Expires header, else what we asked."""
    ours = NameAddr.parse(request.required("Contact"), "Contact").uri
    for contact in response.contacts:
        value = contact.params.get("expires")
        if contact.uri == ours and value is not None and value.isdigit():
            return int(value)
    header = response.headers.get("Expires")
    return int(header) if header is not None and header.isdigit() else asked
