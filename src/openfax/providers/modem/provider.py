"""The ``modem`` device provider: each ``[[modem.lines]]`` entry is a Class 1 fax modem on a
serial port, one FAXCOMEX device.

Each line has one task serving its port: it opens the port, starts the
:class:`~openfax.providers.modem.at.AtDialogue` (reset, probe, initialise), and then carries
bytes and timers between the port, the dialogue and, from the CONNECT of ``ATD`` or ``ATA``
until the fax is done, the Class 1 driver (:class:`openfax.engine.class1.Class1Session`,
sans-I/O like the dialogue). After every call the modem is hung up and initialised again
before the line is idle. A port that cannot be opened, vanishes or whose modem fails is
a fault: the line shows it as its failed "registration" with the reason (FAXCOMEX powered
off) and the task tries again every ``reopen_seconds``, so a modem plugged back in comes
back by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from openfax.engine import AudioSession, Completed, PageReceived, PageSent, Role
from openfax.engine.class1 import Class1Session
from openfax.engine.params import SessionOptions, modems_of
from openfax.errors import FaxFileError, ModemError
from openfax.model.enums import ProviderStatus, ReceiveMode
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
    ReceiveSetup,
    Ringing,
    SendRequest,
)
from openfax.providers.common import DIALLABLE, CallLog, LineBase, ProviderBase, canonical_number
from openfax.providers.modem.at import (
    ABORT,
    DLE_ETX,
    AtDialogue,
    CallerId,
    CallFailed,
    Connected,
    DialogueEvent,
    DialogueSettings,
    DropDtr,
    Fault,
    ModemInfo,
    Ready,
    Result,
    Ring,
    RingsStopped,
    State,
    Unsolicited,
)
from openfax.providers.modem.config import DIAL_CHARACTERS, ModemLineConfig
from openfax.providers.modem.quirks import Quirks, known_modem, quirks_for
from openfax.providers.modem.serial import SerialPort
from openfax.providers.modem.timing import ResponseTimes
from openfax.telephony.sip.registration import RegistrationState

_logger = logging.getLogger(__name__)

SETUP_TIMEOUT = 10.0
"""Wall seconds the service's ``receive_setup`` has to say where to receive."""
STOP_TIMEOUT = 5.0
"""Wall seconds ``stop`` waits for a line's task to end."""
WRITE_PIECE = 1024
"""Bytes taken from the Class 1 driver at once while the port takes them."""
ABORT_TIMEOUT = 10.0
"""Wall seconds a cancelled dial waits for the modem to be on hook."""

_DIAL_CAUSES: dict[Result | None, CallCause] = {
    None: CallCause.NO_ANSWER,
    Result.BUSY: CallCause.BUSY,
    Result.NO_DIALTONE: CallCause.UNREACHABLE,
    Result.NO_CARRIER: CallCause.NO_ANSWER,
    Result.NO_ANSWER: CallCause.NO_ANSWER,
    Result.ERROR: CallCause.LINE_UNAVAILABLE,
    Result.FCERROR: CallCause.PROTOCOL,
}
"""What the modem's answer to ATD means for the job (None: no answer in time); any other
(OK from a modem that dialled as for a voice call) is a PROTOCOL failure."""


def _ignore(event: CallProgress) -> None:
    """The progress sink of a call nobody follows (until it is given one)."""


