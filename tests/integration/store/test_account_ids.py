"""Migration 0010 on both backends: accounts get ids, and the submissions, jobs, messages
and tokens of a store made before it are kept, each owned by the id of its owner's account
(by nobody when that account no longer exists)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from openfax.store import Direction, open_database, queries
from openfax.store.database import database_url, upgrade

pytestmark = pytest.mark.anyio

WHEN = "'2026-11-24 09:00:00'"


def submission(submission_id: int, owner: str, key: str) -> str:
    return (
        "INSERT INTO submissions (id, idempotency_key, owner, document_name, subject, note,"
        " sender, cover_page_type, cover_page, receipt_type, receipt_address,"
        " attach_fax_to_receipt, group_broadcast_receipts, priority, schedule_type,"
        f" page_count, submitted_at) VALUES ({submission_id}, '{key}', '{owner}', '', '', '',"
        f" '{{}}', 0, '', 0, '', false, false, 1, 0, 1, {WHEN})"
    )


def job(job_id: int, submission_id: int) -> str:
    return (
        "INSERT INTO outgoing_jobs (id, submission_id, recipient_index, recipient_number,"
        " recipient_name, recipient, status, extended_status, extended_status_text,"
        " retryable, total_pages, pages_confirmed, current_page, attempts, retries, csid,"
        " tsid, priority, original_scheduled_at, scheduled_at, created_at, size, version)"
        f" VALUES ({job_id}, {submission_id}, 0, '1002', '', '{{}}', 1, 0, '', false, 1, 0, 0,"
        f" 1, 0, '', '', 1, {WHEN}, {WHEN}, {WHEN}, 0, 1)"
    )


def message(message_id: int, owner: str) -> str:
    return (
        "INSERT INTO messages (id, direction, owner, subject, document_name, sender,"
        " sender_name, sender_fax_number, recipient_number, recipient_name, recipient,"
        " recipients, was_reassigned, receipt_address, has_cover_page, read, pages, size,"
        " retries, device_name, csid, tsid, caller_id, routing_information, partial,"
        f" archived_at) VALUES ({message_id}, 'out', '{owner}', '', '', '{{}}', '', '', '',"
        f" '', '{{}}', '', false, '', false, false, 1, 0, 0, '', '', '', '', '', false,"
        f" {WHEN})"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (not even migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server = request.getfixturevalue("postgresql")
    name = f"old_{uuid.uuid4().hex}"
    with server.admin() as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    yield server.url(name)
    with server.admin() as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def database_url_of_0009(empty_url: str) -> str:
    """A store migrated to 0009 only: account alice with a token; alice's and the removed
    bob's submissions (each with a queued job) and sent faxes."""
    url = empty_url
    engine = create_async_engine(database_url(url))
    async with engine.begin() as conn:
        await conn.run_sync(upgrade, "0009")
        for statement in (
            f"INSERT INTO accounts (name, created_at) VALUES ('alice', {WHEN})",
            "INSERT INTO account_tokens (id, account_name, token_hash, label, created_at)"
            f" VALUES (5, 'alice', 'sha256:00', 'laptop', {WHEN})",
            submission(11, "alice", "k"),
            job(22, 11),
            message(33, "alice"),
            submission(12, "bob", "k2"),
            job(23, 12),
            message(34, "bob"),
        ):
            await conn.execute(text(statement))
    await engine.dispose()
    return url


async def test_migration_0010_gives_owned_rows_their_owners_account_id(
    database_url_of_0009: str,
) -> None:
    database = await open_database(database_url_of_0009)
    try:
        async with database.read() as conn:
            alice = await queries.get_account(conn, "alice")
            assert alice is not None
            assert alice.id > 0
            assert [t.id for t in await queries.list_tokens(conn, "alice")] == [5]
            assert [j.id for j in await queries.list_jobs(conn)] == [22, 23]
            assert [j.id for j in await queries.list_jobs(conn, owner=alice.id)] == [22]
            mine = await queries.list_messages(conn, Direction.OUT, owner=alice.id)
            assert [m.id for m in mine.messages] == [33]
            orphan = await queries.get_message(conn, Direction.OUT, 34)
            assert orphan.owner == "bob"
            assert orphan.owner_id is None
            assert (await queries.get_submission(conn, 12)).owner_id is None
            found = await queries.find_submission(conn, alice.id, "k")
            assert found is not None
            assert found.id == 11
    finally:
        await database.close()
