"""A pseudo-terminal standing in for a fax modem's serial port.

The fax program (the DTE) opens the slave side by its path, or by a stable symlink to it;
OpenFax holds the master side, non-blocking. Only the master is kept open, so the kernel
tells us whether a DTE has the port open: reading the master fails with EIO while no one
does. That is how a DTE that exits or dies is noticed, and one that opens the port again
(programs may take turns on it, as HylaFAX's faxgetty and faxsend do). The slave starts in
raw mode without echo, so nothing the modem writes comes back to it before the DTE sets its
own modes.

A pty has no CTS wire; flow control toward the DTE is simply not reading: the DTE's writes
block once the kernel's buffer is full. The other way, a DTE that stops reading does not make
the modem's output pile up: at most ``MAX_PENDING`` bytes wait for it, and the rest is
dropped (and counted), as a modem's own buffer overflows.
"""

from __future__ import annotations

import errno
import logging
import os
import tty
from pathlib import Path

from openfax.closing import Closeable
from openfax.errors import ModemError

MAX_PENDING = 64 * 1024
"""Bytes kept for a DTE that does not read: over 30 s of image data at 14400 bit/s."""

_logger = logging.getLogger(__name__)


class PtyLine(Closeable):
    """The master side of a new pty; ``device`` is the slave's path, ``link`` a symlink to it.

    ``read`` and ``write`` never block. ``dte_attached`` says whether, at the last read, a
    DTE had the port open; ``dropped`` counts the bytes lost to a DTE that did not read.
    Close it with ``close()`` or a ``with`` block; the symlink goes with it.
    """

    def __init__(self, link: str | Path | None = None) -> None:
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self.device = Path(os.ttyname(slave))
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._fd: int | None = master
        self._pending = bytearray()
        self.dte_attached = False
        self.dropped = 0
        self.link: Path | None = None
        if link is not None:
            link = Path(link)
            try:
                link.symlink_to(self.device)
            except OSError as exc:
                self.close()
                raise ModemError(f"cannot create the modem's device link {link}: {exc}") from exc
            self.link = link

    @property
    def path(self) -> Path:
        """The path a DTE should open: the symlink if there is one, else the pty itself."""
        return self.link or self.device

    @property
    def closed(self) -> bool:
        return self._fd is None

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` the DTE wrote (empty if none); updates ``dte_attached``."""
        fd = self._open_fd()
        try:
            data = os.read(fd, max_bytes)
        except BlockingIOError:
            self.dte_attached = True
            return b""
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            self._detached()
            return b""
        self.dte_attached = True
        return data

    def write(self, data: bytes) -> None:
        """Queue bytes for the DTE and send what the kernel takes now.

        While no DTE has the port open, bytes are dropped: a modem's responses are meant for
        the program that gave the commands, not for the next one to open the port. Past
        ``MAX_PENDING`` bytes waiting for the DTE, the rest is dropped.
        """
        if not self.dte_attached or not data:
            return
        self.flush()
        room = MAX_PENDING - len(self._pending)
        if len(data) > room:
            if not self.dropped:
                _logger.warning("the program on %s does not read: dropping output", self.path)
            self.dropped += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        self._pending += data
        self.flush()

    def flush(self) -> None:
        """Send queued bytes the kernel takes without blocking; keep the rest for later."""
        fd = self._open_fd()
        while self._pending and self.dte_attached:
            try:
                written = os.write(fd, self._pending)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                self._detached()
                return
            del self._pending[:written]

    @property
    def pending(self) -> int:
        """Bytes queued for the DTE that the kernel has not taken yet."""
        return len(self._pending)

    def close(self) -> None:
        """Close the master (a DTE still attached sees a hang-up) and remove the symlink."""
        if self.link is not None:
            self.link.unlink(missing_ok=True)
            self.link = None
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        self.dte_attached = False

    def _detached(self) -> None:
        self.dte_attached = False
        self._pending.clear()

    def _open_fd(self) -> int:
        if self._fd is None:
            raise ModemError(f"the pty line {self.device} is closed")
        return self._fd
