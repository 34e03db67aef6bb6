"""Two virtual Class 1 modems whose lines are connected back to back, for any fax program.

``openfax virtual-modems --pair PATH_A PATH_B`` and the tests run a :class:`ModemPair`: two
:class:`~openfax.virtual_modem.port.ModemPort` on their ptys, each a private phone line to
the other. ATD on one rings the other (RING every ``ring_interval`` line seconds, after
``NMBR=`` with the caller's number if its DTE asked for caller id with ``AT+VCID=1``) until
its DTE answers (ATA, or ``ATS0=n`` auto-answer); the caller hears CONNECT once the fax
handshake starts, the audio of each modem is what the other hears, and either side hanging
up (ATH, a reset, or its program closing the port) gives the other NO CARRIER, once the
audio on its way has reached it. Dialling a
modem that is off hook gives BUSY; one left ringing ``answer_timeout`` line seconds gives
the caller NO ANSWER. Whatever number is dialled rings the other modem.

The line delays the audio ``delay`` line seconds each way, as a phone line does (100 ms
by default, an intercontinental call). It matters: with none, a fax program that answers
the end of a training check at once (efax receiving does, with ``AT+FTH=3`` on NO CARRIER)
starts its flags in the very tick the sender's modem begins the ``AT+FRS=1`` silence the
sender asked for, so the silence never comes and the sender misses CFR. The round trip
(200 ms) is the time the sending program has to ask for that silence: room for a
descheduled process on a busy machine, and well within T.30's timers.

The pair runs until cancelled, call after call, paced at ``speed`` x real time: fax
programs time their commands by the wall clock, so there is no unpaced mode.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from openfax.engine.session import SAMPLE_RATE
from openfax.engine.t31 import Answer, CallEvent, Dial, HangUp, ModemEvent, OffHook, OnHook
from openfax.pacing import LinePacer
from openfax.virtual_modem.port import BLOCK_SAMPLES, SILENCE, ModemPort
from openfax.virtual_modem.pty_line import PtyLine
from openfax.virtual_modem.serving import Serving

DEFAULT_NUMBERS = ("1001", "1002")
"""The numbers of modems A and B: each is the caller id the other sees."""

_logger = logging.getLogger(__name__)


class _Line(enum.Enum):
    IDLE = "idle"
    RINGING = "ringing"
    UP = "up"
    CLEARING = "clearing"
    """One side hung up; the other still hears what was on its way, then the hang-up."""


@dataclass
class PairCall:
    """A call between the pair's modems: who called whom, and how it went."""

    caller: str
    callee: str
    dialled: str
    rings: int = 0
    answered: bool = False
    ended: str | None = None
    """Why it ended: "hang-up by NAME", "closed by NAME", "no answer", "line dropped"; None
    while it lasts."""


class _DelayLine:
    """One direction of the line: what goes in comes out ``blocks`` ticks later."""

    def __init__(self, blocks: int) -> None:
        self._blocks: deque[bytes] = deque([SILENCE] * blocks)

    def carry(self, block: bytes | bytearray | memoryview) -> bytes | memoryview:
        if not self._blocks:
            return block if isinstance(block, bytes | memoryview) else bytes(block)
        self._blocks.append(bytes(block))
        return self._blocks.popleft()

    def clear(self) -> None:
        """Silence in flight: a new call starts on a quiet line."""
        for index in range(len(self._blocks)):
            self._blocks[index] = SILENCE


