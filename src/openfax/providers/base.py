"""What the fax service asks of a device provider: providers, devices, calls and their outcome.

A provider (loopback, SIP, later a modem) exposes devices (lines). The service dials on a
device and awaits the call's :class:`CallOutcome`; it registers one
:class:`DeviceListener` per provider to hear device states and incoming calls, and to say
where an answered call is received. Everything a call reports while it runs is a small
frozen event (:data:`CallProgress`); the last one is always :class:`CallEnded`.

Providers never touch the store: the service gives them what to send and where to receive,
and records what they report.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from openfax.engine import (
    Completed,
    Event,
    Negotiated,
    PageProgress,
    PageReceived,
    PageSent,
    SessionOptions,
    T30Failure,
)
from openfax.model.enums import ExtendedStatus, ProviderStatus, ReceiveMode
from openfax.telephony.sip.registration import RegistrationState


class DeviceState(enum.Enum):
    """What a line is doing now; the scheduler picks only idle lines."""

    IDLE = "idle"
    DIALING = "dialing"
    """An outgoing call is being set up: dialled, ringing at the far end."""
    RINGING = "ringing"
    """An incoming call rings; it has not been answered yet."""
    IN_CALL = "in_call"
    """A call is connected, in either direction."""


class CallDirection(enum.Enum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class CallCause(enum.Enum):
    """Why a call ended as it did: the call set-up failures, a local abort, and the engine's
    :class:`~openfax.engine.T30Failure` (same values), so the service classifies every
    failure with one enum."""

    NONE = "none"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    BAD_ADDRESS = "bad_address"
    """The number cannot be dialled at all."""
    LINE_UNAVAILABLE = "line_unavailable"
    """The device could not place the call: in use, out of service, or it cannot send."""
    ABORTED = "aborted"
    """This end hung up on purpose (the dial was cancelled)."""
    REJECTED = "rejected"
    """The network or the far end refused the call (SIP 403, 603, credentials refused)."""
    UNREACHABLE = "unreachable"
    """The far end or the trunk could not be reached (SIP 503, no response, transport
    error)."""
    NO_FAX = T30Failure.NO_FAX.value
    LINE_DROPPED = T30Failure.LINE_DROPPED.value
    PROTOCOL = T30Failure.PROTOCOL.value
    REMOTE_INCAPABLE = T30Failure.REMOTE_INCAPABLE.value
    DOCUMENT = T30Failure.DOCUMENT.value
    INTERNAL = T30Failure.INTERNAL.value

    @classmethod
    def of(cls, cause: T30Failure) -> CallCause:
        """The call cause of an engine result."""
        return cls(cause.value)


_S = ExtendedStatus
_EXTENDED_STATUS: dict[CallCause, ExtendedStatus] = {
    CallCause.NONE: _S.CALL_COMPLETED,
    CallCause.BUSY: _S.BUSY,
    CallCause.NO_ANSWER: _S.NO_ANSWER,
    CallCause.BAD_ADDRESS: _S.BAD_ADDRESS,
    CallCause.LINE_UNAVAILABLE: _S.LINE_UNAVAILABLE,
    CallCause.ABORTED: _S.CALL_ABORTED,
    CallCause.REJECTED: _S.FATAL_ERROR,
    CallCause.UNREACHABLE: _S.NO_DIAL_TONE,
    CallCause.NO_FAX: _S.NOT_FAX_CALL,
    CallCause.LINE_DROPPED: _S.DISCONNECTED,
    CallCause.PROTOCOL: _S.FATAL_ERROR,
    CallCause.REMOTE_INCAPABLE: _S.FATAL_ERROR,
    CallCause.DOCUMENT: _S.FATAL_ERROR,
    CallCause.INTERNAL: _S.FATAL_ERROR,
}
del _S


NetworkMedia = Literal["t38", "g711"]
"""What carried a network call's fax: T.38 packets, or audio in G.711 (pass-through)."""
_MEDIA_NAMES: dict[NetworkMedia, str] = {"t38": "T.38", "g711": "G.711"}
_CARRIED_OVER = re.compile(r"\(over (T\.38|G\.711)\)")


def carried_over(media: NetworkMedia) -> str:
    """What a network call's outcome ``detail`` says of its media, ``(over T.38)``: the
    job's status text shows it, and :func:`carried_by` reads it back from there (the
    metrics, from the job's events)."""
    return f"(over {_MEDIA_NAMES[media]})"


