"""The audit trail in the store: entries are written and read in order, and nothing can
change or remove them: the queries offer no way, and the database refuses raw statements."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from openfax.store import AuditEntry, Database, open_database, queries
from openfax.store.schema import audit

from .conftest import NOW

pytestmark = pytest.mark.anyio


def entry(action: str, minutes: int = 0) -> AuditEntry:
    return AuditEntry(
        created_at=NOW + timedelta(minutes=minutes),
        actor="helen",
        action=action,
        object_type="outgoing_message",
        object_id="00000000000000ff",
        details={"format": "pdf"},
    )


async def test_entries_are_read_back_in_order_from_a_time(db: Database) -> None:
    async with db.transaction() as conn:
        await queries.append_audit(conn, [entry("viewed"), entry("downloaded", 5)])
        await queries.append_audit(conn, [entry("deleted", 10)])
    async with db.read() as conn:
        every = await queries.list_audit(conn)
        later = await queries.list_audit(conn, since=NOW + timedelta(minutes=5))
        after = await queries.list_audit(conn, after=every[0].seq, limit=1)
    assert [e.action for e in every] == ["viewed", "downloaded", "deleted"]
    assert every[0].seq < every[1].seq < every[2].seq
    assert every[1].details == {"format": "pdf"}
    assert every[1].actor == "helen"
    assert [e.action for e in later] == ["downloaded", "deleted"]
    assert [e.action for e in after] == ["downloaded"]


@pytest.mark.parametrize(
    "statement",
    [
        update(audit).values(actor="somebody else"),
        delete(audit),
        text("DELETE FROM audit WHERE seq > 0"),
    ],
    ids=["update", "delete", "raw delete"],
)
async def test_the_database_refuses_to_change_or_remove_an_entry(
    db: Database, statement: object
) -> None:
    async with db.transaction() as conn:
        await queries.append_audit(conn, [entry("viewed")])
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute(statement)  # type: ignore[call-overload]
    async with db.read() as conn:
        (kept,) = await queries.list_audit(conn)
    assert kept.actor == "helen"


async def test_postgresql_refuses_truncate_too(postgresql_url: str) -> None:
    db = await open_database(postgresql_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute(text("TRUNCATE audit"))
    finally:
        await db.close()


def test_no_query_changes_the_audit_trail() -> None:
    source = inspect.getsource(queries)
    assert "update(audit)" not in source
    assert "delete(audit)" not in source
    writers = [
        name
        for name, value in vars(queries).items()
        if "audit" in name and inspect.isfunction(value)
    ]
    assert sorted(writers) == ["append_audit", "list_audit"]
