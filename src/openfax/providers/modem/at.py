"""The AT dialogue with a Class 1 fax modem, without I/O: bytes and the clock in; bytes,
timers and events out.

:class:`AtDialogue` owns the modem's command mode: probing at start (``ATI``,
``AT+FCLASS=?``, ``AT+FTM=?``, ``AT+FRM=?``), initialisation, reset and re-initialisation
after every call and every fault, dialling, rings and caller id, answering and hanging up.
Between the CONNECT of ``ATD`` or ``ATA`` and :meth:`AtDialogue.hang_up` the modem is in
the fax phase: the dialogue hands the line to the Class 1 driver and reads nothing.

It works one command at a time, each with a deadline; a procedure is a list of
:class:`Step`. Lines are bounded (:data:`MAX_LINE`, :data:`MAX_INFO_LINES`), so a modem
that babbles costs no memory, and nothing a modem sends raises anything but
:class:`~openfax.errors.ModemError` (from misuse by the caller, never from input).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from openfax.engine.params import MODULATIONS, Modem
from openfax.errors import ModemError

MAX_LINE = 160
"""Characters kept of one line from the modem; the rest of a longer line is dropped."""
MAX_INFO_LINES = 32
"""Information lines kept of one command's answer (ATI of some modems runs long)."""
ABORT = b"\x18"
"""What aborts a command the modem is still working on (a dial, ``+FRM``): any character
does; CAN is what HylaFAX sends."""
DLE_ETX = b"\x10\x03"
"""What ends data the modem takes from the DTE (after the CONNECT of ``ATA``, ``+FTH``,
``+FTM``): the modem sends what it has, then answers OK."""


class Result(enum.Enum):
    """The final result codes of a command (verbose form, ``ATV1``)."""

    OK = "OK"
    CONNECT = "CONNECT"
    ERROR = "ERROR"
    BUSY = "BUSY"
    NO_DIALTONE = "NO DIALTONE"
    NO_CARRIER = "NO CARRIER"
    NO_ANSWER = "NO ANSWER"
    FCERROR = "+FCERROR"


_RESULTS = {result.value: result for result in Result} | {"NO DIAL TONE": Result.NO_DIALTONE}
_NOT_FAX = {"DATA": "data", "VCON": "voice", "VOICE": "voice"}
"""What a modem with adaptive answer (``+FAA=1``) says on ATA when the caller is no fax:
DATA (a CONNECT follows, for a data session) or VCON (a voice call)."""
_CALLER_KEYS = {"DATE", "TIME", "NMBR", "NAME", "NDID", "DDI", "MESG"}
_KEY_VALUE = re.compile(r"([A-Z]{3,4})\s*=\s*(.*)")


def result_of(line: str) -> Result | None:
    """The final result ``line`` is (``CONNECT 9600`` is CONNECT), or None."""
    found = _RESULTS.get(line)
    if found is None and line.startswith("CONNECT "):
        return Result.CONNECT
    return found


@dataclass(frozen=True)
class CallerId:
    """What the line said of an incoming call between the rings (after ``AT+VCID=1``)."""

    number: str = ""
    name: str = ""
    date: str = ""
    time: str = ""
    called_number: str = ""
    """The number dialled, on lines that give it (DID, ``NDID=``)."""

    def with_line(self, key: str, value: str) -> CallerId:
        """This caller id with the modem's ``KEY=value`` line added."""
        value = value.strip()
        if key == "NMBR":
            return replace(self, number=value)
        if key == "NAME":
            return replace(self, name=value)
        if key == "DATE":
            return replace(self, date=value)
        if key == "TIME":
            return replace(self, time=value)
        if key in ("NDID", "DDI"):
            return replace(self, called_number=value)
        return self


@dataclass(frozen=True)
class ModemInfo:
    """What the probe learnt: who made the modem and what it says it can do."""

    identity: tuple[str, ...] = ()
    """``ATI``, ``AT+FMI?``, ``AT+FMM?`` and ``AT+FMR?``, as the modem answered them."""
    classes: tuple[str, ...] = ()
    """``AT+FCLASS=?``: ``0``, ``1``, ``1.0``, ``2``..."""
    transmit: tuple[int, ...] = ()
    """``AT+FTM=?``: the modulations it sends image data with (24, 48, 72, 96, 73...)."""
    receive: tuple[int, ...] = ()
    """``AT+FRM=?``: the modulations it receives."""

    def summary(self) -> str:
        """One line for people: who the modem is and what it does (``sends V.29 7200-9600,
        V.27ter 2400-4800 (+FTM 24,48,72,96)``)."""
        who = " / ".join(dict.fromkeys(i for i in self.identity if i)) or "unidentified modem"
        classes = ",".join(self.classes) or "-"
        send = ",".join(map(str, self.transmit)) or "-"
        receive = ",".join(map(str, self.receive)) or "-"
        return (
            f"{who}; classes {classes}; sends {describe_modulations(self.transmit)} "
            f"(+FTM {send}); receives {describe_modulations(self.receive)} (+FRM {receive})"
        )


