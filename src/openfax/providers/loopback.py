"""The loopback provider: virtual lines inside the server, real T.30 between them.

Dialling another line's number rings it; once it answers, a calling and an answering
engine session run back to back over audio (default) or T.38, paced at ``pace`` x real
time or, with ``pace=None``, as fast as the CPU allows. Everything of a call runs in the
task that awaits :meth:`LoopbackLine.dial` (ringing, the service's ``receive_setup``, the
line itself), so the provider owns no task and cancelling that one task hangs up the call.

Tests break lines on purpose through :attr:`LoopbackLine.faults` (:class:`LineFaults`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from openfax.engine import (
    SAMPLE_RATE,
    AudioSession,
    FaxSession,
    Resolution,
    Role,
    SessionOptions,
    T38Session,
)
from openfax.engine.loopback import BLOCK_SAMPLES
from openfax.errors import ConfigError, FaxFileError
from openfax.model.enums import ProviderStatus, ReceiveMode
from openfax.pacing import LinePacer
from openfax.providers._link import CallLink, LinkEnd
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
    ProgressSink,
    ReceiveSetup,
    Ringing,
    SendRequest,
)
from openfax.providers.common import DIALLABLE, LineBase, ProviderBase, canonical_number

_logger = logging.getLogger(__name__)

_NO_RESOLUTION = Resolution(0)

STOP_TIMEOUT = 5.0
"""Wall seconds ``stop`` waits for the calls it hung up to end."""


class Transport(enum.Enum):
    """What the two sessions of a loopback call exchange."""

    AUDIO = "audio"
    T38 = "t38"


@dataclass(frozen=True)
class LineFaults:
    """Faults injected on a line, in either direction; assign ``line.faults`` at any time.

    ``busy`` and ``no_answer`` apply to calls to the line (a ``no_answer`` line ignores
    ``answer()`` too: it is dead to callers). ``hang_up_after_page`` drops a
    call on the line once the sender has that page confirmed; ``lose_confirmation_of_page``
    drops it once the receiver has that page, before its confirmation (MCF) reaches the
    sender, as a confirmation lost on a bad line would. ``refuse_resolutions`` are
    taken from what the line offers when it receives (standard resolution cannot be
    refused: T.30 requires it). Read when a call is placed or connected.
    """

    busy: bool = False
    no_answer: bool = False
    hang_up_after_page: int | None = None
    lose_confirmation_of_page: int | None = None
    refuse_resolutions: Resolution = _NO_RESOLUTION

    def __post_init__(self) -> None:
        for page in (self.hang_up_after_page, self.lose_confirmation_of_page):
            if page is not None and page < 1:
                raise ValueError("pages are counted from 1")
        if Resolution.STANDARD in self.refuse_resolutions:
            raise ValueError("every fax receives standard resolution; it cannot be refused")


LOOPBACK_GUID = "{3a1f6c2e-8b4d-4e57-9c0a-5d2e7f1b9a64}"
"""The loopback provider's server-wide extension property: its lines' faults as JSON, by
number (``{"1003": {"busy": true}, "1002": {"refuse_resolutions": ["fine"]}}``); a line left
out has none. So a client can break a running daemon's lines, as tests do in process."""


