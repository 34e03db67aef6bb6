"""Store errors under overload: a write that fails (SQLite's busy timeout run out) never
loses a received fax nor stops the service.

The test holds SQLite's write lock from a connection of its own, as a daemon overloaded by
many calls would, with a busy timeout of two seconds for the service."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from openfax.providers.sip import Preference
from openfax.service import FaxService, SystemClock
from openfax.service.sip_memory import StoredDestinations
from openfax.store import Direction
from tests.waiting import until

from .conftest import job_leaves_queue, request, service_config
from .test_leases import PACED, first_page_confirmed, receptions

pytestmark = pytest.mark.anyio

STORE = {"busy_timeout_seconds": 2.0}
"""Short enough to fail writes soon while the test holds the lock, long enough for the
service's own writes to wait for each other on a loaded machine."""


async def take_write_lock(database: Path) -> sqlite3.Connection:
    """Another connection holding the database's write lock. It is taken off the event loop:
    waiting for it there would also stop the service's own write in progress from ending."""

    def take() -> sqlite3.Connection:
        locker = sqlite3.connect(
            database, isolation_level=None, timeout=30, check_same_thread=False
        )
        locker.execute("BEGIN IMMEDIATE")
        return locker

    return await asyncio.to_thread(take)


async def logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """Wait until a record containing ``text`` is logged."""

    async def seen() -> bool:
        return any(text in record.getMessage() for record in caplog.records)

    await until(seen, f"{text!r} is logged")


async def test_a_fax_received_while_the_store_is_locked_lands_in_the_inbox(
    tmp_path: Path, three_pages: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The reception's progress, its archiving, the sender's outcome and the device notices
    all fail while the lock is held; once it is free the fax is archived whole, the job
    completes, and a second fax goes through the same service."""
    caplog.set_level(logging.WARNING)
    config = service_config(tmp_path / "data", loopback=PACED, store=STORE)
    async with FaxService(config, clock=SystemClock()) as service:
        (job_id,) = await service.outgoing_queue.submit(request(three_pages, "1002"))
        await first_page_confirmed(service, job_id)
        locker = await take_write_lock(config.database)
        try:
            # The call ends while the lock is held: its reception is not archived yet.
            await logged(caplog, "its archiving could not be written to the store")
            await logged(caplog, "device_status_changed notice")
            assert not (await service.archives.get_incoming_messages()).messages
        finally:
            locker.rollback()
            locker.close()
        assert await receptions(service, 1) == [(3, False)]
        await job_leaves_queue(service, job_id)
        assert (await service.archives.get_message(Direction.OUT, job_id)).pages == 3
        notices = [t for t in asyncio.all_tasks() if t.get_name() == "device notices"]
        assert [t.done() for t in notices] == [False]

        (second,) = await service.outgoing_queue.submit(request(three_pages, "1002"))
        assert await receptions(service, 2) == [(3, False), (3, False)]
        await job_leaves_queue(service, second)


async def test_what_worked_for_a_number_is_a_hint_a_store_error_only_skips(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sip provider's memory: an update the store refuses is logged and lost, never
    raised into the call; the one before it stays."""
    config = service_config(tmp_path / "data", store=STORE)
    worked = Preference(t38=True, bit_rate=14400, ecm=True)
    async with FaxService(config, clock=SystemClock()) as service:
        memory = StoredDestinations(lambda: service.ctx)
        await memory.remember("+4930123456", worked)
        locker = await take_write_lock(config.database)
        try:
            await memory.remember("+4930123456", Preference(t38=False, bit_rate=9600, ecm=False))
        finally:
            locker.rollback()
            locker.close()
        assert await memory.recall("+4930123456") == worked
        assert "could not be saved" in caplog.text