def carried_by(detail: str) -> NetworkMedia | None:
    """The media a call's outcome ``detail`` names with :func:`carried_over`, if it does
    (a network call that reached the fax phase)."""
    found = _CARRIED_OVER.search(detail)
    if found is None:
        return None
    return next(media for media, name in _MEDIA_NAMES.items() if name == found[1])


T38Policy = Literal["off", "accept", "request"]
"""Whether a call over a network line may use T.38: ``off``: G.711 only, T.38 offers are
refused; ``accept``: take T.38 when the far end offers it, never ask; ``request``: offer (or
ask for) T.38 first. A SIP trunk has one; an outbound routing rule may override it."""


@dataclass(frozen=True)
class SendRequest:
    """What to send on a call: a TIFF-F and the sending end's T.30 options (``ident`` is the
    TSID; ECM, modems and ``header_text`` as in :class:`~openfax.engine.SessionOptions`).

    ``t38_policy`` is the outbound routing rule's choice for this call; None leaves it to
    the device (a SIP trunk's own policy). Devices without T.38 negotiation (loopback lines)
    ignore it."""

    path: Path
    options: SessionOptions = field(default_factory=SessionOptions)
    t38_policy: T38Policy | None = None


@dataclass(frozen=True)
class ReceiveSetup:
    """Where an answered call is received and the answering end's options (``ident`` is the
    CSID). The folder must exist; the provider writes the TIFF there."""

    path: Path
    options: SessionOptions = field(default_factory=SessionOptions)


@dataclass(frozen=True)
class TranscriptEntry:
    """One engine event of a call (a T.30 frame, the negotiated settings, a page, the end),
    with the line time it happened at, counted from the answer."""

    line_seconds: float
    event: Event


@dataclass(frozen=True)
class CallOutcome:
    """How one end of a call went.

    ``pages`` counts pages the far end confirmed (outgoing) or that arrived whole
    (incoming). ``result`` is the engine's phase E, absent when the call never connected.
    ``line_seconds`` is the connected time. ``detail`` says in words what happened.
    """

    direction: CallDirection
    cause: CallCause
    remote_number: str
    """The number dialled (outgoing) or the caller id (incoming)."""
    path: Path | None
    """The TIFF sent or received; None for an incoming call never answered."""
    pages: int = 0
    result: Completed | None = None
    negotiated: Negotiated | None = None
    transcript: tuple[TranscriptEntry, ...] = ()
    line_seconds: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.cause is CallCause.NONE

    @property
    def connected(self) -> bool:
        """Whether the call was answered and the engine ran."""
        return self.result is not None

    @property
    def partial(self) -> bool:
        """An incoming fax that broke off after some pages: those pages are in ``path``."""
        return self.direction is CallDirection.INCOMING and not self.ok and self.pages > 0

    @property
    def extended_status(self) -> ExtendedStatus:
        """The FAXCOMEX extended status (FAX_JOB_EXTENDED_STATUS_ENUM)."""
        if self.partial:
            return ExtendedStatus.PARTIALLY_RECEIVED
        return _EXTENDED_STATUS[self.cause]


# --- progress: what a call reports while it runs ----------------------------------------


@dataclass(frozen=True)
class Dialing:
    number: str


@dataclass(frozen=True)
class Ringing:
    """The far end rings (outgoing) or this device rings (incoming); ``ring`` counts from 1.
    ``Ringing(1)`` on an incoming call is the new call (FAXCOMEX OnNewCall)."""

    ring: int


@dataclass(frozen=True)
class Answered:
    """The call is connected; the engine sessions start."""


@dataclass(frozen=True)
class CallEnded:
    """The last event of every call, whatever ended it (cancellation included)."""

    outcome: CallOutcome


CallProgress = (
    Dialing | Ringing | Answered | Negotiated | PageProgress | PageSent | PageReceived | CallEnded
)
"""Engine events are passed on as they are: ``Negotiated`` (again after a retrain),
``PageProgress`` and ``PageSent`` on the sending end, ``PageReceived`` on the receiving end.
``PageProgress`` is not kept in the call's transcript."""

