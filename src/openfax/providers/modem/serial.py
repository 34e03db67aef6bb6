"""A serial port for asyncio: the raw file descriptor, non-blocking, read by the event loop.

No thread per modem: the loop watches the descriptor (``add_reader``) and hands what
arrives to a callback; writes go out at once, the rest when the port takes more
(``add_writer``). termios sets raw mode, the speed and the flow control (RTS/CTS in the
kernel, or XON/XOFF); DTR is dropped to hang up a modem that no longer answers. It works on
ptys (the virtual modem), ttyACM and ttyUSB alike; a port that goes away (EIO, ENODEV, a
hang-up) is reported once to ``on_lost`` and closed: a fault, never an exception in the
loop.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import struct
import termios
from collections.abc import Callable
from pathlib import Path

from openfax.errors import ModemError

READ_SIZE = 4096
"""Bytes read from the port at once."""
MAX_PENDING = 1 << 20
"""Bytes waiting for the port at most: more means the modem stopped taking data."""
_LOST = {errno.EIO, errno.ENODEV, errno.ENXIO, errno.EBADF, errno.EPIPE}


def _baud(speed: int) -> int:
    constant = getattr(termios, f"B{speed}", None)
    if constant is None:
        raise ModemError(f"the port cannot be set to {speed} bit/s")
    return int(constant)


class SerialPort:
    """An open serial port; ``on_data`` gets what it reads, ``on_lost`` why it went away,
    ``on_drained`` is called when bytes that had to wait have all gone out (time to give it
    more: a sender writes only while :attr:`pending` is 0)."""

    def __init__(
        self,
        path: Path,
        fd: int,
        on_data: Callable[[bytes], object],
        on_lost: Callable[[str], object],
        on_drained: Callable[[], object] | None = None,
    ) -> None:
        self.path = path
        self._fd: int | None = fd
        self._on_data = on_data
        self._on_lost = on_lost
        self._on_drained = on_drained
        self._pending = bytearray()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self._readable)

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        speed: int,
        flow_control: str,
        on_data: Callable[[bytes], object],
        on_lost: Callable[[str], object],
        on_drained: Callable[[], object] | None = None,
    ) -> SerialPort:
        """Open ``path`` in raw mode at ``speed`` with ``flow_control`` (``rtscts``,
        ``xonxoff`` or ``none``); ModemError saying why it cannot be (missing, busy...)."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise ModemError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            attrs = termios.tcgetattr(fd)
            iflag, oflag, cflag, lflag, _, _, cc = attrs
            baud = _baud(speed)
            iflag &= ~(
                termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON
                | termios.IXOFF | termios.IXANY
            )  # fmt: skip
            oflag &= ~termios.OPOST
            lflag &= ~(
                termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN
            )
            cflag &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
            cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL | termios.HUPCL
            if flow_control == "rtscts":
                cflag |= termios.CRTSCTS
            elif flow_control == "xonxoff":
                iflag |= termios.IXON | termios.IXOFF
            cc[termios.VMIN] = 0
            cc[termios.VTIME] = 0
            termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, baud, baud, cc])
            termios.tcflush(fd, termios.TCIOFLUSH)
            # Exclusive: another program opening the modem meanwhile (ModemManager probing a
            # ttyACM) would garble the dialogue. Root's opens pass all the same.
            fcntl.ioctl(fd, termios.TIOCEXCL)
            return cls(path, fd, on_data, on_lost, on_drained)
        except (OSError, termios.error, ModemError) as exc:
            os.close(fd)
            if isinstance(exc, ModemError):
                raise
            raise ModemError(f"cannot set up {path}: {exc}") from None

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def pending(self) -> int:
        """Bytes written that the port has not taken yet."""
        return len(self._pending)

    def fileno(self) -> int:
        """The port's descriptor (its termios settings can be read there)."""
        if self._fd is None:
            raise ModemError(f"{self.path} is closed")
        return self._fd

    def write(self, data: bytes) -> None:
        """Send ``data``: what the port takes now, the rest as it takes more."""
        if self._fd is None or not data:
            return
        if len(self._pending) + len(data) > MAX_PENDING:
            self._lose(f"the modem took no data: {len(self._pending)} bytes wait")
            return
        had_pending = bool(self._pending)
        self._pending += data
        if not had_pending:
            self._flush()

    async def drop_dtr(self, seconds: float = 0.5) -> None:
        """Drop DTR for ``seconds`` and raise it again: a modem goes on hook and resets its
        command state. On ports without modem lines (ptys) the speed is set to 0 instead,
        termios's way of dropping DTR, and restored."""
        fd = self._fd
        if fd is None:
            return
        bits = struct.pack("I", termios.TIOCM_DTR)
        try:
            fcntl.ioctl(fd, termios.TIOCMBIC, bits)
            await asyncio.sleep(seconds)
            if self._fd is not None:
                fcntl.ioctl(fd, termios.TIOCMBIS, bits)
            return
        except OSError as exc:
            if exc.errno in _LOST:
                self._lose(f"{exc.strerror}")
                return
        try:
            attrs = termios.tcgetattr(fd)
            saved = list(attrs)
            attrs[4] = attrs[5] = termios.B0
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
            await asyncio.sleep(seconds)
            if self._fd is not None:
                termios.tcsetattr(fd, termios.TCSANOW, saved)
        except (OSError, termios.error) as exc:
            self._lose(f"cannot drop DTR: {exc}")

    def close(self) -> None:
        """Stop watching the port and close it (DTR drops with HUPCL)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        self._loop.remove_reader(fd)
        self._loop.remove_writer(fd)
        self._pending.clear()
        os.close(fd)

    def _readable(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lose(exc.strerror or str(exc))
            return
        if not data:
            self._lose("the port hung up")
            return
        self._on_data(data)

    def _flush(self) -> None:
        fd = self._fd
        if fd is None:
            return
        while self._pending:
            try:
                written = os.write(fd, self._pending)
            except BlockingIOError:
                break
            except OSError as exc:
                self._lose(exc.strerror or str(exc))
                return
            del self._pending[:written]
        if self._pending:
            self._loop.add_writer(fd, self._flush)
        elif self._loop.remove_writer(fd) and self._on_drained is not None:
            self._on_drained()

    def _lose(self, reason: str) -> None:
        if self._fd is None:
            return
        self.close()
        self._on_lost(f"{self.path}: {reason}")
