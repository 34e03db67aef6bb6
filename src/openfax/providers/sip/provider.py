"""The ``sip`` device provider: fax calls over SIP trunks, in T.38 or G.711.

Each trunk has its own user agent (:mod:`openfax.telephony.sip.useragent`) and
``channels`` devices; each call has a :class:`~openfax.telephony.media.MediaSession` (RTP
and UDPTL sockets) carrying one engine session. An outgoing call runs in the task awaiting
:meth:`SipChannel.dial`; an incoming call in a task of the provider.

T.38: the call's policy (off, accept, request) and the destination's memory decide. The
policy is the trunk's, or for an outgoing call the outbound routing rule's when it has one
(``SendRequest.t38_policy``). A calling end offers T.38 first (with G.711) under
``request``; an answering end under ``request`` asks for T.38 by re-INVITE as soon as a
G.711 call is answered; a far end's re-INVITE to T.38 is accepted unless the policy is off,
the destination's memory says G.711, or a page already went over audio (488: the call goes
on in G.711). A 488 or 415 to our re-INVITE also goes on in G.711. Switching restarts the
fax phase on a new engine session (see :mod:`openfax.telephony.media`).

The memory: ``off`` always wins (no T.38 offered nor accepted, whatever worked before, and
the call leaves the remembered T.38 choice as it was); under ``accept`` and ``request`` a
remembered choice comes first: T.38 that worked is offered even under ``accept``, and G.711
that worked (or T.38 that failed) starts the call in G.711 even under ``request``.

A BYE before the last page confirmation ends the engine session as dropped: the sender's
outcome counts the pages confirmed (the scheduler resends from the first unconfirmed one),
the receiver's is partial with the pages that arrived whole.

What real networks send: an INVITE without SDP (delayed offer) gets our offer in the 200
and the answer is read from the ACK; an offer we cannot take is refused with 488 and its
Warnings before any ringing; a far end's hold (sendonly, inactive, ``c=0.0.0.0``) stops our
media until it resumes (:mod:`openfax.telephony.media`). Trunks register in the background;
each channel shows its trunk's registration, the provider is CANT_INIT while one fails, and
a 404 just after a registration was renewed or failed is retried once per number.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import secrets
import socket
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from openfax.engine import (
    AudioSession,
    Event,
    FaxSession,
    PageReceived,
    PageSent,
    Role,
    SessionOptions,
    T38Session,
)
from openfax.errors import (
    FaxFileError,
    SdpError,
    SdpNegotiationError,
    SipLocationError,
    TelephonyError,
)
from openfax.model.enums import ProviderStatus, ReceiveMode
from openfax.model.numbers import is_sip_uri
from openfax.providers.base import (
    Answered,
    CallCause,
    CallDirection,
    CallEnded,
    CallOutcome,
    CallProgress,
    DeviceState,
    Dialing,
    IncomingCall,
    LineRegistration,
    ProgressSink,
    Ringing,
    SendRequest,
    T38Policy,
    carried_over,
)
from openfax.providers.common import CallLog, LineBase, ProviderBase, canonical_number
from openfax.providers.sip.config import TrunkConfig
from openfax.providers.sip.memory import DestinationMemory, InMemoryDestinations, Preference
from openfax.telephony.media import MediaOptions, MediaSession
from openfax.telephony.sdp import (
    LocalMedia,
    NegotiatedStream,
    Origin,
    SessionDescription,
    StreamKind,
    make_answer,
    make_offer,
    read_answer,
)
from openfax.telephony.sip.registration import Registration, RegistrationState
from openfax.telephony.sip.resolver import DNS_TIMEOUT
from openfax.telephony.sip.transport import Peer
from openfax.telephony.sip.useragent import (
    Call,
    CallFailedError,
    CallFailure,
    UserAgent,
    UserAgentConfig,
    warnings_of,
)
from openfax.telephony.sip.useragent import IncomingCall as SipIncomingCall

_logger = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0
"""Wall seconds ``stop`` waits for the calls it hung up to end."""
SETUP_TIMEOUT = 10.0
"""Wall seconds the service's ``receive_setup`` has to say where to receive."""
BYE_GRACE = 2.0
"""Wall seconds a sender waits, once its fax is done, for the receiver to hang up first (its
last frames may still be on the way) before it sends BYE itself."""
NOT_FOUND_MEMORY = 3600.0
"""Wall seconds a number whose 404 was retried once is remembered: another 404 there within
them is final."""
MAX_NOT_FOUND = 1000
"""Numbers remembered at most per trunk for that (the oldest are forgotten first)."""

