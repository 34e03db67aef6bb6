"""A T.30 end over a T.31 Class 1 fax modem, without I/O: modem bytes and the clock in, modem
bytes and events out.

spandsp's ``t30`` runs the fax protocol; :class:`Class1Session` is its front end towards a
Class 1 modem. T.30 asks for a modem to send or receive with (``set_tx_type`` /
``set_rx_type``) and hands over HDLC frames and image data; the session turns that into
``AT+FTH=3`` / ``AT+FRH=3`` (V.21 HDLC frames, DLE-stuffed, ended by DLE ETX; the modem adds
and checks the FCS), ``AT+FTM=n`` / ``AT+FRM=n`` (TCF and image data at the negotiated
modulation) and ``AT+FTS=n`` / ``AT+FRS=n`` (silence), and turns the modem's answers
(CONNECT, OK, NO CARRIER, ERROR, +FCERROR) into T.30's front-end events. In ECM the image
modem carries HDLC frames that the host frames itself (T.31): spandsp's ``hdlc_tx`` and
``hdlc_rx`` do that here.

The session starts right after the CONNECT that answered the provider's ATD (the modem then
receives V.21 as after ``AT+FRH=3``) or ATA (the modem sends V.21 as after ``AT+FTH=3``), and
owns the modem's byte stream until it is :attr:`~FaxSession.done`; the provider hangs up.
It never reads a clock: every entry point takes ``now`` (seconds, any origin), which also
drives T.30's timers.

Like the other sessions, C only ever calls back into methods that record what happened;
the session acts on it once the C call has returned (``_pump``), so no T.30 function is
entered again from inside one of its own callbacks.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openfax.engine import _spandsp
from openfax.engine._spandsp import ffi, lib
from openfax.engine.params import Role, SessionOptions
from openfax.engine.session import SAMPLE_RATE, FaxSession
from openfax.errors import EngineError

_DLE = 0x10
_ETX = 0x03
_SUB = 0x1A
_DLE_ETX = b"\x10\x03"
_ABORT = b"\x18"
"""Any character aborts a waiting ``+FRH``/``+FRM`` (T.31); CAN is harmless in command mode."""

_BIT_REVERSED = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))
"""spandsp's HDLC framer packs bits first-sent in the most significant bit; a T.31 modem
sends each data byte least significant bit first."""

_ADDRESS = 0xFF
_FINAL_BIT = 0x10
_FCS_LENGTH = 2
_DCS = 0x82

IMAGE_CHUNK = 512
"""Image bytes taken from T.30 (or the ECM framer) per call of ``data_to_send``."""
ECM_PIECE = 32
"""Bytes framed at once in ECM: the most idle flags between two frames."""
MAX_FRAME_BYTES = 512
"""A received V.21 frame longer than this (T.30 frames are at most 256 bytes and the FCS)
has lost its DLE ETX: it is dropped and the receive aborted."""
MAX_IMAGE_BYTES = 8 * 1024 * 1024
"""Image data accepted in one ``+FRM`` before the session gives up on a modem that never
ends it (a page at 14 400 bit/s for five minutes is about 540 KB)."""
_FRAME_RESULTS = (b"\r\nOK\r\n", b"\r\nERROR\r\n", b"\r\nNO CARRIER\r\n")
"""The modem's results after a V.21 frame: seen where its DLE ETX should be, the DLE ETX
was lost (a frame ending in these six or more bytes with a good FCS is not to be met)."""
MAX_LINE_BYTES = 256
"""Longest response line kept from the modem; longer garbage is dropped."""
TIMER_TICK = 0.05
"""Seconds between two updates of T.30's timers while nothing else happens."""

_MODULATIONS: dict[tuple[int, int], int] = {
    (_spandsp.T30_MODEM_V27TER, 2400): 24,
    (_spandsp.T30_MODEM_V27TER, 4800): 48,
    (_spandsp.T30_MODEM_V29, 7200): 72,
    (_spandsp.T30_MODEM_V29, 9600): 96,
    (_spandsp.T30_MODEM_V17, 7200): 73,
    (_spandsp.T30_MODEM_V17, 9600): 97,
    (_spandsp.T30_MODEM_V17, 12000): 121,
    (_spandsp.T30_MODEM_V17, 14400): 145,
}
"""T.31 modulation codes by T.30 modem and bit rate; V.17 with short training is one more."""

_LOWER = {145: 121, 121: 97, 97: 73, 73: 96, 96: 72, 72: 48, 48: 24}
"""The next lower modulation (long training, as for TCF) to fall back to, in the order
spandsp's T.30 steps down (V.17 7200 to V.29 9600, V.29 7200 to V.27ter 4800)."""
_FRH_ADAPTIVE = "+FRH:3"
"""What a modem with adaptive reception (``AT+FAR=1``) says when V.21 flags come while it
waits for image data (``+FRM``): the frames follow after CONNECT, as after ``+FRH=3``."""

_RESULT_CODES = frozenset(
    ("CONNECT", "OK", "ERROR", "NO CARRIER", "+FCERROR", "BUSY", "NO ANSWER", "NO DIALTONE")
)
"""The modem's result codes the session acts on; any other line is ignored."""

_FAST_MODEMS = {_spandsp.T30_MODEM_V27TER, _spandsp.T30_MODEM_V29, _spandsp.T30_MODEM_V17}

_logger = logging.getLogger(__name__)


def modulation_code(modem: int, bit_rate: int, short_train: bool) -> int:
    """The ``+FTM``/``+FRM`` code of a T.30 image modem, bit rate and training."""
    try:
        code = _MODULATIONS[(modem, bit_rate)]
    except KeyError:
        raise EngineError(f"no Class 1 modulation for modem {modem} at {bit_rate} bit/s") from None
    return code + 1 if short_train and modem == _spandsp.T30_MODEM_V17 else code


def stuff(data: bytes) -> bytes:
    """``data`` with each DLE doubled, as the modem wants it between CONNECT and DLE ETX."""
    return data.replace(b"\x10", b"\x10\x10")


