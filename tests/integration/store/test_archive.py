"""The archives (keyset pages, deletion) and the incoming queue."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from openfax.errors import MessageNotFoundError
from openfax.model import JobStatus, JobType, new_id
from openfax.store import Database, Direction, IncomingJob, Message, MessageText, queries

from .conftest import ALICE, BOB, later

pytestmark = pytest.mark.anyio


def message(direction: Direction, seconds: float, owner: int = ALICE) -> Message:
    return Message(
        id=new_id(),
        direction=direction,
        owner="alice" if owner == ALICE else "bob",
        owner_id=owner,
        pages=2,
        csid="+1 555 0100",
        tiff_path=f"ab/{seconds}.tif",
        archived_at=later(seconds),
    )


async def test_an_archive_is_read_page_by_page_without_gaps_or_repeats(db: Database) -> None:
    # Three messages share each archive time, so the cursor must break ties by id.
    archived = [message(Direction.OUT, seconds // 3) for seconds in range(25)]
    incoming = message(Direction.IN, 0)
    async with db.transaction() as conn:
        for item in [*archived, incoming]:
            await queries.archive_message(conn, item)
    seen: list[Message] = []
    cursor = None
    async with db.read() as conn:
        while True:
            page = await queries.list_messages(conn, Direction.OUT, after=cursor, limit=7)
            seen.extend(page.messages)
            if page.next_cursor is None:
                break
            assert len(page.messages) == 7
            cursor = page.next_cursor
    expected = sorted(archived, key=lambda item: (item.archived_at, item.id))
    assert seen == expected


async def test_the_console_reads_newest_first_narrowed_to_a_caller_and_days(db: Database) -> None:
    # Two messages share each archive time; every third comes from the caller searched for.
    archived = [message(Direction.IN, seconds // 2) for seconds in range(12)]
    archived = [
        dataclasses.replace(item, caller_id="+1 555 0199 50%" if index % 3 == 0 else "")
        for index, item in enumerate(archived)
    ]
    async with db.transaction() as conn:
        for item in archived:
            await queries.archive_message(conn, item)
    newest_first = sorted(archived, key=lambda item: (item.archived_at, item.id), reverse=True)

    async def listing(**narrowing: Any) -> list[Message]:
        seen: list[Message] = []
        cursor = None
        async with db.read() as conn:
            while True:
                page = await queries.list_messages(
                    conn, Direction.IN, after=cursor, limit=3, newest_first=True, **narrowing
                )
                seen.extend(page.messages)
                if page.next_cursor is None:
                    return seen
                cursor = page.next_cursor

    assert await listing() == newest_first
    # Letter case aside, and a LIKE wildcard in what is searched is a plain character.
    callers = [item for item in newest_first if item.caller_id]
    assert await listing(party="0199 50%") == callers
    assert await listing(party="0199 5_%") == []
    days = [item for item in newest_first if later(2) <= item.archived_at < later(4)]
    assert await listing(archived_from=later(2), archived_before=later(4)) == days
    assert len(days) == 4


async def test_an_exactly_full_last_page_ends_the_archive(db: Database) -> None:
    async with db.transaction() as conn:
        for seconds in range(4):
            await queries.archive_message(conn, message(Direction.IN, seconds))
    async with db.read() as conn:
        first = await queries.list_messages(conn, Direction.IN, limit=2)
        second = await queries.list_messages(conn, Direction.IN, after=first.next_cursor, limit=2)
    assert first.next_cursor is not None
    assert len(second.messages) == 2
    assert second.next_cursor is None


async def test_an_account_sees_its_own_messages(db: Database) -> None:
    mine, theirs = message(Direction.OUT, 1), message(Direction.OUT, 2, BOB)
    async with db.transaction() as conn:
        await queries.archive_message(conn, mine)
        await queries.archive_message(conn, theirs)
        page = await queries.list_messages(conn, Direction.OUT, owner=BOB)
    assert page.messages == [theirs]


async def test_messages_are_read_marked_and_deleted(db: Database) -> None:
    item = message(Direction.IN, 5)
    async with db.transaction() as conn:
        await queries.archive_message(conn, item)
        marked = await queries.update_message(conn, Direction.IN, item.id, {"read": True})
        assert marked.read
        assert await queries.get_message(conn, Direction.IN, item.id) == marked
        with pytest.raises(MessageNotFoundError, match="outgoing message"):
            await queries.get_message(conn, Direction.OUT, item.id)
        removed = await queries.delete_message(conn, Direction.IN, item.id)
        assert removed.tiff_path == item.tiff_path
        with pytest.raises(MessageNotFoundError, match="incoming message"):
            await queries.delete_message(conn, Direction.IN, item.id)


async def test_incoming_jobs_move_from_receiving_to_routing(db: Database) -> None:
    job = IncomingJob(device_id=3, node_id="node-a", caller_id="+1 555 0199", started_at=later(0))
    async with db.transaction() as conn:
        await queries.insert_incoming_job(conn, job)
        routed = await queries.update_incoming_job(
            conn,
            job.id,
            {"status": JobStatus.ROUTING, "job_type": JobType.ROUTING, "pages": 4},
            expected_status=JobStatus.INPROGRESS,
        )
        assert routed is not None
        assert routed.version == 2
        assert routed.job_type is JobType.ROUTING
        stale = await queries.update_incoming_job(
            conn, job.id, {"pages": 5}, expected_version=job.version
        )
        assert stale is None
        assert await queries.list_incoming_jobs(conn, node_id="node-a") == [routed]
        assert await queries.list_incoming_jobs(conn, node_id="node-b") == []
        assert await queries.delete_incoming_job(conn, job.id)
        with pytest.raises(MessageNotFoundError, match="incoming job"):
            await queries.get_incoming_job(conn, job.id)


async def test_the_text_of_a_fax_is_stored_searched_and_goes_with_it(db: Database) -> None:
    referral, invoice, unread = (message(Direction.IN, seconds) for seconds in range(3))
    job = IncomingJob(id=referral.id, device_id=3, node_id="node-a", started_at=later(0))
    words = [[["Referral", 10, 20, 80, 30], ["form", 100, 20, 40, 30]]]
    async with db.transaction() as conn:
        for item in (referral, invoice, unread):
            await queries.archive_message(conn, item)
        await queries.insert_incoming_job(conn, job)
        for item, text in ((referral, "Referral form\nCardiology 50%_off"), (invoice, "Invoice")):
            read = MessageText(
                message_id=item.id, text=text, pages=[words], error="", read_at=later(1)
            )
            await queries.put_message_text(conn, read)
        # Read again: the second reading replaces the first.
        again = MessageText(
            message_id=invoice.id, text="Invoice 12", pages=[], error="", read_at=later(2)
        )
        await queries.put_message_text(conn, again)

    async def found(*words: str) -> list[int]:
        async with db.read() as conn:
            page = await queries.list_messages(conn, Direction.IN, words=words)
        return [item.id for item in page.messages]

    assert await found("referral") == [referral.id]
    assert await found("CARDIOLOGY", "form") == [referral.id]
    assert await found("referral", "invoice") == []
    assert await found("50%_") == [referral.id]
    assert await found("%") == [referral.id]  # a wildcard is a character like any other
    assert await found("_12") == []
    assert await found("12") == [invoice.id]
    async with db.read() as conn:
        queued = await queries.list_incoming_jobs_page(conn, words=["form"])
        assert [j.id for j in queued.jobs] == [referral.id]
        assert (await queries.list_incoming_jobs_page(conn, words=["invoice"])).jobs == []
        stored = await queries.get_message_text(conn, referral.id)
        assert stored is not None
        assert stored.pages == [words]
        assert await queries.get_message_text(conn, unread.id) is None
    async with db.transaction() as conn:
        await queries.delete_incoming_job(conn, job.id)
        await queries.delete_message(conn, Direction.IN, referral.id)
    async with db.read() as conn:
        assert await queries.get_message_text(conn, referral.id) is None