_CAUSES = {
    CallFailure.BUSY: CallCause.BUSY,
    CallFailure.NO_ANSWER: CallCause.NO_ANSWER,
    CallFailure.REJECTED: CallCause.REJECTED,
    CallFailure.NOT_FOUND: CallCause.BAD_ADDRESS,
    CallFailure.UNREACHABLE: CallCause.UNREACHABLE,
    CallFailure.INCOMPATIBLE: CallCause.REMOTE_INCAPABLE,
    CallFailure.CANCELLED: CallCause.ABORTED,
    CallFailure.REDIRECTED: CallCause.REJECTED,
    CallFailure.FAILED: CallCause.REJECTED,
}
"""What a SIP failure means for the job: its extended status and its retry policy."""


def _facing(address: str) -> str:
    """The local address a packet to ``address`` (an IP address) leaves from (no packet is
    sent)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((address, 5060))
        return str(probe.getsockname()[0])


def _is_wildcard(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False


class SipChannel(LineBase["SipProvider"]):
    """One channel of a trunk (a :class:`~openfax.providers.Line`): one call at a time."""

    def __init__(self, trunk: _Trunk, device_id: int, index: int) -> None:
        super().__init__(trunk.provider, device_id)
        self._trunk = trunk
        self._index = index
        self._call: _Leg | None = None

    @property
    def name(self) -> str:
        return f"{self._trunk.config.name} channel {self._index}"

    @property
    def number(self) -> str:
        numbers = self._trunk.config.numbers
        return numbers[0] if numbers else ""

    @property
    def registration(self) -> LineRegistration | None:
        """The trunk's registration; None when the trunk does not register."""
        return self._trunk.registration_state

    def reaches(self, number: str) -> bool:
        """Any telephone number, the trunk's own included (the carrier rings it back), and a
        SIP URI, which is called directly rather than at the trunk's host."""
        return is_sip_uri(number) or super().reaches(number)

    async def dial(
        self, number: str, request: SendRequest, *, progress: ProgressSink | None = None
    ) -> CallOutcome:
        """Call ``number`` over the trunk (a SIP URI as it is) and send ``request`` (see
        ``Line.dial``)."""
        leg = _Leg(self, CallDirection.OUTGOING, number, progress or (lambda event: None))
        return await leg.dial(request)

    def answer(self) -> bool:
        """Answer the call ringing on this channel now, whatever the receive mode."""
        call = self._call
        if call is None or self._state is not DeviceState.RINGING:
            return False
        call.answer_now.set()
        return True

    def hang_up(self) -> bool:
        """Hang up the call this channel is receiving or answering."""
        call = self._call
        if call is None or call.direction is not CallDirection.INCOMING:
            return False
        call.hang_up(f"{self.name} hung up")
        return True

    def __repr__(self) -> str:
        return f"<SipChannel {self._id} {self.name} {self._state.value}>"

    def _set_state(self, state: DeviceState, call: _Leg | None) -> None:
        self._call = call
        self._change_state(state)


