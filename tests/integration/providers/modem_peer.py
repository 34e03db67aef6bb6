"""A modem for the modem provider's tests: spandsp's T.31 modem served on a pty, with the line
side scripted (what a dial meets, rings on demand, a modem that falls silent), in a thread
of the test so that a daemon in another process can use it as well as the test's own loop.

It is the project's virtual modem (:class:`~openfax.virtual_modem.PtyLine` and
:class:`~openfax.engine.t31.T31Modem`) without a far end: only call set-up. A dial that
should connect uses :class:`~openfax.virtual_modem.ModemBridge` instead.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from openfax.engine.t31 import CallEvent, Dial, HangUp, T31Modem
from openfax.virtual_modem import PtyLine

TICK = 0.005


class ScriptedModem:
    """A T.31 modem on a pty at ``link`` whose dials meet ``on_dial`` (BUSY, NO_ANSWER...)
    after ``dial_delay`` seconds. ``silent`` makes it ignore every command, ``deaf_to_ath``
    only ATH (as a wedged modem would)."""

    def __init__(
        self, link: Path, *, on_dial: CallEvent = CallEvent.BUSY, dial_delay: float = 0.2
    ) -> None:
        self.link = link
        self.on_dial = on_dial
        self.dial_delay = dial_delay
        self.silent = False
        self.deaf_to_ath = False
        self.answer_with = b""
        """What the modem says to ATA instead of answering, like a real modem's adaptive
        answer meeting a data caller (``DATA``, ``CONNECT 33600``); empty: it answers."""
        self.dialled: list[str] = []
        self.hang_ups = 0
        self.received = bytearray()
        self._lock = threading.Lock()
        self._rings = 0
        self._stop = threading.Event()
        self._line = PtyLine(link)
        self._modem = T31Modem(name=f"peer {link.name}")
        self._thread = threading.Thread(target=self._serve, name=f"modem {link}", daemon=True)
        self._thread.start()

    def ring(self, times: int = 1) -> None:
        """Ring the DTE ``times`` times (the test spaces them itself)."""
        with self._lock:
            self._rings += times

    def vanish(self) -> None:
        """Take the port away, as a USB modem unplugged: the pty closes, the link goes."""
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._line.close()
        self._modem.close()

    def __enter__(self) -> ScriptedModem:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _serve(self) -> None:
        pending_dial: float | None = None
        while not self._stop.is_set():
            data = self._line.read(1024)
            if data:
                self.received += data
            if self.deaf_to_ath and b"ATH" in data:
                data = b""
            if self.answer_with and b"ATA\r" in data:
                data = data.replace(b"ATA\r", b"")
                self._line.write(self.answer_with)
            if data and not self.silent:
                self._modem.at_rx(data)
            for event in self._modem.pop_events():
                if isinstance(event, Dial):
                    self.dialled.append(event.number)
                    pending_dial = time.monotonic() + self.dial_delay
                elif isinstance(event, HangUp):
                    self.hang_ups += 1
            if pending_dial is not None and time.monotonic() >= pending_dial:
                pending_dial = None
                self._modem.call_event(self.on_dial)
            with self._lock:
                rings, self._rings = self._rings, 0
            for _ in range(rings):
                self._modem.call_event(CallEvent.ALERTING)
            self._modem.rx(bytes(2 * 40))  # 5 ms of silence: the modem's clock
            out = self._modem.data_to_send()
            if out and not self.silent:
                self._line.write(out)
            self._line.flush()
            time.sleep(TICK)
