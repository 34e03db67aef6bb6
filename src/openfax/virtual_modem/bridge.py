"""One call between a fax program on a virtual modem and an OpenFax audio session, paced.

The bridge owns a :class:`~openfax.engine.t31.T31Modem`, serves its AT side on a
:class:`~openfax.virtual_modem.pty_line.PtyLine` and wires its line side back to back with
an :class:`~openfax.engine.AudioSession`, one 20 ms block of audio each way per tick.

It is an asyncio coroutine rather than a thread: the fax service is one asyncio process, so
several virtual lines can run in its loop beside everything else, there is no thread to
leak or join, and a test can run the fax program as an asyncio subprocess in the same loop.
Each tick is short (a few spandsp calls), so the loop stays responsive.

Pacing: fax programs time their commands with the wall clock, so the line must run at real
time, or at most a small multiple of it (``speed``); a :class:`~openfax.pacing.LinePacer`
keeps line time at ``speed`` x the monotonic clock, catching up in bursts if the loop was
late. The DTE is read once per tick, in pieces, and not at all while the modem holds CTS off.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass

from openfax.engine.events import Completed
from openfax.engine.params import Role
from openfax.engine.session import SAMPLE_RATE, AudioSession
from openfax.engine.t31 import (
    Answer,
    CallEvent,
    Circuit,
    CircuitChanged,
    Dial,
    HangUp,
    ModemEvent,
    OnHook,
)
from openfax.errors import ModemError
from openfax.pacing import LinePacer
from openfax.virtual_modem.port import BLOCK_SAMPLES, SILENCE, ModemPort
from openfax.virtual_modem.pty_line import PtyLine

_logger = logging.getLogger(__name__)


class _CallState(enum.Enum):
    IDLE = "idle"
    RINGING = "ringing"
    UP = "up"
    CLOSING = "closing"
    OVER = "over"


_IN_CALL = (_CallState.UP, _CallState.CLOSING)


@dataclass(frozen=True)
class CallReport:
    """How a bridged call went: the number the DTE dialled (if it dialled), the session's
    result, and how long it took on the line and on the wall clock."""

    dialled: str | None
    rings: int
    result: Completed | None
    line_seconds: float
    wall_seconds: float


class ModemBridge:
    """Connect a DTE on ``line`` to ``session`` through a virtual T.31 modem, for one call.

    The session's role says who calls. ``Role.ANSWER``: the DTE dials (ATD) and the session
    answers at once. ``Role.CALL``: the modem rings the DTE (RING every ``ring_interval``
    line seconds, once the DTE has been quiet for ``quiet_before_ring``) until it answers
    with ATA, at most ``max_rings`` times.

    When the session finishes first, the modem hangs up ``hangup_grace`` line seconds later,
    leaving the DTE time to send its DCN as a fax machine would; a DTE hanging up (ATH) ends
    the session at once.

    The DTE may close the port and open it again while no call is up (idle or ringing): the
    modem stays as it was, as a modem does when its serial port changes hands. HylaFAX does
    this for every fax it sends: faxgetty closes the port to hand it to faxsend, which opens
    it some tens of milliseconds later. A DTE closing the port during a call ends it with an
    error.

    The bridge closes the session (completing its receive TIFF) and frees its modem when
    ``run`` returns or raises; the line stays the caller's.
    """

    def __init__(
        self,
        line: PtyLine,
        session: AudioSession,
        *,
        speed: float = 1.0,
        ring_interval: float = 6.0,
        quiet_before_ring: float = 1.0,
        max_rings: int = 10,
        hangup_grace: float = 3.0,
        linger: float = 5.0,
        name: str = "t31",
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.line = line
        self.session = session
        self.speed = speed
        self.ring_interval = ring_interval
        self.quiet_before_ring = quiet_before_ring
        self.max_rings = max_rings
        self.hangup_grace = hangup_grace
        self.linger = linger
        self.port = ModemPort(line, name=name)
        self.modem = self.port.modem
        self._state = _CallState.IDLE
        self._dialled: str | None = None
        self._rings = 0
        self._last_ring = 0.0
        self._closing_since = 0.0
        self._call_ended_at = 0.0
        self._session_out = bytearray(2 * BLOCK_SAMPLES)

    @property
    def line_seconds(self) -> float:
        """Line time since the bridge started, from the samples fed to the modem."""
        return self.modem.line_seconds

    async def run(self, timeout: float) -> CallReport:
        """Serve the call until it is over and the DTE has let go of the line.

        The call is over when the session has finished or either side hung up; the bridge
        then keeps answering the DTE for ``linger`` line seconds or until it closes the
        port. Raises :class:`ModemError` if the DTE closes the port during the call, never
        answers, or the whole exchange takes longer than ``timeout`` wall seconds.
        The session and modem are closed in every case.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        pacer = LinePacer(self.speed, block_seconds=BLOCK_SAMPLES / SAMPLE_RATE)
        try:
            while not self._finished():
                if loop.time() - started > timeout:
                    raise ModemError(
                        f"the call on {self.line.path} did not finish within {timeout:g} s "
                        f"(state {self._state.value}, line time {self.line_seconds:.1f} s)"
                    )
                for _ in range(await pacer.next_blocks()):
                    self._step()
            return CallReport(
                self._dialled,
                self._rings,
                self.session.result,
                self.line_seconds,
                loop.time() - started,
            )
        finally:
            self.session.close()
            self.port.close()

    # --- one tick -----------------------------------------------------------------------

    def _step(self) -> None:
        self._serve_dte()
        self._handle(self.modem.pop_events())
        self._ring_if_due()
        self._exchange_audio()
        if self._state is _CallState.UP and self.session.done:
            self._state = _CallState.CLOSING
            self._closing_since = self.line_seconds
        if (
            self._state is _CallState.CLOSING
            and self.line_seconds - self._closing_since >= self.hangup_grace
        ):
            _logger.info("[%s] session finished: hanging up the modem", self.modem.name)
            self.modem.call_event(CallEvent.HANGUP)
            self._end_call()
        self._handle(self.modem.pop_events())
        self.port.answer_dte()

    def _serve_dte(self) -> None:
        """Serve the DTE and notice one gone during the call (with no call up, it may come
        back: see the class's docstring)."""
        self.port.serve_dte()
        if not self.line.dte_attached and self._state in _IN_CALL:
            raise ModemError(
                f"the fax program closed {self.line.path} with the call {self._state.value} "
                f"(line time {self.line_seconds:.1f} s)"
            )

    def _handle(self, events: list[ModemEvent]) -> None:
        for event in events:
            _logger.debug("[%s] modem: %s", self.modem.name, event)
            if isinstance(event, Dial):
                self._on_dial(event.number)
            elif isinstance(event, Answer):
                self._on_answer()
            elif isinstance(event, HangUp | OnHook) and self._state in _IN_CALL:
                _logger.info("[%s] the DTE hung up", self.modem.name)
                self.session.hangup()
                self._end_call()
            elif isinstance(event, CircuitChanged) and event.circuit is Circuit.CTS:
                _logger.debug("[%s] CTS %s", self.modem.name, "on" if event.on else "off")

    def _on_dial(self, number: str) -> None:
        if self.session.role is not Role.ANSWER or self._state is not _CallState.IDLE:
            self.modem.call_event(CallEvent.BUSY)
            return
        _logger.info("[%s] the DTE dialled %r: the session answers", self.modem.name, number)
        self._dialled = number
        self._state = _CallState.UP
        self.modem.call_event(CallEvent.CONNECTED)

    def _on_answer(self) -> None:
        if self._state is not _CallState.RINGING:
            self.modem.call_event(CallEvent.HANGUP)
            return
        _logger.info("[%s] the DTE answered after %d rings", self.modem.name, self._rings)
        self._state = _CallState.UP
        self.modem.call_event(CallEvent.ANSWERED)

    def _ring_if_due(self) -> None:
        if self.session.role is not Role.CALL or self._state not in (
            _CallState.IDLE,
            _CallState.RINGING,
        ):
            return
        now = self.line_seconds
        if not self.line.dte_attached or now - self.port.last_dte_input < self.quiet_before_ring:
            return
        if self._rings and now - self._last_ring < self.ring_interval:
            return
        if self._rings >= self.max_rings:
            raise ModemError(
                f"the fax program on {self.line.path} did not answer after {self._rings} rings"
            )
        self._rings += 1
        self._last_ring = now
        self._state = _CallState.RINGING
        self.modem.call_event(CallEvent.ALERTING)

    def _exchange_audio(self) -> None:
        sent = self.port.send_block()
        if self._state in _IN_CALL:
            self.session.tx_into(self._session_out, BLOCK_SAMPLES)
            self.port.hear(self._session_out)
            self.session.rx(sent)
        else:
            self.port.hear(SILENCE)

    def _end_call(self) -> None:
        self._state = _CallState.OVER
        self._call_ended_at = self.line_seconds

    def _finished(self) -> bool:
        if self._state is not _CallState.OVER:
            return False
        lingered = self.line_seconds - self._call_ended_at
        return (self.port.dte_seen and not self.line.dte_attached) or lingered >= self.linger