def describe_modulations(codes: tuple[int, ...]) -> str:
    """The image modulations of ``+FTM=?``/``+FRM=?`` codes by name and bit rates, fastest
    first ("V.17 7200-14400, V.29 7200-9600"); "-" for none."""
    rates: dict[Modem, list[int]] = {}
    for code in codes:
        if code in MODULATIONS:
            modem, rate = MODULATIONS[code]
            rates.setdefault(modem, []).append(rate)
    parts = []
    for modem in (Modem.V17, Modem.V29, Modem.V27TER):
        if modem in rates:
            low, high = min(rates[modem]), max(rates[modem])
            span = str(high) if low == high else f"{low}-{high}"
            parts.append(f"{_MODEM_NAMES[modem]} {span}")
    return ", ".join(parts) or "-"


_MODEM_NAMES = {Modem.V17: "V.17", Modem.V29: "V.29", Modem.V27TER: "V.27ter"}
MAX_CODES = 64
"""Codes kept of one ``=?`` answer."""


def _codes(lines: list[str]) -> tuple[int, ...]:
    """The codes of a ``=?`` answer such as ``24,48,72,96``, ``(24,48),(96)`` or a range
    ``72-96`` (the known codes within it, as HylaFAX reads it)."""
    codes: list[int] = []
    for low, high in re.findall(r"(\d+)(?:\s*-\s*(\d+))?", ",".join(lines)[: MAX_LINE * 4]):
        first = int(low)
        if high:
            codes += [code for code in sorted(MODULATIONS) if first <= code <= int(high)]
        else:
            codes.append(first)
    return tuple(dict.fromkeys(codes))[:MAX_CODES]


def _classes(lines: list[str]) -> tuple[str, ...]:
    return tuple(re.findall(r"\d+(?:\.\d+)?", ",".join(lines)))[:16]


class Procedure(enum.Enum):
    START = "start"
    """Reset, probe and initialise: once a port is opened."""
    RESET = "reset"
    """Reset and initialise again: after every call and fault."""
    DIAL = "dial"
    ANSWER = "answer"
    HANG_UP = "hang_up"


@dataclass(frozen=True)
class Step:
    """One command of a procedure and how long the modem has to answer it.

    ``required``: an ERROR (or no answer) fails the procedure; otherwise the step is
    skipped. ``probe``: which field of :class:`ModemInfo` its information lines fill.
    ``quiet``: seconds to leave the modem alone after its answer (after a reset)."""

    command: str
    timeout: float
    required: bool = True
    probe: str = ""
    quiet: float = 0.0


@dataclass(frozen=True)
class DialogueSettings:
    """What the line's configuration and quirks say about the dialogue."""

    init: str = ""
    """Commands sent after the reset, as one line (``AT&F&D2``); empty: none."""
    reset_command: str = "ATZ"
    reset_quiet: float = 0.5
    """Seconds the modem needs after a reset before its next command."""
    flow_command: str = "AT+IFC=2,2"
    """The command that sets the modem's flow control (RTS/CTS here)."""
    caller_id_command: str = "AT+VCID=1"
    class_command: str = "AT+FCLASS=1"
    """What puts the modem in fax mode (``AT+FCLASS=1.0`` for a Class 1.0 modem)."""
    adaptive_receive_command: str = ""
    """Turns adaptive reception on after the class command (``AT+FAR=1``); empty: none."""
    adaptive_answer_command: str = ""
    """Turns adaptive answer on after the class command (``AT+FAA=1``): ATA then tells a data
    or voice caller from a fax; empty: every call is answered as fax."""
    command_timeout: float = 3.0
    dial_timeout: float = 90.0
    """Seconds from ATD to CONNECT (or a failure) at most."""
    answer_timeout: float = 30.0
    hang_up_timeout: float = 5.0
    abort_wait: float = 0.2
    """Seconds the modem has to answer the abort of a command in progress."""
    ring_gap: float = 8.0
    """Seconds without a RING after which the caller has given up."""


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The modem is reset and initialised, in command mode, waiting for calls."""

    info: ModemInfo


@dataclass(frozen=True)
class Fault:
    """The modem failed a required command or did not answer: it is out of service until
    the caller starts it again (the port is best closed and reopened)."""

    reason: str


@dataclass(frozen=True)
class Ring:
    """A RING of an incoming call; ``count`` from 1, ``caller`` as heard so far."""

    count: int
    caller: CallerId


@dataclass(frozen=True)
class RingsStopped:
    """The rings stopped before the call was answered: the caller gave up."""

    count: int
    caller: CallerId


@dataclass(frozen=True)
class Connected:
    """CONNECT to ``ATD`` or ``ATA``: the fax phase begins. ``rest`` is what the modem sent
    after the CONNECT line, already the fax phase's."""

    rest: bytes