@dataclass(eq=False)
class _Call:
    """One call of a line, in either direction, from dial or first ring to its outcome."""

    direction: CallDirection
    remote_number: str
    progress: ProgressSink
    done: asyncio.Future[CallOutcome]
    request: SendRequest | None = None
    dial_command: str = ""
    incoming: IncomingCall | None = None
    setup: ReceiveSetup | None = None
    setup_asked: bool = False
    """The service was asked where to receive (once)."""
    answered: bool = False
    """ATA was sent (once)."""
    answer_now: bool = False
    abort: str | None = None
    """Why the call is to end now (a cancelled dial, a hang-up, the provider stopping)."""
    abort_cause: CallCause = CallCause.ABORTED
    session: Class1Session | None = None
    """The Class 1 driver once connected."""
    connected_at: float | None = None
    completed: Completed | None = None
    pages: int = 0
    log: CallLog = field(default_factory=CallLog)
    timing: ResponseTimes = field(default_factory=ResponseTimes)
    """How quickly the fax phase answered the modem (logged when the call ends)."""

    def end(self, reason: str, cause: CallCause) -> None:
        """Ask for the call to end (the line's task acts on it): ``cause`` unless the fax
        phase runs, which then ends with its own outcome."""
        if self.abort is None:
            self.abort, self.abort_cause = reason, cause


