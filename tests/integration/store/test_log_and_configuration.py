"""The event log, settings and devices."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from openfax.model import ReceiveMode
from openfax.store import Database, open_database, queries

from .conftest import NOW, later

pytestmark = pytest.mark.anyio


async def test_events_are_read_after_a_sequence_number(db: Database) -> None:
    async with db.transaction() as conn:
        assert await queries.last_event_seq(conn) == 0
        numbers = [
            await queries.append_event(conn, "out_queue.job_added", {"job": n}, now=later(n))
            for n in range(5)
        ]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5
    async with db.read() as conn:
        after = await queries.read_events(conn, after=numbers[1])
        limited = await queries.read_events(conn, after=0, limit=2)
        assert await queries.last_event_seq(conn) == numbers[-1]
    assert [event.payload["job"] for event in after] == [2, 3, 4]
    assert [event.seq for event in limited] == numbers[:2]
    assert after[0].type == "out_queue.job_added"
    assert after[0].created_at == later(2)


async def test_events_of_a_rolled_back_change_never_appear(db: Database) -> None:
    async def fail_after_the_event() -> None:
        async with db.transaction() as conn:
            await queries.append_event(conn, "lost", {}, now=NOW)
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError, match="the state change failed"):
        await fail_after_the_event()
    async with db.read() as conn:
        assert await queries.read_events(conn, after=0) == []


async def test_old_events_are_pruned(db: Database) -> None:
    async with db.transaction() as conn:
        for n in range(3):
            await queries.append_event(conn, "tick", {}, now=later(n * 60))
        assert await queries.prune_events(conn, before=later(90)) == 2
        assert [event.created_at for event in await queries.read_events(conn, after=0)] == [
            later(120)
        ]


async def test_postgresql_notifies_listeners_when_an_event_commits(postgresql_url: str) -> None:
    db = await open_database(postgresql_url)
    dsn = postgresql_url.replace("postgresql+psycopg", "postgresql")
    try:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as listener:
            await listener.execute(f"LISTEN {queries.EVENTS_CHANNEL}")
            async with db.transaction() as conn:
                seq = await queries.append_event(conn, "in_queue.job_added", {}, now=NOW)
            notices = listener.notifies(timeout=5, stop_after=1)
            received = [notice.payload async for notice in notices]
    finally:
        await db.close()
    assert received == [str(seq)]


async def test_settings_are_stored_replaced_and_listed(db: Database) -> None:
    async with db.transaction() as conn:
        assert await queries.get_setting(conn, "outgoing_queue", {"paused": False}) == {
            "paused": False
        }
        await queries.set_setting(conn, "outgoing_queue", {"paused": True, "retries": 3}, now=NOW)
        await queries.set_setting(conn, "outgoing_queue", {"paused": False, "retries": 5}, now=NOW)
        await queries.set_setting(conn, "branding", True, now=NOW)
    async with db.read() as conn:
        assert await queries.get_setting(conn, "outgoing_queue") == {"paused": False, "retries": 5}
        assert await queries.get_settings(conn) == {
            "outgoing_queue": {"paused": False, "retries": 5},
            "branding": True,
        }


async def test_a_device_keeps_its_id_and_configuration_across_restarts(db: Database) -> None:
    async with db.transaction() as conn:
        line = await queries.ensure_device(conn, "loopback", "line1", number="100", node_id="a")
        other = await queries.ensure_device(conn, "loopback", "line2", number="101", node_id="b")
        changed = await queries.update_device(
            conn, line.id, {"csid": "OPENFAX 100", "receive_mode": ReceiveMode.AUTO_ANSWER}
        )
        assert changed is not None
        assert changed.receive_mode is ReceiveMode.AUTO_ANSWER
        again = await queries.ensure_device(conn, "loopback", "line1", number="999")
        assert again == changed
        assert again.number == "100"
        assert await queries.list_devices(conn, node_id="b") == [other]
        assert await queries.get_device(conn, other.id) == other
        assert await queries.get_device(conn, 999_999) is None
        assert await queries.update_device(conn, 999_999, {"csid": "x"}) is None
        with pytest.raises(ValueError, match="provider"):
            await queries.update_device(conn, line.id, {"provider": "sip"})


async def test_concurrent_writers_on_sqlite_wait_for_each_other(tmp_path: Path) -> None:
    db = await open_database(f"{tmp_path}/fax.db")

    async def write(n: int) -> int:
        async with db.transaction() as conn:
            seq = await queries.append_event(conn, "tick", {"n": n}, now=NOW)
            await asyncio.sleep(0.01)  # held open, so the writers overlap (under test)
            return seq

    try:
        numbers = await asyncio.gather(*(write(n) for n in range(8)))
    finally:
        await db.close()
    assert sorted(numbers) == list(range(1, 9))