ProgressSink = Callable[[CallProgress], object]
"""Called in the event loop for each progress event; must not block. ``queue.put_nowait``
of an :class:`asyncio.Queue` fits."""


# --- the parts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRegistration:
    """A line's registration: its state and why the last attempt failed ("" once
    registered). A line whose registration failed cannot be called."""

    state: RegistrationState
    error: str = ""

    @property
    def failed(self) -> bool:
        """True when the line cannot be called: FAXCOMEX shows it powered off."""
        return self.state is RegistrationState.FAILED


@dataclass(frozen=True)
class IncomingCall:
    """A call offered to a device."""

    call_id: int
    device: Line
    caller_id: str
    called_number: str


class DeviceListener(Protocol):
    """What the service registers on a provider to hear its devices."""

    def on_device_state(self, device: Line, state: DeviceState) -> None:
        """A device changed state (FAXCOMEX OnDeviceStatusChange); both directions. Also
        told when only its ``registration`` changed."""

    def on_provider_status(self, provider: DeviceProvider) -> None:
        """The provider's ``status`` or ``error`` changed since it started (a trunk's
        registration failed, or succeeded again)."""

    def on_incoming_call(self, call: IncomingCall, event: CallProgress) -> None:
        """Everything an incoming call reports: first ``Ringing(1)`` (a new call), then more
        rings, ``Answered``, engine events and last ``CallEnded`` with the reception outcome
        (``partial`` when it broke off after some pages). Unanswered calls end too."""

    async def receive_setup(self, call: IncomingCall) -> ReceiveSetup:
        """The device is answering ``call``: where to receive it and with which options.

        Awaited with a deadline; raising (or missing the deadline) rejects the call.
        """


class Line(Protocol):
    """One line of a provider.

    ``receive_mode`` and ``rings_before_answer`` (auto-answer only) are the FAXCOMEX device
    settings and may be changed at any time; they apply from the next incoming call.
    """

    receive_mode: ReceiveMode
    rings_before_answer: int

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def number(self) -> str:
        """The number that rings this device."""

    @property
    def can_send(self) -> bool: ...

    @property
    def can_receive(self) -> bool: ...

    @property
    def state(self) -> DeviceState: ...

    @property
    def registration(self) -> LineRegistration | None:
        """The registration the line depends on; None for a line that needs none."""

    def reaches(self, number: str) -> bool:
        """Whether a call from this line to ``number`` can ring anyone but this line itself.

        The scheduler gives a line only the jobs it reaches, so a fax waits for a line that
        can place it rather than being dialled where it cannot go: a loopback line's own
        number rings only its own line, busy with the call (a SIP trunk's own DID does not:
        the carrier rings it back on another channel); a SIP URI needs a SIP line.
        """

    async def dial(
        self, number: str, request: SendRequest, *, progress: ProgressSink | None = None
    ) -> CallOutcome:
        """Call ``number`` and send ``request``; return when the call is over.

        Set-up failures are outcomes, not exceptions (cause BUSY, NO_ANSWER, BAD_ADDRESS,
        LINE_UNAVAILABLE). Cancelling the task awaiting this hangs up at once: the call
        ends with cause ABORTED and the pages confirmed so far, reported as the
        ``CallEnded`` progress event before ``CancelledError`` propagates.
        """

    def answer(self) -> bool:
        """Answer the call ringing now, whatever the receive mode (FAXCOMEX AnswerCall).

        True if there was a ringing call to answer.
        """

    def hang_up(self) -> bool:
        """Hang up the call this device is receiving or answering (FAXCOMEX
        ``IncomingJob.Cancel``): it ends as dropped, with the pages received so far. True if
        there was one."""


class DeviceProvider(Protocol):
    """A source of devices, loaded and started by the service."""

    @property
    def name(self) -> str:
        """The provider's unique name."""

    @property
    def status(self) -> ProviderStatus: ...

    @property
    def error(self) -> str:
        """Why the provider is not fully in service ("" when it is): a trunk that cannot
        bind or register, named."""

    @property
    def devices(self) -> Sequence[Line]: ...

    def set_listener(self, listener: DeviceListener | None) -> None:
        """Hear device states and incoming calls; without a listener no call is answered."""

    async def start(self) -> None:
        """Put the devices in service."""

    async def stop(self) -> None:
        """Hang up every call and take the devices out of service."""
