"""A logging filter that lets at most a few records of one kind through per interval, so that
what a misbehaving client (or a flood of them) makes the service log cannot fill the disk.

Records are of one kind when they come from the same logger with the same first line of
their message template (``record.msg``, before its arguments are filled in): a thousand
"connection refused from %s" lines are one kind, and so are asyncio's reports, which name
the socket or task on their second line. The first record let through after some were held
back says how many were.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

MAX_KINDS = 1024
"""Kinds remembered at most; the oldest interval's are forgotten first."""


class RateLimitFilter(logging.Filter):
    """Pass at most ``burst`` records of each kind per ``interval`` seconds."""

    def __init__(
        self,
        burst: int = 10,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).partition("\n")[0])
        now = self.clock()
        with self._lock:
            window = self._kinds.get(key)
            if window is None or now - window.start >= self.interval:
                held = 0 if window is None else window.held
                if window is None and len(self._kinds) >= MAX_KINDS:
                    self._forget(now)
                window = self._kinds[key] = _Window(now)
                if held:
                    record.msg = f"{record.msg} ({held} like it not logged in {self.interval:g} s)"
            if window.passed >= self.burst:
                window.held += 1
                return False
            window.passed += 1
            return True

    def _forget(self, now: float) -> None:
        """Drop the kinds whose interval is over (all of them if none is: a flood of kinds)."""
        over = [key for key, w in self._kinds.items() if now - w.start >= self.interval]
        for key in over or list(self._kinds):
            del self._kinds[key]


class _Window:
    """One kind's current interval: when it began, records passed and held back."""

    __slots__ = ("held", "passed", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.passed = 0
        self.held = 0


def limit_rate(*loggers: str, burst: int = 10, interval: float = 60.0) -> RateLimitFilter:
    """Install one :class:`RateLimitFilter` on each logger named; it, for tests to inspect."""
    limiter = RateLimitFilter(burst, interval)
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
            logger.addFilter(limiter)
    return limiter
