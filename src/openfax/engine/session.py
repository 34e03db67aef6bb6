"""Fax sessions: one T.30 end each, over audio samples or T.38 IFP packets, without I/O.

A session never reads a clock or a socket: time advances only with the samples fed to it
(``rx``) or the ticks given to it (``advance``). What it has to say comes out as events
(``pop_events``) and as audio or packets for the caller to carry.

spandsp calls back into Python from inside ``fax_rx``, ``fax_tx`` and
``t38_terminal_send_timeout``. Each callback copies what it needs at once and queues an
event; an exception raised in one is kept and raised again when the C call returns, so none
crosses into C. The C object is freed only between C calls, which also completes the
receive TIFF.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openfax.closing import Closeable
from openfax.engine import _spandsp
from openfax.engine._callbacks import Callbacks
from openfax.engine._pcm import PcmSource, int16_target, pad_with_silence
from openfax.engine._spandsp import ffi, lib
from openfax.engine.completion import CompletionCode
from openfax.engine.events import (
    Completed,
    Direction,
    Event,
    FrameExchanged,
    Negotiated,
    PageProgress,
    PageReceived,
    PageSent,
    TransferStatistics,
)
from openfax.engine.frames import DcsSettings, decode_dcs, fcf_of, frame_name
from openfax.engine.params import Role, SessionOptions
from openfax.errors import EngineError, FaxFileError
from openfax.file_head import read_head

SAMPLE_RATE = 8000
"""Samples per second of the line: 8 kHz, 16-bit signed, mono."""

PAGE_PROGRESS_SECONDS = 0.5
"""Line seconds between two :class:`PageProgress` events of a page going out."""
_PROGRESS_SAMPLES = int(PAGE_PROGRESS_SECONDS * SAMPLE_RATE)

DEFAULT_T38_IDLE_TIMEOUT = 30.0
"""Line seconds without a T.38 packet either way after which a session hangs up."""

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_CFR = 0x84
_PPS = 0xBE
_POST_PAGE_COMMANDS = {0x4E, 0x2E, 0x8E}
"""MPS, EOP and EOM: the commands that end a page and ask the receiver to confirm it."""
_PAGE_RESPONSES = {0x8C: "MCF", 0xCC: "RTP", 0x4C: "RTN", 0xAC: "PIP", 0x2C: "PIN"}
_PAGE_CONFIRMED = {"MCF", "RTP", "PIP"}
_NEXT_PAGE_COMMANDS = {0x4E, 0x8E}
"""MPS and EOM: another page follows once this one is confirmed."""
_IMAGE_FRAMES = {0x06, 0x86}
"""ECM image data (FCD) and its end marker (RCP): page content, not part of the transcript."""

_logger = logging.getLogger(__name__)


def _ends_page(fcf: int, frame: bytes) -> bool:
    """Whether a frame we sent asks the receiver to confirm a whole page.

    In ECM a page goes in blocks: PPS carries the post-page command as its first FIF byte,
    and a PPS-NULL (end of a block inside a page) is answered with MCF too.
    """
    if fcf == _PPS:
        return len(frame) > 3 and (frame[3] & 0xFE) in _POST_PAGE_COMMANDS
    return fcf in _POST_PAGE_COMMANDS


def _check_tx_file(path: Path) -> None:
    """Refuse a TIFF to send that spandsp could not open, with the reason, before the call."""
    magic = read_head(path, 4, "a TIFF file", FaxFileError)
    if not magic:
        raise FaxFileError(path, "is empty")
    if magic not in _TIFF_MAGIC:
        raise FaxFileError(path, "is not a TIFF file")


def _check_rx_file(path: Path) -> None:
    """Refuse a receive path whose folder is missing or not writable."""
    folder = path.parent
    if not folder.is_dir():
        raise FaxFileError(path, f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise FaxFileError(path, f"folder {folder} is not writable")


class FaxSession(Closeable):
    """What audio and T.38 sessions share: T.30 set-up, callbacks, events and the result.

    Exactly one of ``send_file`` (a TIFF Class F to send) and ``receive_file`` (where to
    write what arrives) is given.
    """

    def __init__(
        self,
        role: Role,
        options: SessionOptions | None = None,
        *,
        send_file: str | Path | None = None,
        receive_file: str | Path | None = None,
        name: str = "",
    ) -> None:
        if (send_file is None) == (receive_file is None):
            raise EngineError("a fax session needs exactly one of send_file and receive_file")
        self.role = role
        self.options = options or SessionOptions()
        self.name = name or role.name.lower()
        self.send_file = None if send_file is None else Path(send_file)
        self.receive_file = None if receive_file is None else Path(receive_file)
        if self.send_file is not None:
            _check_tx_file(self.send_file)
        if self.receive_file is not None:
            _check_rx_file(self.receive_file)
        self.samples = 0
        self.result: Completed | None = None
        self._events: list[Event] = []
        self._callbacks = Callbacks()
        self._completion: CompletionCode | None = None
        self._pages_confirmed = 0
        self._negotiated: Negotiated | None = None
        self._pending_dcs: DcsSettings | None = None
        self._page_end_pending = False
        self._image_since: int | None = None
        """The sample count when this end began sending the current page's image (or its
        next ECM block), None while it sends none."""
        self._image_samples = 0
        """Samples spent sending the current page's image before ``_image_since``."""
        self._next_page_after_response = False
        """A page response starts the next page's image (after MPS or EOM)."""
        self._block_after_response = False
        """A page response starts the next ECM block of the same page (after PPS-NULL)."""
        self._progress_at = 0
        self._last_progress: PageProgress | None = None
        self._final_statistics: TransferStatistics | None = None
        self._t30: Any = ffi.NULL
        self._handle: Any = ffi.NULL
        self._open()

    # --- public state -------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once phase E has run and the session's files are complete."""
        return self.result is not None

    @property
    def line_seconds(self) -> float:
        """How much line time the session has seen, from the samples or ticks fed to it."""
        return self.samples / SAMPLE_RATE

    def pop_events(self) -> list[Event]:
        """The events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def hangup(self) -> None:
        """The call is gone (far end hung up, line dropped, local cancel): end T.30 now.

        A session not yet finished completes with the call-dropped result and the pages
        done so far.
        """
        if self._handle != ffi.NULL:
            lib.t30_terminate(self._t30)
            self._after_c_call()

    def close(self) -> None:
        """Free the C object; a session still running ends as if the line had dropped."""
        self.hangup()
        self._free()

    def __del__(self) -> None:
        if getattr(self, "_handle", ffi.NULL) != ffi.NULL:
            self._free()

    # --- set-up -------------------------------------------------------------------------

    def _setup_t30(self, t30: Any) -> None:
        """Configure the T.30 engine of a freshly created C object."""
        self._t30 = t30
        opts = self.options
        if opts.ident:
            lib.t30_set_tx_ident(t30, opts.ident.encode("ascii"))
        if opts.header_text:
            lib.t30_set_tx_page_header_info(t30, opts.header_text.encode("ascii", "replace"))
        lib.t30_set_ecm_capability(t30, int(opts.ecm))
        lib.t30_set_supported_modems(t30, int(opts.modems))
        lib.t30_set_supported_compressions(t30, int(opts.compressions))
        lib.t30_set_supported_resolutions(t30, int(opts.resolutions))
        if self.send_file is not None:
            lib.t30_set_tx_file(t30, os.fsencode(self.send_file), -1, -1)
        else:
            assert self.receive_file is not None
            lib.t30_set_rx_file(t30, os.fsencode(self.receive_file), -1)
        keep = self._callbacks.keep
        lib.t30_set_phase_d_handler(
            t30, keep("t30_phase_d_handler_t *", self._on_phase_d, 0), ffi.NULL
        )
        lib.t30_set_phase_e_handler(
            t30, keep("t30_phase_e_handler_t *", self._on_phase_e, None), ffi.NULL
        )
        lib.t30_set_real_time_frame_handler(
            t30, keep("t30_real_time_frame_handler_t *", self._on_frame, None), ffi.NULL
        )
        self._route_log(lib.t30_get_logging_state(t30))

    def _route_log(self, logging_state: Any) -> None:
        """Send one of spandsp's logging states to Python logging under the session's name."""
        self._callbacks.route_log(logging_state, self.name)

    # --- callbacks from C ---------------------------------------------------------------

    def _guard(self, func: Callable[[], None]) -> None:
        """Run callback work; keep an exception for re-raising once C has returned."""
        self._callbacks.guard(func)

    def _on_frame(self, t30: Any, user_data: Any, incoming: int, msg: Any, length: int) -> None:
        if length >= 3 and (msg[2] & 0xFE) in _IMAGE_FRAMES:
            return
        frame = bytes(ffi.buffer(msg, length))
        self._guard(lambda: self._record_frame(bool(incoming), frame))

    def _record_frame(self, incoming: bool, frame: bytes) -> None:
        fcf = fcf_of(frame)
        direction = Direction.RECEIVED if incoming else Direction.SENT
        self._events.append(FrameExchanged(direction, frame_name(frame), frame))
        dcs = decode_dcs(frame)
        if dcs is not None:
            self._pending_dcs = dcs
        if fcf == _CFR:
            self._report_negotiated()
        if self.send_file is None:
            return
        if fcf == _CFR:
            self._start_image(new_page=True)
        elif not incoming:
            self._page_end_pending = _ends_page(fcf, frame)
            if fcf in _POST_PAGE_COMMANDS or fcf == _PPS:
                self._end_image(fcf, frame)
        elif fcf in _PAGE_RESPONSES:
            # After RTN or RTP the sender trains again first; the CFR starts the image then.
            if _PAGE_RESPONSES[fcf] == "MCF" and (
                self._next_page_after_response or self._block_after_response
            ):
                self._start_image(new_page=self._next_page_after_response)
            if self._page_end_pending:
                self._page_end_pending = False
                self._report_page_sent(_PAGE_RESPONSES[fcf])

    def _start_image(self, *, new_page: bool) -> None:
        """This end begins sending a page's image: a new page (after CFR, or after the
        response to MPS or EOM) or the next ECM block of the same page."""
        self._next_page_after_response = self._block_after_response = False
        if new_page:
            self._image_samples = 0
        self._image_since = self.samples
        self._progress_at = self.samples + _PROGRESS_SAMPLES

    def _end_image(self, fcf: int, frame: bytes) -> None:
        """This end has sent a post-page command (MPS, EOP, EOM or PPS): the image before it
        is on the line; the response starts the next page or block, if one follows."""
        if self._image_since is None:
            return
        self._image_samples += self.samples - self._image_since
        self._image_since = None
        command = frame[3] & 0xFE if fcf == _PPS and len(frame) > 3 else fcf
        self._block_after_response = fcf == _PPS and command == 0
        self._next_page_after_response = command in _NEXT_PAGE_COMMANDS
        self._report_progress(whole=command != 0)

    def _report_progress(self, *, whole: bool = False) -> None:
        """A :class:`PageProgress` of the page going out (``whole``: all of it has gone)."""
        negotiated = self._negotiated
        if negotiated is None or self._t30 == ffi.NULL:
            return
        samples = self._image_samples
        if self._image_since is not None:
            samples += self.samples - self._image_since
            self._progress_at = self.samples + _PROGRESS_SAMPLES
        size = self._statistics().image_size
        sent = size if whole else min(size, samples * negotiated.bit_rate // (8 * SAMPLE_RATE))
        progress = PageProgress(self._pages_confirmed + 1, sent, size, negotiated.bit_rate)
        if progress != self._last_progress:
            self._last_progress = progress
            self._events.append(progress)

    def _report_negotiated(self) -> None:
        dcs = self._pending_dcs
        if dcs is None:
            return
        raw_ident = lib.t30_get_rx_ident(self._t30)
        remote = "" if raw_ident == ffi.NULL else ffi.string(raw_ident).decode("ascii", "replace")
        negotiated = Negotiated(
            dcs.modem, dcs.bit_rate, dcs.ecm, dcs.compression, dcs.resolution, remote.strip()
        )
        if negotiated != self._negotiated:
            self._negotiated = negotiated
            self._events.append(negotiated)

    def _report_page_sent(self, response: str) -> None:
        confirmed = response in _PAGE_CONFIRMED
        number = self._pages_confirmed + 1
        if confirmed:
            self._pages_confirmed = number
        self._events.append(PageSent(number, confirmed, response))

    def _on_phase_d(self, t30: Any, user_data: Any, result: int) -> int:
        if self.receive_file is not None:
            self._guard(self._report_page_received)
        return 0

    def _report_page_received(self) -> None:
        stats = self._statistics()
        if stats.pages_received <= self._pages_confirmed:
            return
        self._pages_confirmed = stats.pages_received
        self._events.append(
            PageReceived(
                stats.pages_received,
                stats.bad_rows,
                stats.longest_bad_row_run,
                stats.width,
                stats.length,
                stats.x_resolution,
                stats.y_resolution,
            )
        )

    def _on_phase_e(self, t30: Any, user_data: Any, completion_code: int) -> None:
        def record() -> None:
            try:
                self._completion = CompletionCode(completion_code)
            except ValueError:
                _logger.error("[%s] unknown T.30 completion code %d", self.name, completion_code)
                self._completion = CompletionCode.UNEXPECTED
            self._final_statistics = self._statistics()

        self._guard(record)

    # --- after each C call --------------------------------------------------------------

    def _statistics(self) -> TransferStatistics:
        raw = ffi.new("t30_stats_t *")
        lib.t30_get_transfer_statistics(self._t30, raw)
        return TransferStatistics(
            bit_rate=raw.bit_rate,
            ecm=bool(raw.error_correcting_mode),
            pages_sent=raw.pages_tx,
            pages_received=raw.pages_rx,
            pages_in_file=raw.pages_in_file,
            x_resolution=raw.x_resolution,
            y_resolution=raw.y_resolution,
            width=raw.width,
            length=raw.length,
            image_size=raw.image_size,
            encoding=raw.encoding,
            bad_rows=raw.bad_rows,
            longest_bad_row_run=raw.longest_bad_row_run,
            ecm_retries=raw.error_correcting_mode_retries,
        )

    def _after_c_call(self) -> None:
        """Raise a callback's exception, and finish the session once phase E has run."""
        error = self._callbacks.take_error()
        if self._completion is not None and self.result is None:
            assert self._final_statistics is not None
            self._free()
            self.result = Completed(self._completion, self._pages_confirmed, self._final_statistics)
            self._events.append(self.result)
        if error is not None:
            raise error

    def _free(self) -> None:
        if self._handle != ffi.NULL:
            handle, self._handle, self._t30 = self._handle, ffi.NULL, ffi.NULL
            self._free_handle(handle)

    def _open(self) -> None:
        """Make this kind of session's spandsp object (``_handle``) and set T.30 up on it."""
        raise NotImplementedError

    def _free_handle(self, handle: Any) -> None:
        raise NotImplementedError