class LoopbackLine(LineBase["LoopbackProvider"]):
    """One virtual line of a :class:`LoopbackProvider` (a :class:`~openfax.providers.Line`)."""

    def __init__(self, provider: LoopbackProvider, device_id: int, number: str) -> None:
        super().__init__(provider, device_id)
        self._number = number
        self._ringing: _Call | None = None
        self._receiving: _Call | None = None
        self.faults = LineFaults()

    @property
    def name(self) -> str:
        return f"{self._provider.name} line {self._number}"

    @property
    def number(self) -> str:
        return self._number

    def reaches(self, number: str) -> bool:
        """Any telephone number but the line's own and that of another line of the provider
        in a call: either would only find the line busy (the provider knows its lines, so the
        fax waits for the line to be free instead of being retried minutes later). A line
        faulted ``busy`` is reached, to answer busy."""
        callee = self._provider._by_number.get(canonical_number(number))
        if callee is self:
            return False
        if callee is not None and not callee.faults.busy and callee.state is not DeviceState.IDLE:
            return False
        return super().reaches(number)

    async def dial(
        self, number: str, request: SendRequest, *, progress: ProgressSink | None = None
    ) -> CallOutcome:
        """Call another line by its number and send ``request`` (see ``Line.dial``)."""
        return await _Call(self._provider, self, number, request, progress).run()

    def answer(self) -> bool:
        """Answer the call ringing on this line now, whatever the receive mode."""
        if self._ringing is None or self._state is not DeviceState.RINGING:
            return False
        self._ringing.request_answer()
        return True

    def hang_up(self) -> bool:
        """Hang up the call this line is receiving (see ``Line.hang_up``), or answering:
        one hung up between the service's ``receive_setup`` and the connection ends unanswered."""
        call = self._receiving or self._ringing
        if call is None:
            return False
        call.hang_up(f"{self.name} hung up")
        return True

    def __repr__(self) -> str:
        return f"<LoopbackLine {self._id} {self._number} {self._state.value}>"

    def _set_state(
        self, state: DeviceState, ringing: _Call | None = None, receiving: _Call | None = None
    ) -> None:
        self._ringing = ringing
        self._receiving = receiving
        self._change_state(state)