@dataclass(frozen=True)
class Class1Settings:
    """How the session paces the modem and how long it waits for it (seconds).

    ``silence_before_send`` is the ``+FRS`` wait (in 10 ms) before sending after receiving,
    and ``pause_between_carriers`` the ``+FTS`` silence (in 10 ms) between a V.21 frame and
    TCF or image data, or image data and the post-page command (T.30 asks 75 +/- 20 ms);
    0 leaves either out. ``connect_delay`` holds image data back after ``+FTM``'s CONNECT,
    for modems that lose what comes at once (HylaFAX's ``Class1TMConnectDelay``).

    ``response_timeout`` bounds the wait for CONNECT or OK to a command and ``drain_timeout``
    the wait for OK once the modem has the data to send (or takes no more of it): a modem
    that misses either has gone, and the session ends as a dropped line. ``data_timeout``
    bounds a silence in the middle of data the modem sends us: its end (DLE ETX) was lost,
    and the receive is aborted.

    What the modem can do and how it deviates from T.31 (the modem provider's quirks):
    ``transmit_codes`` are the ``+FTM`` modulations it has (``AT+FTM=?``; empty: unknown,
    each is tried): TCF never goes at another, the session falls back to the next lower
    one it has. ``abort_answered``: the modem answers OK to the CAN that aborts a
    receive; if not (HylaFAX's ``Class1RecvAbortOK`` 0), the session waits ``abort_wait``,
    drops what came and sends ``AT`` for an OK. ``adaptive_receive``: the modem was told
    ``AT+FAR=1`` and says ``+FRH:3`` when V.21 comes during ``+FRM``. ``fcs_in_frames``:
    received V.21 frames end with their 2 FCS bytes (T.31; some old firmware leaves them
    out: HylaFAX's ``Class1FrameOverhead`` 2). ``doubles_dle``: a DLE inside a received
    V.21 frame comes doubled (T.31; not from modems with HylaFAX's
    ``Class1ModemHasDLEBug``, whose single DLE is then kept as data). ``has_fts`` and
    ``has_frs``: the modem has ``+FTS``/``+FRS``; without, the session waits as long
    itself (HylaFAX's ``<delay:7>`` for Cirrus and Topic modems, and USR's ``+FRS``).
    ``silence_before_receive``: ``AT+FRS=n`` before each ``+FRM`` (tens of ms; 0: none),
    for modems that answer +FCERROR to a ``+FRM`` given too soon (HylaFAX's
    ``Class1TCFRecvHackCmd`` and ``Class1MsgRecvHackCmd``, ``AT+FRS=1``).
    """

    silence_before_send: int = 7
    pause_between_carriers: int = 7
    connect_delay: float = 0.0
    response_timeout: float = 5.0
    drain_timeout: float = 30.0
    data_timeout: float = 5.0
    transmit_codes: frozenset[int] = frozenset()
    abort_answered: bool = True
    abort_wait: float = 0.2
    adaptive_receive: bool = False
    fcs_in_frames: bool = True
    doubles_dle: bool = True
    has_fts: bool = True
    has_frs: bool = True
    silence_before_receive: int = 0

    def __post_init__(self) -> None:
        for name in ("silence_before_send", "pause_between_carriers", "silence_before_receive"):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError(f"{name} must be 0..255 (tens of milliseconds)")
        for name in ("response_timeout", "drain_timeout", "data_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if not 0 <= self.connect_delay <= self.response_timeout:
            raise ValueError("connect_delay must be 0 or more, and below response_timeout")
        if not 0 <= self.abort_wait <= self.response_timeout:
            raise ValueError("abort_wait must be 0 or more, and at most response_timeout")


class _Step(enum.Enum):
    """What the session waits for from the modem."""

    IDLE = "idle"
    """Command mode, nothing asked."""
    COMMAND = "command"
    """A command was sent; its CONNECT or OK is due."""
    TX_FRAMES = "tx frames"
    """After ``+FTH`` CONNECT: V.21 frames go to the modem."""
    TX_DATA = "tx data"
    """After ``+FTM`` CONNECT: image data (or ECM frames) goes to the modem."""
    TX_DRAIN = "tx drain"
    """The data ended with DLE ETX; the modem answers OK once it has sent it all."""
    RX_WAIT = "rx wait"
    """``+FRH``/``+FRM`` sent; CONNECT comes with the far end's carrier."""
    RX_DATA = "rx data"
    """Received data flows from the modem up to DLE ETX."""
    RX_RESULT = "rx result"
    """After DLE ETX: OK, ERROR or NO CARRIER says how the data ended."""
    ABORTING = "aborting"
    """A waiting receive was cancelled; the modem answers OK."""
    PAUSE = "pause"
    """The session keeps a silence itself (a modem without ``+FTS`` or ``+FRS``)."""


class _Kind(enum.Enum):
    """What a command or a data phase carries."""

    FRAMES = "frames"
    """V.21 HDLC frames, one per DLE ETX."""
    IMAGE = "image"
    """Non-ECM image data or TCF."""
    ECM = "ecm"
    """ECM frames, framed by the host."""
    SILENCE = "silence"
    """``+FTS`` or ``+FRS``."""


@dataclass(frozen=True)
class _Request:
    """A modem T.30 asked for (``set_tx_type`` / ``set_rx_type``)."""

    modem: int
    bit_rate: int
    short_train: int
    """For V.17, whether to use short training; for a pause, its length in ms."""
    hdlc: bool

    @property
    def kind(self) -> _Kind:
        if self.modem == _spandsp.T30_MODEM_V21:
            return _Kind.FRAMES
        return _Kind.ECM if self.hdlc else _Kind.IMAGE

    @property
    def code(self) -> int:
        return modulation_code(self.modem, self.bit_rate, bool(self.short_train))


class Class1Session(FaxSession):
    """One fax call over a Class 1 modem whose call is up (after ATD's or ATA's CONNECT).

    Feed it what the modem says (``receive``), write what ``data_to_send`` gives to the
    modem, and call ``handle_timer`` at ``next_timer``. Events and the result are those of
    every :class:`FaxSession`.
    """

    def __init__(
        self,
        role: Role,
        options: SessionOptions | None = None,
        *,
        send_file: str | Path | None = None,
        receive_file: str | Path | None = None,
        settings: Class1Settings | None = None,
        name: str = "",
    ) -> None:
        self.settings = settings or Class1Settings()
        self._out = bytearray()
        self._line = bytearray()
        self._now: float | None = None
        self._sample_remainder = 0.0
        self._deadline: float | None = None
        self._deadline_reason = ""
        self._to_t30: deque[Callable[[], None]] = deque()
        # What T.30 asked for, and how far the modem has got with it.
        self._tx: _Request | None = None
        self._tx_ready = False
        """A transmission was asked for and has not completed."""
        self._rx: _Request | None = None
        self._rx_ready = False
        """A reception was asked for and the modem is not yet doing it."""
        self._rx_waiting: _Request | None = None
        """What the last ``+FRH``/``+FRM`` asked the modem for."""
        self._frames: deque[bytes | None] = deque()
        self._step = _Step.IDLE
        self._kind = _Kind.FRAMES
        self._last_carrier: _Kind | None = None
        """What the modem last sent (FRAMES or image), for the pause between carriers."""
        self._received_last = False
        """The modem last received: wait for silence before sending."""
        self._frame_final = False
        self._frame_ok_due = False
        self._pause_for_t30 = False
        self._tx_code = 0
        self._data_from = 0.0
        """Image data goes to the modem from this time on (``connect_delay``)."""
        self._spoil_tcf = False
        """TCF goes at a lower modulation than DCS said: send ones so that it fails."""
        self._refused: set[int] = set()
        """``+FTM`` codes the modem answered ERROR to in this call."""
        self._abort_probed = False
        """A modem that does not answer an abort was sent ``AT`` (``abort_answered`` off)."""
        self._rx_silenced = False
        """The ``silence_before_receive`` wait before the next ``+FRM`` is done."""
        self._skip_lf = False
        self._data_mode = False
        """The modem sends received data (between CONNECT and DLE ETX), not lines."""
        self._rx_frame = bytearray()
        self._rx_bytes = 0
        self._dle_pending = False
        self._tcf_due = False
        """DCS went and nothing came back yet: the next image modem carries TCF."""
        self._chunk = ffi.new("uint8_t[]", IMAGE_CHUNK)
        self._underflow: Any = ffi.NULL
        """The framer's callback for T.30 (``SEND_STEP_COMPLETE``), made once per session."""
        self._hdlc_tx: Any = ffi.NULL
        self._hdlc_rx: Any = ffi.NULL
        self.results = 0
        """Result codes the modem gave so far: the provider times its answers to them."""
        super().__init__(role, options, send_file=send_file, receive_file=receive_file, name=name)
        if role is Role.CALL:
            # ATD's CONNECT: the modem already receives V.21 HDLC (an implied +FRH=3).
            self._step, self._kind = _Step.RX_DATA, _Kind.FRAMES
            self._data_mode = True
            self._to_t30.append(self._carrier_up_frames)
        else:
            # ATA's CONNECT: the modem already sends V.21 HDLC (an implied +FTH=3).
            self._step, self._kind = _Step.TX_FRAMES, _Kind.FRAMES
            self._last_carrier = _Kind.FRAMES

    # --- the caller's side --------------------------------------------------------------

    def start(self, now: float) -> None:
        """The modem's CONNECT has just been seen: the session's time starts at ``now``."""
        self._now = now
        self._pump(now)

    def receive(self, data: bytes, now: float) -> None:
        """Feed bytes the modem sent, split anywhere."""
        self._advance(now)
        if self.done:
            return
        self._feed(bytes(data))
        self._pump(now)

    def data_to_send(self, limit: int = 4096) -> bytes:
        """Bytes to write to the modem now, at most ``limit``: responses to T.30's requests
        and, while the modem sends image data, the next piece of it.

        Image data is made only when asked for, so a caller that writes only while the
        modem takes more (CTS) never holds more than ``limit`` bytes.
        """
        if limit <= 0:
            raise EngineError(f"data_to_send needs a positive limit, not {limit}")
        if (
            self._step is _Step.TX_DATA
            and len(self._out) < limit
            and not self.done
            and (self._now is None or self._now >= self._data_from)
        ):
            self._produce_image(limit - len(self._out))
        data = bytes(self._out[:limit])
        del self._out[:limit]
        return data

    def next_timer(self) -> float | None:
        """When ``handle_timer`` is next due, or None once the session is done."""
        if self.done or self._now is None:
            return None
        due = self._now + TIMER_TICK
        if self._step is _Step.TX_DATA and self._now < self._data_from:
            due = min(due, self._data_from)
        return due if self._deadline is None else min(due, self._deadline)

    def handle_timer(self, now: float) -> None:
        """Let time pass to ``now``: T.30's timers run, and a modem that missed a deadline
        ends the call."""
        self._advance(now)
        if self.done:
            return
        if self._deadline is not None and now >= self._deadline:
            self._missed_deadline()
        if not self.done:
            self._pump(now)

    @property
    def modem_idle(self) -> bool:
        """Whether the modem is in command mode with nothing asked of it (if not, the
        provider sends :attr:`modem_abort` before its ATH)."""
        return self._step is _Step.IDLE

    @property
    def modem_abort(self) -> bytes:
        """What takes the modem back to command mode before the provider's ATH, whatever the
        session was doing when it ended: DLE ETX ends data the modem is taking from us (any
        other byte would be sent as data, ATH with it), nothing while it drains what it has
        (its OK comes), one CAN otherwise (it aborts a receive and is harmless in command
        mode)."""
        if self._step in (_Step.TX_FRAMES, _Step.TX_DATA):
            return _DLE_ETX
        return b"" if self._step is _Step.TX_DRAIN else _ABORT

    @property
    def buffered(self) -> int:
        """Bytes the session holds: for the modem, and of a response line or a V.21 frame
        from it. Bounded whatever the modem sends."""
        return len(self._out) + len(self._line) + len(self._rx_frame)

    @property
    def step(self) -> str:
        """What the session waits for from the modem and what it carries ("rx data: image"),
        for logs and tests."""
        return f"{self._step.value}: {self._kind.value}"

    # --- set-up (FaxSession) ------------------------------------------------------------

    def _open(self) -> None:
        keep = self._callbacks.keep
        t30 = lib.t30_init(
            ffi.NULL,
            int(self.role is Role.CALL),
            keep("t30_set_handler_t *", self._on_set_rx_type, None),
            ffi.NULL,
            keep("t30_set_handler_t *", self._on_set_tx_type, None),
            ffi.NULL,
            keep("t30_send_hdlc_handler_t *", self._on_send_hdlc, None),
            ffi.NULL,
        )
        if t30 == ffi.NULL:
            raise EngineError("spandsp could not create a T.30 engine (t30_init failed)")
        self._handle = t30
        self._underflow = keep("hdlc_underflow_handler_t", self._on_hdlc_underflow, None)
        self._setup_t30(t30)

    def _free_handle(self, handle: Any) -> None:
        self._free_hdlc()
        lib.t30_free(handle)

    def _free_hdlc(self) -> None:
        if self._hdlc_tx != ffi.NULL:
            lib.hdlc_tx_free(self._hdlc_tx)
            self._hdlc_tx = ffi.NULL
        if self._hdlc_rx != ffi.NULL:
            lib.hdlc_rx_free(self._hdlc_rx)
            self._hdlc_rx = ffi.NULL

    # --- callbacks from C: record only --------------------------------------------------

    def _on_set_tx_type(
        self, user_data: Any, modem: int, bit_rate: int, short_train: int, hdlc: int
    ) -> None:
        def record() -> None:
            if modem in (_spandsp.T30_MODEM_NONE, _spandsp.T30_MODEM_DONE):
                return
            if modem == _spandsp.T30_MODEM_CNG:
                return  # the modem sent CNG itself after ATD
            if modem == _spandsp.T30_MODEM_CED:
                # The modem sent CED itself after ATA.
                self._to_t30.append(self._send_step_complete)
                return
            self._tx = _Request(modem, bit_rate, short_train, bool(hdlc))
            self._tx_ready = True

        self._guard(record)

    def _on_set_rx_type(
        self, user_data: Any, modem: int, bit_rate: int, short_train: int, hdlc: int
    ) -> None:
        def record() -> None:
            if modem == _spandsp.T30_MODEM_V21 or modem in _FAST_MODEMS:
                self._rx = _Request(modem, bit_rate, short_train, bool(hdlc))
                self._rx_ready = True
            else:
                self._rx = None
                self._rx_ready = False

        self._guard(record)

    def _on_send_hdlc(self, user_data: Any, msg: Any, length: int) -> None:
        frame = bytes(ffi.buffer(msg, length)) if length > 0 else None

        def record() -> None:
            if self._step is _Step.TX_DATA and self._kind is _Kind.ECM:
                # ECM frames go straight to the host framer, which runs inside data_to_send.
                if frame is None:
                    lib.hdlc_tx_frame(self._hdlc_tx, ffi.NULL, 0)
                else:
                    lib.hdlc_tx_frame(self._hdlc_tx, frame, len(frame))
                return
            self._frames.append(frame)

        self._guard(record)

    def _on_hdlc_underflow(self, user_data: Any) -> None:
        self._guard(lambda: self._to_t30.append(self._send_step_complete))

    # --- telling T.30 (only from _pump, never inside a callback) ------------------------

    def _send_step_complete(self) -> None:
        lib.t30_front_end_status(self._t30, _spandsp.T30_FRONT_END_SEND_STEP_COMPLETE)

    def _carrier_up_frames(self) -> None:
        lib.t30_hdlc_accept(self._t30, ffi.NULL, _spandsp.SIG_STATUS_CARRIER_UP, 1)
        lib.t30_hdlc_accept(self._t30, ffi.NULL, _spandsp.SIG_STATUS_FRAMING_OK, 1)

    def _carrier_down_frames(self) -> None:
        lib.t30_hdlc_accept(self._t30, ffi.NULL, _spandsp.SIG_STATUS_CARRIER_DOWN, 1)

    def _accept_frame(self, frame: bytes, ok: bool) -> None:
        lib.t30_hdlc_accept(self._t30, frame, len(frame), int(ok))

    # --- the engine: act on what T.30 asked and what the modem said ---------------------

    def _pump(self, now: float) -> None:
        """Run T.30's pending notifications and start what the modem should do next,
        until nothing more can happen without the modem or the clock."""
        while not self.done:
            if self._to_t30:
                action = self._to_t30.popleft()
                if self._handle != ffi.NULL:
                    action()
                    self._after_c_call()
                continue
            if not self._advance_modem(now):
                break

    def _advance_modem(self, now: float) -> bool:
        """One step of the modem dialogue, if one is possible now; True if it did one."""
        step = self._step
        if step is _Step.TX_FRAMES:
            return self._send_frames(now)
        if step in (_Step.RX_WAIT, _Step.RX_DATA) and self._tx_ready:
            if step is _Step.RX_WAIT or (self._kind is _Kind.FRAMES and not self._rx_frame):
                self._abort_receive(now)
                return True
            return False
        if step is _Step.RX_WAIT and self._rx_ready and self._rx != self._rx_waiting:
            # T.30 wants to hear another modem (its timer ran out): ask the modem anew.
            self._abort_receive(now)
            return True
        if step is not _Step.IDLE:
            return False
        if self._tx_ready and self._tx is not None:
            self._start_tx(self._tx, now)
            return True
        if self._rx_ready and self._rx is not None:
            self._start_rx(self._rx, now)
            return True
        return False

    def _command(self, text: str, now: float, timeout: float | None, reason: str) -> None:
        self._out += text.encode("ascii") + b"\r"
        self._set_deadline(now, timeout, reason)

    def _set_deadline(self, now: float, timeout: float | None, reason: str) -> None:
        self._deadline = None if timeout is None else now + timeout
        self._deadline_reason = reason

    def _start_tx(self, request: _Request, now: float) -> None:
        settings = self.settings
        kind = _Kind.SILENCE if request.modem == _spandsp.T30_MODEM_PAUSE else request.kind
        if self._received_last and settings.silence_before_send and kind is not _Kind.SILENCE:
            self._received_last = False
            self._silence("AT+FRS", settings.silence_before_send, now)
            return
        carrier = _Kind.FRAMES if kind is _Kind.FRAMES else _Kind.IMAGE
        if (
            kind is not _Kind.SILENCE
            and self._last_carrier is not None
            and self._last_carrier is not carrier
            and settings.pause_between_carriers
        ):
            self._last_carrier = None
            self._silence("AT+FTS", settings.pause_between_carriers, now)
            return
        self._received_last = False
        if kind is _Kind.SILENCE:
            self._tx_ready = False
            self._silence("AT+FTS", max(1, round(request.short_train / 10)), now)
            self._pause_for_t30 = True
            return
        self._last_carrier = carrier
        if kind is _Kind.FRAMES:
            self._begin(kind, "AT+FTH=3", now)
        else:
            self._tx_code = request.code
            self._spoil_tcf = False
            if self._tcf_due and not self._can_send(request.code):
                lower = self._lower_code(request.code)
                if lower is not None:
                    _logger.info(
                        "[%s] the modem has no AT+FTM=%d: training at %d to fall back",
                        self.name,
                        request.code,
                        lower,
                    )
                    self._spoil_tcf = True
                    self._tx_code = lower
            self._begin(kind, f"AT+FTM={self._tx_code}", now)

    def _can_send(self, code: int) -> bool:
        """Whether the modem has ``+FTM`` modulation ``code``, as far as the session knows."""
        codes = self.settings.transmit_codes
        return code not in self._refused and (not codes or code in codes)

    def _lower_code(self, code: int) -> int | None:
        """The next lower modulation the modem has, for a spoilt TCF; None if there is none."""
        lower = _LOWER.get(code)
        while lower is not None and not self._can_send(lower):
            lower = _LOWER.get(lower)
        return lower

    def _silence(self, command: str, tens: int, now: float) -> None:
        """``+FTS``/``+FRS`` for ``tens`` x 10 ms, or as long a wait of the session's own
        for a modem without the command (``has_fts``, ``has_frs``)."""
        has = self.settings.has_frs if command == "AT+FRS" else self.settings.has_fts
        if has:
            self._begin(_Kind.SILENCE, f"{command}={tens}", now)
            return
        self._step, self._kind = _Step.PAUSE, _Kind.SILENCE
        self._set_deadline(now, tens / 100, "a pause")

    def _silence_done(self) -> None:
        self._step = _Step.IDLE
        self._deadline = None
        if self._pause_for_t30:
            self._pause_for_t30 = False
            self._to_t30.append(self._send_step_complete)

    def _begin(self, kind: _Kind, command: str, now: float) -> None:
        self._step, self._kind = _Step.COMMAND, kind
        self._command(command, now, self.settings.response_timeout, command)

    def _start_rx(self, request: _Request, now: float) -> None:
        wait = self.settings.silence_before_receive
        if request.kind is not _Kind.FRAMES and wait and not self._rx_silenced:
            self._rx_silenced = True  # T.30 still waits: +FRM follows the silence
            self._silence("AT+FRS", wait, now)
            return
        self._rx_silenced = False
        self._rx_ready = False
        self._rx_waiting = request
        self._kind = request.kind
        self._step = _Step.RX_WAIT
        command = "AT+FRH=3" if request.kind is _Kind.FRAMES else f"AT+FRM={request.code}"
        self._command(command, now, None, command)

    def _abort_receive(self, now: float) -> None:
        self._out += _ABORT
        self._step = _Step.ABORTING
        self._abort_probed = False
        wait = self.settings.response_timeout
        if not self.settings.abort_answered:
            wait = self.settings.abort_wait  # then AT, for a modem that says nothing
        self._set_deadline(now, wait, "an abort")

    def _send_frames(self, now: float) -> bool:
        """Write the next V.21 frame T.30 gave, or finish once it shut HDLC down."""
        if self._frame_ok_due or not self._frames:
            return False
        frame = self._frames.popleft()
        if frame is None:
            # T.30 shut HDLC down; the modem has said OK to the final frame (or none was sent).
            self._finish_tx()
            self._to_t30.append(self._send_step_complete)
            return True
        self._out += stuff(frame) + _DLE_ETX
        if len(frame) >= 3 and frame[2] & 0xFE == _DCS:
            self._tcf_due = True
        self._frame_final = len(frame) >= 2 and bool(frame[1] & _FINAL_BIT)
        self._frame_ok_due = True
        if self._frame_final:
            # The final frame is handed over: T.30 shuts HDLC down and the modem says OK.
            self._to_t30.append(self._send_step_complete)
        self._set_deadline(now, self.settings.drain_timeout, "a V.21 frame")
        return True

    def _finish_tx(self) -> None:
        self._step = _Step.IDLE
        self._tx_ready = False
        self._frame_final = self._frame_ok_due = False
        self._deadline = None

    def _produce_image(self, room: int) -> None:
        """Take the next piece of TCF or image data from T.30 (or ECM frames from the
        framer) and append it stuffed; DLE ETX once it ends."""
        size = max(1, min(IMAGE_CHUNK, room // 2))
        if self._kind is _Kind.ECM:
            produced = self._produce_ecm(size)
        else:
            produced = lib.t30_non_ecm_get_chunk(self._t30, self._chunk, size)
            self._after_c_call()
        if self.done:
            return
        if produced > 0:
            assert self._now is not None
            self._set_deadline(self._now, self.settings.drain_timeout, "while it takes image data")
            data = bytes(ffi.buffer(self._chunk, produced))
            if self._spoil_tcf:
                data = b"\xff" * produced
            if self._kind is _Kind.ECM:
                data = data.translate(_BIT_REVERSED)
            self._out += stuff(data)
        if produced < size:
            self._out += _DLE_ETX
            self._step = _Step.TX_DRAIN
            assert self._now is not None
            self._set_deadline(self._now, self.settings.drain_timeout, "the end of image data")
        if self._to_t30 and self._now is not None:
            self._pump(self._now)

    def _produce_ecm(self, size: int) -> int:
        """Fill the chunk with framed ECM data, in small pieces so that T.30 can queue its
        next frame when the framer runs dry (rather than a chunk of idle flags)."""
        produced = 0
        while produced < size and not self.done:
            want = min(ECM_PIECE, size - produced)
            got = lib.hdlc_tx_get(self._hdlc_tx, self._chunk + produced, want)
            self._after_c_call()
            produced += got
            if got < want:
                break
            if self._to_t30 and self._now is not None:
                self._pump(self._now)
        return produced

    # --- what the modem says ------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        index = 0
        while index < len(data) and not self.done:
            if self._skip_lf:
                # The LF of the CR LF that ended the last line (data may follow CONNECT).
                self._skip_lf = False
                if data[index] == 0x0A:
                    index += 1
                    continue
            if self._data_mode and not self._line_before_frame(data[index]):
                index = self._feed_data(data, index)
                continue
            ends = [p for p in (data.find(b"\r", index), data.find(b"\n", index)) if p >= 0]
            if not ends:
                self._line += data[index:]
                if len(self._line) > MAX_LINE_BYTES:
                    _logger.debug("[%s] dropped %d bytes of garbage", self.name, len(self._line))
                    self._line.clear()
                return
            end = min(ends)
            self._line += data[index:end]
            self._skip_lf = data[end] == 0x0D
            index = end + 1
            line = bytes(self._line[:MAX_LINE_BYTES]).strip()
            self._line.clear()
            if line:
                self._on_line(line.decode("ascii", "replace"))

    def _line_before_frame(self, byte: int) -> bool:
        """Whether a byte where a V.21 frame should begin starts a response line instead:
        spandsp's modem, like some real ones, repeats CONNECT when ``+FRH`` comes while the
        carrier is already up, and a T.30 frame always begins with its address, 0xFF."""
        return (
            self._kind is _Kind.FRAMES
            and not self._rx_frame
            and not self._dle_pending
            and byte not in (_ADDRESS, _DLE)
        )

    def _on_line(self, line: str) -> None:
        if line.upper().startswith("AT"):
            return  # the modem's echo
        now = self._now if self._now is not None else 0.0
        step = self._step
        _logger.debug("[%s] modem: %s (%s)", self.name, line, step.value)
        if line not in _RESULT_CODES:
            _logger.info("[%s] modem said %r while %s: ignored", self.name, line, step.value)
            return
        self.results += 1
        if line == "CONNECT":
            self._on_connect(now)
        elif line == _FRH_ADAPTIVE and step is _Step.RX_WAIT and self._kind is not _Kind.FRAMES:
            self._adaptive_frames()
        elif line == "OK":
            self._on_ok(now)
        else:
            self._on_failure(line, now)

    def _on_connect(self, now: float) -> None:
        step = self._step
        if step is _Step.COMMAND and self._kind is _Kind.FRAMES:
            self._step = _Step.TX_FRAMES
            self._deadline = None
        elif step is _Step.COMMAND and self._kind in (_Kind.IMAGE, _Kind.ECM):
            self._step = _Step.TX_DATA
            self._data_from = now + self.settings.connect_delay
            self._set_deadline(now, self.settings.drain_timeout, "while it takes image data")
            if self._kind is _Kind.ECM:
                self._start_hdlc_tx()
        elif step is _Step.TX_FRAMES and self._frame_ok_due and not self._frame_final:
            self._frame_ok_due = False
            self._deadline = None
            self._to_t30.append(self._send_step_complete)
        elif step in (_Step.RX_WAIT, _Step.ABORTING):
            self._begin_rx_data(now)
        elif step is _Step.RX_DATA:
            pass  # a repeated CONNECT before the frame
        else:
            _logger.info("[%s] unexpected CONNECT while %s", self.name, step.value)

    def _adaptive_frames(self) -> None:
        """``+FRH:3`` during ``+FRM``: the far end sent V.21 (a repeated command, or the
        post-page message), and CONNECT brings its frames. Without ``AT+FAR=1`` the modem
        would have said +FCERROR and waited for ``AT+FRH=3``."""
        if not self.settings.adaptive_receive:
            _logger.info("[%s] +FRH:3 from a modem not told AT+FAR=1: frames follow", self.name)
        self._kind = _Kind.FRAMES

    def _begin_rx_data(self, now: float) -> None:
        aborting = self._step is _Step.ABORTING
        if not aborting:
            self._step = _Step.RX_DATA
        self._data_mode = True
        self._dle_pending = False
        self._rx_frame.clear()
        self._rx_bytes = 0
        self._set_deadline(now, self.settings.data_timeout, "received data")
        if aborting:
            return
        if self._kind is _Kind.FRAMES:
            self._to_t30.append(self._carrier_up_frames)
        elif self._kind is _Kind.IMAGE:
            self._to_t30.append(self._training_succeeded_image)
        else:
            self._start_hdlc_rx()
            self._to_t30.append(self._training_succeeded_ecm)

    def _training_succeeded_image(self) -> None:
        lib.t30_non_ecm_put_bit(self._t30, _spandsp.SIG_STATUS_CARRIER_UP)
        lib.t30_non_ecm_put_bit(self._t30, _spandsp.SIG_STATUS_TRAINING_SUCCEEDED)

    def _training_succeeded_ecm(self) -> None:
        lib.t30_hdlc_accept(self._t30, ffi.NULL, _spandsp.SIG_STATUS_CARRIER_UP, 1)
        lib.t30_hdlc_accept(self._t30, ffi.NULL, _spandsp.SIG_STATUS_TRAINING_SUCCEEDED, 1)

    def _carrier_down_image(self) -> None:
        lib.t30_non_ecm_put_bit(self._t30, _spandsp.SIG_STATUS_CARRIER_DOWN)

    def _on_ok(self, now: float) -> None:
        step = self._step
        if step is _Step.COMMAND and self._kind is _Kind.SILENCE:
            self._silence_done()
        elif step is _Step.TX_FRAMES and self._frame_ok_due and self._frame_final:
            self._frame_ok_due = False
            self._deadline = None
        elif step is _Step.TX_DRAIN:
            self._finish_tx()
            self._free_hdlc()
            self._to_t30.append(self._send_step_complete)
        elif step is _Step.RX_RESULT:
            self._end_rx(ok=True)
        elif step is _Step.RX_DATA:
            self._lost_carrier_before_frame()
        elif step is _Step.ABORTING:
            self._step = _Step.IDLE
            self._data_mode = False
            self._deadline = None
        else:
            _logger.info("[%s] unexpected OK while %s", self.name, step.value)

    def _on_failure(self, line: str, now: float) -> None:
        step = self._step
        if step is _Step.ABORTING:
            self._step = _Step.IDLE
            self._data_mode = False
            self._deadline = None
        elif step is _Step.RX_RESULT:
            self._end_rx(ok=False)
        elif step is _Step.RX_DATA:
            self._lost_carrier_before_frame()
        elif step is _Step.RX_WAIT and line == "+FCERROR":
            # The far end sent V.21 where image data was expected: read its frames.
            self._kind = _Kind.FRAMES
            self._command("AT+FRH=3", now, None, "AT+FRH=3 after +FCERROR")
        elif step is _Step.RX_WAIT and line == "NO CARRIER":
            self._step = _Step.IDLE
            self._rx_ready = True
            self._deadline = None
        elif step is _Step.RX_WAIT and self._kind is not _Kind.FRAMES:
            # The modem cannot receive this modulation: T.30 sees no training and answers FTT.
            _logger.warning("[%s] modem refused to receive: %s", self.name, line)
            self._step = _Step.IDLE
            self._deadline = None
            self._to_t30.append(
                self._carrier_down_image if self._kind is _Kind.IMAGE else self._carrier_down_frames
            )
        elif step is _Step.COMMAND and self._kind is _Kind.IMAGE and self._refuse_tcf(line, now):
            return
        else:
            self._fail(f"the modem said {line} while {step.value}")

    def _lost_carrier_before_frame(self) -> None:
        """A result where a V.21 frame should begin (only lines reach here then): the
        carrier went before a frame; T.30 hears it and the modem is asked again."""
        self._step = _Step.IDLE
        self._data_mode = False
        self._deadline = None
        self._rx_ready = self._rx is not None
        self._to_t30.append(self._carrier_down_frames)

    def _refuse_tcf(self, line: str, now: float) -> bool:
        """``+FTM`` for TCF answered ERROR: the modem cannot send at that modulation. TCF
        goes at the next lower one instead, and spoilt (ones, not zeros), so the far end
        answers FTT and T.30 steps down to a rate the modem has."""
        if not self._tcf_due:
            return False  # a page: T.30 has no way to retrain before it, the call ends
        self._refused.add(self._tx_code)
        lower = self._lower_code(self._tx_code)
        if lower is None:
            return False
        _logger.warning(
            "[%s] the modem answered %s to AT+FTM=%d: training at %d to fall back",
            self.name,
            line,
            self._tx_code,
            lower,
        )
        self._spoil_tcf = True
        self._tx_code = lower
        self._begin(_Kind.IMAGE, f"AT+FTM={lower}", now)
        return True

    def _feed_data(self, data: bytes, index: int) -> int:
        """Unstuff received data from ``index`` up to DLE ETX; returns where it stopped."""
        payload = bytearray()
        end = len(data)
        ended = False
        while index < end:
            if self._dle_pending:
                self._dle_pending = False
                byte = data[index]
                index += 1
                if byte == _ETX:
                    ended = True
                    break
                if byte == _DLE:
                    payload.append(_DLE)
                elif byte == _SUB:
                    payload += b"\x10\x10"
                elif not self.settings.doubles_dle and self._kind is _Kind.FRAMES:
                    payload += bytes((_DLE, byte))  # the modem's single DLE was data
                continue
            found = data.find(b"\x10", index)
            if found < 0:
                payload += data[index:]
                index = end
                break
            payload += data[index:found]
            index = found + 1
            self._dle_pending = True
        if payload:
            self._deliver(payload)
        if ended and not self.done:
            self._data_mode = False
            if self._step is _Step.RX_DATA:
                self._step = _Step.RX_RESULT
                assert self._now is not None
                self._set_deadline(self._now, self.settings.response_timeout, "a result")
        elif not ended and self._now is not None and self._step is _Step.RX_DATA:
            self._set_deadline(self._now, self.settings.data_timeout, "received data")
        return index

    def _deliver(self, payload: bytearray) -> None:
        if self._step is _Step.ABORTING:
            return
        self._rx_bytes += len(payload)
        if self._kind is _Kind.FRAMES:
            self._rx_frame += payload
            if len(self._rx_frame) > MAX_FRAME_BYTES:
                self._data_lost(f"a V.21 frame over {MAX_FRAME_BYTES} bytes (DLE ETX lost?)")
            elif self._rx_frame.endswith(_FRAME_RESULTS):
                self._frame_end_lost()
            return
        if self._rx_bytes > MAX_IMAGE_BYTES:
            self._data_lost(f"image data over {MAX_IMAGE_BYTES} bytes in one +FRM")
            return
        if self._kind is _Kind.IMAGE:
            lib.t30_non_ecm_put_chunk(self._t30, bytes(payload), len(payload))
        else:
            lib.hdlc_rx_put(self._hdlc_rx, bytes(payload.translate(_BIT_REVERSED)), len(payload))
        self._after_c_call()

    def _frame_end_lost(self) -> None:
        """A V.21 frame followed by the modem's result line without the DLE ETX between
        them: the modem lost it and waits in command mode. The frame is taken as bad at
        once (T.30 waits for its repeat and the modem is asked for the next frame), not
        after a silence: by then T.30 would have ended the call for a frame lasting too
        long."""
        _logger.warning("[%s] a V.21 frame ended without DLE ETX: taken as bad", self.name)
        for result in _FRAME_RESULTS:
            if self._rx_frame.endswith(result):
                del self._rx_frame[-len(result) :]
        self._data_mode = False
        self._dle_pending = False
        self._end_rx(ok=False)

    def _data_lost(self, reason: str) -> None:
        """The modem's data never ended: drop what came, abort, and tell T.30 the carrier
        went (it asks again or ends by its own timers)."""
        _logger.warning("[%s] %s: aborting the receive", self.name, reason)
        self._rx_frame.clear()
        kind = self._kind
        assert self._now is not None
        self._abort_receive(self._now)
        self._data_mode = False
        self._to_t30.append(
            self._carrier_down_image if kind is _Kind.IMAGE else self._carrier_down_frames
        )
        self._rx_ready = self._rx is not None  # T.30 still listens

    def _end_rx(self, *, ok: bool) -> None:
        """The modem's result after DLE ETX: hand the frame to T.30, or end the carrier."""
        self._tcf_due = False
        self._step = _Step.IDLE
        self._deadline = None
        self._received_last = True
        if self._kind is _Kind.FRAMES:
            fcs = _FCS_LENGTH if self.settings.fcs_in_frames else 0
            frame = bytes(self._rx_frame[: len(self._rx_frame) - fcs])
            self._rx_frame.clear()
            final = len(frame) >= 2 and bool(frame[1] & _FINAL_BIT)
            if len(frame) >= 3:
                self._to_t30.append(lambda: self._accept_frame(frame, ok))
            if ok and final:
                self._rx_ready = False
                self._to_t30.append(self._carrier_down_frames)
            else:
                self._rx_ready = True  # more frames, or a repeat of a bad one
        elif self._kind is _Kind.IMAGE:
            self._to_t30.append(self._carrier_down_image)
        else:
            self._to_t30.append(self._carrier_down_frames)
            self._to_t30.append(self._free_hdlc)

    def _start_hdlc_tx(self) -> None:
        self._free_hdlc()
        self._hdlc_tx = lib.hdlc_tx_init(ffi.NULL, 0, 1, 0, self._underflow, ffi.NULL)
        if self._hdlc_tx == ffi.NULL:
            raise EngineError("spandsp could not create an HDLC framer (hdlc_tx_init failed)")
        assert self._tx is not None
        lib.hdlc_tx_flags(self._hdlc_tx, self._tx.bit_rate // (8 * 5))
        frames = list(self._frames)
        self._frames.clear()
        for frame in frames:
            if frame is None:
                lib.hdlc_tx_frame(self._hdlc_tx, ffi.NULL, 0)
            else:
                lib.hdlc_tx_frame(self._hdlc_tx, frame, len(frame))

    def _start_hdlc_rx(self) -> None:
        self._free_hdlc()
        accept = ffi.addressof(lib, "t30_hdlc_accept")
        self._hdlc_rx = lib.hdlc_rx_init(ffi.NULL, 0, 1, 5, accept, self._t30)
        if self._hdlc_rx == ffi.NULL:
            raise EngineError("spandsp could not create an HDLC deframer (hdlc_rx_init failed)")

    # --- time and faults ----------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Move the session's clock to ``now``; T.30's timers run on the line time passed."""
        if self._now is None:
            self._now = now
            return
        elapsed = now - self._now
        if elapsed <= 0:
            return
        self._now = now
        exact = elapsed * SAMPLE_RATE + self._sample_remainder
        samples = int(exact)
        self._sample_remainder = exact - samples
        if samples <= 0:
            return
        self.samples += samples
        if self._handle == ffi.NULL:
            return
        lib.t30_timer_update(self._t30, samples)
        self._after_c_call()
        if self._image_since is not None and self.samples >= self._progress_at:
            self._report_progress()
        if self._to_t30 and not self.done:
            self._pump(now)

    def _missed_deadline(self) -> None:
        """The modem kept quiet past a deadline. In received data or a receive's result the
        end was lost (DLE ETX, OK): T.30 is told the carrier went and asks again or ends by
        its own timers. An abort may meet a modem already back in command mode, which says
        nothing. Anything else is a modem that stopped answering."""
        step = self._step
        self._deadline = None
        if step is _Step.RX_DATA:
            self._data_lost(f"no data from the modem for {self.settings.data_timeout} s")
        elif step is _Step.RX_RESULT:
            _logger.warning("[%s] no result after received data: taken as bad", self.name)
            self._end_rx(ok=False)
        elif step is _Step.PAUSE:
            self._silence_done()
        elif step is _Step.ABORTING and not self.settings.abort_answered and not self._abort_probed:
            # The modem does not answer an abort: drop what it said, ask it for an OK.
            assert self._now is not None
            self._abort_probed = True
            self._line.clear()
            self._data_mode = False
            self._command("AT", self._now, self.settings.response_timeout, "AT after an abort")
        elif step is _Step.ABORTING:
            self._step = _Step.IDLE
            self._data_mode = False
        else:
            self._fail(f"the modem did not answer {self._deadline_reason}")

    def _fail(self, reason: str) -> None:
        """The modem misbehaved beyond recovery: end T.30 as a dropped line."""
        _logger.warning("[%s] %s: ending the call", self.name, reason)
        self._deadline = None
        self._step = _Step.IDLE
        self._to_t30.clear()
        self.hangup()
