"""The one clock of the service: every wait for a point in time goes through it.

The scheduler, leases, retries and deadlines ask :meth:`Clock.now` and sleep with
:meth:`Clock.sleep_until`, so tests drive a day of schedules in milliseconds with a
:class:`ManualClock`. Times are aware UTC datetimes, as the store keeps them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What time it is, and a way to wait until a given time."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""

    async def sleep_until(self, when: datetime) -> None:
        """Return at ``when`` or soon after; at once if it has passed."""


class SystemClock:
    """The real clock: wall time for ``now``, the event loop's timer for waiting.

    A wait is re-checked against wall time when the loop's timer fires, so a wall clock
    stepped forward (NTP) ends waits early rather than late.
    """

    MAX_NAP = 60.0
    """Longest single loop sleep, so a wall-clock step is noticed within a minute."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        # Naps of at most MAX_NAP, each re-checked against the wall clock: no busy wait.
        while (left := (when - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(left, self.MAX_NAP))


class ManualClock:
    """A clock that moves only when told (:meth:`advance`, :meth:`set`); for tests.

    Sleepers wake in the order of their times, each seeing ``now()`` equal to the time it
    waited for, and every woken task runs before the next one wakes.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a ManualClock starts at an aware datetime")
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, when: datetime) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper due on the way."""
        await self.set(self._now + timedelta(seconds=seconds))

    async def set(self, when: datetime) -> None:
        """Move time forward to ``when`` (never back), waking sleepers in order."""
        if when < self._now:
            raise ValueError(f"a ManualClock does not go back ({when} < {self._now})")
        await self._wake_until(when, at_their_times=True)
        self._now = when

    async def stall(self, seconds: float) -> None:
        """Move time forward by ``seconds`` at once, as an event loop that did nothing for
        that long finds it: the sleepers due on the way wake in order, late, each seeing
        the new time (:meth:`advance` wakes each at its own)."""
        self._now += timedelta(seconds=seconds)
        await self._wake_until(self._now, at_their_times=False)

    async def _wake_until(self, when: datetime, *, at_their_times: bool) -> None:
        while self._sleepers and self._sleepers[0][0] <= when:
            due, _, future = heapq.heappop(self._sleepers)
            if at_their_times:
                self._now = due
            if not future.done():
                future.set_result(None)
            # Let the woken task and whatever it starts run before the next wakes.
            for _ in range(5):
                await asyncio.sleep(0)
