"""A fault-injecting modem: a pty in front of a virtual modem that misbehaves on command.

Real modems stop answering, refuse a modulation, lose DLE ETX, drop the carrier mid-page,
vanish with their USB cable, answer slowly, echo, and say RING at odd moments. A test puts
:class:`FaultyModem` between the program under test and one port of a
:class:`~openfax.virtual_modem.ModemPair` (or any modem's port) and turns those faults on.

:class:`FaultFilter` is the byte transformation alone, without I/O or a clock of its own:
bytes from the DTE and from the modem go in with the time, bytes for each come out. It
follows the T.31 conversation just enough to know where it is: a command line, the DTE
sending data after CONNECT to ``ATA``/``+FTH``/``+FTM`` (until its DLE ETX), or the modem
sending data after CONNECT to ``ATD``/``+FRH``/``+FRM`` (until the modem's DLE ETX).
"""

from __future__ import annotations

import asyncio
import enum
import os
import random
from collections import deque
from contextlib import suppress
from pathlib import Path

from openfax.errors import ModemError
from openfax.virtual_modem.pty_line import PtyLine
from openfax.virtual_modem.serving import Serving

DLE = 0x10
ETX = 0x03
MAX_LINE = 256
"""A command line longer than this is passed on as it stands (spandsp's own limit)."""

TICK = 0.005
"""How often :class:`FaultyModem` moves bytes: well under a character time that matters to
T.31 (the 20 ms ticks of the virtual modem behind it)."""

READ_PER_TICK = 4096
"""Bytes read from each side per tick; a side that does not take its bytes stops the other
side from being read (at most this much is held)."""

_TRANSMIT_COMMANDS = (b"ATA", b"AT+FTH", b"AT+FTM")
_RECEIVE_COMMANDS = (b"ATD", b"AT+FRH", b"AT+FRM")
_CR = 0x0D
_LF = 0x0A
_ERROR = b"\r\nERROR\r\n"
_NO_CARRIER = bytes([DLE, ETX]) + b"\r\nNO CARRIER\r\n"


class Flow(enum.Enum):
    """Where the T.31 conversation is."""

    COMMAND = "command"
    DTE_DATA = "DTE data"
    MODEM_DATA = "modem data"


