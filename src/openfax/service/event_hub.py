"""Server events: appended to the store's event log in the transaction that caused them,
published to in-process subscribers as an async iterator filtered by a ServerEvents mask.

The log is the single order of events: a subscriber reads it from where it started, so it
sees every event committed after it subscribed, in commit order, and a slow subscriber
misses nothing. Commits in this process wake subscribers at once; on PostgreSQL the other
nodes' commits wake them through LISTEN/NOTIFY (:meth:`EventHub.follow_other_nodes`): the
notice only says that the log grew, the log stays what is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import StoreError
from openfax.model import ServerEvents
from openfax.model.events import EventPayload, event_type, payload_json, payload_of
from openfax.model.events import EventType as EventType  # the service names it here too
from openfax.service.clock import Clock
from openfax.store import Database
from openfax.store import queries as q
from openfax.store.notices import EventNotices


@dataclass(frozen=True)
class ServerEvent:
    """One event as a subscriber sees it: its place in the log, its kind and the record of
    its fields."""

    seq: int
    type: EventType
    payload: EventPayload
    created_at: datetime

    @property
    def mask(self) -> ServerEvents:
        return self.type.mask


_logger = logging.getLogger(__name__)

_AFTER_COMMIT = "openfax.after_commit"
_EMITTED = "openfax.emitted"
"""The numbers of a transaction's events (``conn.info``), noted at commit (``is_own``)."""
OWN_EVENTS_KEPT = 10_000
"""How many of its newest events' numbers a hub remembers as its own (``is_own``)."""

RECONNECT_SECONDS = 0.5
"""How long a lost LISTEN connection waits before it is made again; twice as long after
each failure in a row, up to the poll interval."""


def after_commit(conn: AsyncConnection, callback: Callable[[], object]) -> None:
    """Call ``callback`` once the :meth:`EventHub.transaction` of ``conn`` has committed (not
    at all if it rolls back): to wake a worker that must see what the transaction wrote, or
    to tell the world only what really happened."""
    conn.info.setdefault(_AFTER_COMMIT, []).append(callback)