@dataclass(frozen=True)
class CallFailed:
    """The dial or the answer did not connect: ``result`` is the modem's final result (None
    when it gave none in time). The dialogue hangs up and resets by itself."""

    result: Result | None
    detail: str
    caller: str = ""
    """What adaptive answer found the caller to be when it is no fax: ``data`` or
    ``voice``; empty otherwise."""


@dataclass(frozen=True)
class HungUp:
    """The modem is on hook after a call (it resets next, then :class:`Ready`)."""


@dataclass(frozen=True)
class DropDtr:
    """The modem did not answer the hang-up: drop DTR, raise it again, then call
    :meth:`AtDialogue.dtr_cycled`."""


@dataclass(frozen=True)
class Unsolicited:
    """A line the modem sent on its own that means nothing to the dialogue."""

    line: str


DialogueEvent = (
    Ready | Fault | Ring | RingsStopped | Connected | CallFailed | HungUp | DropDtr | Unsolicited
)


class State(enum.Enum):
    OFFLINE = "offline"
    """Not started, or faulted: waiting for :meth:`AtDialogue.start`."""
    BUSY = "busy"
    """Running a procedure."""
    IDLE = "idle"
    ONLINE = "online"
    """In the fax phase: the Class 1 driver has the line."""
    DTR = "dtr"
    """Waiting for the caller to cycle DTR."""