class FaultFilter:
    """The bytes between a DTE and its modem, with faults turned on and off by methods.

    Feed :meth:`from_dte` and :meth:`from_modem`; take :meth:`to_modem` and
    :meth:`to_dte` (what is due at ``now``); :meth:`next_due` says when delayed bytes or an
    unsolicited result code fall due. ``rng`` chooses the random moments.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.flow = Flow.COMMAND
        self.silent = False
        self.ignored = 0
        """Bytes from the DTE a silent modem has ignored."""
        self.echoing = False
        self.delay = 0.0
        self._errors: dict[bytes, int | None] = {}
        self._drop_dle_etx = 0
        self._no_carrier_after: int | None = None
        self._unsolicited: list[tuple[float, bytes]] = []
        self._line = bytearray()
        self._modem_line = bytearray()
        self._last_command = b""
        self._dte_dle = False
        self._modem_dle = False
        self._modem_in_data = False
        self._data_seen = 0
        self._swallow_data = False
        self._swallow_result = False
        self._to_modem = bytearray()
        self._to_dte: deque[tuple[float, bytes]] = deque()
        self._last_release = 0.0

    # --- the faults ---------------------------------------------------------------------

    def stop_answering(self) -> None:
        """The modem hangs: nothing the DTE sends reaches it, nothing it says comes out."""
        self.silent = True

    def resume(self) -> None:
        """Undo :meth:`stop_answering`."""
        self.silent = False

    def error_on(self, command: bytes, times: int | None = None) -> None:
        """Answer ERROR to each command line beginning with ``command`` (``b"AT+FTM=146"``),
        without passing it on, ``times`` times (None: until :meth:`clear_errors`)."""
        self._errors[command.upper()] = times

    def clear_errors(self) -> None:
        """Pass every command on again."""
        self._errors.clear()

    def drop_dle_etx(self, times: int = 1) -> None:
        """Lose the DLE ETX ending the next ``times`` blocks of data the modem sends."""
        self._drop_dle_etx += times

    def no_carrier_mid_data(self, after: int = 1000) -> None:
        """Once the modem has sent ``after`` bytes of the next data it receives (a page at
        ``+FRM``, a frame at ``+FRH``), cut it: DLE ETX and NO CARRIER to the DTE, as a modem
        that lost the carrier says; the modem's own reception is aborted and the rest of it,
        up to its result code, swallowed."""
        self._no_carrier_after = after

    def slow(self, delay: float) -> None:
        """Everything the modem says reaches the DTE ``delay`` seconds late (0: at once), so
        does each result code."""
        self.delay = delay

    def echo(self, on: bool = True) -> None:
        """Echo the DTE's command lines back to it, whatever its ATE0 said."""
        self.echoing = on

    def unsolicited(self, code: bytes = b"RING", *, now: float, within: float = 0.0) -> float:
        """Send the result code ``code`` to the DTE at a random moment in the next ``within``
        seconds (the first moment after that when a command line is not under way, never
        inside data); returns the moment chosen."""
        when = now + self.rng.uniform(0, within)
        self._unsolicited.append((when, b"\r\n" + code + b"\r\n"))
        return when

    def clear_faults(self) -> None:
        """Turn every fault off (those armed and not yet met too): the modem behaves."""
        self.silent = self.echoing = False
        self.delay = 0.0
        self._errors.clear()
        self._drop_dle_etx = 0
        self._no_carrier_after = None
        self._unsolicited.clear()

    def hang_up(self) -> None:
        """The DTE let go of the port: the next one starts a fresh conversation (the faults
        stay as they are)."""
        self.flow = Flow.COMMAND
        self._line.clear()
        self._modem_line.clear()
        self._last_command = b""
        self._dte_dle = self._modem_dle = self._modem_in_data = False
        self._swallow_data = self._swallow_result = False
        self._to_modem.clear()
        self._to_dte.clear()

    # --- bytes in -----------------------------------------------------------------------

    def from_dte(self, data: bytes, now: float) -> None:
        """Bytes the DTE wrote."""
        if self.silent:
            self.ignored += len(data)
            return
        for byte in data:
            self._dte_byte(byte, now)

    def from_modem(self, data: bytes, now: float) -> None:
        """Bytes the modem wrote."""
        if self.silent:
            return
        out = bytearray()
        for byte in data:
            out += self._modem_byte(byte)
        self._say(bytes(out), now)

    # --- bytes out ----------------------------------------------------------------------

    def to_modem(self) -> bytes:
        """The bytes for the modem since the last call."""
        data = bytes(self._to_modem)
        self._to_modem.clear()
        return data

    def to_dte(self, now: float) -> bytes:
        """The bytes for the DTE due at ``now``."""
        for index, (when, code) in enumerate(self._unsolicited):
            if when <= now and self.flow is Flow.COMMAND and not self._line:
                del self._unsolicited[index]
                self._say(code, now)
                break
        out = bytearray()
        while self._to_dte and self._to_dte[0][0] <= now:
            out += self._to_dte.popleft()[1]
        return bytes(out)

    def next_due(self) -> float | None:
        """When bytes for the DTE next fall due, if any wait."""
        times = [when for when, _ in self._unsolicited]
        if self._to_dte:
            times.append(self._to_dte[0][0])
        return min(times, default=None)

    # --- the conversation ---------------------------------------------------------------

    def _say(self, data: bytes, now: float) -> None:
        if data:
            release = max(now + self.delay, self._last_release)
            self._last_release = release
            self._to_dte.append((release, data))

    def _dte_byte(self, byte: int, now: float) -> None:
        if self.flow is Flow.DTE_DATA:
            self._to_modem.append(byte)
            if self._dte_dle:
                self._dte_dle = False
                if byte == ETX:
                    self.flow = Flow.COMMAND
            elif byte == DLE:
                self._dte_dle = True
            return
        if self.flow is Flow.MODEM_DATA:
            # Any character from the DTE aborts the modem's reception (T.31); the modem
            # still ends its data with DLE ETX.
            self.flow = Flow.COMMAND
        if self.echoing:
            self._say(bytes([byte]), now)
        if byte in b"\r\n":
            raw = bytes(self._line)
            self._line.clear()
            line = raw.strip().upper().replace(b" ", b"")
            if line and self._refused(line):
                self._say(_ERROR, now)
                return
            if line:
                self._last_command = line
            self._to_modem += raw + bytes([byte])
        elif len(self._line) >= MAX_LINE:
            self._to_modem += self._line
            self._to_modem.append(byte)
            self._line.clear()
        else:
            self._line.append(byte)

    def _refused(self, line: bytes) -> bool:
        for command, times in self._errors.items():
            if line.startswith(command):
                if times is not None:
                    if times <= 1:
                        del self._errors[command]
                    else:
                        self._errors[command] = times - 1
                return True
        return False

    def _modem_byte(self, byte: int) -> bytes:
        if self._modem_in_data:
            return self._modem_data_byte(byte)
        if byte == _LF:
            line = bytes(self._modem_line).strip()
            self._modem_line.clear()
            if self._swallow_result:
                self._swallow_result = not line
                return b""
            if line == b"CONNECT":
                self._connected()
        elif byte != _CR and len(self._modem_line) < MAX_LINE:
            self._modem_line.append(byte)
        return b"" if self._swallow_result else bytes([byte])

    def _connected(self) -> None:
        if self._last_command.startswith(_TRANSMIT_COMMANDS):
            self.flow = Flow.DTE_DATA
            self._dte_dle = False
        elif self._last_command.startswith(_RECEIVE_COMMANDS):
            self.flow = Flow.MODEM_DATA
            self._modem_in_data = True
            self._modem_dle = False
            self._data_seen = 0

    def _modem_data_byte(self, byte: int) -> bytes:
        if self._modem_dle:
            self._modem_dle = False
            if byte != ETX:
                return b"" if self._swallow_data else bytes([DLE, byte])
            self._modem_in_data = False
            if self._swallow_data:
                self._swallow_data = False
                self._swallow_result = True
                return b""
            if self.flow is Flow.MODEM_DATA:
                self.flow = Flow.COMMAND
            if self._drop_dle_etx:
                self._drop_dle_etx -= 1
                return b""
            return bytes([DLE, ETX])
        if byte == DLE:
            self._modem_dle = True
            return b""
        if self._swallow_data:
            return b""
        self._data_seen += 1
        if self._no_carrier_after is not None and self._data_seen >= self._no_carrier_after:
            self._no_carrier_after = None
            self._swallow_data = True
            self.flow = Flow.COMMAND
            self._to_modem += b"\r"  # any character aborts the modem's reception
            return bytes([byte]) + _NO_CARRIER
        return bytes([byte])