class AudioSession(FaxSession, PcmSource):
    """A T.30 end over G.711-style audio: 16-bit signed native-endian PCM at 8 kHz, mono."""

    def _open(self) -> None:
        handle = lib.fax_init(ffi.NULL, self.role.value)
        if handle == ffi.NULL:
            raise EngineError("spandsp could not create a fax session (fax_init failed)")
        self._handle = handle
        lib.fax_set_transmit_on_idle(handle, 1)
        self._route_log(lib.fax_get_logging_state(handle))
        self._setup_t30(lib.fax_get_t30_state(handle))

    def rx(self, pcm: bytes | bytearray | memoryview) -> None:
        """Feed audio heard from the line; this is also what advances the session's timers."""
        self.rx_from(ffi.from_buffer("int16_t[]", pcm), len(pcm) // 2)

    def rx_from(self, buffer: Any, n_samples: int) -> None:
        """Like ``rx`` from a cffi ``int16_t[]``, without a conversion: the hot path of a
        back-to-back link."""
        self.samples += n_samples
        if self._handle == ffi.NULL or n_samples == 0:
            return
        lib.fax_rx(self._handle, buffer, n_samples)
        if self._callbacks.error is not None or self._completion is not None:
            self._after_c_call()
        if self._image_since is not None and self.samples >= self._progress_at:
            self._report_progress()

    def tx_into(self, buffer: Any, n_samples: int) -> int:
        target = int16_target(buffer)
        if self._handle == ffi.NULL:
            pad_with_silence(target, 0, n_samples)
            return n_samples
        pad_with_silence(target, lib.fax_tx(self._handle, target, n_samples), n_samples)
        if self._callbacks.error is not None or self._completion is not None:
            self._after_c_call()
        return n_samples

    def _free_handle(self, handle: Any) -> None:
        lib.fax_free(handle)


@dataclass(frozen=True)
class IfpPacket:
    """One T.38 IFP packet to send: ``count`` copies are wanted (spandsp's indicator redundancy)."""

    seq_no: int
    data: bytes
    count: int


class T38Session(FaxSession):
    """A T.30 end over T.38: IFP packets in and out, timers driven by ``advance``.

    ``paced`` makes spandsp space packets as a real line would (needed toward real gateways);
    unpaced sends each packet as soon as it exists, for transfers as fast as the CPU allows.

    ``idle_timeout`` is a watchdog: once the far end has been heard, a session that neither
    sends nor receives a packet for that many line seconds hangs up. spandsp 0.0.6 needs it:
    its ECM receiver stops every timer after a transfer breaks off mid-page and would wait
    forever. No T.30 exchange is quiet both ways for that long (T1 is 35 s).
    """

    def __init__(
        self,
        role: Role,
        options: SessionOptions | None = None,
        *,
        send_file: str | Path | None = None,
        receive_file: str | Path | None = None,
        paced: bool = True,
        t38_version: int = 0,
        idle_timeout: float = DEFAULT_T38_IDLE_TIMEOUT,
        name: str = "",
    ) -> None:
        self.paced = paced
        self._t38_version = t38_version
        self._idle_limit = int(idle_timeout * SAMPLE_RATE)
        self._heard_far_end = False
        self._last_traffic = 0
        self._tx_seq_no = 0
        self._outgoing: list[IfpPacket] = []
        super().__init__(role, options, send_file=send_file, receive_file=receive_file, name=name)

    def _open(self) -> None:
        packet_handler = self._callbacks.keep("t38_tx_packet_handler_t *", self._on_packet, -1)
        handle = lib.t38_terminal_init(ffi.NULL, self.role.value, packet_handler, ffi.NULL)
        if handle == ffi.NULL:
            raise EngineError("spandsp could not create a T.38 session (t38_terminal_init failed)")
        self._handle = handle
        if not self.paced:
            lib.t38_terminal_set_config(handle, _spandsp.T38_TERMINAL_OPTION_NO_PACING)
        self._core = lib.t38_terminal_get_t38_core_state(handle)
        lib.t38_set_t38_version(self._core, self._t38_version)
        self._route_log(lib.t38_terminal_get_logging_state(handle))
        self._route_log(lib.t38_core_get_logging_state(self._core))
        self._setup_t30(lib.t38_terminal_get_t30_state(handle))

    def _on_packet(self, core: Any, user_data: Any, buf: Any, length: int, count: int) -> int:
        packet = IfpPacket(self._tx_seq_no, bytes(ffi.buffer(buf, length)), count)
        self._tx_seq_no = (self._tx_seq_no + 1) & 0xFFFF
        self._outgoing.append(packet)
        self._last_traffic = self.samples
        return 0

    def receive(self, data: bytes, seq_no: int) -> None:
        """Feed one IFP packet from the far end, with its sequence number (0-65535)."""
        if self._handle == ffi.NULL:
            return
        if not 0 <= seq_no <= 0xFFFF:
            raise ValueError(f"IFP sequence number {seq_no} is outside 0..65535")
        self._heard_far_end = True
        self._last_traffic = self.samples
        lib.t38_core_rx_ifp_packet(self._core, data, len(data), seq_no)
        self._after_c_call()

    def advance(self, n_samples: int) -> None:
        """Let ``n_samples`` (at 8 kHz) of time pass: timers run and packets may be produced."""
        self.samples += n_samples
        if self._handle == ffi.NULL:
            return
        lib.t38_terminal_send_timeout(self._handle, n_samples)
        self._after_c_call()
        if self._image_since is not None and self.samples >= self._progress_at:
            self._report_progress()
        if self._heard_far_end and self.samples - self._last_traffic > self._idle_limit:
            _logger.warning(
                "[%s] no T.38 packet either way for %.0f s: hanging up",
                self.name,
                self._idle_limit / SAMPLE_RATE,
            )
            self.hangup()

    def packets_to_send(self) -> list[IfpPacket]:
        """The IFP packets produced since the last call, in sequence order."""
        packets, self._outgoing = self._outgoing, []
        return packets

    def _free_handle(self, handle: Any) -> None:
        lib.t38_terminal_free(handle)
