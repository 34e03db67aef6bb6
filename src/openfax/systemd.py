"""systemd's service notifications (``sd_notify(3)``): ``openfaxd`` tells systemd that it
is ready, that it is stopping, and, while it runs, that its event loop still turns (the
watchdog), when systemd asks for them: a unit of ``Type=notify`` sets ``NOTIFY_SOCKET``,
and ``WatchdogSec=`` sets ``WATCHDOG_USEC``. Without them nothing is sent.

A notification is one datagram of ``KEY=value`` lines to a Unix socket, so this is the few
lines sd_notify itself is rather than a dependency: libsystemd through ctypes would tie
the package to that library being installed, and the ``sdnotify`` package (these lines
again, without the watchdog's variables) has had no release since 2017.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import MutableMapping

from openfax.errors import ConfigError

_logger = logging.getLogger(__name__)

READY = "READY=1"
STOPPING = "STOPPING=1"
WATCHDOG = "WATCHDOG=1"
ENVIRONMENT = "environment"
"""The ``source`` of a ConfigError about a variable systemd set."""


class Notifier:
    """Sends notifications to systemd's socket ``address`` (a path, or ``@name`` in the
    abstract namespace; None: systemd asked for none); ``watchdog_seconds`` is systemd's
    watchdog interval (None: no watchdog)."""

    def __init__(self, address: str | None, watchdog_seconds: float | None = None) -> None:
        if address is not None and not address.startswith(("/", "@")):
            reason = f"{address!r} is neither an absolute path nor an @abstract name"
            raise ConfigError(ENVIRONMENT, "NOTIFY_SOCKET", reason)
        self.address = address
        self.watchdog_seconds = watchdog_seconds if address is not None else None
        self._failing = False

    @classmethod
    def from_environ(cls, environ: MutableMapping[str, str]) -> Notifier:
        """The notifier systemd's variables ask for, taking them out of ``environ`` so that
        the programs the service starts (LibreOffice, Ghostscript) do not speak for it.
        ``WATCHDOG_PID``, when set, must be this process's, as sd_watchdog_enabled checks."""
        address = environ.pop("NOTIFY_SOCKET", None) or None
        usec = environ.pop("WATCHDOG_USEC", None)
        pid = environ.pop("WATCHDOG_PID", None)
        seconds = None
        if usec and (not pid or pid == str(os.getpid())):
            if not usec.isdigit() or int(usec) == 0:
                reason = f"{usec!r} is not a positive number of microseconds"
                raise ConfigError(ENVIRONMENT, "WATCHDOG_USEC", reason)
            seconds = int(usec) / 1_000_000
        return cls(address, seconds)

    def notify(self, *fields: str) -> None:
        """Send ``fields`` (``READY=1``, ``STATUS=...``) in one datagram, without blocking;
        a failure is logged (the first of a run as a warning) and is not the service's."""
        if self.address is None:
            return
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, socket.MSG_DONTWAIT, target)
        except OSError as exc:
            level = logging.DEBUG if self._failing else logging.WARNING
            what = ", ".join(fields)
            _logger.log(level, "systemd notification %s to %s failed: %s", what, self.address, exc)
            self._failing = True
        else:
            self._failing = False

    async def watchdog(self) -> None:
        """Tell systemd ``WATCHDOG=1`` every half watchdog interval until cancelled. It runs
        on the event loop, so a loop that stops turning stops it, and systemd restarts the
        service when the interval passes without one."""
        if self.watchdog_seconds is None:
            return
        while True:
            self.notify(WATCHDOG)
            await asyncio.sleep(self.watchdog_seconds / 2)