class _Trunk:
    """A trunk's user agent and channels."""

    def __init__(
        self,
        provider: SipProvider,
        config: TrunkConfig,
        first_device_id: int,
        dns: tuple[tuple[str, ...], float],
    ) -> None:
        self.provider = provider
        self.config = config
        self.channels = [
            SipChannel(self, first_device_id + index, index + 1) for index in range(config.channels)
        ]
        self.numbers = {canonical_number(number) for number in config.numbers}
        self.media_options = MediaOptions(
            jitter_delay=config.jitter_delay,
            redundancy=config.redundancy,
            speed=config.media_speed,
        )
        caller = config.caller_id or (config.numbers[0] if config.numbers else "openfax")
        self.ua = UserAgent(
            UserAgentConfig(
                host=config.local_address,
                port=config.local_port,
                transport=config.transport.upper(),
                user=caller,
                domain=config.host,
                registrar=f"sip:{self.host_port}" if config.register else None,
                username=config.username or None,
                password=config.password or None,
                realm=config.realm or None,
                session_expires=config.session_expires or None,
                dns_servers=dns[0],
                dns_timeout=dns[1],
                register_retry=config.register_retry,
                register_backoff_max=config.register_backoff_max,
                name=f"trunk {config.name}",
            ),
            on_incoming=self._on_incoming,
        )
        self.media_address = config.media_address or config.local_address
        self.advertised_address = config.advertised_address or self.media_address
        self.registration_state: LineRegistration | None = None
        """What the channels show of the registration (None: the trunk does not register)."""
        self.bind_error = ""
        """Why the trunk's SIP sockets could not be bound ("" when they were)."""
        self.excused: dict[str, float] = {}
        """Numbers whose 404 just after a re-registration was retried once, with when."""

    @property
    def host_port(self) -> str:
        """The trunk's host, with its port only when one is configured (without, RFC 3263
        locates the host by DNS SRV)."""
        port = self.config.port
        return self.config.host if port is None else f"{self.config.host}:{port}"

    def target(self, number: str) -> str:
        suffix = ";transport=tcp" if self.config.transport == "tcp" else ""
        return f"sip:{number}@{self.host_port}{suffix}"

    def advertised(self, peer: Peer) -> str:
        """The media address our SDP gives for a call with ``peer``: the configured one, or
        the local address facing ``peer`` when that is a wildcard."""
        if _is_wildcard(self.advertised_address):
            return _facing(peer.host)
        return self.advertised_address

    def start_registering(self) -> None:
        """Register in the background; the channels show each change and tell the listener."""
        self.registration_state = LineRegistration(RegistrationState.REGISTERING)
        self.ua.register_in_background(self._registration_changed)

    def _registration_changed(self, registration: Registration) -> None:
        provider = self.provider
        before = provider.error
        self.registration_state = LineRegistration(registration.state, registration.error)
        for channel in self.channels:
            channel._tell_status()
        if provider.error != before:
            provider._tell(lambda listener: listener.on_provider_status(provider))

    @property
    def error(self) -> str:
        """Why the trunk is out of service or cannot be called ("" when it is fine)."""
        if self.bind_error:
            return f"trunk {self.config.name} cannot start: {self.bind_error}"
        state = self.registration_state
        if state is not None and state.state is RegistrationState.FAILED:
            return f"trunk {self.config.name}: registration failed: {state.error}"
        return ""

    def not_found_retryable(self, number: str) -> float | None:
        """After a 404 to a call to ``number``: the seconds since the registration was
        renewed or failed when that is within ``not_found_window`` and no 404 to ``number``
        was excused lately (the registrar may have lost the callee's binding in a restart,
        so the call is worth one more try); else None. Remembers the excuse."""
        registration = self.ua.registration
        window = self.config.not_found_window
        if registration is None or registration.renewed_at is None or window <= 0:
            return None
        now = asyncio.get_running_loop().time()
        since = now - registration.renewed_at
        for known, when in list(self.excused.items()):
            if now - when > NOT_FOUND_MEMORY:
                del self.excused[known]
        if since > window or number in self.excused:
            return None
        if len(self.excused) >= MAX_NOT_FOUND:
            del self.excused[next(iter(self.excused))]
        self.excused[number] = now
        return since

    def _on_incoming(self, call: SipIncomingCall) -> None:
        provider = self.provider
        number = canonical_number(call.called_number)
        if self.numbers and number not in self.numbers:
            _logger.info("%s: INVITE for %s, not one of our numbers", self.config.name, number)
            call.reject(404, "Not Found")
            return
        if not provider._running or provider._listener is None:
            call.reject(480, "Temporarily Unavailable")
            return
        channel = next((c for c in self.channels if c.state is DeviceState.IDLE), None)
        if channel is None:
            call.reject(486, "Busy Here")
            return
        leg = _Leg(channel, CallDirection.INCOMING, _user_of(call.caller), lambda event: None)
        channel._set_state(DeviceState.RINGING, leg)
        provider._spawn(leg.take(call), f"SIP call from {leg.remote_number}")


def _user_of(uri: str) -> str:
    """The user part of a SIP URI (the caller id), or the URI itself."""
    user = uri.split(":", 1)[-1].split("@", 1)[0]
    return user.split(";", 1)[0] or uri


