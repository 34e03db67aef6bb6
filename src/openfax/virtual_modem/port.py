"""One virtual modem on its port: a T.31 modem served to the DTE on a pty, tick by tick.

Both the bridge (a modem whose line is an OpenFax session) and the pair (two modems whose
lines meet) serve the DTE the same way each 20 ms tick: read what it wrote, as far as the
modem's CTS allows, feed it to the modem, and write back what the modem says. Where the
modem's line goes is theirs: :meth:`ModemPort.send_block` takes the block the modem sends,
:meth:`ModemPort.hear` gives it the block heard from the line.
"""

from __future__ import annotations

from typing import Any

from openfax.closing import Closeable
from openfax.engine._spandsp import ffi
from openfax.engine.t31 import ModemEvent, T31Modem
from openfax.virtual_modem.pty_line import PtyLine

BLOCK_SAMPLES = 160
"""20 ms of audio: one tick of a virtual line."""

READ_PER_TICK = 1024
"""At most this many bytes are read from the DTE per tick: several ticks' worth at 14400 bit/s
and 4x speed, while the modem's own buffer sets the real limit through CTS."""

SILENCE = bytes(2 * BLOCK_SAMPLES)
"""One block of a quiet line."""


class ModemPort(Closeable):
    """A :class:`T31Modem` named ``name`` served on ``line`` (the line stays the caller's).

    Each tick: :meth:`serve_dte`, then handle :meth:`pop_events`, move the line's audio with
    :meth:`send_block` and :meth:`hear`, and :meth:`answer_dte`. ``dte_seen`` says whether a
    DTE has had the port open, ``last_dte_input`` when it last wrote (line seconds).
    """

    def __init__(self, line: PtyLine, *, name: str) -> None:
        self.line = line
        self.modem = T31Modem(name=name)
        self.dte_seen = False
        self.last_dte_input = 0.0
        self._from_dte = b""
        self._out: Any = ffi.new("int16_t[]", BLOCK_SAMPLES)
        self.sent = memoryview(ffi.buffer(self._out))
        """The block the modem sent on the line at the last :meth:`exchange`."""

    @property
    def name(self) -> str:
        return self.modem.name

    @property
    def line_seconds(self) -> float:
        """Line time the modem has seen."""
        return self.modem.line_seconds

    @property
    def closed(self) -> bool:
        return self.modem.closed

    def serve_dte(self) -> None:
        """Give the modem what the DTE wrote, as far as CTS allows (at most
        ``READ_PER_TICK`` bytes are held back meanwhile), and update ``line.dte_attached``."""
        if self.modem.clear_to_send and not self._from_dte:
            self._from_dte = self.line.read(READ_PER_TICK)
        if self.line.dte_attached:
            self.dte_seen = True
        else:
            self._from_dte = b""
        if self._from_dte and self.modem.clear_to_send:
            self.last_dte_input = self.line_seconds
            taken = self.modem.at_rx(self._from_dte)
            self._from_dte = self._from_dte[taken:]
        self.line.flush()

    def pop_events(self) -> list[ModemEvent]:
        """What the DTE asked of the line since the last call (dial, answer, hang up...)."""
        return self.modem.pop_events()

    def send_block(self) -> memoryview:
        """Run the modem's transmitter for one block; returns it (``sent``)."""
        self.modem.tx_into(self._out, BLOCK_SAMPLES)
        return self.sent

    def hear(self, block: bytes | bytearray | memoryview) -> None:
        """Give the modem one block heard from the line (silence while no call is up)."""
        self.modem.rx(block)

    def answer_dte(self) -> None:
        """Write what the modem said to the DTE."""
        self.line.write(self.modem.data_to_send())

    def close(self) -> None:
        """Free the modem; the line is left open."""
        self.modem.close()
