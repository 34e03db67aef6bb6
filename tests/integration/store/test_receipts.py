"""Delivery receipts in the store, on both backends: a due receipt is taken once (held until
its hold passes), the next due time, and a submission's receipts in queue order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openfax.model import new_id
from openfax.store import Database, DeliveryStatus, Receipt, queries

from .conftest import ALICE, BOB, later, submission_with_jobs

pytestmark = pytest.mark.anyio


def receipt(submission_id: int, seconds: float, job_id: int | None = None) -> Receipt:
    return Receipt(
        submission_id=submission_id,
        job_id=job_id,
        address="sender@example.com",
        delivered=True,
        report={"jobs": []},
        next_attempt_at=later(seconds),
        created_at=later(seconds),
        updated_at=later(seconds),
    )


async def test_a_due_receipt_is_taken_once_until_its_hold_passes(db: Database) -> None:
    submission = new_id()
    first, second = receipt(submission, 0, new_id()), receipt(submission, 1, new_id())
    hold = timedelta(minutes=10)
    async with db.transaction() as conn:
        await queries.insert_receipts(conn, [second, first])
        assert await queries.next_receipt_at(conn) == later(0)
        # At 0.5 s only the first is due; taken, it is held for ten minutes.
        taken = await queries.claim_due_receipt(conn, now=later(0.5), hold_until=later(0.5) + hold)
        assert taken is not None
        assert taken.id == first.id
        assert await queries.claim_due_receipt(conn, now=later(0.5), hold_until=later(600)) is None
        # Later the second is due, and the first again once its hold has passed.
        taken = await queries.claim_due_receipt(conn, now=later(2), hold_until=later(2) + hold)
        assert taken is not None
        assert taken.id == second.id
        again = await queries.claim_due_receipt(conn, now=later(601), hold_until=later(1200))
        assert again is not None
        assert again.id == first.id
        sent = await queries.update_receipt(
            conn,
            first.id,
            {"status": DeliveryStatus.DONE, "next_attempt_at": None, "sent_at": later(601)},
        )
        assert sent is not None
        assert sent.status is DeliveryStatus.DONE
        assert await queries.next_receipt_at(conn) == later(2) + hold
    async with db.read() as conn:
        listed = await queries.list_receipts(conn, submission_id=submission)
        done = await queries.list_receipts(conn, status=DeliveryStatus.DONE)
    assert [r.id for r in listed] == [first.id, second.id]
    assert [r.id for r in done] == [first.id]


async def test_nothing_is_due_when_every_receipt_is_sent(db: Database) -> None:
    async with db.transaction() as conn:
        assert await queries.next_receipt_at(conn) is None
        assert await queries.claim_due_receipt(conn, now=later(0), hold_until=later(1)) is None


async def test_an_accounts_receipts_are_those_of_its_own_faxes(db: Database) -> None:
    alice, alice_jobs = submission_with_jobs(1)
    bob, bob_jobs = submission_with_jobs(1, owner="bob", owner_id=BOB)
    mine, theirs = receipt(alice.id, 0, alice_jobs[0].id), receipt(bob.id, 1, bob_jobs[0].id)
    async with db.transaction() as conn:
        await queries.insert_submission(conn, alice, alice_jobs)
        await queries.insert_submission(conn, bob, bob_jobs)
        await queries.insert_receipts(conn, [mine, theirs])
        assert [r.id for r in await queries.list_receipts(conn, owner=ALICE)] == [mine.id]
        assert [r.id for r in await queries.list_receipts(conn, owner=BOB)] == [theirs.id]
        assert {r.id for r in await queries.list_receipts(conn)} == {mine.id, theirs.id}


async def test_receipts_are_counted_pending_and_failed_never_done(db: Database) -> None:
    async with db.read() as conn:
        assert await queries.count_receipts(conn) == {
            DeliveryStatus.PENDING: 0,
            DeliveryStatus.FAILED: 0,
        }
    submission = new_id()
    queued = [receipt(submission, n, new_id()) for n in range(5)]
    async with db.transaction() as conn:
        await queries.insert_receipts(conn, queued)
        await queries.update_receipt(conn, queued[0].id, {"status": DeliveryStatus.DONE})
        for failed in queued[1:3]:
            await queries.update_receipt(conn, failed.id, {"status": DeliveryStatus.FAILED})
    async with db.read() as conn:
        assert await queries.count_receipts(conn) == {
            DeliveryStatus.PENDING: 2,
            DeliveryStatus.FAILED: 2,
        }