class ModemLine(LineBase["ModemProvider"]):
    """One modem on one port (a :class:`~openfax.providers.Line`): one call at a time."""

    def __init__(self, provider: ModemProvider, config: ModemLineConfig, device_id: int) -> None:
        super().__init__(provider, device_id)
        self.config = config
        self.rings_before_answer = config.rings_before_answer
        self.info: ModemInfo | None = None
        """What the modem said of itself at the last probe (None before one)."""
        self.quirks = quirks_for(ModemInfo(), config.quirks)
        self._availability = LineRegistration(RegistrationState.REGISTERING)
        self._dialogue = AtDialogue(self._settings())
        self._port: SerialPort | None = None
        self._inbox = bytearray()
        self._data_at = 0.0
        """When the oldest byte in ``_inbox`` arrived (``time.monotonic()``)."""
        self.response_times = ResponseTimes()
        """How quickly the line answered its modem in every call's fax phase so far."""
        self._lost: str | None = None
        self._wake = asyncio.Event()
        self._call: _Call | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._declined = False
        """An incoming call was hung up before the answer: its further rings are ignored."""

    # --- Line ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.device_name

    @property
    def number(self) -> str:
        return self.config.number

    @property
    def ident(self) -> str:
        """The TSID/CSID the device starts with ("" leaves it to the service)."""
        return self.config.ident

    @property
    def configured_rings(self) -> int:
        """The rings the device starts with (FAXCOMEX may change them)."""
        return self.config.rings_before_answer

    @property
    def can_send(self) -> bool:
        """Whether the line sends and its modem is in service now: the scheduler gives no
        job to a missing modem (a job put back at once would come straight back to it)."""
        return self.config.send and self.available

    @property
    def can_receive(self) -> bool:
        return self.config.receive

    @property
    def registration(self) -> LineRegistration:
        """Whether the modem is in service: ``registering`` while it is being probed,
        ``registered`` once ready, ``failed`` with the reason while the port is missing or
        the modem fails (the line cannot be called: FAXCOMEX shows it powered off)."""
        return self._availability

    @property
    def hardware(self) -> str:
        """The modem's probe in a line (FAXCOMEX device's ``hardware``); "" before one."""
        return "" if self.info is None else self.info.summary()

    @property
    def available(self) -> bool:
        return self._availability.state is RegistrationState.REGISTERED

    def reaches(self, number: str) -> bool:
        """A telephone number the modem can dial, unless the line does not send."""
        return self.config.send and super().reaches(number)

    async def dial(
        self, number: str, request: SendRequest, *, progress: ProgressSink | None = None
    ) -> CallOutcome:
        """Dial ``number`` and send ``request`` (see ``Line.dial``)."""
        sink = progress or _ignore
        loop = asyncio.get_running_loop()
        call = _Call(CallDirection.OUTGOING, number, sink, loop.create_future(), request=request)
        refused = self._refusal(number, request)
        if refused is not None:
            outcome = self._outcome(call, *refused)
            sink(CallEnded(outcome))
            return outcome
        prefix = ("ATDP" if self.config.dial_mode == "pulse" else "ATDT") + self.config.dial_prefix
        call.dial_command = prefix[3:] + canonical_number(number).lstrip("+")
        self._call = call
        self._change_state(DeviceState.DIALING)
        sink(Dialing(number))
        self._wake.set()
        try:
            return await asyncio.shield(call.done)
        except asyncio.CancelledError:
            call.end("the call was cancelled", CallCause.ABORTED)
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(call.done), ABORT_TIMEOUT)
            except TimeoutError:
                self._finish(call, CallCause.ABORTED, "the modem did not hang up in time")
            raise

    def answer(self) -> bool:
        """Answer the call ringing now, whatever the receive mode."""
        call = self._call
        if call is None or self._state is not DeviceState.RINGING:
            return False
        call.answer_now = True
        self._wake.set()
        return True

    def hang_up(self) -> bool:
        """Hang up the incoming call being answered or received."""
        call = self._call
        if call is None or call.direction is not CallDirection.INCOMING:
            return False
        call.end(f"{self.name} hung up", CallCause.LINE_DROPPED)
        self._wake.set()
        return True

    def __repr__(self) -> str:
        return f"<ModemLine {self._id} {self.name} {self._state.value}>"

    # --- serving the port ---------------------------------------------------------------

    def start_serving(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve(), name=self.name)

    async def close(self) -> None:
        """Hang up any call and stop serving the port."""
        self._stopping = True
        call = self._call
        if call is not None:
            call.end("the provider stopped", CallCause.LINE_DROPPED)
        self._wake.set()
        task = self._task
        if task is not None:
            done, _ = await asyncio.wait([task], timeout=STOP_TIMEOUT)
            if not done:
                task.cancel()
                await asyncio.wait([task])
        self._close_port()
        if self._call is not None:
            self._finish(self._call, CallCause.LINE_DROPPED, "the provider stopped")

    async def _serve(self) -> None:
        """Open the port and serve it until it fails; then wait and try again."""
        while not self._stopping:
            reason = await self._serve_port()
            if self._stopping:
                return
            _logger.warning("%s out of service: %s", self.name, reason)
            self._set_availability(RegistrationState.FAILED, reason)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.reopen_seconds)

    async def _serve_port(self) -> str:
        """Serve one opening of the port; returns why it ended."""
        loop = asyncio.get_running_loop()
        self._lost = None
        self._inbox.clear()
        try:
            self._port = SerialPort.open(
                self.config.device,
                speed=self.config.speed,
                flow_control=self.config.flow_control,
                on_data=self._on_data,
                on_lost=self._on_lost,
                on_drained=self._wake.set,
            )
        except ModemError as exc:
            return str(exc)
        # A line out of service stays so, with its reason, until the modem is ready again:
        # a dead modem re-probed every reopen_seconds does not flicker in and out of it.
        self._dialogue = AtDialogue(self._settings())
        self._dialogue.start(loop.time())
        try:
            while not self._stopping:
                now = loop.time()
                try:
                    reason = await self._step(now)
                except Exception as exc:
                    # Our own bug, or the Class 1 driver's: the call ends, the modem resets.
                    _logger.exception("%s: serving the modem failed", self.name)
                    reason = f"the modem line failed: {exc!r}"
                    if self._call is not None:
                        self._drop(self._call, reason, CallCause.INTERNAL)
                if reason is not None:
                    return reason
                self._flush()
                deadline = self._next_timer()
                self._wake.clear()
                if self._inbox or self._lost is not None or self._wanted():
                    continue
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._wake.wait()
                except TimeoutError:
                    call = self._call
                    if call is not None and call.session is not None and deadline is not None:
                        call.timing.timer_late(loop.time() - deadline)
            return "stopped"
        finally:
            self._flush()  # the hang-up of a call ended by the stop, if the port takes it
            self._close_port()
            self._dialogue.port_lost()
            call = self._call
            if call is not None:
                self._drop(call, self._lost or "the modem failed")
            if not self._stopping:
                self._change_state(DeviceState.IDLE)

    async def _step(self, now: float) -> str | None:
        """Take what arrived, run the timers and requests, act on events; a reason when the
        port or the modem failed."""
        if self._lost is not None:
            return self._lost
        data, call = bytes(self._inbox), self._call
        self._inbox.clear()
        dialogue = self._dialogue
        if call is not None and call.session is not None:
            self._fax_step(call, call.session, data, now)
        elif data:
            dialogue.receive(data, now)
        deadline = dialogue.next_timer()
        if deadline is not None and now >= deadline:
            dialogue.handle_timer(now)
        self._requests(now)
        for event in dialogue.pop_events():
            reason = await self._on_event(event, now)
            if reason is not None:
                return reason
        return None

    def _requests(self, now: float) -> None:
        """Start what a caller asked for once the dialogue can."""
        call, dialogue = self._call, self._dialogue
        if call is None:
            return
        if call.abort is not None and call.session is None:
            if dialogue.state is not State.IDLE or call.direction is CallDirection.OUTGOING:
                dialogue.hang_up(now)
            else:
                self._declined = True
            self._finish(call, call.abort_cause, call.abort)
            return
        if call.abort is not None and call.session is not None and not call.session.done:
            call.session.hangup()
            self._fax_step(call, call.session, b"", now)
            return
        if call.answer_now and self._state is DeviceState.RINGING:
            self._ask_setup(call)  # answered by hand: at once, not at the next ring
        if dialogue.state is not State.IDLE:
            return
        if call.dial_command:
            dialogue.dial(call.dial_command, now)
            call.dial_command = ""
        elif call.setup is not None and not call.answered:
            call.answered = True
            dialogue.answer(now)

    def _wanted(self) -> bool:
        """Whether a request waits for a dialogue that can take it now."""
        call = self._call
        return (
            call is not None
            and self._dialogue.state is State.IDLE
            and (bool(call.dial_command) or (call.setup is not None and not call.answered))
        )

    async def _on_event(self, event: DialogueEvent, now: float) -> str | None:
        call = self._call
        if isinstance(event, Ready):
            self._ready(event.info)
        elif isinstance(event, Fault):
            return f"{self.config.device}: {event.reason}"
        elif isinstance(event, DropDtr):
            _logger.warning("%s: the modem did not hang up; dropping DTR", self.name)
            if self._port is not None:
                await self._port.drop_dtr()
            if self._lost is not None:
                return self._lost
            self._dialogue.dtr_cycled(asyncio.get_running_loop().time())
        elif isinstance(event, Ring):
            self._ring(event.count, event.caller)
        elif isinstance(event, RingsStopped):
            self._declined = False
            if call is not None and call.setup is None:
                self._finish(call, CallCause.NO_ANSWER, "the caller hung up before the answer")
        elif isinstance(event, Connected) and call is not None:
            try:
                self._connected(call, event.rest, now)
            except FaxFileError as exc:
                # A file the fax cannot use (the service's spool cannot take it): this call
                # fails, the modem hangs up and the line stays in service. After ATA's
                # CONNECT the modem waits for our V.21 frames: DLE ETX ends them.
                outgoing = call.direction is CallDirection.OUTGOING
                self._dialogue.hang_up(now, ABORT if outgoing else DLE_ETX)
                self._finish(call, CallCause.DOCUMENT if outgoing else CallCause.INTERNAL, str(exc))
        elif isinstance(event, Connected):
            self._dialogue.hang_up(now)  # a CONNECT nobody waits for any more
        elif isinstance(event, CallFailed) and call is not None:
            self._call_failed(call, event)
        elif isinstance(event, Unsolicited):
            _logger.debug("%s: modem says %r", self.name, event.line)
        return None

    def _ready(self, info: ModemInfo) -> None:
        if self.info != info:
            self.info = info
            self.quirks = quirks_for(info, self.config.quirks)
            self._dialogue.settings = self._settings()
            known = known_modem(info)
            _logger.info(
                "%s on %s: %s (quirks of %s)",
                self.name,
                self.config.device,
                info.summary(),
                known.name if known is not None else "an unknown modem: defaults",
            )
        self._set_availability(RegistrationState.REGISTERED, "")
        if self._call is None:
            self._change_state(DeviceState.IDLE)

    # --- calls --------------------------------------------------------------------------

    def _refusal(self, number: str, request: SendRequest) -> tuple[CallCause, str] | None:
        """Why the line cannot place this call now, or None."""
        if not self._provider._running or not self.available:
            why = self._availability.error or "out of service"
            return CallCause.LINE_UNAVAILABLE, f"{self.name} is not available: {why}"
        if not self.config.send:
            return CallCause.LINE_UNAVAILABLE, f"{self.name} does not send"
        if self._state is not DeviceState.IDLE or self._call is not None:
            return CallCause.LINE_UNAVAILABLE, f"{self.name} is in use"
        target = canonical_number(number)
        if DIALLABLE.fullmatch(target) is None or not set(target.lstrip("+")) <= set(
            DIAL_CHARACTERS
        ):
            return CallCause.BAD_ADDRESS, f"{number!r} cannot be dialled"
        try:
            # Refuse an unreadable document before dialling, as the engine would at CONNECT.
            AudioSession(Role.CALL, request.options, send_file=request.path).close()
        except FaxFileError as exc:
            return CallCause.DOCUMENT, str(exc)
        return None

    def _ring(self, count: int, caller: CallerId) -> None:
        call = self._call
        provider = self._provider
        if call is None:
            if self._declined:
                _logger.info("%s rings on; that call was hung up", self.name)
                return
            if not self.config.receive or not provider._running or provider._listener is None:
                _logger.info("%s rings; not answered (the line does not receive)", self.name)
                return
            loop = asyncio.get_running_loop()
            call = _Call(CallDirection.INCOMING, caller.number, _ignore, loop.create_future())
            call.progress = partial(self._tell, call)
            call.incoming = IncomingCall(
                next(provider._call_ids), self, caller.number, caller.called_number or self.number
            )
            self._call = call
            self._change_state(DeviceState.RINGING)
        if call.direction is not CallDirection.INCOMING or call.incoming is None:
            return
        call.remote_number = caller.number
        call.incoming = replace(
            call.incoming,
            caller_id=caller.number,
            called_number=caller.called_number or self.number,
        )
        call.progress(Ringing(count))
        auto = self.receive_mode is ReceiveMode.AUTO_ANSWER
        if call.answer_now or (auto and count >= max(1, self.rings_before_answer)):
            self._ask_setup(call)

    def _ask_setup(self, call: _Call) -> None:
        """Ask the service where to receive, then answer (by the serving task)."""
        if call.setup_asked or call.incoming is None:
            return
        call.setup_asked = True
        incoming = call.incoming

        async def ask() -> None:
            setup = await self._provider._receive_setup(incoming, SETUP_TIMEOUT)
            if isinstance(setup, str):
                call.end(setup, CallCause.INTERNAL)
            else:
                call.setup = setup
            self._wake.set()

        self._provider._spawn(ask(), f"{self.name} receive setup")

    def _tell(self, call: _Call, event: CallProgress) -> None:
        incoming = call.incoming
        if incoming is not None:
            self._provider._tell(lambda listener: listener.on_incoming_call(incoming, event))

    def _connected(self, call: _Call, rest: bytes, now: float) -> None:
        """CONNECT: the fax phase runs on the Class 1 driver."""
        self._change_state(DeviceState.IN_CALL)
        call.connected_at = now
        call.progress(Answered())
        outgoing = call.direction is CallDirection.OUTGOING
        options = (call.request if outgoing else call.setup).options  # type: ignore[union-attr]
        session = call.session = Class1Session(
            Role.CALL if outgoing else Role.ANSWER,
            self._within_modem(options, sending=call.request is not None),
            send_file=call.request.path if call.request is not None else None,
            receive_file=call.setup.path if call.setup is not None else None,
            settings=self.quirks.class1_settings(self.info or ModemInfo()),
            name=self.name,
        )
        session.start(now)
        self._fax_step(call, session, rest, now, connected=True)

    def _fax_step(
        self, call: _Call, session: Class1Session, data: bytes, now: float, connected: bool = False
    ) -> None:
        """Carry bytes and timers between the port and ``call``'s Class 1 driver; hang up
        once it is done. What is written in answer to a result code (or to the CONNECT
        that began the fax phase, ``connected``) is timed from the code's arrival."""
        results = session.results
        if data:
            session.receive(data, now)
        deadline = session.next_timer()
        if deadline is not None and now >= deadline:
            session.handle_timer(now)
        # Image data is made as the port takes it: no more than a piece waits in our hands.
        port = self._port
        wrote = False
        while port is not None and not port.closed and port.pending == 0:
            out = session.data_to_send(WRITE_PIECE)
            if not out:
                break
            port.write(out)
            wrote = True
        if wrote and (connected or session.results != results):
            call.timing.add(time.monotonic() - self._data_at)
        line_seconds = now - (call.connected_at or now)
        for event in session.pop_events():
            if isinstance(event, PageSent | PageReceived):
                call.pages += 1
            if isinstance(event, Completed):
                call.completed = event
            call.log.keep(event, line_seconds, call.progress)
        if session.done:
            session.close()
            self._dialogue.hang_up(now, session.modem_abort)
            completed = call.completed
            if call.abort is not None:
                self._finish(call, call.abort_cause, call.abort)
            elif completed is None:
                self._finish(call, CallCause.LINE_DROPPED, "the fax phase broke off")
            else:
                self._finish(call, CallCause.of(completed.cause), completed.text)

    def _call_failed(self, call: _Call, event: CallFailed) -> None:
        if call.direction is CallDirection.OUTGOING:
            cause = _DIAL_CAUSES.get(event.result, CallCause.PROTOCOL)
        elif event.caller or event.result in (Result.NO_CARRIER, None):
            cause = CallCause.NO_FAX  # no fax answered our answer: a voice or data call
        else:
            cause = CallCause.LINE_DROPPED
        self._finish(call, cause, event.detail)

    def _drop(self, call: _Call, reason: str, cause: CallCause | None = None) -> None:
        """The port or the modem failed during ``call`` (``cause``: the default is the line
        dropped once connected, unavailable before)."""
        session = call.session
        if session is not None and not session.done:
            session.hangup()
            for event in session.pop_events():
                if isinstance(event, Completed):
                    call.completed = event
                call.log.keep(event, 0.0, call.progress)
            session.close()
        if cause is None:
            cause = CallCause.LINE_DROPPED if session is not None else CallCause.LINE_UNAVAILABLE
        self._finish(call, cause, reason)

    def _finish(self, call: _Call, cause: CallCause, detail: str) -> None:
        """End ``call`` with its outcome (once); the line is idle again at the next Ready."""
        if call.done.done():
            return
        if self._call is call:
            self._call = None
        outcome = self._outcome(call, cause, detail)
        _logger.info(
            "%s %s %s: %s (%s)",
            self.name,
            "calling" if call.direction is CallDirection.OUTGOING else "called by",
            call.remote_number or "an unknown caller",
            cause.value,
            detail,
        )
        if call.session is not None:
            self.response_times.merge(call.timing)
            _logger.info("%s modem timing: %s", self.name, call.timing.figures())
        call.progress(CallEnded(outcome))
        call.done.set_result(outcome)
        if call.session is None and self._dialogue.state is State.IDLE:
            self._change_state(DeviceState.IDLE)

    def _outcome(self, call: _Call, cause: CallCause, detail: str) -> CallOutcome:
        if call.direction is CallDirection.OUTGOING:
            path = call.request.path if call.request is not None else None
        else:
            path = call.setup.path if call.setup is not None else None
        completed = call.completed
        loop = asyncio.get_running_loop()
        return CallOutcome(
            call.direction,
            cause,
            call.remote_number,
            path,
            pages=completed.pages if completed is not None else 0,
            result=completed,
            negotiated=call.log.negotiated,
            transcript=tuple(call.log.transcript),
            line_seconds=0.0 if call.connected_at is None else loop.time() - call.connected_at,
            detail=detail,
        )

    # --- plumbing -----------------------------------------------------------------------

    def _within_modem(self, options: SessionOptions, *, sending: bool) -> SessionOptions:
        """``options`` offering only the image modems the modem has for sending (``+FTM=?``)
        or receiving (``+FRM=?``), so DIS and DCS never name one it cannot do. A modem that
        listed none known keeps the options; one that has none of those asked for is used
        with what it has (a fax it cannot send at the asked modems cannot go at all)."""
        info = self.info or ModemInfo()
        codes = self.quirks.transmit_codes(info) if sending else self.quirks.receive_codes(info)
        has = modems_of(codes)
        if not has:
            return options
        offered = options.modems & has
        if not offered:
            _logger.warning(
                "%s: the modem has none of %s; using %s", self.name, options.modems, has
            )
        return replace(options, modems=offered or has)

    def _settings(self) -> DialogueSettings:
        q: Quirks = self.quirks
        c = self.config
        return DialogueSettings(
            init=c.init,
            reset_command=q.reset_command,
            reset_quiet=q.reset_quiet,
            flow_command=q.flow_command(c.flow_control),
            caller_id_command=q.caller_id_command,
            class_command=q.class_command,
            adaptive_receive_command=q.adaptive_receive_command,
            adaptive_answer_command=q.adaptive_answer_command,
            command_timeout=c.command_timeout,
            dial_timeout=c.dial_timeout,
            answer_timeout=c.answer_timeout,
            abort_wait=q.abort_wait,
        )

    def _next_timer(self) -> float | None:
        times = [self._dialogue.next_timer()]
        call = self._call
        if call is not None and call.session is not None and not call.session.done:
            times.append(call.session.next_timer())
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def _flush(self) -> None:
        out = self._dialogue.data_to_send()
        if out and self._port is not None:
            self._port.write(out)

    def _on_data(self, data: bytes) -> None:
        if not self._inbox:
            self._data_at = time.monotonic()
        self._inbox += data
        self._wake.set()

    def _on_lost(self, reason: str) -> None:
        self._lost = reason
        self._wake.set()

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def _set_availability(self, state: RegistrationState, error: str) -> None:
        provider = self._provider
        before = provider.error
        self._availability = LineRegistration(state, error)
        self._tell_status()
        if provider.error != before:
            provider._tell(lambda listener: listener.on_provider_status(provider))


class ModemProvider(ProviderBase):
    """The modem lines as devices."""

    def __init__(
        self, lines: Sequence[ModemLineConfig], *, name: str = "modem", first_device_id: int = 1
    ) -> None:
        super().__init__(name)
        self._lines = [
            ModemLine(self, config, first_device_id + index) for index, config in enumerate(lines)
        ]
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def status(self) -> ProviderStatus:
        """CANT_INIT while a line's modem is missing or failing."""
        return ProviderStatus.CANT_INIT if self.error else ProviderStatus.SUCCESS

    @property
    def error(self) -> str:
        """Each line out of service, and why."""
        return "; ".join(
            f"{line.name}: {line.registration.error}"
            for line in self._lines
            if line.registration.failed
        )

    @property
    def devices(self) -> Sequence[ModemLine]:
        return tuple(self._lines)

    async def start(self) -> None:
        """Open every line's port and probe its modem, in the background (a missing modem
        must not hold the service's start)."""
        await super().start()
        for line in self._lines:
            line.start_serving()

    async def stop(self) -> None:
        """Hang up every call and close the ports."""
        await super().stop()
        await asyncio.gather(*(line.close() for line in self._lines))
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_TIMEOUT)

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
