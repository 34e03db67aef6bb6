"""What every built-in device provider shares: the numbers lines dial (from
:mod:`openfax.model.numbers`), the listener plumbing of a provider, the bookkeeping of
its lines (id, state, receive settings) and what a call keeps of its session's events.

:class:`ProviderBase` and :class:`LineBase` hold only what is the same in the loopback and
the ``sip`` providers; how a call is placed, rung and carried stays in each of them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Self, TypeVar

from openfax.engine import Completed, Event, FrameExchanged, Negotiated, PageProgress
from openfax.model.enums import ReceiveMode
from openfax.model.numbers import DIALLABLE as DIALLABLE
from openfax.model.numbers import canonical_number as canonical_number
from openfax.providers.base import (
    CallOutcome,
    DeviceListener,
    DeviceState,
    IncomingCall,
    LineRegistration,
    ProgressSink,
    ReceiveSetup,
    SendRequest,
    TranscriptEntry,
)

_logger = logging.getLogger(__name__)


@dataclass
class CallLog:
    """What a call keeps of its engine session's events: the T.30 events at their line time
    (the outcome's transcript) and the settings negotiated."""

    transcript: list[TranscriptEntry] = field(default_factory=list)
    negotiated: Negotiated | None = None

    def keep(self, event: Event, line_seconds: float, progress: ProgressSink) -> bool:
        """Keep ``event`` and pass on to ``progress`` what a caller follows (neither frames
        nor the end); False for page progress, passed on but no T.30 event, so not kept."""
        if isinstance(event, PageProgress):
            progress(event)
            return False
        self.transcript.append(TranscriptEntry(line_seconds, event))
        if isinstance(event, Negotiated):
            self.negotiated = event
        if not isinstance(event, FrameExchanged | Completed):
            progress(event)
        return True


class ProviderBase:
    """A provider's name, its listener (told of every device and call event, its errors
    logged), whether it is in service, and the ids of its incoming calls."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._listener: DeviceListener | None = None
        self._running = False
        self._call_ids = itertools.count(1)

    @property
    def name(self) -> str:
        return self._name

    @property
    def error(self) -> str:
        """Why the provider is not fully in service; "" when it is."""
        return ""

    def set_listener(self, listener: DeviceListener | None) -> None:
        self._listener = listener

    async def start(self) -> None:
        """Put the devices in service."""
        self._running = True

    async def stop(self) -> None:
        """Take the devices out of service."""
        self._running = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _tell(self, notify: Callable[[DeviceListener], object]) -> None:
        """Give the listener an event; a listener's error is logged, never breaks a call."""
        if self._listener is None:
            return
        try:
            notify(self._listener)
        except Exception:
            _logger.exception("%s: the device listener failed", self._name)

    async def _receive_setup(self, call: IncomingCall, timeout: float) -> ReceiveSetup | str:
        """Ask the listener where to receive ``call``, within ``timeout`` wall seconds; a
        string says why it could not be had (the call is then not taken)."""
        listener = self._listener
        if listener is None:
            return "no listener takes calls"
        try:
            async with asyncio.timeout(timeout):
                return await listener.receive_setup(call)
        except TimeoutError:
            return f"receive_setup did not answer within {timeout:g} s"
        except Exception as exc:
            _logger.exception("%s: receive_setup failed", self._name)
            return f"receive_setup failed: {exc!r}"


P = TypeVar("P", bound=ProviderBase)


class LineBase(ABC, Generic[P]):
    """A line of a provider ``P`` (a :class:`~openfax.providers.Line`): its id, its state,
    whose changes the provider's listener hears, and the FAXCOMEX receive settings."""

    def __init__(self, provider: P, device_id: int) -> None:
        self._provider = provider
        self._id = device_id
        self._state = DeviceState.IDLE
        self.receive_mode = ReceiveMode.AUTO_ANSWER
        self.rings_before_answer = 1

    @property
    def id(self) -> int:
        return self._id

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    @abstractmethod
    def number(self) -> str: ...

    @property
    def can_send(self) -> bool:
        return True

    @property
    def can_receive(self) -> bool:
        return True

    def reaches(self, number: str) -> bool:
        """Whether a call from this line to ``number`` can ring someone: a telephone number
        (see ``Line.reaches``)."""
        return DIALLABLE.fullmatch(canonical_number(number)) is not None

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def registration(self) -> LineRegistration | None:
        """The registration the line depends on; None: it needs none."""
        return None

    @abstractmethod
    async def dial(
        self, number: str, request: SendRequest, *, progress: ProgressSink | None = None
    ) -> CallOutcome: ...

    @abstractmethod
    def answer(self) -> bool: ...

    @abstractmethod
    def hang_up(self) -> bool: ...

    def _change_state(self, state: DeviceState) -> None:
        """Move to ``state``; the listener hears of a change (FAXCOMEX OnDeviceStatusChange)."""
        if state is not self._state:
            self._state = state
            self._tell_status()

    def _tell_status(self) -> None:
        """Tell the listener the line's status (its state or its registration changed)."""
        state = self._state
        self._provider._tell(lambda listener: listener.on_device_state(self, state))