class EventHub:
    """Writes events with the transaction that caused them and wakes subscribers."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._changed = asyncio.Condition()
        self._generation = 0
        self._closed = False
        self._subscribers = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._local_seq = 0
        """The newest event committed by this process (its subscribers were woken for it)."""
        self._own: set[int] = set()
        self._own_order: deque[int] = deque()
        self._polled_seq = 0
        """The newest event the last poll of the log found."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A store transaction whose events subscribers hear of once it has committed, and
        whose :func:`after_commit` callbacks run then."""
        async with self.db.transaction() as conn:
            try:
                yield conn
            finally:
                callbacks: list[Callable[[], object]] = conn.info.pop(_AFTER_COMMIT, [])
                emitted: list[int] = conn.info.pop(_EMITTED, [])
        self._committed(emitted)
        await self._wake()
        for callback in callbacks:
            callback()

    async def emit(self, conn: AsyncConnection, payload: EventPayload) -> None:
        """Append the event ``payload`` is the record of in ``conn``'s transaction (as its
        last step)."""
        type = event_type(payload)
        seq = await q.append_event(conn, type.value, payload_json(payload), now=self.clock.now())
        conn.info.setdefault(_EMITTED, []).append(seq)

    async def emit_many(self, conn: AsyncConnection, payloads: Sequence[EventPayload]) -> None:
        """Append events of one kind in one statement, in order (a submission's jobs)."""
        if not payloads:
            return
        type = event_type(payloads[0])
        data = [payload_json(payload) for payload in payloads]
        seqs = await q.append_events(conn, type.value, data, now=self.clock.now())
        conn.info.setdefault(_EMITTED, []).extend(seqs)

    def is_own(self, seq: int) -> bool:
        """Whether the event numbered ``seq`` was committed by this process (one of its
        newest ``OWN_EVENTS_KEPT``): what this node did, it has taken up already."""
        return seq in self._own

    def _committed(self, seqs: list[int]) -> None:
        """Note the events of a transaction that committed as this process's own."""
        if not seqs:
            return
        self._local_seq = max(self._local_seq, *seqs)
        self._own.update(seqs)
        self._own_order.extend(seqs)
        while len(self._own_order) > OWN_EVENTS_KEPT:
            self._own.discard(self._own_order.popleft())

    async def close(self, wait: float = 0.0) -> None:
        """End every subscription (after the events already committed), waiting up to
        ``wait`` seconds for each subscriber to have taken its last events."""
        self._closed = True
        await self._wake()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), wait)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: no subscription goes on."""
        return self._closed

    @property
    def generation(self) -> int:
        """How many transactions this hub has seen commit (see :meth:`next_commit`)."""
        return self._generation

    async def next_commit(self, generation: int) -> int:
        """Wait until a transaction commits after ``generation`` (or the hub closes); the
        generation then."""
        async with self._changed:
            await self._changed.wait_for(partial(self._moved_on, generation))
        return self._generation

    async def last_seq(self) -> int:
        """The number of the newest event: where a listener starting now begins."""
        async with self.db.read() as conn:
            return await q.last_event_seq(conn)

    async def subscribe(
        self,
        mask: ServerEvents,
        after: int | None = None,
        *,
        only: frozenset[EventType] | None = None,
    ) -> AsyncIterator[ServerEvent]:
        """The events of the kinds in ``mask`` numbered after ``after`` (committed from now
        on when None), in order; a listener that lost its connection resumes without loss.
        ``only`` narrows them to those types: the others are not even decoded."""
        self._subscribers += 1
        self._drained.clear()
        try:
            async for event in self._read(mask, after, only):
                yield event
        finally:
            self._subscribers -= 1
            if not self._subscribers:
                self._drained.set()

    async def _read(
        self, mask: ServerEvents, after: int | None, only: frozenset[EventType] | None
    ) -> AsyncIterator[ServerEvent]:
        seen = await self.last_seq() if after is None else after
        while True:
            generation = self._generation
            # Whether the hub was closed before this read began: only then has the read seen
            # the last events (a read under way as the service announces its end may not).
            closed = self._closed
            async with self.db.read() as conn:
                batch = await q.read_events(conn, after=seen)
            for row in batch:
                seen = row.seq
                type = EventType(row.type)
                if not type.mask & mask or (only is not None and type not in only):
                    continue
                try:
                    payload = payload_of(type, row.payload)
                except ValidationError:
                    # Not written by this version (a log from an older one): the stream
                    # goes on without it rather than end for every listener.
                    _logger.exception("event %d (%s) does not fit its record", row.seq, row.type)
                    continue
                yield ServerEvent(row.seq, type, payload, row.created_at)
            if batch:
                continue
            if closed:
                return
            async with self._changed:
                await self._changed.wait_for(partial(self._moved_on, generation))

    async def follow_other_nodes(self, poll_seconds: float, name: str) -> None:
        """On PostgreSQL, wake subscribers as soon as another node commits events: a LISTEN
        connection of its own hears the NOTIFY each event sends at commit. Every
        ``poll_seconds`` the connection is checked and the log's newest number read, so a
        notice lost with its connection costs at most that long; a connection lost is made
        again (the subscribers then read the log from where each stopped). Runs until the
        hub closes or the task is cancelled. ``name`` names the connection in PostgreSQL."""
        retry = RECONNECT_SECONDS
        while not self._closed:
            try:
                async with EventNotices(self.db.engine.url, name) as notices:
                    retry = RECONNECT_SECONDS
                    # What was committed while nobody listened.
                    await self._wake()
                    while not self._closed:
                        async for payload in notices.heard(poll_seconds):
                            if not self._announced(payload):
                                await self._wake()
                        newest = await notices.newest_seq()
                        if newest != self._polled_seq:
                            # The safety net: a notice may be lost with its connection.
                            self._polled_seq = newest
                            await self._wake()
            except StoreError as exc:
                _logger.warning("%s; listening again in %g s", exc, retry)
                await asyncio.sleep(retry)
                retry = min(retry * 2, poll_seconds)

    def _announced(self, payload: str) -> bool:
        """Whether the event a notice numbers was seen already: this process committed it or
        a later one (sequence order is commit order), and woke its subscribers then."""
        return payload.isdigit() and int(payload) <= self._local_seq

    def _moved_on(self, generation: int) -> bool:
        return self._generation != generation or self._closed

    async def _wake(self) -> None:
        self._generation += 1
        async with self._changed:
            self._changed.notify_all()
