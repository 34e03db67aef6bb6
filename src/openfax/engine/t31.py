"""A T.31 Class 1 fax modem without I/O: AT bytes and audio in, DTE bytes and audio out.

spandsp's ``t31`` is the modem a fax program (efax, HylaFAX) drives with AT commands; its
line side is 8 kHz audio, like :class:`~openfax.engine.AudioSession`. :class:`T31Modem` owns
one, and like the sessions it never reads a clock or a file descriptor: the caller carries
bytes between it and the DTE (``at_rx`` / ``data_to_send``), audio between it and the line
(``rx`` / ``tx``), and tells it what the line does (``call_event``). What the DTE asks of
the line (dial, answer, hang up) and the modem's V.24 circuits come out as events.

Flow control matters: spandsp holds at most 4 KB of data from the DTE and silently drops
what does not fit. ``at_rx`` therefore feeds it in small pieces and stops as soon as the
modem drops CTS, returning how much it took; the caller keeps the rest until
:attr:`T31Modem.clear_to_send` is true again (it rises as the modem sends on the line).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from openfax.closing import Closeable
from openfax.engine._callbacks import Callbacks
from openfax.engine._pcm import PcmSource, int16_target, pad_with_silence
from openfax.engine._spandsp import ffi, lib
from openfax.engine.session import SAMPLE_RATE
from openfax.errors import ModemError

AT_RX_PIECE = 256
"""Bytes handed to spandsp at once: well under the 1 KB headroom its buffer keeps above the
level at which it drops CTS."""

_DLE = 0x10
_ETX = 0x03


class CallEvent(enum.IntEnum):
    """What the line did, told to the modem (spandsp's ``AT_CALL_EVENT_*``).

    ``ALERTING`` presents RING to the DTE; ``ANSWERED`` follows the DTE's ATA once the call is
    up; ``CONNECTED`` follows its ATD once the far end answers; ``HANGUP`` ends the call.
    """

    ALERTING = 1
    CONNECTED = 2
    ANSWERED = 3
    BUSY = 4
    NO_DIALTONE = 5
    NO_ANSWER = 6
    HANGUP = 7


class Circuit(enum.Enum):
    """The V.24 circuits the modem reports changes of."""

    DTR = "DTR"
    RTS = "RTS"
    CTS = "CTS"
    CAR = "CAR"
    RNG = "RNG"
    DSR = "DSR"


@dataclass(frozen=True)
class Dial:
    """The DTE dialled (ATD): place a call to ``number`` and report CONNECTED when it is up."""

    number: str


@dataclass(frozen=True)
class Answer:
    """The DTE answered (ATA): take the ringing call and report ANSWERED."""


@dataclass(frozen=True)
class HangUp:
    """The DTE hung up (ATH, or a reset): drop the call."""


@dataclass(frozen=True)
class OffHook:
    """The modem went off hook."""


@dataclass(frozen=True)
class OnHook:
    """The modem went back on hook: whatever call there was is over for it."""


@dataclass(frozen=True)
class CircuitChanged:
    """A V.24 circuit changed. CTS off means: send no more data until it is on again."""

    circuit: Circuit
    on: bool


ModemEvent = Dial | Answer | HangUp | OffHook | OnHook | CircuitChanged

# spandsp's at_modem_control_operation_e (at_interpreter.h of 0.0.6).
_OP_CALL = 0
_SIMPLE_OPS: dict[int, ModemEvent] = {1: Answer(), 2: HangUp(), 3: OffHook(), 4: OnHook()}
_CIRCUIT_OPS = {
    5: Circuit.DTR,
    6: Circuit.RTS,
    7: Circuit.CTS,
    8: Circuit.CAR,
    9: Circuit.RNG,
    10: Circuit.DSR,
}


def _piece_end(
    data: bytes | bytearray | memoryview, start: int, dle_pending: bool
) -> tuple[int, bool]:
    """Where the piece of ``data`` beginning at ``start`` should end, and whether it ends
    on an unpaired DLE.

    At most ``AT_RX_PIECE`` bytes, and never past an unescaped DLE ETX: in stuffed data mode
    spandsp 0.0.6 returns at DLE ETX and drops the rest of the buffer it was given.
    """
    end = min(len(data), start + AT_RX_PIECE)
    for index in range(start, end):
        if dle_pending:
            dle_pending = False
            if data[index] == _ETX:
                return index + 1, False
        elif data[index] == _DLE:
            dle_pending = True
    return end, dle_pending


class T31Modem(Closeable, PcmSource):
    """One virtual Class 1 fax modem: spandsp's T.31 AT interpreter and fax modems.

    ``name`` tags its log lines. Free it with ``close()`` (or use it as a context manager).
    """

    def __init__(self, *, name: str = "t31") -> None:
        self.name = name
        self.samples = 0
        self._callbacks = Callbacks()
        self._events: list[ModemEvent] = []
        self._to_dte = bytearray()
        self._clear_to_send = True
        self._dle_pending = False
        keep = self._callbacks.keep
        handle = lib.t31_init(
            ffi.NULL,
            keep("at_tx_handler_t *", self._on_at_tx, -1),
            ffi.NULL,
            keep("t31_modem_control_handler_t *", self._on_modem_control, -1),
            ffi.NULL,
            ffi.NULL,
            ffi.NULL,
        )
        if handle == ffi.NULL:
            raise ModemError("spandsp could not create a T.31 modem (t31_init failed)")
        self._handle: Any = handle
        lib.t31_set_transmit_on_idle(handle, 1)
        self._callbacks.route_log(lib.t31_get_logging_state(handle), name)

    # --- public state -------------------------------------------------------------------

    @property
    def clear_to_send(self) -> bool:
        """Whether the modem takes more data from the DTE (its CTS circuit)."""
        return self._clear_to_send

    @property
    def closed(self) -> bool:
        """True once ``close()`` has freed the C object."""
        return bool(self._handle == ffi.NULL)

    @property
    def line_seconds(self) -> float:
        """How much line time the modem has seen, from the samples fed to it."""
        return self.samples / SAMPLE_RATE

    def pop_events(self) -> list[ModemEvent]:
        """The events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        """The bytes for the DTE since the last call: responses, and data received in a call."""
        data = bytes(self._to_dte)
        self._to_dte.clear()
        return data

    # --- the DTE side -------------------------------------------------------------------

    def at_rx(self, data: bytes | bytearray | memoryview) -> int:
        """Feed bytes from the DTE (commands, or DLE-stuffed data); returns how many it took.

        It stops early when the modem drops CTS: give it the rest once ``clear_to_send`` is
        true again.
        """
        self._check_open()
        taken = 0
        while taken < len(data) and self._clear_to_send:
            end, self._dle_pending = _piece_end(data, taken, self._dle_pending)
            piece = bytes(data[taken:end])
            lib.t31_at_rx(self._handle, piece, len(piece))
            taken = end
            self._after_c_call()
        return taken

    def set_caller_id(self, number: str | None) -> None:
        """Give the modem the caller id of the call about to ring: with ``AT+VCID=1`` it
        reports ``NMBR=number`` before the first RING. ``None`` clears it (and the count of
        rings toward ``ATS0`` auto-answer), as for a new call without caller id.

        The AT interpreter is the first member of spandsp's T.31 state (so in every spandsp
        version), which is how its call-information functions reach it.
        """
        self._check_open()
        at_state = ffi.cast("at_state_t *", self._handle)
        lib.at_reset_call_info(at_state)
        if number is not None:
            lib.at_set_call_info(at_state, b"NMBR", number.encode("ascii", "replace"))

    def call_event(self, event: CallEvent) -> None:
        """Tell the modem what the line did (ringing, far end answered, busy, hung up...)."""
        self._check_open()
        lib.t31_call_event(self._handle, int(event))
        self._after_c_call()

    # --- the line side ------------------------------------------------------------------

    def rx(self, pcm: bytes | bytearray | memoryview) -> None:
        """Feed audio heard from the line; this is also what advances the modem's timers."""
        n = len(pcm) // 2
        self.samples += n
        if self._handle == ffi.NULL or n == 0:
            return
        lib.t31_rx(self._handle, ffi.from_buffer("int16_t[]", pcm), n)
        self._after_c_call()

    def tx_into(self, buffer: Any, n_samples: int) -> int:
        target = int16_target(buffer)
        produced = 0
        if self._handle != ffi.NULL:
            produced = lib.t31_tx(self._handle, target, n_samples)
            self._after_c_call()
        pad_with_silence(target, produced, n_samples)
        return n_samples

    # --- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        """Free the C object; afterwards the modem is silent and takes no more input."""
        if self._handle != ffi.NULL:
            handle, self._handle = self._handle, ffi.NULL
            lib.t31_free(handle)

    def __del__(self) -> None:
        if getattr(self, "_handle", ffi.NULL) != ffi.NULL:
            self.close()

    # --- callbacks from C ---------------------------------------------------------------

    def _on_at_tx(self, at_state: Any, user_data: Any, buf: Any, length: int) -> int:
        self._to_dte += ffi.buffer(buf, length)
        return length

    def _on_modem_control(self, t31: Any, user_data: Any, op: int, num: Any) -> int:
        # ``num`` is a string only for CALL; for the other operations spandsp passes a small
        # integer cast to a pointer, which must never be dereferenced.
        if op == _OP_CALL:
            number = "" if num == ffi.NULL else ffi.string(num).decode("ascii", "replace")
            self._callbacks.guard(lambda: self._events.append(Dial(number)))
        elif op in _SIMPLE_OPS:
            self._events.append(_SIMPLE_OPS[op])
        elif op in _CIRCUIT_OPS:
            on = int(ffi.cast("intptr_t", num)) != 0
            circuit = _CIRCUIT_OPS[op]
            if circuit is Circuit.CTS:
                self._clear_to_send = on
            self._events.append(CircuitChanged(circuit, on))
        return 0

    def _after_c_call(self) -> None:
        error = self._callbacks.take_error()
        if error is not None:
            raise error

    def _check_open(self) -> None:
        if self._handle == ffi.NULL:
            raise ModemError(f"T.31 modem {self.name!r} is closed")