class AtDialogue:
    """The command-mode dialogue with one modem (see the module's docstring)."""

    def __init__(self, settings: DialogueSettings | None = None) -> None:
        self.settings = settings or DialogueSettings()
        self.state = State.OFFLINE
        self.info = ModemInfo()
        self._out = bytearray()
        self._events: list[DialogueEvent] = []
        self._buffer = bytearray()
        self._procedure: Procedure | None = None
        self._steps: list[Step] = []
        self._step: Step | None = None
        self._deadline: float | None = None
        self._lines: list[str] = []
        self._probe: dict[str, list[str]] = {}
        self._quiet_until: float | None = None
        self._rings = 0
        self._ring_deadline: float | None = None
        self._caller = CallerId()

    # --- what the caller does -----------------------------------------------------------

    def start(self, now: float) -> None:
        """Reset, probe and initialise the modem (a port just opened, or after a fault)."""
        self._reset_state()
        self._probe = {}
        self._run(Procedure.START, self._start_steps(probe=True), now)

    def dial(self, number: str, now: float) -> None:
        """Dial ``number`` (``ATDT`` or ``ATDP`` and any prefix in it already); the outcome is
        :class:`Connected` or :class:`CallFailed`."""
        self._require(State.IDLE, "dial")
        step = Step(f"ATD{number}", self.settings.dial_timeout)
        self._run(Procedure.DIAL, [step], now)

    def answer(self, now: float) -> None:
        """Answer the ringing call (ATA); :class:`Connected` or :class:`CallFailed`."""
        self._require(State.IDLE, "answer")
        self._ring_deadline = None
        self._run(Procedure.ANSWER, [Step("ATA", self.settings.answer_timeout)], now)

    def hang_up(self, now: float, abort: bytes = ABORT) -> None:
        """Go on hook: after the fax phase, or to abandon a dial or an answer. Aborts what
        the modem is doing with ``abort`` (DLE ETX ends data the modem takes from us in the
        fax phase, where a CAN would be sent as data) and waits ``abort_wait`` for its
        answer, sends ATH0 (DTR drop if it does not answer), then resets."""
        if self.state in (State.OFFLINE, State.DTR):
            return
        if self.state is State.IDLE:
            self._ring_deadline = None
        self._out += abort
        wait = Step("", self.settings.abort_wait, required=False)
        self._run(Procedure.HANG_UP, [wait, Step("ATH0", self.settings.hang_up_timeout)], now)

    def dtr_cycled(self, now: float) -> None:
        """DTR was dropped and raised again (after :class:`DropDtr`): reset the modem."""
        self._require(State.DTR, "dtr_cycled")
        self._events.append(HungUp())
        self._run(Procedure.RESET, self._start_steps(probe=False), now)

    def port_lost(self) -> None:
        """The port went away: forget the command in progress; :meth:`start` again later."""
        self._reset_state()
        self.state = State.OFFLINE

    # --- I/O ----------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """Bytes from the modem (not while :attr:`state` is ONLINE: they are the fax's)."""
        if self.state is State.ONLINE:
            raise ModemError("the AT dialogue is given fax-phase bytes")
        for index, byte in enumerate(data):
            if byte in (0x0D, 0x0A):
                if self._buffer:
                    line = self._buffer.decode("ascii", "replace").strip()
                    self._buffer.clear()
                    if line and self._line(line, now):
                        rest = bytes(data[index + 1 :])
                        self._events.append(Connected(rest.lstrip(b"\r\n")))
                        return
            elif len(self._buffer) < MAX_LINE:
                self._buffer.append(byte)

    def data_to_send(self) -> bytes:
        """The bytes for the modem since the last call."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def pop_events(self) -> list[DialogueEvent]:
        events, self._events = self._events, []
        return events

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` is next due (the caller's clock), or None."""
        times = [t for t in (self._deadline, self._quiet_until, self._ring_deadline) if t]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        """Act on the deadlines that have passed by ``now``."""
        if self._ring_deadline is not None and now >= self._ring_deadline:
            self._ring_deadline = None
            self._events.append(RingsStopped(self._rings, self._caller))
            self._rings, self._caller = 0, CallerId()
        if self._quiet_until is not None and now >= self._quiet_until:
            self._quiet_until = None
            self._next_step(now)
        if self._deadline is not None and now >= self._deadline and self._step is not None:
            step = self._step
            self._deadline = None
            if step.command:
                self._failed(None, f"no answer to {step.command} within {step.timeout:g} s", now)
            else:
                self._done_step(step, now)

    # --- the dialogue ---------------------------------------------------------------------

    def _start_steps(self, *, probe: bool) -> list[Step]:
        s = self.settings
        t = s.command_timeout
        steps = [Step(s.reset_command, t, quiet=s.reset_quiet), Step("ATE0V1Q0", t)]
        if s.init:
            steps.append(Step(s.init, t))
        if s.flow_command:
            steps.append(Step(s.flow_command, t, required=False))
        if probe:
            steps += [
                Step("ATI", t, required=False, probe="identity"),
                Step("AT+FMI?", t, required=False, probe="identity"),
                Step("AT+FMM?", t, required=False, probe="identity"),
                Step("AT+FMR?", t, required=False, probe="identity"),
                Step("AT+FCLASS=?", t, probe="classes"),
            ]
        steps.append(Step(s.class_command, t))
        for command in (s.adaptive_receive_command, s.adaptive_answer_command):
            if command:
                steps.append(Step(command, t, required=False))
        if probe:
            steps += [Step("AT+FTM=?", t, probe="transmit"), Step("AT+FRM=?", t, probe="receive")]
        if s.caller_id_command:
            steps.append(Step(s.caller_id_command, t, required=False))
        steps.append(Step("ATS0=0", t, required=False))
        return steps

    def _run(self, procedure: Procedure, steps: list[Step], now: float) -> None:
        self.state = State.BUSY
        self._procedure = procedure
        self._steps = list(steps)
        self._step = None
        self._quiet_until = None
        self._next_step(now)

    def _next_step(self, now: float) -> None:
        if not self._steps:
            self._finish(now)
            return
        step = self._steps.pop(0)
        self._step = step
        self._lines = []
        self._deadline = now + step.timeout
        if step.command:
            self._out += step.command.encode("ascii") + b"\r"

    def _line(self, line: str, now: float) -> bool:
        """Act on one line from the modem; True when it is a CONNECT into the fax phase."""
        step = self._step
        if step is None or self._quiet_until is not None:
            self._unsolicited(line, now)
            return False
        if step.command and line.upper() == step.command.upper():
            return False  # the modem's echo of our command
        result = result_of(line)
        if result is None and self._not_fax(line) == "voice":
            result = Result.CONNECT  # VCON: a final result, the voice call is up
        if result is None:
            if len(self._lines) < MAX_INFO_LINES:
                self._lines.append(line)
            return False
        if not step.command:  # the answer to an abort
            self._done_step(step, now)
            return False
        if self._procedure is Procedure.ANSWER and (caller := self._not_fax(line)):
            said = ", ".join((*self._lines[-2:], line))
            self._failed(None, f"a {caller} call, not a fax (ATA answered {said})", now, caller)
            return False
        if self._procedure in (Procedure.DIAL, Procedure.ANSWER):
            if result is Result.CONNECT:
                self._step, self._deadline, self._procedure = None, None, None
                self.state = State.ONLINE
                return True
            what = "the dial" if self._procedure is Procedure.DIAL else "ATA"
            self._failed(result, f"{what} answered {line}", now)
            return False
        if result is Result.OK or (result is Result.ERROR and not step.required):
            self._done_step(step, now)
        else:
            self._failed(result, f"{step.command} answered {line}", now)
        return False

    def _not_fax(self, line: str) -> str:
        """``data`` or ``voice`` when adaptive answer says so of the call being answered (a
        DATA line before this CONNECT, or VCON), else ""."""
        if self._procedure is not Procedure.ANSWER:
            return ""
        said = [_NOT_FAX.get(info.upper(), "") for info in (*self._lines, line)]
        return next((caller for caller in said if caller), "")

    def _done_step(self, step: Step, now: float) -> None:
        if step.probe:
            self._probe.setdefault(step.probe, []).extend(self._lines)
        self._step, self._deadline = None, None
        if step.quiet:
            self._quiet_until = now + step.quiet
            return
        self._next_step(now)

    def _finish(self, now: float) -> None:
        procedure = self._procedure
        self._procedure, self._step, self._deadline = None, None, None
        if procedure is Procedure.HANG_UP:
            self._events.append(HungUp())
            self._run(Procedure.RESET, self._start_steps(probe=False), now)
            return
        if procedure is Procedure.START:
            probe = self._probe
            self.info = ModemInfo(
                identity=tuple(probe.get("identity", ()))[:MAX_INFO_LINES],
                classes=_classes(probe.get("classes", [])),
                transmit=_codes(probe.get("transmit", [])),
                receive=_codes(probe.get("receive", [])),
            )
            if "1" not in self.info.classes and "1.0" not in self.info.classes:
                self.state = State.OFFLINE
                self._events.append(
                    Fault(f"not a Class 1 fax modem (AT+FCLASS=? lists {self.info.classes})")
                )
                return
        self.state = State.IDLE
        self._events.append(Ready(self.info))

    def _failed(self, result: Result | None, detail: str, now: float, caller: str = "") -> None:
        procedure = self._procedure
        self._step, self._deadline, self._procedure = None, None, None
        if procedure in (Procedure.DIAL, Procedure.ANSWER):
            self._events.append(CallFailed(result, detail, caller))
            self.state = State.BUSY
            self.hang_up(now)
        elif procedure is Procedure.HANG_UP:
            self.state = State.DTR
            self._events.append(DropDtr())
        else:
            self.state = State.OFFLINE
            self._events.append(Fault(detail))

    def _unsolicited(self, line: str, now: float) -> None:
        if self.state is State.IDLE and line == "RING":
            self._rings += 1
            self._ring_deadline = now + self.settings.ring_gap
            self._events.append(Ring(self._rings, self._caller))
            return
        match = _KEY_VALUE.fullmatch(line)
        if self.state is State.IDLE and match and match.group(1) in _CALLER_KEYS:
            self._caller = self._caller.with_line(match.group(1), match.group(2))
            return
        self._events.append(Unsolicited(line))

    def _reset_state(self) -> None:
        self._out.clear()
        self._buffer.clear()
        self._procedure, self._steps, self._step = None, [], None
        self._deadline = self._quiet_until = self._ring_deadline = None
        self._rings, self._caller = 0, CallerId()

    def _require(self, state: State, what: str) -> None:
        if self.state is not state:
            raise ModemError(f"cannot {what} now: the modem is {self.state.value}")