class FaultyModem(Serving):
    """A pty linked at ``link`` for the program under test, in front of the modem whose port
    is ``modem`` (a path a program would open, such as one of a pair's ports).

    Bytes pass through :attr:`faults`, a :class:`FaultFilter`: call its methods to turn
    faults on (``faulty.faults.error_on(b"AT+FTM=146")``, ``.stop_answering()``...). The
    modem's port is open exactly while the program has ``link`` open, so a program closing
    its port drops the modem's DTR as a serial port does. :meth:`disappear` unplugs the
    modem (the link goes, the program's reads and writes fail with EIO) and
    :meth:`reappear` plugs it back (a new pty behind the same link). Use it as
    ``async with FaultyModem(pair.paths[0], tmp_path / "ttyACM0") as faulty:`` in the loop
    that serves the modem, or ``with FaultyModem(...).in_thread() as faulty:``.
    """

    def __init__(
        self, modem: str | Path, link: str | Path, *, rng: random.Random | None = None
    ) -> None:
        self.modem = Path(modem)
        self.link = Path(link)
        self.faults = FaultFilter(rng)
        self.line: PtyLine | None = PtyLine(self.link)
        self._modem_fd: int | None = None
        self._for_modem = b""
        self._now = 0.0

    @property
    def present(self) -> bool:
        """Whether the modem is plugged in (its link exists)."""
        return self.line is not None

    def disappear(self) -> None:
        """Unplug the modem: close the program's pty and remove the link; the modem behind
        sees its port closed."""
        if self.line is not None:
            self.line.close()
            self.line = None
        self._let_go()

    def reappear(self) -> None:
        """Plug the modem back in, on a new pty behind the same link."""
        if self.line is None:
            self.line = PtyLine(self.link)

    def close(self) -> None:
        """Unplug for good."""
        self.disappear()

    async def run(self) -> None:
        """Move bytes every ``TICK`` seconds until cancelled (then unplug)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self.step(loop.time())
                await asyncio.sleep(TICK)  # a poll of both ports, not a wait for a condition
        finally:
            self.close()

    def unsolicited(self, code: bytes = b"RING", within: float = 0.0) -> float:
        """Say ``code`` to the program at a random moment in the next ``within`` seconds (see
        :meth:`FaultFilter.unsolicited`); returns the moment, on the serving loop's clock."""
        return self.faults.unsolicited(code, now=self._now, within=within)

    def step(self, now: float) -> None:
        """One pass: the program's bytes to the modem, the modem's to the program."""
        self._now = now
        line = self.line
        if line is None:
            return
        from_dte = b"" if self._for_modem else line.read(READ_PER_TICK)
        if not line.dte_attached:
            self._let_go()
            return
        if self._modem_fd is None:
            try:
                self._modem_fd = os.open(self.modem, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            except OSError as exc:
                raise ModemError(f"cannot open the modem behind {self.link}: {exc}") from exc
        fd = self._modem_fd
        self.faults.from_dte(from_dte, now)
        self._for_modem += self.faults.to_modem()
        if self._for_modem:
            with suppress(BlockingIOError):
                self._for_modem = self._for_modem[os.write(fd, self._for_modem) :]
        try:
            from_modem = os.read(fd, READ_PER_TICK)
        except BlockingIOError:
            from_modem = b""
        except OSError as exc:
            raise ModemError(f"the modem behind {self.link} is gone: {exc}") from exc
        self.faults.from_modem(from_modem, now)
        line.write(self.faults.to_dte(now))

    def _let_go(self) -> None:
        if self._modem_fd is not None:
            fd, self._modem_fd = self._modem_fd, None
            os.close(fd)
            self._for_modem = b""
            self.faults.hang_up()
