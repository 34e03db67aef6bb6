"""Opening the store: migrations, backend settings, column types, URL handling."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, text
from sqlalchemy.exc import IntegrityError, StatementError

from openfax.errors import StoreError
from openfax.model import JobStatus
from openfax.store import Database, migrations, open_database, queries, records
from openfax.store.database import database_url, head_revision, schema_revision
from openfax.store.schema import metadata, outgoing_jobs

from .conftest import NOW, submission_with_jobs

pytestmark = pytest.mark.anyio

MIGRATIONS = Path(migrations.__file__).parent / "versions"


def _schema_differences(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_create_exactly_the_schema_of_schema_py(db: Database) -> None:
    async with db.read() as conn:
        assert await conn.run_sync(_schema_differences) == []
        assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == "0015"


async def test_reopening_a_migrated_store_keeps_its_rows(database_url: str) -> None:
    first = await open_database(database_url)
    submission, jobs = submission_with_jobs(2)
    async with first.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
    await first.close()
    second = await open_database(database_url)
    async with second.read() as conn:
        assert len(await queries.list_jobs(conn)) == 2
    await second.close()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "store" / "fax.db")
    async with db.read() as conn:
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert await conn.scalar(text("PRAGMA busy_timeout")) > 0
    await db.close()


async def test_foreign_keys_refuse_a_job_without_its_submission(db: Database) -> None:
    _, jobs = submission_with_jobs(1)
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        async with db.transaction() as conn:
            await conn.execute(insert(outgoing_jobs), [records.values(jobs[0])])


async def test_times_come_back_as_aware_utc_and_enums_as_members(db: Database) -> None:
    paris = timezone(timedelta(hours=1))
    submission, jobs = submission_with_jobs(
        1, scheduled_at=datetime(2026, 11, 24, 10, 0, tzinfo=paris)
    )
    async with db.transaction() as conn:
        await queries.insert_submission(conn, submission, jobs)
    async with db.read() as conn:
        job = await queries.get_job(conn, jobs[0].id)
    assert job.scheduled_at == NOW
    assert job.scheduled_at.tzinfo is not None
    assert job.scheduled_at.utcoffset() == timedelta(0)
    assert job.status is JobStatus.PENDING
    assert job.recipient == {}
    assert job.id == jobs[0].id


async def test_a_naive_time_is_refused(db: Database) -> None:
    submission, _ = submission_with_jobs(0, submitted_at=datetime(2026, 11, 24, 9, 0))
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.transaction() as conn:
            await queries.insert_submission(conn, submission, [])


def test_every_record_has_exactly_its_table_columns() -> None:
    pairs = {
        records.Submission: "submissions",
        records.OutgoingJob: "outgoing_jobs",
        records.CallAttempt: "call_attempts",
        records.IncomingJob: "incoming_jobs",
        records.Message: "messages",
        records.Device: "devices",
        records.Event: "events",
        records.RoutingDelivery: "routing_deliveries",
        records.AuditEntry: "audit",
        records.MessageText: "message_texts",
        records.Contact: "address_book_contacts",
        records.ContactGroup: "address_book_groups",
    }
    for record, table in pairs.items():
        fields = [field.name for field in dataclasses.fields(record)]
        assert fields == list(metadata.tables[table].c.keys()), table


def test_urls_get_the_async_drivers() -> None:
    assert database_url("/var/lib/openfax/fax.db").drivername == "sqlite+aiosqlite"
    assert database_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert database_url("postgresql://u@db/openfax").drivername == "postgresql+psycopg"
    with pytest.raises(StoreError, match="mysql"):
        database_url("mysql://u@db/openfax")


async def test_an_unreachable_database_is_a_store_error_naming_it() -> None:
    with pytest.raises(StoreError, match=r"cannot open the database .*nowhere"):
        await open_database("postgresql://openfax@/nowhere?host=/nonexistent")


async def test_a_migrated_store_is_at_the_newest_migration(db: Database) -> None:
    async with db.read() as conn:
        assert await schema_revision(conn) == head_revision()
    assert (
        head_revision()
        == sorted(path.name.partition("_")[0] for path in MIGRATIONS.glob("[0-9]*_*.py"))[-1]
    )