class SipProvider(ProviderBase):
    """The SIP trunks' channels as devices; ``memory`` keeps what last worked per destination
    (the service's is stored; the default is lost at exit). Trunks named by DNS are located
    through ``dns_servers`` (empty: the system's), each lookup ``dns_timeout`` seconds at most
    (RFC 3263, see :mod:`openfax.telephony.sip.resolver`)."""

    def __init__(
        self,
        trunks: Sequence[TrunkConfig],
        *,
        name: str = "sip",
        first_device_id: int = 1,
        memory: DestinationMemory | None = None,
        dns_servers: Sequence[str] = (),
        dns_timeout: float = DNS_TIMEOUT,
    ) -> None:
        super().__init__(name)
        self.memory: DestinationMemory = memory or InMemoryDestinations()
        self._trunks: list[_Trunk] = []
        dns = (tuple(dns_servers), dns_timeout)
        for config in trunks:
            self._trunks.append(_Trunk(self, config, first_device_id, dns))
            first_device_id += config.channels
        self._tasks: set[asyncio.Task[None]] = set()
        self._legs: set[_Leg] = set()

    @property
    def status(self) -> ProviderStatus:
        """CANT_INIT while a trunk cannot bind its sockets or its registration failed."""
        return ProviderStatus.CANT_INIT if self.error else ProviderStatus.SUCCESS

    @property
    def error(self) -> str:
        """Each trunk that cannot bind or whose registration failed, and why."""
        return "; ".join(error for trunk in self._trunks if (error := trunk.error))

    @property
    def devices(self) -> Sequence[SipChannel]:
        return tuple(channel for trunk in self._trunks for channel in trunk.channels)

    def sip_address(self, trunk: int = 0) -> tuple[str, int]:
        """Where a trunk's user agent listens (its port once started)."""
        return self._trunks[trunk].ua.address

    async def start(self) -> None:
        """Bind every trunk's SIP sockets and start registering where asked, in the
        background (a silent registrar must not hold the service's start); a trunk that
        cannot bind, or whose registration fails, makes the provider CANT_INIT."""
        for trunk in self._trunks:
            try:
                await trunk.ua.start()
            except (OSError, TelephonyError) as exc:
                _logger.error("SIP trunk %s cannot start: %s", trunk.config.name, exc)
                trunk.bind_error = str(exc)
                continue
            _logger.info("SIP trunk %s listening on %s:%d", trunk.config.name, *trunk.ua.address)
            if trunk.config.register:
                trunk.start_registering()
        await super().start()

    async def stop(self) -> None:
        """Hang up every call (each ends with the line dropped) and close the trunks."""
        await super().stop()
        for leg in list(self._legs):
            leg.hang_up("the provider stopped")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_TIMEOUT)
        for trunk in self._trunks:
            await trunk.ua.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _Leg:
    """One SIP call of a channel, in either direction: signalling, media, engine session and
    the outcome."""

    def __init__(
        self,
        channel: SipChannel,
        direction: CallDirection,
        remote_number: str,
        progress: ProgressSink,
    ) -> None:
        self.channel = channel
        self.trunk = channel._trunk
        self.provider = self.trunk.provider
        self.direction = direction
        self.remote_number = remote_number
        self.progress = progress
        self.policy: T38Policy = self.trunk.config.t38
        """The T.38 policy of this call: the trunk's, or the outbound routing rule's."""
        self.sip: Call | None = None
        self.media: MediaSession | None = None
        self.session: FaxSession | None = None
        self.kind: StreamKind | None = None
        self.preference: Preference | None = None
        self.options = SessionOptions()
        self.send_file: Path | None = None
        self.receive_file: Path | None = None
        self.incoming: IncomingCall | None = None
        self.log = CallLog()
        self.pages_done = 0
        self.answer_now = asyncio.Event()
        self.hung_up: str | None = None
        self._origin = Origin("openfax", secrets.randbits(31), 1)
        """Our SDP origin; its address is set by :meth:`_face` once the far end is known."""

    def _face(self, peer: Peer) -> None:
        """Write in our SDP the media address for a call with ``peer``."""
        address = self.trunk.advertised(peer)
        kind = "IP6" if ":" in address else "IP4"
        self._origin = replace(self._origin, addr_type=kind, address=address)

    @property
    def role(self) -> Role:
        return Role.CALL if self.direction is CallDirection.OUTGOING else Role.ANSWER

    # --- requests from outside ----------------------------------------------------------------

    def hang_up(self, reason: str) -> None:
        """End the call now: the engine session ends as dropped with the pages done so far."""
        if self.hung_up is not None:
            return
        self.hung_up = reason
        self.answer_now.set()
        if self.session is not None and not self.session.done:
            self.session.hangup()
            self._drain(self.session)
        if self.media is not None:
            self.media.close()
        if self.sip is not None:
            self.provider._spawn(self.sip.hang_up(), "SIP hang-up")

    # --- outgoing -----------------------------------------------------------------------------

    async def dial(self, request: SendRequest) -> CallOutcome:
        """Place the call and run it; report the outcome once the channel is free."""
        outcome: CallOutcome | None = None
        self.provider._legs.add(self)
        try:
            outcome = await self._place(request)
        except BaseException as exc:
            aborted = isinstance(exc, asyncio.CancelledError)
            detail = "the call was cancelled" if aborted else f"the call failed: {exc!r}"
            self.hang_up(detail)
            outcome = self._outcome(CallCause.ABORTED if aborted else CallCause.INTERNAL, detail)
            raise
        finally:
            self._release()
            assert outcome is not None
            self.progress(CallEnded(outcome))
        await self._learn(outcome)
        return outcome

    async def _place(self, request: SendRequest) -> CallOutcome:
        provider, channel = self.provider, self.channel
        if not provider._running or channel.state is not DeviceState.IDLE:
            why = "in use" if provider._running else "out of service"
            return self._failed(CallCause.LINE_UNAVAILABLE, f"{channel.name} is {why}")
        target = canonical_number(self.remote_number)
        if not channel.reaches(target):
            return self._failed(CallCause.BAD_ADDRESS, f"{self.remote_number!r} is not a number")
        self.send_file = request.path
        if request.t38_policy is not None and request.t38_policy != self.policy:
            _logger.info(
                "%s calling %s: T.38 policy %s (the outbound rule's; the trunk's is %s)",
                channel.name,
                self.remote_number,
                request.t38_policy,
                self.policy,
            )
            self.policy = request.t38_policy
        self.preference = await provider.memory.recall(target)
        self.options = (
            request.options if self.preference is None else self.preference.options(request.options)
        )
        try:
            # Refuse an unreadable document before dialling, as the engine would at the answer.
            AudioSession(Role.CALL, self.options, send_file=request.path).close()
        except FaxFileError as exc:
            return self._failed(CallCause.DOCUMENT, str(exc))
        channel._set_state(DeviceState.DIALING, self)
        self.progress(Dialing(self.remote_number))
        uri = target if is_sip_uri(target) else self.trunk.target(target)
        try:
            self._face((await self.trunk.ua.locate(uri)).current)
        except SipLocationError as exc:
            return self._failed(CallCause.UNREACHABLE, str(exc))
        except OSError as exc:
            return self._failed(CallCause.UNREACHABLE, f"no route to {uri}: {exc}")
        self.media = await self._open_media()
        offer = make_offer(self._local(), self._origin, audio=True, t38=self._offer_t38())
        rings = itertools.count(1)

        def ringing(status: int, early: SessionDescription | None) -> None:
            if status == 180:
                self.progress(Ringing(next(rings)))

        sip = self.trunk.ua.call(
            uri,
            offer,
            ring_timeout=self.trunk.config.ring_timeout,
            on_progress=ringing,
        )
        self.sip = sip
        sip.on_offer = self._on_offer
        try:
            answer = await sip.connected()
        except CallFailedError as exc:
            cause = _CAUSES.get(exc.cause, CallCause.REJECTED)
            detail = f"{exc.status} {exc.reason}"
            since = self.trunk.not_found_retryable(target) if exc.status == 404 else None
            if since is not None:
                # Once: the registrar may have lost the callee's binding (a restart) and
                # be waiting for its refresh.
                cause = CallCause.UNREACHABLE
                detail += (
                    f" {since:.0f} s after trunk {self.trunk.config.name}'s registration was"
                    " renewed or failed: the binding may be being renewed; tried again once"
                )
            return self._failed(cause, detail)
        self.trunk.excused.pop(target, None)
        if answer is None:
            return await self._give_up("the answer carried no SDP")
        try:
            stream = read_answer(offer, answer)
        except SdpError as exc:
            return await self._give_up(f"unusable SDP answer: {exc}")
        channel._set_state(DeviceState.IN_CALL, self)
        self.progress(Answered())
        return await self._connected(stream)

    def _offer_t38(self) -> bool:
        """Whether the INVITE offers T.38: never under ``off``; else what the memory says
        worked, and with nothing remembered only under ``request``."""
        if self.policy == "off":
            return False
        if self.preference is not None and self.preference.t38 is not None:
            return self.preference.t38
        return self.policy == "request"

    async def _give_up(self, detail: str) -> CallOutcome:
        _logger.warning("%s calling %s: %s", self.channel.name, self.remote_number, detail)
        if self.sip is not None:
            await self.sip.hang_up()
        return self._failed(CallCause.PROTOCOL, detail)

    async def _learn(self, outcome: CallOutcome) -> None:
        """Remember what worked (or step down from what failed) for the next call there."""
        if outcome.result is None or self.kind is None:
            return
        t38 = self.kind is StreamKind.T38
        negotiated = outcome.negotiated
        bit_rate = negotiated.bit_rate if negotiated is not None else 14400
        ecm = negotiated.ecm if negotiated is not None else self.options.ecm
        base = self.preference or Preference(t38, bit_rate, ecm)
        if outcome.ok:
            preference = base.after_success(t38, bit_rate, ecm)
        elif outcome.cause in (CallCause.PROTOCOL, CallCause.LINE_DROPPED):
            preference = base.after_failure(t38, bit_rate)
        else:
            return
        if self.policy == "off":
            # T.38 was not allowed: the call says nothing of whether the far end does it.
            known = None if self.preference is None else self.preference.t38
            preference = replace(preference, t38=known)
        if preference != self.preference:
            _logger.info("SIP: next call to %s starts with %s", self.remote_number, preference)
        await self.provider.memory.remember(canonical_number(self.remote_number), preference)

    # --- incoming -----------------------------------------------------------------------------

    async def take(self, sip: SipIncomingCall) -> None:
        """Ring, answer and receive an incoming call; report it to the listener throughout."""
        self.sip = sip
        self.provider._legs.add(self)
        self.incoming = IncomingCall(
            next(self.provider._call_ids),
            self.channel,
            caller_id=self.remote_number,
            called_number=sip.called_number,
        )
        self.progress = self._tell_listener
        outcome: CallOutcome | None = None
        try:
            outcome = await self._answer(sip)
        except BaseException as exc:
            self.hang_up(repr(exc))
            outcome = self._outcome(CallCause.INTERNAL, f"the call failed: {exc!r}")
            if not isinstance(exc, Exception):
                raise
            _logger.exception("%s: the incoming call failed", self.channel.name)
        finally:
            self._release()
            assert outcome is not None
            self.progress(CallEnded(outcome))

    def _tell_listener(self, event: CallProgress) -> None:
        incoming = self.incoming
        if incoming is not None:
            self.provider._tell(lambda listener: listener.on_incoming_call(incoming, event))

    async def _answer(self, sip: SipIncomingCall) -> CallOutcome:
        channel = self.channel
        self._face(sip.peer)
        ended: asyncio.Future[object] = asyncio.ensure_future(sip.wait_ended())
        try:
            # What we answer is settled before ringing: an offer we cannot take is refused
            # at once (488 with Warnings, no 180 first); without an offer (delayed offer,
            # RFC 3261 13.2.1) our 200 carries the offer and the ACK the answer.
            self.media = await self._open_media()
            stream: NegotiatedStream | None = None
            if sip.offer is None:
                t38 = self._t38_allowed()
                ours = make_offer(self._local(), self._origin, audio=True, t38=t38)
            else:
                try:
                    ours, stream = make_answer(sip.offer, self._local(), self._origin)
                except SdpNegotiationError as exc:
                    sip.reject(488, "Not Acceptable Here", warnings_of(exc))
                    return self._failed(CallCause.REMOTE_INCAPABLE, str(exc))
            if not await self._ring(sip, ended):
                detail = self.hung_up or "the caller hung up before the answer"
                sip.reject(480, "Temporarily Unavailable")
                return self._failed(CallCause.NO_ANSWER, detail)
            assert self.incoming is not None
            setup = await self.provider._receive_setup(self.incoming, SETUP_TIMEOUT)
            if isinstance(setup, str):
                sip.reject(480, "Temporarily Unavailable")
                return self._failed(CallCause.INTERNAL, setup)
            self.receive_file = setup.path
            self.options = setup.options
            sip.on_offer = self._on_offer
            try:
                await sip.answer(ours)
            except CallFailedError as exc:
                cause = _CAUSES[exc.cause] if exc.status == 488 else CallCause.LINE_DROPPED
                return self._failed(cause, f"not connected: {exc.reason}")
            if stream is None:
                assert sip.remote_sdp is not None
                try:
                    stream = read_answer(ours, sip.remote_sdp)
                except SdpError as exc:
                    detail = f"unusable SDP answer in the ACK: {exc}"
                    await sip.hang_up((488, detail))
                    return self._failed(CallCause.REMOTE_INCAPABLE, detail)
            channel._set_state(DeviceState.IN_CALL, self)
            self.progress(Answered())
            return await self._connected(stream)
        finally:
            ended.cancel()

    async def _ring(self, sip: SipIncomingCall, ended: asyncio.Future[object]) -> bool:
        """Ring until the channel answers (True), or the caller gives up or we hang up."""
        channel = self.channel
        for ring in itertools.count(1):
            if ended.done() or self.hung_up is not None:
                return False
            sip.ring()
            self.progress(Ringing(ring))
            auto = channel.receive_mode is ReceiveMode.AUTO_ANSWER
            if self.answer_now.is_set() or (auto and ring >= max(1, channel.rings_before_answer)):
                return self.hung_up is None
            waiter: asyncio.Future[object] = asyncio.ensure_future(self.answer_now.wait())
            await asyncio.wait([waiter, ended], timeout=self.trunk.config.ring_seconds)
            waiter.cancel()
        return False

    # --- connected, both directions -----------------------------------------------------------

    async def _open_media(self) -> MediaSession:
        return await MediaSession.open(
            self.trunk.media_address,
            self.trunk.config.media_port_range,
            options=self.trunk.media_options,
            on_event=self._on_event,
            name=self.channel.name,
        )

    def _t38_allowed(self) -> bool:
        """Whether this call may use T.38: the policy, the memory, and no page over audio."""
        if self.policy == "off" or self.pages_done:
            return False
        return self.preference is None or self.preference.t38 is not False

    def _local(self, *, t38: bool | None = None) -> LocalMedia:
        assert self.media is not None
        allowed = self._t38_allowed() if t38 is None else t38
        return LocalMedia(
            self._origin.address,
            self.media.audio_port,
            self.media.t38_port if allowed else None,
            prefer_t38=allowed,
        )

    def _new_session(self, stream: NegotiatedStream) -> FaxSession:
        """A fresh engine session for ``stream``, the fax phase from its start."""
        name = self.channel.name
        send, receive = self.send_file, self.receive_file
        if stream.kind is StreamKind.AUDIO:
            return AudioSession(
                self.role, self.options, send_file=send, receive_file=receive, name=name
            )
        assert stream.t38 is not None
        return T38Session(
            self.role,
            self.options,
            send_file=send,
            receive_file=receive,
            paced=self.trunk.config.t38_paced,
            t38_version=stream.t38.version,
            name=name,
        )

    def _use(self, stream: NegotiatedStream) -> None:
        """Carry the fax over ``stream``: a new engine session unless it is the same kind."""
        assert self.media is not None
        if self.session is not None and stream.kind is self.kind:
            self.media.connect(stream, self.session)
            return
        if self.session is not None:
            old, self.session = self.session, None
            old.close()
            old.pop_events()
            _logger.info(
                "%s: switching to %s; the fax starts again", self.channel.name, stream.kind
            )
        self.session = self._new_session(stream)
        self.kind = stream.kind
        self.media.connect(stream, self.session)

    async def _on_offer(self, offer: SessionDescription) -> SessionDescription:
        """The far end's re-INVITE: switch to what it offers if we may, or refuse (488)."""
        if self.media is None:
            raise SdpNegotiationError("the call has no media yet")
        answer, stream = make_answer(offer, self._local(), self._origin)
        if self.session is not None and self.session.done:
            return answer  # after the fax (back to audio): nothing to carry any more
        if stream.kind is not self.kind and self.pages_done:
            raise SdpNegotiationError("a page already crossed; the call stays as it is")
        self._use(stream)
        return answer

    async def _ask_for_t38(self) -> None:
        """As the answering end under ``request``: re-INVITE to T.38 (488/415: stay G.711)."""
        assert self.sip is not None
        assert self.media is not None
        offer = make_offer(self._local(t38=True), self._origin, audio=False, t38=True)
        result = await self.sip.reinvite(offer)
        if not result.accepted or result.answer is None:
            _logger.info(
                "%s: T.38 refused (%d %s); staying in G.711",
                self.channel.name,
                result.status,
                result.reason,
            )
            return
        if self.kind is StreamKind.T38 or self.hung_up is not None or self.pages_done:
            return
        try:
            stream = read_answer(offer, result.answer)
        except SdpError as exc:
            _logger.warning("%s: unusable T.38 answer: %s", self.channel.name, exc)
            return
        self._use(stream)

    async def _connected(self, stream: NegotiatedStream) -> CallOutcome:
        """Run the fax over the connected call until the engine session ends."""
        assert self.sip is not None
        assert self.media is not None
        sip, media = self.sip, self.media
        self._use(stream)
        ended = asyncio.ensure_future(sip.wait_ended())
        running = asyncio.ensure_future(media.run())
        asking = None
        if (
            self.direction is CallDirection.INCOMING
            and self.kind is StreamKind.AUDIO
            and self.policy == "request"
        ):
            asking = asyncio.ensure_future(self._ask_for_t38())
        speed = self.trunk.config.media_speed
        try:
            async with asyncio.timeout(self.trunk.config.max_call_seconds / speed):
                await asyncio.wait([ended, running], return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            self.hang_up(f"the call exceeded {self.trunk.config.max_call_seconds:g} s")
        finally:
            if asking is not None:
                asking.cancel()
        if running.done() and not running.cancelled() and running.exception() is not None:
            _logger.error("%s: the media failed", self.channel.name, exc_info=running.exception())
            self.hung_up = self.hung_up or f"the media failed: {running.exception()!r}"
        session = self.session
        assert session is not None
        if not session.done:
            end = sip.end
            reason = self.hung_up or (f"the far end hung up ({end.reason})" if end else "")
            self.hung_up = self.hung_up or reason
            session.hangup()
            self._drain(session)
        running.cancel()
        if not ended.done() and self.direction is CallDirection.OUTGOING:
            await asyncio.wait([ended], timeout=BYE_GRACE)
        ended.cancel()
        # BYE in the background: a far end that no longer answers must not hold the outcome.
        self.provider._spawn(sip.hang_up(), "SIP BYE")
        return self._outcome(None, self.hung_up)

    def _on_event(self, session: FaxSession, event: Event) -> None:
        if session is not self.session:
            return
        self._record(event)

    def _drain(self, session: FaxSession) -> None:
        for event in session.pop_events():
            self._record(event)

    def _record(self, event: Event) -> None:
        if isinstance(event, PageSent | PageReceived):
            self.pages_done += 1
        line_seconds = 0.0 if self.media is None else self.media.line_seconds
        self.log.keep(event, line_seconds, self.progress)

    # --- ending -------------------------------------------------------------------------------

    def _failed(self, cause: CallCause, detail: str) -> CallOutcome:
        """The outcome of a call that never connected."""
        _logger.info(
            "%s %s %s: %s (%s)",
            self.channel.name,
            "calling" if self.direction is CallDirection.OUTGOING else "called by",
            self.remote_number,
            cause.value,
            detail,
        )
        path = self.send_file if self.direction is CallDirection.OUTGOING else self.receive_file
        return CallOutcome(self.direction, cause, self.remote_number, path, detail=detail)

    def _outcome(self, cause: CallCause | None, detail: str | None) -> CallOutcome:
        """The outcome once the engine ran (or ``cause`` for a call that never got there)."""
        session = self.session
        result = None if session is None else session.result
        if result is None:
            return self._failed(cause or CallCause.INTERNAL, detail or "the call never connected")
        path = self.send_file if self.direction is CallDirection.OUTGOING else self.receive_file
        text = f"{result.text} {carried_over('t38' if self.kind is StreamKind.T38 else 'g711')}"
        return CallOutcome(
            self.direction,
            cause or CallCause.of(result.cause),
            self.remote_number,
            path,
            pages=result.pages,
            result=result,
            negotiated=self.log.negotiated,
            transcript=tuple(self.log.transcript),
            line_seconds=0.0 if self.media is None else self.media.line_seconds,
            detail=text if not detail else f"{detail}: {text}",
        )

    def _release(self) -> None:
        """Close the engine session (completing a received TIFF), the media, free the channel."""
        if self.session is not None:
            self.session.close()
        if self.media is not None:
            self.media.close()
        self.channel._set_state(DeviceState.IDLE, None)
        self.provider._legs.discard(self)
