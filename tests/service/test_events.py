"""The end of the service as its event streams hear it: ``announce_shutdown`` reaches every
subscription, even one that was reading the log when the notice was committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.service import EventType, FaxService, ServerEvent
from openfax.store import Database
from tests.service.conftest import WAIT_SECONDS
from tests.waiting import until

pytestmark = pytest.mark.anyio


class HeldReads:
    """The hub's database, whose next read can be held once it has read (its view of the
    log taken) until the test lets it go: the moment a busy service's subscriber is in
    when, woken by the commit of work still in flight, it reads as the service stops."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.held = asyncio.Event()
        self._hold: asyncio.Event | None = None

    def hold_next(self) -> asyncio.Event:
        """Hold the next read after it has read; set the event returned to let it go."""
        self._hold = asyncio.Event()
        return self._hold

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.db.transaction()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.db.read() as conn:
            yield conn
        hold, self._hold = self._hold, None
        if hold is not None:
            self.held.set()
            await hold.wait()


async def all_events(stream: AsyncIterator[ServerEvent]) -> list[EventType]:
    """The kinds of the events of ``stream`` until it ends."""
    return [event.type async for event in stream]


async def test_a_stream_reading_as_the_service_stops_hears_that_it_stops(
    service: FaxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = service.ctx.hub
    reads = HeldReads(hub.db)
    monkeypatch.setattr(hub, "db", reads)
    stream = service.listening.events(after=await service.listening.last_seq())
    release = reads.hold_next()
    async with asyncio.timeout(WAIT_SECONDS):
        heard = asyncio.create_task(all_events(stream))
        await reads.held.wait()  # the stream has read the log: nothing new yet
        announced = asyncio.create_task(service.announce_shutdown(wait=WAIT_SECONDS))
        await until(lambda: hub.closed, "the hub closes", poll=0.01)
        release.set()  # its read, from before the notice, is done only now
        assert EventType.SERVER_SHUT_DOWN in await heard, "the stream ended without the notice"
        await announced
