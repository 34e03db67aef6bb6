"""A SIP user agent on asyncio (RFC 3261 UAC and UAS cores, RFC 4028 session timers): what
the ``sip`` device provider uses to register, place and take fax calls and switch them to
T.38.

The provider's whole view::

    ua = UserAgent(UserAgentConfig(host="0.0.0.0", port=5060, registrar="sip:pbx.example"),
                   on_incoming=ring_a_device)
    await ua.start()
    await ua.register()                     # digest challenges answered, refreshed by itself
    call = ua.call("sip:+15551234@pbx.example", offer)      # located, then INVITEd at once
    answer = await call.connected()         # raises CallFailedError(cause=BUSY, ...)
    result = await call.reinvite(t38_offer) # accepted with the answer, or refused (488 ...)
    call.on_offer = answer_far_end_offers   # the far end's re-INVITEs that change media
    end = await call.wait_ended()           # CallEnd(remote=True, reason="bye") ...
    await call.hang_up()                    # CANCEL before the answer, BYE after
    await ua.close()

Incoming calls reach ``on_incoming`` as :class:`IncomingCall` after the 100 Trying; the
provider rings (:meth:`IncomingCall.ring`), answers (:meth:`IncomingCall.answer`) or
rejects them. Session descriptions are :class:`~openfax.telephony.sdp.SessionDescription`
objects: the user agent carries them and keeps their versions right, but offer/answer
decisions are the provider's (with :func:`~openfax.telephony.sdp.make_answer`). Session
refreshes are answered here without disturbing the media.

The protocol's rules are the sans-I/O machines' (:mod:`.call`, :mod:`.registration`, the
transactions of :mod:`.endpoint`); this module carries out their events, gives them the
loop's time and runs the provider's callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from openfax.errors import SdpNegotiationError, SipParseError, TelephonyError
from openfax.telephony.sdp import SessionDescription
from openfax.telephony.sip._grammar import quote
from openfax.telephony.sip.call import (
    ALLOW,
    Abandon,
    Acked,
    ByeDone,
    ByeReceived,
    CallMachine,
    Cancelled,
    Connected,
    DialogRequest,
    Failed,
    Incoming,
    IncomingCallMachine,
    IncomingInvite,
    Locate,
    Lost,
    NoAck,
    Progress,
    RefreshDue,
    Resend,
    Respond,
    RetryDue,
    SendAck,
    SendCancel,
    SendInvite,
    SendRequest,
    SessionEvent,
    SessionExpired,
    SessionMachine,
    SessionTimer,
    incoming_invite,
    outside_dialog,
    warning,
)
from openfax.telephony.sip.call import (
    CallEnd as CallEnd,
)
from openfax.telephony.sip.call import CallFailure as CallFailure
from openfax.telephony.sip.call import CallState as CallState
from openfax.telephony.sip.call import Event as CallEvent
from openfax.telephony.sip.call import ReinviteResult as ReinviteResult
from openfax.telephony.sip.call import warnings_of as warnings_of
from openfax.telephony.sip.dialog import Dialog, DialogState, new_tag
from openfax.telephony.sip.digest import DigestChallenge, digest_response
from openfax.telephony.sip.endpoint import ClientRequest, ServerRequest, SipEndpoint
from openfax.telephony.sip.headers import NameAddr, SipUri, Via
from openfax.telephony.sip.location import Targets, failed_over
from openfax.telephony.sip.message import Message, Request, Response, response_to
from openfax.telephony.sip.registration import (
    Event as RegistrationEvent,
)
from openfax.telephony.sip.registration import (
    Registered,
    Registration,
    RegistrationFailed,
    Send,
    StateChanged,
)
from openfax.telephony.sip.resolver import DNS_TIMEOUT, SipResolver
from openfax.telephony.sip.transaction import TimerValues
from openfax.telephony.sip.transport import TRANSPORTS, Peer, SipTransport, describe

log = logging.getLogger(__name__)

SUPPORTED = "timer, 100rel"
"""The option tags an INVITE may require of us (RFC 4028 session timers; RFC 3262 reliable
provisional responses, which we never send: see :meth:`IncomingCall.ring`)."""
REGISTER_RETRY = 30.0
"""Seconds before a failed registration is tried again (at most half the time asked); after
refused credentials, the first of the doubling delays."""
REGISTER_BACKOFF_MAX = 900.0
"""The longest delay between two REGISTERs whose credentials the registrar refuses (a
carrier's fail2ban must not ban us for retrying a wrong password)."""


class CallFailedError(TelephonyError):
    """An outgoing call was not answered, or an incoming one ended before it was; ``cause``
    classifies it, ``status`` and ``reason`` are the final response's."""

    def __init__(self, cause: CallFailure, status: int, reason: str) -> None:
        self.cause = cause
        self.status = status
        self.reason = reason
        super().__init__(f"call failed: {status} {reason} ({cause})")


class RegistrationError(TelephonyError):
    """The registrar refused or never answered a REGISTER; says with what. ``status`` is the
    final response's (None when nothing came); ``credentials_rejected`` is True for a 401,
    403 or 407 the credentials we have could not get past."""

    def __init__(
        self, message: str, *, status: int | None = None, credentials_rejected: bool = False
    ) -> None:
        self.status = status
        self.credentials_rejected = credentials_rejected
        super().__init__(message)


OfferHandler = Callable[[SessionDescription], Awaitable[SessionDescription]]
"""Answers the far end's offer that changes the session (a re-INVITE to T.38 or back to
audio): returns our answer, or raises SdpNegotiationError to refuse it (488, the old session
stays)."""
ProgressHandler = Callable[[int, SessionDescription | None], None]
"""Told of each provisional response to our INVITE: status (180, 183 ...) and early SDP."""
IncomingHandler = Callable[["IncomingCall"], None]
"""Told of each new incoming call, after the 100 Trying was sent."""


@dataclass(frozen=True)
class UserAgentConfig:
    """How the user agent listens, who it is, and where its registrar and proxy are.

    ``host``/``port`` are bound for UDP and TCP (port 0: any free port); ``contact_host`` is
    the address written in Via and Contact (default ``host``, or the local address facing
    the peer when ``host`` is a wildcard). ``transport`` is used for requests whose URI does
    not say. ``registrar`` and ``proxy`` are SIP URIs; ``proxy`` is an outbound proxy that
    every call set-up goes through (loose routing). ``username``/``password`` answer digest
    challenges (``username`` defaults to ``user``), of ``realm`` only when it is set.
    ``session_expires`` (seconds, None: no session timer) and ``min_se`` are RFC 4028's.
    ``max_redirects`` is how many redirections (3xx) one outgoing call follows.
    ``dns_servers`` locate SIP hosts (RFC 3263 SRV and A/AAAA; empty: the system's), each
    lookup taking ``dns_timeout`` seconds at most. ``register_retry`` is the delay before a
    failed REGISTER is tried again, doubled after each refusal of our credentials up to
    ``register_backoff_max``. ``name`` (a trunk's) starts the registration's log lines.
    """

    host: str = "127.0.0.1"
    port: int = 5060
    transport: str = "UDP"
    tcp: bool = True
    contact_host: str | None = None
    user: str = "openfax"
    display_name: str | None = None
    domain: str | None = None
    registrar: str | None = None
    proxy: str | None = None
    username: str | None = None
    password: str | None = None
    realm: str | None = None
    register_expires: int = 3600
    session_expires: int | None = 1800
    min_se: int = 90
    timers: TimerValues = field(default_factory=TimerValues)
    user_agent: str = "OpenFax"
    glare_retries: int = 3
    max_redirects: int = 5
    dns_servers: tuple[str, ...] = ()
    dns_timeout: float = DNS_TIMEOUT
    register_retry: float = REGISTER_RETRY
    register_backoff_max: float = REGISTER_BACKOFF_MAX
    name: str = ""


class UserAgent:
    """The user agent: transport, transactions, registration and calls. Use it as an async
    context manager or call :meth:`start` and :meth:`close`."""

    def __init__(
        self, config: UserAgentConfig, *, on_incoming: IncomingHandler | None = None
    ) -> None:
        if config.transport not in TRANSPORTS:
            raise TelephonyError(f"SIP transport {config.transport!r} is not UDP or TCP")
        self.config = config
        self.on_incoming = on_incoming
        self.transport = SipTransport(
            lambda _message, _peer: None, host=config.host, port=config.port, tcp=config.tcp
        )
        self.endpoint = SipEndpoint(
            self.transport,
            on_request=self._on_request,
            on_stray=self._on_stray,
            timers=config.timers,
        )
        self.resolver = SipResolver(
            config.dns_servers, ipv6=":" in config.host, timeout=config.dns_timeout
        )
        self.registration: Registration | None = None
        self._registration_handle: asyncio.TimerHandle | None = None
        self._attempt: asyncio.Task[None] | None = None
        """The registration's attempt under way (its first, a refresh or a retry)."""
        self._on_registration: Callable[[Registration], None] | None = None
        self._calls: dict[tuple[str, str], Call] = {}
        self._placing: set[OutgoingCall] = set()
        self._ringing: dict[int, IncomingCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._contact_hosts: dict[str, str] = {}

    async def __aenter__(self) -> UserAgent:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind the sockets."""
        await self.transport.start()

    async def close(self) -> None:
        """Hang up every call, unregister, close the sockets."""
        calls = [*self._calls.values(), *self._ringing.values()]
        if calls:
            hang_ups = [asyncio.ensure_future(call.hang_up()) for call in calls]
            await asyncio.wait(hang_ups, timeout=2.0)
        if self.registration is not None:
            await self._unregister(self.registration)
        for call in list(self._placing):
            call._close()
        for task in list(self._tasks):
            task.cancel()
        self.endpoint.close()
        await self.transport.close()

    @property
    def address(self) -> tuple[str, int]:
        """The bound address and port (the port chosen when 0 was asked)."""
        return self.transport.host, self.transport.port

    async def register(self) -> Registration:
        """Register our Contact with the configured registrar, answering digest challenges,
        and keep refreshing it before it expires. Raises RegistrationError when refused,
        SipLocationError when the registrar cannot be located; the retries go on."""
        registration = self._registration()
        try:
            await self._register_once(registration)
        finally:
            self._arm_registration()
        return registration

    def register_in_background(
        self, on_change: Callable[[Registration], None] | None = None
    ) -> Registration:
        """Start registering without waiting for the registrar (a silent one takes timer F,
        32 s): the first REGISTER goes out at once, the refreshes and retries follow, and
        ``on_change`` hears each change of state or error."""
        registration = self._registration()
        self._on_registration = on_change
        if self._attempt is None:
            self._attempt = self.spawn(self._attempt_registration(registration))
        return registration

    def _registration(self) -> Registration:
        if self.config.registrar is None:
            raise RegistrationError("no registrar is configured")
        if self.registration is None:
            self.registration = Registration(
                registrar=self.config.registrar,
                aor=f"<sip:{self.config.user}@{self.domain()}>",
                expires=self.config.register_expires,
                retry=self.config.register_retry,
                backoff_max=self.config.register_backoff_max,
                authorize=self.authorization if self.config.password else None,
                proxy=self.config.proxy,
                user_agent=self.config.user_agent,
            )
        return self.registration

    def _arm_registration(self) -> None:
        """Arm the one loop timer of the registration at its next attempt (a refresh, a
        retry), unless an attempt is under way: it arms the timer when it ends."""
        if self._registration_handle is not None:
            self._registration_handle.cancel()
            self._registration_handle = None
        registration = self.registration
        due = None if registration is None else registration.next_timer()
        if due is not None and self._attempt is None:
            loop = asyncio.get_running_loop()
            self._registration_handle = loop.call_at(due, self._registration_due)

    def _registration_due(self) -> None:
        self._registration_handle = None
        registration = self.registration
        assert registration is not None
        if registration.handle_timer(self.endpoint.now()):
            self._attempt = self.spawn(self._attempt_registration(registration))
        else:
            self._arm_registration()

    async def _attempt_registration(self, registration: Registration) -> None:
        """An attempt the registration asked for: it locates the registrar anew, once the
        DNS answers' TTLs ran out; its failure is the registration's to retry."""
        try:
            with contextlib.suppress(TelephonyError):
                await self._register_once(registration)
        finally:
            self._attempt = None
            self._arm_registration()

    async def _register_once(self, registration: Registration, *, unregister: bool = False) -> None:
        """Carry one attempt of the registration; raise RegistrationError when it failed (a
        TelephonyError of locating the registrar as it is)."""
        loop = asyncio.get_running_loop()
        registration.begin(unregister=unregister)
        raised: Exception | None = None
        try:
            events = await self._exchange(registration)
        except TelephonyError as error:
            events, raised = registration.fail(loop.time(), str(error)), error
        except OSError as error:
            # No route to the registrar (the network is down): tried again like a timeout.
            reason = f"registrar {registration.registrar}: {error}"
            events, raised = registration.fail(loop.time(), reason), RegistrationError(reason)
            raised.__cause__ = error
        self._registration_told(registration, events)
        if raised is not None:
            raise raised
        for event in events:
            if isinstance(event, RegistrationFailed):
                raise RegistrationError(
                    event.reason,
                    status=event.status,
                    credentials_rejected=event.credentials_rejected,
                )

    async def _exchange(self, registration: Registration) -> list[RegistrationEvent]:
        """Send the attempt's REGISTERs to the registrar's targets (failing over as RFC 3263
        says) until the registration has its outcome."""
        loop = asyncio.get_running_loop()
        targets = await self.locate(self.config.proxy or registration.registrar)
        request = registration.request(self.via(targets.current), self.contact(targets.current))
        while True:
            client = self.endpoint.request(request, targets.current)
            response = await client.final
            now = loop.time()
            if failed_over(targets, response, client.local, now, self.label):
                peer = targets.current
                request = registration.request(self.via(peer), self.contact(peer))
                continue
            if client.local is not None:
                reason = f"registrar {registration.registrar}: {client.local}"
                events = registration.fail(loop.time(), reason)
            else:
                events = registration.receive(response, loop.time())
            sends = [event.request for event in events if isinstance(event, Send)]
            if not sends:
                return events
            request = sends[0]

    def _registration_told(
        self, registration: Registration, events: list[RegistrationEvent]
    ) -> None:
        """Log an attempt's outcome and tell ``on_change`` of a change."""
        name = self.config.name or registration.registrar
        for event in events:
            if isinstance(event, Registered):
                log.info(
                    "SIP %s: registered at %s for %d s", name, registration.registrar, event.granted
                )
            elif isinstance(event, RegistrationFailed) and event.retry_at is not None:
                log.warning(
                    "SIP %s: registration failed: %s; next attempt in %g s",
                    name,
                    event.reason,
                    registration.retry_in,
                )
            elif isinstance(event, StateChanged) and self._on_registration is not None:
                try:
                    self._on_registration(registration)
                except Exception:
                    log.exception("SIP %s: the registration handler failed", name)

    async def _unregister(self, registration: Registration) -> None:
        """Stop refreshing and remove our binding (Expires: 0), not waiting long for it."""
        registration.stop()
        if self._registration_handle is not None:
            self._registration_handle.cancel()
            self._registration_handle = None
        if self._attempt is not None:
            self._attempt.cancel()
            self._attempt = None
        if registration.registered:
            try:
                await asyncio.wait_for(self._register_once(registration, unregister=True), 2.0)
            except (TelephonyError, TimeoutError, OSError) as error:
                name = self.config.name or registration.registrar
                log.info("SIP %s: unregister failed: %s", name, error)

    def call(
        self,
        target: str,
        offer: SessionDescription | None,
        *,
        caller: str | None = None,
        caller_name: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        ring_timeout: float | None = 60.0,
        on_progress: ProgressHandler | None = None,
    ) -> OutgoingCall:
        """Call ``target`` (a SIP URI) with ``offer``; the INVITE goes out at once. Await
        :meth:`OutgoingCall.connected` for the answer. ``caller`` is the user part of From
        (default the configured user); after ``ring_timeout`` seconds without an answer the
        call is cancelled and fails as NO_ANSWER."""
        call = OutgoingCall(
            self,
            target,
            offer,
            caller=caller or self.config.user,
            caller_name=caller_name or self.config.display_name,
            headers=tuple(headers),
            ring_timeout=ring_timeout,
            on_progress=on_progress,
        )
        self._placing.add(call)
        call._start()
        return call

    # --- What calls and registrations share ---------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a coroutine owned by the user agent (cancelled on close); errors are logged."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("SIP %stask failed: %s", self.label, error, exc_info=error)

    async def next_hop(self, request: Request, transport: str | None = None) -> Peer:
        """Where a request in a dialog goes: its first Route (loose routing) or its
        Request-URI, located (RFC 3263); over the URI's transport, else ``transport`` (a
        dialog keeps the one it started on, as peers that reach us over TCP seldom say so in
        their Contact), else the configured one."""
        routes = request.headers.get_all("Route")
        uri = NameAddr.parse(routes[0], "Route").uri if routes else request.uri
        return (await self.locate(uri, transport)).current

    async def locate(self, uri: str, transport: str | None = None) -> Targets:
        """The targets a request to ``uri`` may go to, in the order to try (RFC 3263: an
        address as it is, SRV records of a name without port, else its addresses); over
        the URI's transport, else ``transport``, else the configured one. Raises
        SipLocationError naming the host when DNS fails."""
        hop = Peer.of_uri(uri, transport or self.config.transport)
        now = asyncio.get_running_loop().time()
        return await self.resolver.locate(hop.host, SipUri.parse(uri).port, hop.transport, now=now)

    @property
    def label(self) -> str:
        """What starts this user agent's log lines: ``"trunk carrier: "`` (its configured
        ``name``), else nothing."""
        return f"{self.config.name}: " if self.config.name else ""

    def contact_host(self, peer: Peer) -> str:
        """The address we write in Via and Contact for messages to ``peer``."""
        if self.config.contact_host is not None:
            return self.config.contact_host
        try:
            wildcard = ipaddress.ip_address(self.transport.host).is_unspecified
        except ValueError:
            wildcard = False
        if not wildcard:
            return self.transport.host
        if peer.host not in self._contact_hosts:
            family = socket.AF_INET6 if ":" in peer.host else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((peer.host, peer.port))
                self._contact_hosts[peer.host] = str(probe.getsockname()[0])
        return self._contact_hosts[peer.host]

    def via(self, peer: Peer) -> Via:
        """Our Via for a request to ``peer``, without its branch (RFC 3581 rport on UDP)."""
        params: dict[str, str | None] = {"rport": None} if peer.transport == "UDP" else {}
        return Via(peer.transport, self.contact_host(peer), self.transport.port, params)

    def contact(self, peer: Peer, user: str | None = None) -> str:
        """Our Contact URI for a dialog or registration with ``peer``."""
        host = self.contact_host(peer)
        if ":" in host:
            host = f"[{host}]"
        transport = ";transport=tcp" if peer.transport == "TCP" else ""
        return f"sip:{user or self.config.user}@{host}:{self.transport.port}{transport}"

    def domain(self) -> str:
        """The domain of our address of record: configured, else the registrar's host."""
        if self.config.domain is not None:
            return self.config.domain
        if self.config.registrar is not None:
            return SipUri.parse(self.config.registrar).host
        return self.transport.host

    def authorization(
        self, request: Request, response: Response, nonce_count: int = 1
    ) -> tuple[str, str] | None:
        """The Authorization (401) or Proxy-Authorization (407) header answering the
        challenge in ``response``; None without credentials or a challenge we can answer.
        SHA-256 is preferred over MD5 when both are offered."""
        if self.config.password is None:
            return None
        asking = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenges: list[DigestChallenge] = []
        for value in response.headers.get_all(asking):
            try:
                challenges.append(DigestChallenge.parse(value))
            except SipParseError as error:
                log.warning("SIP ignoring a challenge (Call-ID %s): %s", response.call_id, error)
        challenges.sort(key=lambda challenge: not challenge.algorithm.startswith("SHA-256"))
        for challenge in challenges:
            if self.config.realm is not None and challenge.realm != self.config.realm:
                log.info("SIP not answering a challenge of realm %r", challenge.realm)
                continue
            try:
                value = digest_response(
                    challenge,
                    method=request.method,
                    uri=request.uri,
                    username=self.config.username or self.config.user,
                    password=self.config.password,
                    nonce_count=nonce_count,
                )
            except TelephonyError as error:
                log.warning("SIP cannot answer a challenge: %s", error)
                continue
            return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)
        return None

    def common_headers(self) -> list[tuple[str, str]]:
        """What every request and dialog-making response of ours says about us."""
        return [("User-Agent", self.config.user_agent), ("Allow", ALLOW), ("Supported", SUPPORTED)]

    def forget(self, call: Call) -> None:
        """A call ended: requests in its dialog are answered 481 from now on."""
        self._calls.pop((call.call_id, call.local_tag), None)
        if isinstance(call, IncomingCall):
            self._ringing.pop(id(call.server), None)

    # --- Requests received ---------------------------------------------------------------------

    def _on_request(self, server: ServerRequest) -> None:
        request = server.request
        try:
            self._dispatch(server)
        except TelephonyError as error:
            log.warning("SIP rejected %s from %s: %s", describe(request), server.peer, error)
            if not server.answered:
                reply = response_to(request, 400, "Bad Request", headers=[warning(str(error))])
                server.respond(reply)

    def _dispatch(self, server: ServerRequest) -> None:
        request = server.request
        call = None
        if request.to.tag is not None:
            call = self._calls.get((request.call_id, request.to.tag))
        if call is not None:
            call._on_request(server)
        elif (reply := outside_dialog(request, self.common_headers())) is not None:
            server.respond(reply)
        elif request.method == "INVITE":
            self._on_invite(server)
        else:
            self._on_cancel(server)

    def _on_invite(self, server: ServerRequest) -> None:
        request = server.request
        invite = incoming_invite(request, min_se=self.config.min_se)
        if isinstance(invite, Response):
            server.respond(invite)
            return
        if self.on_incoming is None:
            server.respond(response_to(request, 480, "Temporarily Unavailable"))
            return
        call = IncomingCall(self, server, invite)
        self._ringing[id(server)] = call
        log.info(
            "SIP incoming call %s from %s to %s", call.call_id, call.caller, call.called_number
        )
        try:
            self.on_incoming(call)
        except Exception:
            log.exception("SIP incoming call %s: the incoming-call handler failed", call.call_id)
            call.reject(500, "Server Internal Error")

    def _on_cancel(self, server: ServerRequest) -> None:
        invite = self.endpoint.invite_server(server.request)
        call = None if invite is None else self._ringing.get(id(invite))
        if invite is None:
            server.respond(response_to(server.request, 481, "Call/Transaction Does Not Exist"))
            return
        server.respond(response_to(server.request, 200, "OK"))
        if call is not None:
            call._cancelled(server.request)

    def _on_stray(self, message: Message, peer: Peer) -> None:
        if isinstance(message, Request):
            call = self._calls.get((message.call_id, message.to.tag or ""))
            if call is not None:
                call._on_ack(message)
            return
        if 200 <= message.status < 300 and message.cseq.method == "INVITE":
            call = self._calls.get((message.call_id, message.from_.tag or ""))
            if call is not None and call._on_2xx(message):
                return
        log.info("SIP dropped %s from %s: no transaction", describe(message), peer)


class Call:
    """A call in either direction: its dialog, the sessions both ends use, re-INVITEs,
    session timers and the end. Build one with :meth:`UserAgent.call` or receive an
    :class:`IncomingCall`."""

    def __init__(self, ua: UserAgent, *, call_id: str, local_tag: str, peer: Peer) -> None:
        self.ua = ua
        self.call_id = call_id
        self.local_tag = local_tag
        self.peer = peer
        self.state = CallState.CALLING
        self.dialog: Dialog | None = None
        self.on_offer: OfferHandler | None = None
        """Answers the far end's offers that change the session; None refuses them (488)."""
        self.end: CallEnd | None = None
        self._ended: asyncio.Future[CallEnd] = asyncio.get_running_loop().create_future()
        self._reinvite_lock = asyncio.Lock()
        self._hanging_up = False
        self._hang_up_end = CallEnd(remote=False, reason="hang_up")
        """How the call ends once our BYE is done with."""
        timers = ua.config.timers
        self.session = SessionMachine(
            t1=timers.t1, t2=timers.t2, glare_retries=ua.config.glare_retries
        )
        """The dialog's timers (session refresh or expiry, 2xx resent, 491 retry), its
        sessions and session timer, and whether an offer exchange of ours is under way."""
        self._session_handle: asyncio.TimerHandle | None = None
        self._glare: asyncio.Future[None] | None = None

    @property
    def refreshes(self) -> int:
        """Session refreshes sent or answered without a change of media."""
        return self.session.refreshes

    @property
    def local_sdp(self) -> SessionDescription | None:
        """Our session description in force."""
        return self.session.local_sdp

    @property
    def remote_sdp(self) -> SessionDescription | None:
        """The far end's session description in force."""
        return self.session.remote_sdp

    @property
    def timer(self) -> SessionTimer:
        """The session timer agreed (RFC 4028)."""
        return self.session.timer

    @property
    def outgoing(self) -> bool:
        """True for a call we placed."""
        return isinstance(self, OutgoingCall)

    async def wait_ended(self) -> CallEnd:
        """Wait until the call is over, by either end."""
        return await asyncio.shield(self._ended)

    async def hang_up(self, reason: tuple[int, str] | None = None) -> None:
        """End the call: BYE once connected (the set-up kinds cancel or reject). ``reason``
        (a SIP status and a text) goes in the BYE's Reason header (RFC 3326), to say why."""
        await self._hang_up(CallEnd(remote=False, reason="hang_up"), reason)

    async def _hang_up(self, end: CallEnd, reason: tuple[int, str] | None = None) -> None:
        """Send BYE and end the call as ``end`` says (we hung up, or the far end is lost)
        once the session machine says the BYE is done with."""
        if self.state is CallState.ENDED or self._hanging_up:
            await self.wait_ended()
            return
        self._hanging_up = True
        self._hang_up_end = end
        self.session.bye_sent(self.ua.endpoint.now())
        self._run_session()
        self.ua.spawn(self._bye(reason))
        await self.wait_ended()

    async def _bye(self, reason: tuple[int, str] | None = None) -> None:
        """Send BYE in a connected dialog and wait for its answer, whatever it is."""
        try:
            if self.dialog is None or self.dialog.state is not DialogState.CONFIRMED:
                return
            headers = []
            if reason is not None:
                cause = f"SIP ;cause={reason[0]} ;text={quote(reason[1][:200])}"
                headers.append(("Reason", cause))
            try:
                await self._request("BYE", headers=headers)
            except TelephonyError as error:
                log.info("SIP BYE of %s not sent: %s", self.call_id, error)
        finally:
            self._session_events(self.session.bye_answered())

    async def reinvite(self, offer: SessionDescription) -> ReinviteResult:
        """Offer a new session (T.38, or back to audio) by re-INVITE and wait for the answer.
        A 491 (glare) is retried after RFC 3261 14.1's random delay; a refusal (488, 415 ...)
        leaves the old session in force; 408 or 481 end the call."""
        async with self._reinvite_lock:
            self.session.begin_offer(offer)
            return await self._exchange("INVITE")

    # --- Inside the dialog ------------------------------------------------------------------

    async def _request(
        self, method: str, *, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()
    ) -> tuple[Response, ClientRequest]:
        """Send a request in the dialog and wait for its final response, as a
        :class:`~openfax.telephony.sip.call.DialogRequest` says (one digest challenge
        answered); the 2xx of a re-INVITE is ACKed."""
        assert self.dialog is not None
        authorize = self.ua.authorization if self.ua.config.password else None
        exchange = DialogRequest(
            self.dialog,
            method,
            self.ua.via(self.peer),
            headers=tuple(headers),
            body=body,
            authorize=authorize,
        )
        first = exchange.start()
        # Every attempt (a challenge answered) and the ACK of a 2xx have the first one's
        # Route and Request-URI, so its next hop is located once.
        peer = await self.ua.next_hop(first, self.peer.transport)
        request: Request | None = first
        while request is not None:
            client = self.ua.endpoint.request(request, peer, self._on_response)
            response = await client.final
            again = exchange.receive(response)
            if method == "INVITE" and 200 <= response.status < 300:
                self._ack(response, peer)
            request = again
        return response, client

    async def _offer(self, method: str, offer: SessionDescription | None) -> ReinviteResult:
        """A re-INVITE or UPDATE with ``offer`` (None: a bare session refresh)."""
        body = b"" if offer is None else offer.to_bytes()
        config = self.ua.config
        timer = self.timer.request_headers(config.session_expires, config.min_se)
        headers = [*self.ua.common_headers(), *timer]
        response, client = await self._request(method, body=body, headers=headers)
        result, events = self.session.offer_answered(method, offer, response, client.local)
        for event in events:
            if isinstance(event, Lost) and event.bye:
                self.ua.spawn(self._hang_up(CallEnd(remote=True, reason=event.reason)))
            elif isinstance(event, Lost):
                self._finish(CallEnd(remote=True, reason=event.reason))
            else:
                self.ua.spawn(self.hang_up())
        if result.accepted:
            self._arm_timer()
        return result

    def _on_response(self, response: Response) -> None:
        """Every response to a request in the dialog: a retransmitted 2xx is ACKed again."""
        if 200 <= response.status < 300 and response.cseq.method == "INVITE":
            self._resend_ack(response)

    def _ack(self, response: Response, hop: Peer) -> None:
        """ACK the 2xx to our re-INVITE at ``hop``, as the session machine makes it."""
        assert self.dialog is not None
        via = self.ua.via(self.peer)
        self.ua.endpoint.send(*self.session.ack_2xx(self.dialog, response, via, hop))

    def _on_2xx(self, response: Response) -> bool:
        """A 2xx to an INVITE of ours came (again): ACK it. False when we cannot (no ACK
        was made for it yet)."""
        return self._resend_ack(response)

    def _resend_ack(self, response: Response) -> bool:
        """ACK a 2xx to our INVITE (again); False when no ACK was made for it yet."""
        sent = self.session.ack_again(response)
        if sent is None:
            return False
        self.ua.endpoint.send(*sent)
        return True

    def _on_request(self, server: ServerRequest) -> None:
        """A request the far end sent in this dialog."""
        assert self.dialog is not None
        headers = self.ua.common_headers()
        for event in self.session.request_received(self.dialog, server.request, headers):
            if isinstance(event, Respond):
                server.respond(event.response)
            elif isinstance(event, ByeReceived):
                log.info("SIP call %s: the far end hung up", self.call_id)
                self._finish(CallEnd(remote=not self._hanging_up, reason="bye"))
            else:
                self.ua.spawn(self._answer_offer(server))

    async def _answer_offer(self, server: ServerRequest) -> None:
        """A re-INVITE or UPDATE from the far end: a session refresh (no SDP, or the SDP we
        already have) is answered with our current session and nothing else changes;
        another offer goes to ``on_offer``, whose refusal keeps the old session."""
        request = server.request
        assert self.dialog is not None
        connected = self.state is CallState.CONNECTED
        min_se = self.ua.config.min_se
        taken = self.session.offer_received(request, min_se=min_se, connected=connected)
        if isinstance(taken, Response):
            self._refuse(server, taken)
            return
        answer = None
        if taken.offer is not None and not taken.refresh:
            try:
                if self.on_offer is None:
                    raise SdpNegotiationError("no handler for offers in this call")
                answer = await self.on_offer(taken.offer)
            except SdpNegotiationError as refusal:
                log.info("SIP call %s: offer refused (%s)", self.call_id, refusal)
                self._refuse(server, self.session.offer_refused(request, refusal))
                return
            except Exception:
                # The provider's bug must not leave the far end's re-INVITE unanswered.
                log.exception("SIP call %s: the offer handler failed", self.call_id)
                self._refuse(server, self.session.offer_refused(request, None))
                return
        response = self.session.offer_accepted(
            request,
            taken,
            contact=self.dialog.local_contact,
            headers=self.ua.common_headers(),
            answer=answer,
        )
        self._arm_timer()
        if request.method == "UPDATE":
            server.respond(response)
            return
        self.dialog.answered(response)
        self._send_2xx(server, response, offer=taken.offer is None)

    def _refuse(self, server: ServerRequest, response: Response) -> None:
        server.respond(response)
        if self.dialog is not None and server.request.method == "INVITE":
            self.dialog.answered(response)

    def _send_2xx(self, server: ServerRequest, response: Response, *, offer: bool) -> None:
        """Send a 2xx to an INVITE, which the session machine resends until its ACK comes
        (RFC 3261 13.3.1.4; :class:`Acked`), or gives up on after 64*T1 (:class:`NoAck`:
        the call is hung up). ``offer`` True when it holds our offer."""
        server.respond(response)
        self.session.sent_2xx(response, server.peer, self.ua.endpoint.now(), offer=offer)
        self._run_session()

    def _on_ack(self, ack: Request) -> None:
        self._session_events(self.session.acked(ack))

    def _acked(self, acked: Acked) -> None:
        """The ACK of our 2xx came: once connected, nothing is left to do (the session
        machine took the answer it carries)."""

    # --- The dialog's time ------------------------------------------------------------------

    def _run_session(self) -> None:
        """Arm the one loop timer of the session machine at its next deadline."""
        if self._session_handle is not None:
            self._session_handle.cancel()
            self._session_handle = None
        due = self.session.next_timer()
        if due is not None:
            loop = asyncio.get_running_loop()
            self._session_handle = loop.call_at(due, self._session_fired)

    def _session_fired(self) -> None:
        self._session_handle = None
        self._session_events(self.session.handle_timer(self.ua.endpoint.now()))

    def _session_events(self, events: list[SessionEvent]) -> None:
        """Carry out the session machine's events, then arm its next timer."""
        for event in events:
            if isinstance(event, RefreshDue):
                self.ua.spawn(self._refresh())
            elif isinstance(event, SessionExpired):
                log.warning("SIP call %s: the far end did not refresh the session", self.call_id)
                self.ua.spawn(self._hang_up(CallEnd(remote=True, reason="session expired")))
            elif isinstance(event, Resend):
                self.ua.endpoint.send(event.response, event.peer)
            elif isinstance(event, Acked):
                self._acked(event)
            elif isinstance(event, NoAck):
                self._no_ack(event.cseq)
            elif isinstance(event, RetryDue) and self._glare and not self._glare.done():
                self._glare.set_result(None)
            elif isinstance(event, ByeDone):
                self._finish(self._hang_up_end)
        self._run_session()

    def _no_ack(self, cseq: int) -> None:
        """No ACK came for our 2xx with CSeq number ``cseq``: the call is hung up."""
        if self.state is CallState.ENDED:
            return
        log.warning("SIP call %s: no ACK for our 2xx (CSeq %d); hanging up", self.call_id, cseq)
        self.ua.spawn(self._hang_up(CallEnd(remote=True, reason="no ACK")))

    def _arm_timer(self) -> None:
        """(Re)start the session timer after a successful INVITE, re-INVITE or UPDATE."""
        if self.state is CallState.CONNECTED:
            self.session.arm(self.ua.endpoint.now())
            self._run_session()

    async def _refresh(self) -> None:
        """Refresh the session: UPDATE without a body when the far end allows it, else a
        re-INVITE with our current SDP unchanged, so the media (T.38 or audio) goes on."""
        if self.state is not CallState.CONNECTED:
            return
        method = self.session.start_refresh(self.ua.endpoint.now())
        self._run_session()
        if method is None:
            return
        async with self._reinvite_lock:
            log.info("SIP call %s: refreshing the session", self.call_id)
            await self._exchange(method)
        self._run_session()

    async def _exchange(self, method: str | None) -> ReinviteResult:
        """Our offer exchange the session machine began (the user's re-INVITE, or a
        refresh): each request it asks for, sent by ``method`` first, then as it says (the
        re-INVITE again after a 491's wait, a re-INVITE after a refused UPDATE), while the
        call lasts. Returns the last final answer."""
        result = ReinviteResult(481, "Call/Transaction Does Not Exist")
        try:
            while method is not None and self.state is CallState.CONNECTED:
                assert self.dialog is not None
                result = await self._offer(method, self.session.offer_now(method))
                if self.state is not CallState.CONNECTED:
                    break
                method = self.session.offer_done(
                    method, result, self.dialog, self.ua.endpoint.now()
                )
                if method is not None and self.session.retrying:
                    self._glare = asyncio.get_running_loop().create_future()
                    self._run_session()
                    await self._glare
        finally:
            self.session.end_offer()
        return result

    # --- The end ----------------------------------------------------------------------------

    def _finish(self, end: CallEnd) -> None:
        if self.state is CallState.ENDED:
            return
        self.state = CallState.ENDED
        self.end = end
        self.session.stop()
        self._run_session()
        if self._glare is not None and not self._glare.done():
            self._glare.set_result(None)
        if self.dialog is not None:
            self.dialog.terminate()
        self.ua.forget(self)
        log.info("SIP call %s ended: %s", self.call_id, end)
        if not self._ended.done():
            self._ended.set_result(end)


class OutgoingCall(Call):
    """A call we place: a :class:`~openfax.telephony.sip.call.CallMachine` sets it up; this
    carries out what it asks (locating hosts, the transactions) and gives it the time."""

    def __init__(
        self,
        ua: UserAgent,
        target: str,
        offer: SessionDescription | None,
        *,
        caller: str,
        caller_name: str | None,
        headers: tuple[tuple[str, str], ...],
        ring_timeout: float | None,
        on_progress: ProgressHandler | None,
    ) -> None:
        config = ua.config
        super().__init__(
            ua,
            call_id=f"{secrets.token_hex(12)}@openfax",
            local_tag=new_tag(),
            peer=Peer(config.transport, "", 0),
        )
        self.target = target
        self.session.local_sdp = offer
        self.caller = caller
        self.caller_name = caller_name
        self.on_progress = on_progress
        name = None if caller_name is None else quote(caller_name)
        from_ = f"<sip:{caller}@{ua.domain()}>;tag={self.local_tag}"
        self.machine = CallMachine(
            target,
            offer,
            call_id=self.call_id,
            local_tag=self.local_tag,
            from_=from_ if name is None else f"{name} {from_}",
            via=ua.via,
            contact=lambda peer: ua.contact(peer, caller),
            transport=config.transport,
            proxy=config.proxy,
            headers=tuple(ua.common_headers()),
            extra_headers=headers,
            session_expires=config.session_expires,
            min_se=config.min_se,
            ring_timeout=ring_timeout,
            max_redirects=config.max_redirects,
            t1=config.timers.t1,
            authorize=ua.authorization if config.password else None,
            label=ua.label,
        )
        self.final: Response | None = None
        self._connected: asyncio.Future[SessionDescription | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._invite_client: ClientRequest | None = None
        self._setup_timer: asyncio.TimerHandle | None = None

    async def connected(self) -> SessionDescription | None:
        """Wait for the answer: the far end's SDP (None if it sent none). Raises
        CallFailedError with the cause when the call is not answered."""
        return await asyncio.shield(self._connected)

    async def hang_up(self, reason: tuple[int, str] | None = None) -> None:
        """Cancel the call while it rings, or BYE once connected. A call cancelled ends at
        once for its user (CANCELLED); the CANCEL goes out in the background once a
        provisional response came (RFC 3261 9.1), and a 2xx crossing it is ACKed and hung
        up."""
        if self.state in (CallState.CALLING, CallState.RINGING) and not self._hanging_up:
            self._hanging_up = True
            self._drive(self.machine.hang_up(self.ua.endpoint.now()))
            return
        await super().hang_up(reason)

    def _start(self) -> None:
        self._drive(self.machine.start())

    def _close(self) -> None:
        """The user agent closes while the call is set up: it fails as cancelled."""
        if self._setup_timer is not None:
            self._setup_timer.cancel()
        self._fail(CallFailure.CANCELLED, 487, "Request Terminated")

    # --- Carrying out the machine's events ------------------------------------------------------

    def _drive(self, events: list[CallEvent]) -> None:
        """Carry out the machine's events, then arm its next timer."""
        for event in events:
            if isinstance(event, Locate):
                self.ua.spawn(self._locate(event.uri))
            elif isinstance(event, SendInvite):
                self._invite_client = self._send(event.request, event.peer)
            elif isinstance(event, SendCancel):
                self.ua.endpoint.request(event.request, event.peer)
            elif isinstance(event, Abandon):
                if self._invite_client is not None:
                    self.ua.endpoint.abandon(self._invite_client)
            elif isinstance(event, SendRequest):
                self.ua.spawn(self._send_in_dialog(event.request))
            elif isinstance(event, SendAck):
                self.ua.spawn(self._send_ack(event.request))
            elif isinstance(event, Progress):
                self._progress(event)
            elif isinstance(event, Connected):
                self._answered(event)
            else:
                self._fail(event.cause, event.status, event.reason)
        self.peer = self.machine.peer
        self.final = self.machine.final
        if self._setup_timer is not None:
            self._setup_timer.cancel()
            self._setup_timer = None
        due = self.machine.next_timer()
        if due is not None:
            self._setup_timer = asyncio.get_running_loop().call_at(due, self._fire)

    def _fire(self) -> None:
        self._setup_timer = None
        self._drive(self.machine.handle_timer(self.ua.endpoint.now()))

    def _send(self, request: Request, peer: Peer) -> ClientRequest:
        """Send a request of the call in a client transaction; its responses go to the
        machine once the transaction has done its part (the ACK of a 401 goes before the
        INVITE that answers it)."""
        loop = asyncio.get_running_loop()

        def receive(response: Response) -> None:
            self._drive(self.machine.receive(response, loop.time(), client.local))

        def passed_up(response: Response) -> None:
            loop.call_soon(receive, response)

        client = self.ua.endpoint.request(request, peer, passed_up)
        return client

    async def _locate(self, uri: str) -> None:
        try:
            targets = await self.ua.locate(uri)
        except TelephonyError as error:
            self._drive(self.machine.locate_failed(str(error), self.ua.endpoint.now()))
            return
        self._drive(self.machine.located(targets, self.ua.endpoint.now()))

    async def _send_in_dialog(self, request: Request) -> None:
        """Send a PRACK or BYE of the machine's to its next hop."""
        try:
            hop = await self.ua.next_hop(request, self.peer.transport)
        except TelephonyError as error:
            log.warning("SIP call %s: %s not sent: %s", self.call_id, request.method, error)
            return
        self._send(request, hop)

    async def _send_ack(self, ack: Request) -> None:
        try:
            hop = await self.ua.next_hop(ack, self.peer.transport)
        except TelephonyError as error:
            log.warning("SIP call %s: ACK not sent: %s", self.call_id, error)
            return
        self.ua.endpoint.send(ack, hop)

    def _progress(self, progress: Progress) -> None:
        if self.state is CallState.CALLING:
            self.state = CallState.RINGING
        if self.on_progress is not None:
            try:
                self.on_progress(progress.status, progress.early)
            except Exception:
                log.exception("SIP call %s: the progress handler failed", self.call_id)

    def _answered(self, connected: Connected) -> None:
        self.ua._placing.discard(self)
        self.dialog = self.machine.dialog
        self.session.timer = self.machine.timer
        self.ua._calls[(self.call_id, self.local_tag)] = self
        self.state = CallState.CONNECTED
        self.session.remote_sdp = connected.answer
        self.session.note_allow(connected.response)
        self._arm_timer()
        self._connected.set_result(connected.answer)

    def _on_2xx(self, response: Response) -> bool:
        """A 2xx to our INVITE retransmitted after its transaction ended: the machine ACKs
        it again; a 2xx to a re-INVITE is the dialog's."""
        if response.cseq.number != self.machine.invite_cseq:
            return super()._on_2xx(response)
        self._drive(self.machine.receive(response, self.ua.endpoint.now()))
        return True

    def _fail(self, cause: CallFailure, status: int, reason: str) -> None:
        self.ua._placing.discard(self)
        if not self._connected.done():
            self._connected.set_exception(CallFailedError(cause, status, reason))
            # Retrieved here so that a caller who never awaits it leaves no warning.
            self._connected.exception()
        remote = cause is not CallFailure.CANCELLED
        self._finish(CallEnd(remote=remote, reason=cause.value, status=status))


class IncomingCall(Call):
    """A call the far end placed: ring, answer or reject it. ``called_number`` (the user
    part of the Request-URI) routes it; ``offer`` is the far end's SDP (None when it waits
    for ours). An :class:`~openfax.telephony.sip.call.IncomingCallMachine` decides; this
    sends its responses in the INVITE's server transaction and gives it the time."""

    def __init__(
        self,
        ua: UserAgent,
        server: ServerRequest,
        invite: IncomingInvite,
    ) -> None:
        super().__init__(ua, call_id=server.request.call_id, local_tag=new_tag(), peer=server.peer)
        self.server = server
        self.request = server.request
        try:
            user = SipUri.parse(self.request.uri).user
        except SipParseError:
            user = None
        self.called_number = user or _user_of(self.request.to.uri)
        self.machine = IncomingCallMachine(
            self.request,
            invite,
            local_tag=self.local_tag,
            contact=ua.contact(self.peer, self.called_number or None),
            headers=ua.common_headers(),
            t1=ua.config.timers.t1,
            t2=ua.config.timers.t2,
        )
        self.session = self.machine.session
        self.offer = invite.offer
        self.caller = self.request.from_.uri
        self.caller_name = self.request.from_.display_name
        self.provisional = invite.provisional
        """False when the caller requires reliable provisional responses (RFC 3262): we do
        not send them, so :meth:`ring` sends nothing and the 200 follows the 100 Trying."""
        self._answer_ack: asyncio.Future[Request | None] | None = None
        """The ACK :meth:`answer` waits for (None: none came, or the call ended first)."""

    def ring(self, status: int = 180, reason: str = "Ringing") -> None:
        """Send a provisional response (180 Ringing, or 183 Session Progress); nothing when
        the caller requires them reliable (``provisional`` False)."""
        self._carry_out(self.machine.ring(status, reason))

    async def answer(self, answer: SessionDescription) -> None:
        """Answer with our SDP (the answer to the offer, or our offer when the INVITE had
        none) and wait for the ACK. Raises CallFailedError when the far end cancelled first
        or never sent the ACK."""
        events = self.machine.answer(answer)
        for event in events:
            if isinstance(event, Failed):
                raise CallFailedError(event.cause, event.status, event.reason)
        self.dialog = self.machine.dialog
        self.ua._calls[(self.call_id, self.local_tag)] = self
        self.ua._ringing.pop(id(self.server), None)
        self.state = CallState.CONNECTED
        response = next(event.response for event in events if isinstance(event, Respond))
        self._answer_ack = asyncio.get_running_loop().create_future()
        self._send_2xx(self.server, response, offer=False)
        ack = await self._answer_ack
        if ack is None:
            await self.wait_ended()
            raise CallFailedError(CallFailure.UNREACHABLE, 408, "no ACK for the 200 OK")
        try:
            self.machine.acked(ack)
        except TelephonyError as error:
            log.warning("SIP call %s: %s; hanging up", self.call_id, error)
            await self.hang_up((488, str(error)))
            raise CallFailedError(CallFailure.INCOMPATIBLE, 488, str(error)) from None
        self._arm_timer()
        log.info("SIP call %s from %s connected", self.call_id, self.caller)

    def reject(
        self,
        status: int = 486,
        reason: str = "Busy Here",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Refuse the call (486 busy, 403, 404, 480, 488 ...); ``headers`` go with the
        response (the Warnings of a 488: :func:`warnings_of`)."""
        if self._carry_out(self.machine.reject(status, reason, headers)):
            self._finish(CallEnd(remote=False, reason="rejected", status=status))

    async def hang_up(self, reason: tuple[int, str] | None = None) -> None:
        """Reject a call not answered yet (480), or BYE once connected."""
        if self.state in (CallState.CALLING, CallState.RINGING) and not self.machine.answering:
            self.reject(480, "Temporarily Unavailable")
            return
        await super().hang_up(reason)

    def _acked(self, acked: Acked) -> None:
        if acked.ack.cseq.number == self.request.cseq.number:
            self._answered_by(acked.ack)
        else:
            super()._acked(acked)

    def _no_ack(self, cseq: int) -> None:
        if cseq == self.request.cseq.number:
            self._answered_by(None)
        super()._no_ack(cseq)

    def _finish(self, end: CallEnd) -> None:
        super()._finish(end)
        self._answered_by(None)

    def _answered_by(self, ack: Request | None) -> None:
        """End :meth:`answer`'s wait: the ACK of our 200, or None."""
        if self._answer_ack is not None and not self._answer_ack.done():
            self._answer_ack.set_result(ack)

    def _cancelled(self, cancel: Request) -> None:
        """The far end sent CANCEL: the machine says whether it ends the call."""
        events = self.machine.receive(cancel, self.ua.endpoint.now())
        self._carry_out(events)
        if any(isinstance(event, Cancelled) for event in events):
            self._finish(CallEnd(remote=True, reason="cancelled", status=487))

    def _carry_out(self, events: list[Incoming]) -> bool:
        """Send the machine's responses in the INVITE's transaction; True when any went."""
        if self.state is not CallState.ENDED and self.machine.state is CallState.RINGING:
            self.state = CallState.RINGING
        sent = False
        for event in events:
            if isinstance(event, Respond):
                self.server.respond(event.response)
                sent = True
        return sent


def _user_of(uri: str) -> str:
    try:
        return SipUri.parse(uri).user or ""
    except SipParseError:
        return ""