class LoopbackProvider(ProviderBase):
    """N virtual lines; line ``k`` (from 1) has number ``f"{base_number}{k}"`` and device id
    ``first_device_id + k - 1`` unless ``numbers`` are given.

    ``pace`` is the speed of the line: 1.0 real time, 10.0 ten times faster, None as fast
    as the CPU allows. A ring lasts ``ring_seconds`` of line time (nothing when unpaced); a
    caller gives up after ``max_rings``, or after one ring's time for a number no line has.
    The service's ``receive_setup`` must answer within ``setup_timeout`` wall seconds. A
    connected call is dropped after ``page_timeout`` line seconds without any T.30 event,
    and after ``max_call_seconds`` in all.
    """

    def __init__(
        self,
        lines: int = 2,
        *,
        numbers: Sequence[str] | None = None,
        base_number: str = "100",
        first_device_id: int = 1,
        name: str = "loopback",
        transport: Transport = Transport.AUDIO,
        pace: float | None = 1.0,
        ring_seconds: float = 6.0,
        max_rings: int = 10,
        setup_timeout: float = 10.0,
        page_timeout: float = 300.0,
        max_call_seconds: float = 1800.0,
    ) -> None:
        if pace is not None and pace <= 0:
            raise ValueError(f"pace must be positive or None (unpaced), not {pace}")
        if numbers is None:
            numbers = [f"{base_number}{k}" for k in range(1, lines + 1)]
        canonical = [canonical_number(n) for n in numbers]
        if len(set(canonical)) != len(canonical) or not all(map(DIALLABLE.fullmatch, canonical)):
            raise ValueError(f"line numbers must be distinct and diallable: {list(numbers)}")
        super().__init__(name)
        self.transport = transport
        self.pace = pace
        self.ring_seconds = ring_seconds
        self.max_rings = max_rings
        self.setup_timeout = setup_timeout
        self.page_timeout = page_timeout
        self.max_call_seconds = max_call_seconds
        self._lines = [
            LoopbackLine(self, first_device_id + index, number)
            for index, number in enumerate(numbers)
        ]
        self._by_number = dict(zip(canonical, self._lines, strict=True))
        self._calls: set[_Call] = set()
        self._no_calls = asyncio.Event()
        self._no_calls.set()

    @property
    def status(self) -> ProviderStatus:
        return ProviderStatus.SUCCESS

    @property
    def devices(self) -> Sequence[LoopbackLine]:
        return tuple(self._lines)

    def line(self, number: str) -> LoopbackLine:
        """The line with this number."""
        return self._by_number[canonical_number(number)]

    extension_guids = (LOOPBACK_GUID,)
    """The extension property the provider owns (the service tells it of changes)."""

    def check_extension_property(self, guid: str, device_id: int, data: bytes) -> None:
        """Refuse faults that cannot be applied (ConfigError naming the line or field)."""
        self._faults(device_id, data)

    def on_extension_property(self, guid: str, device_id: int, data: bytes) -> None:
        """Apply the faults set through :data:`LOOPBACK_GUID`."""
        faults = self._faults(device_id, data)
        for line in self._lines:
            line.faults = faults.get(line, LineFaults())

    def _faults(self, device_id: int, data: bytes) -> dict[LoopbackLine, LineFaults]:
        source = "loopback faults"
        if device_id:
            raise ConfigError(source, "device_id", "the faults are server-wide: device 0")
        try:
            value = json.loads(data or b"{}")
        except ValueError as exc:
            raise ConfigError(source, "(data)", f"not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ConfigError(source, "(data)", "must be an object of line numbers")
        faults = {}
        for number, fields in value.items():
            line = self._by_number.get(canonical_number(str(number)))
            if line is None:
                raise ConfigError(source, str(number), "no loopback line has this number")
            if not isinstance(fields, dict):
                raise ConfigError(source, str(number), "must be an object of faults")
            for flag in ("busy", "no_answer"):
                if not isinstance(fields.get(flag, False), bool):
                    raise ConfigError(source, f"{number}.{flag}", "must be true or false")
            try:
                refused = _NO_RESOLUTION
                for name in fields.get("refuse_resolutions", []):
                    refused |= Resolution[str(name).upper()]
                faults[line] = LineFaults(**{**fields, "refuse_resolutions": refused})
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(source, str(number), f"bad faults {fields!r}: {exc}") from None
        return faults

    async def stop(self) -> None:
        """Hang up every call (each ends with the line dropped) and refuse new ones."""
        await super().stop()
        for call in list(self._calls):
            call.hang_up("the provider stopped")
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await self._no_calls.wait()
        except TimeoutError:
            _logger.error("%s: %d calls still running after stop", self._name, len(self._calls))

    # --- for calls ------------------------------------------------------------------------

    def _wall_seconds(self, line_seconds: float) -> float:
        return 0.0 if self.pace is None else line_seconds / self.pace

    def _session(
        self,
        role: Role,
        options: SessionOptions,
        name: str,
        *,
        send_file: Path | None = None,
        receive_file: Path | None = None,
    ) -> FaxSession:
        if self.transport is Transport.AUDIO:
            return AudioSession(
                role, options, send_file=send_file, receive_file=receive_file, name=name
            )
        return T38Session(
            role,
            options,
            send_file=send_file,
            receive_file=receive_file,
            paced=self.pace is not None,
            name=name,
        )


class _Call:
    """One loopback call, from dial to hang-up: rings, the answer, the link, the outcomes."""

    def __init__(
        self,
        provider: LoopbackProvider,
        caller: LoopbackLine,
        number: str,
        request: SendRequest,
        progress: ProgressSink | None,
    ) -> None:
        self.provider = provider
        self.caller = caller
        self.number = number
        self.request = request
        self.progress: ProgressSink = progress or (lambda event: None)
        self.callee: LoopbackLine | None = None
        self.incoming: IncomingCall | None = None
        self.receive_path: Path | None = None
        self.sessions: list[FaxSession] = []
        self.link: CallLink | None = None
        self._hang_up_reason: str | None = None
        self._answer_requested = False
        self._wake = asyncio.Event()

    # --- requests from outside ------------------------------------------------------------

    def request_answer(self) -> None:
        self._answer_requested = True
        self._wake.set()

    def hang_up(self, reason: str) -> None:
        """End the call from outside the task running it; it ends at its next step."""
        self._hang_up_reason = reason
        self._wake.set()
        if self.link is not None:
            self.link.hang_up(reason)

    # --- the call ---------------------------------------------------------------------------

    async def run(self) -> CallOutcome:
        """Place the call and run it; report both ends' outcomes once both lines are free."""
        self.provider._calls.add(self)
        self.provider._no_calls.clear()
        outcomes: tuple[CallOutcome, CallOutcome | None] | None = None
        try:
            outcomes = await self._place()
        except BaseException as exc:
            aborted = isinstance(exc, asyncio.CancelledError)
            outcomes = self._break_off(aborted, repr(exc))
            raise
        finally:
            self._release()
            assert outcomes is not None
            ours, theirs = outcomes
            if theirs is not None:
                self._tell_callee(CallEnded(theirs))
            self.progress(CallEnded(ours))
        return ours

    async def _place(self) -> tuple[CallOutcome, CallOutcome | None]:
        """Dial, ring, answer and run the line; the outcomes of the caller and the callee."""
        provider, caller = self.provider, self.caller
        if not provider._running or caller.state is not DeviceState.IDLE:
            why = "in use" if provider._running else "out of service"
            return self._failed(CallCause.LINE_UNAVAILABLE, f"{caller.name} is {why}"), None
        target = canonical_number(self.number)
        if not DIALLABLE.fullmatch(target):
            return self._failed(CallCause.BAD_ADDRESS, f"{self.number!r} is not a number"), None
        try:
            self.sessions.append(
                provider._session(
                    Role.CALL,
                    self.request.options,
                    caller.name,
                    send_file=self.request.path,
                )
            )
        except FaxFileError as exc:
            return self._failed(CallCause.DOCUMENT, str(exc)), None
        caller._set_state(DeviceState.DIALING)
        self.progress(Dialing(self.number))
        callee = provider._by_number.get(target)
        if callee is None:
            await self._wait(provider._wall_seconds(provider.ring_seconds))
            return self._failed(CallCause.NO_ANSWER, f"no line has number {self.number}"), None
        if callee is caller or callee.faults.busy or callee.state is not DeviceState.IDLE:
            return self._failed(CallCause.BUSY, f"{callee.name} is busy"), None
        self.callee = callee
        self.incoming = IncomingCall(
            next(provider._call_ids), callee, caller_id=caller.number, called_number=self.number
        )
        callee._set_state(DeviceState.RINGING, ringing=self)
        if not await self._ring(callee):
            return self._unanswered(callee)
        assert self.incoming is not None
        setup = await provider._receive_setup(self.incoming, provider.setup_timeout)
        if isinstance(setup, str):
            return (
                self._failed(CallCause.NO_ANSWER, f"{callee.name} did not take the call"),
                self._incoming(CallCause.INTERNAL, setup),
            )
        if self._hang_up_reason is not None:
            return self._unanswered(callee)
        return await self._connect(callee, setup)

    async def _ring(self, callee: LoopbackLine) -> bool:
        """Ring ``callee`` until it answers (True), or the caller gives up or hangs up."""
        ring = 0
        while self._hang_up_reason is None:
            if self._answers(callee, ring):
                return True
            if ring >= self.provider.max_rings:
                return False
            ring += 1
            self.progress(Ringing(ring))
            self._tell_callee(Ringing(ring))
            await self._wait(self.provider._wall_seconds(self.provider.ring_seconds))
        return False

    def _answers(self, callee: LoopbackLine, rings: int) -> bool:
        if callee.faults.no_answer or self.provider._listener is None:
            return False
        if self._answer_requested:
            return True
        auto = callee.receive_mode is ReceiveMode.AUTO_ANSWER
        return auto and rings >= max(1, callee.rings_before_answer)

    async def _wait(self, seconds: float) -> None:
        """Let ``seconds`` pass, or less if the call is answered or hung up meanwhile."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def _connect(
        self, callee: LoopbackLine, setup: ReceiveSetup
    ) -> tuple[CallOutcome, CallOutcome]:
        """Answer with the service's setup and run the line until both sessions are done."""
        refused = callee.faults.refuse_resolutions
        options = replace(setup.options, resolutions=setup.options.resolutions & ~refused)
        try:
            self.sessions.append(
                self.provider._session(Role.ANSWER, options, callee.name, receive_file=setup.path)
            )
        except FaxFileError as exc:
            return (
                self._failed(CallCause.NO_ANSWER, f"{callee.name} did not take the call"),
                self._incoming(CallCause.INTERNAL, str(exc)),
            )
        self.receive_path = setup.path
        self.caller._set_state(DeviceState.IN_CALL)
        callee._set_state(DeviceState.IN_CALL, receiving=self)
        self.progress(Answered())
        self._tell_callee(Answered())
        faults = (self.caller.faults, callee.faults)
        after = [f.hang_up_after_page for f in faults]
        lost = [f.lose_confirmation_of_page for f in faults]
        self.link = CallLink(
            LinkEnd(self.sessions[0], self.progress),
            LinkEnd(self.sessions[1], self._tell_callee),
            hang_up_after_page=min((n for n in after if n is not None), default=None),
            lose_confirmation_of_page=min((n for n in lost if n is not None), default=None),
            page_timeout=self.provider.page_timeout,
            max_call_seconds=self.provider.max_call_seconds,
        )
        pacer = LinePacer(self.provider.pace, block_seconds=BLOCK_SAMPLES / SAMPLE_RATE)
        while not self.link.finished:
            for _ in range(await pacer.next_blocks()):
                self.link.step()
                if self.link.finished:
                    break
        return self._connected_outcomes()

    # --- ending -----------------------------------------------------------------------------

    def _break_off(self, aborted: bool, error: str) -> tuple[CallOutcome, CallOutcome | None]:
        """The task was cancelled (``aborted``) or failed: hang up, and say how it ended."""
        ours = CallCause.ABORTED if aborted else CallCause.INTERNAL
        detail = "the call was cancelled" if aborted else f"the call failed: {error}"
        if self.link is not None:
            self.link.hang_up(detail)
            return self._connected_outcomes(ours)
        if self.callee is None:
            return self._failed(ours, detail), None
        return self._failed(ours, detail), self._incoming(
            CallCause.LINE_DROPPED, "the caller hung up before the answer"
        )

    def _unanswered(self, callee: LoopbackLine) -> tuple[CallOutcome, CallOutcome]:
        if self._hang_up_reason is not None:
            return (
                self._failed(CallCause.LINE_UNAVAILABLE, self._hang_up_reason),
                self._incoming(CallCause.LINE_DROPPED, self._hang_up_reason),
            )
        detail = f"{callee.name} did not answer"
        return self._failed(CallCause.NO_ANSWER, detail), self._incoming(
            CallCause.NO_ANSWER, detail
        )

    def _failed(self, cause: CallCause, detail: str) -> CallOutcome:
        """The caller's outcome of a call that never connected."""
        _logger.info("%s calling %s: %s (%s)", self.caller.name, self.number, cause.value, detail)
        return CallOutcome(
            CallDirection.OUTGOING, cause, self.number, self.request.path, detail=detail
        )

    def _incoming(self, cause: CallCause, detail: str) -> CallOutcome:
        """The callee's outcome of a call that never connected."""
        return CallOutcome(
            CallDirection.INCOMING, cause, self.caller.number, self.receive_path, detail=detail
        )

    def _connected_outcomes(
        self, caller_cause: CallCause | None = None
    ) -> tuple[CallOutcome, CallOutcome]:
        assert self.link is not None
        link = self.link

        def outcome(
            end: LinkEnd,
            direction: CallDirection,
            remote: str,
            path: Path | None,
            cause: CallCause | None,
        ) -> CallOutcome:
            result = end.session.result
            assert result is not None
            return CallOutcome(
                direction,
                cause or CallCause.of(result.cause),
                remote,
                path,
                pages=result.pages,
                result=result,
                negotiated=end.log.negotiated,
                transcript=tuple(end.log.transcript),
                line_seconds=link.line_seconds,
                detail=result.text if link.ended_by is None else f"{link.ended_by}: {result.text}",
            )

        return (
            outcome(
                link.caller,
                CallDirection.OUTGOING,
                self.number,
                self.request.path,
                caller_cause,
            ),
            outcome(
                link.answerer,
                CallDirection.INCOMING,
                self.caller.number,
                self.receive_path,
                None,
            ),
        )

    def _release(self) -> None:
        """Close the sessions (completing the received TIFF) and free both lines."""
        for session in self.sessions:
            session.close()
        self.caller._set_state(DeviceState.IDLE)
        if self.callee is not None:
            self.callee._set_state(DeviceState.IDLE)
        self.provider._calls.discard(self)
        if not self.provider._calls:
            self.provider._no_calls.set()

    def _tell_callee(self, event: CallProgress) -> None:
        incoming = self.incoming
        if incoming is not None:
            self.provider._tell(lambda listener: listener.on_incoming_call(incoming, event))