class ModemPair(Serving):
    """Modems A and B on ptys linked at ``path_a`` and ``path_b``, connected back to back.

    Use it as ``async with ModemPair(a, b) as pair:`` in an event loop (it serves the ports
    in a task until the block ends), or ``with ModemPair(a, b).in_thread() as pair:`` from
    code without one (its own loop in a thread). The symlinks exist from construction to
    ``close()``. ``calls`` lists the calls so far, the last one possibly still going.
    """

    def __init__(
        self,
        path_a: str | Path,
        path_b: str | Path,
        *,
        speed: float = 1.0,
        numbers: tuple[str, str] = DEFAULT_NUMBERS,
        ring_interval: float = 6.0,
        answer_timeout: float = 60.0,
        delay: float = 0.1,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        if not 0 <= delay <= 1:
            raise ValueError(f"the line's delay must be 0 to 1 s, not {delay}")
        self.speed = speed
        self.numbers = dict(zip(("A", "B"), numbers, strict=True))
        self.ring_interval = ring_interval
        self.answer_timeout = answer_timeout
        self.calls: list[PairCall] = []
        self._ports: dict[str, ModemPort] = {}
        self._off_hook = {"A": False, "B": False}
        try:
            for name, path in (("A", path_a), ("B", path_b)):
                line = PtyLine(path)
                try:
                    self._ports[name] = ModemPort(line, name=name)
                except BaseException:
                    line.close()
                    raise
        except BaseException:
            self.close()
            raise
        blocks = round(delay * SAMPLE_RATE / BLOCK_SAMPLES)
        self._a_to_b, self._b_to_a = _DelayLine(blocks), _DelayLine(blocks)
        self._delay = blocks * BLOCK_SAMPLES / SAMPLE_RATE
        self._state = _Line.IDLE
        self._since = 0.0
        self._clearing: tuple[str, float] | None = None
        self._last_ring = 0.0
        self._drop = False

    @property
    def paths(self) -> tuple[Path, Path]:
        """The paths programs open: A's and B's symlinks."""
        return (self._ports["A"].line.path, self._ports["B"].line.path)

    @property
    def ports(self) -> tuple[ModemPort, ModemPort]:
        """Modems A and B on their ptys."""
        return (self._ports["A"], self._ports["B"])

    @property
    def line_seconds(self) -> float:
        return self._ports["A"].line_seconds

    @property
    def idle(self) -> bool:
        """Whether the line is free: no call ringing, up, or still clearing (the far side
        of a hang-up hears the audio on its way for ``delay`` before its NO CARRIER)."""
        return self._state is _Line.IDLE

    @property
    def call(self) -> PairCall | None:
        """The call under way (ringing or up), if any."""
        return self.calls[-1] if self.calls and self.calls[-1].ended is None else None

    # --- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve both ports until cancelled (then close the pair)."""
        pacer = LinePacer(self.speed, block_seconds=BLOCK_SAMPLES / SAMPLE_RATE)
        try:
            while True:
                for _ in range(await pacer.next_blocks()):
                    self._step()
        finally:
            self.close()

    def close(self) -> None:
        """Hang up, free the modems and close the ptys, removing the symlinks."""
        for port in self._ports.values():
            port.close()
            port.line.close()

    def drop_call(self) -> None:
        """Drop the call at the next tick as a failing line would: both modems lose the
        carrier (NO CARRIER to a program sending or receiving data) and go on hook. Safe to
        call from another thread."""
        self._drop = True

    # --- one tick -----------------------------------------------------------------------

    def _step(self) -> None:
        for name, port in self._ports.items():
            port.serve_dte()
            if not port.line.dte_attached and port.dte_seen:
                self._dte_gone(name)
            self._handle(name, port.pop_events())
        if self._drop:
            self._drop = False
            self._drop_line()
        self._ring_if_due()
        self._clear_if_due()
        a, b = self._ports["A"], self._ports["B"]
        sent_a, sent_b = a.send_block(), b.send_block()
        if self._state in (_Line.UP, _Line.CLEARING):
            a.hear(self._b_to_a.carry(sent_b))
            b.hear(self._a_to_b.carry(sent_a))
        else:
            a.hear(SILENCE)
            b.hear(SILENCE)
        for name, port in self._ports.items():
            self._handle(name, port.pop_events())
            port.answer_dte()

    def _handle(self, name: str, events: list[ModemEvent]) -> None:
        for event in events:
            _logger.debug("[%s] modem: %s", name, event)
            if isinstance(event, Dial):
                self._on_dial(name, event.number)
            elif isinstance(event, Answer):
                self._on_answer(name)
            elif isinstance(event, OffHook):
                self._off_hook[name] = True
            elif isinstance(event, HangUp | OnHook):
                self._off_hook[name] = False
                self._hang_up(name, f"hang-up by {name}")

    def _on_dial(self, name: str, number: str) -> None:
        other = _other(name)
        port = self._ports[name]
        if self._state is not _Line.IDLE or self._off_hook[other]:
            _logger.info("[%s] dialled %r: %s is busy", name, number, other)
            port.modem.call_event(CallEvent.BUSY)
            return
        _logger.info("[%s] dialled %r: ringing %s", name, number, other)
        self._off_hook[name] = True
        self.calls.append(PairCall(caller=name, callee=other, dialled=number))
        self._state = _Line.RINGING
        self._since = self.line_seconds
        self._ports[other].modem.set_caller_id(self.numbers[name])
        self._ring()

    def _on_answer(self, name: str) -> None:
        call = self.call
        if self._state is not _Line.RINGING or call is None or call.callee != name:
            self._ports[name].modem.call_event(CallEvent.HANGUP)
            return
        _logger.info("[%s] answered after %d rings", name, call.rings)
        self._state = _Line.UP
        self._off_hook[name] = True
        call.answered = True
        self._a_to_b.clear()
        self._b_to_a.clear()
        self._ports[name].modem.call_event(CallEvent.ANSWERED)
        self._ports[call.caller].modem.call_event(CallEvent.CONNECTED)

    def _ring_if_due(self) -> None:
        call = self.call
        if self._state is not _Line.RINGING or call is None:
            return
        now = self.line_seconds
        if now - self._since >= self.answer_timeout:
            _logger.info("[%s] no answer from %s", call.caller, call.callee)
            self._end("no answer")
            self._off_hook[call.caller] = False
            self._ports[call.caller].modem.call_event(CallEvent.NO_ANSWER)
        elif now - self._last_ring >= self.ring_interval:
            self._ring()

    def _ring(self) -> None:
        call = self.call
        assert call is not None
        call.rings += 1
        self._last_ring = self.line_seconds
        self._ports[call.callee].modem.call_event(CallEvent.ALERTING)

    def _drop_line(self) -> None:
        call = self.call
        if call is None:
            return
        _logger.info("the line dropped the call from %s", call.caller)
        self._end("line dropped")
        for name in (call.caller, call.callee):
            self._off_hook[name] = False
            self._ports[name].modem.call_event(CallEvent.HANGUP)

    def _dte_gone(self, name: str) -> None:
        """A program closed its port (dropped DTR): its modem hangs up, as with ``&D2``."""
        port = self._ports[name]
        port.dte_seen = False
        call = self.call
        if call is None or (self._state is _Line.RINGING and call.callee == name):
            return
        _logger.info("[%s] the program closed the port during the call", name)
        self._hang_up(name, f"closed by {name}")
        port.modem.call_event(CallEvent.HANGUP)

    def _hang_up(self, name: str, why: str) -> None:
        call = self.call
        if call is None or name not in (call.caller, call.callee):
            return
        if self._state is _Line.RINGING and name == call.callee:
            return
        other = _other(name)
        up = self._state is _Line.UP
        self._end(why)
        if up:
            # The audio on its way (the end of a frame, say) still reaches the other side.
            self._state = _Line.CLEARING
            self._clearing = (other, self.line_seconds + self._delay)
        else:
            self._off_hook[other] = False
            self._ports[other].modem.call_event(CallEvent.HANGUP)

    def _clear_if_due(self) -> None:
        if self._clearing is None or self.line_seconds < self._clearing[1]:
            return
        other = self._clearing[0]
        self._clearing = None
        self._state = _Line.IDLE
        self._off_hook[other] = False
        self._ports[other].modem.call_event(CallEvent.HANGUP)

    def _end(self, why: str) -> None:
        call = self.call
        if call is not None:
            call.ended = why
        self._state = _Line.IDLE


def _other(name: str) -> str:
    return "B" if name == "A" else "A"
