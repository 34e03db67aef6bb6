"""Receipts in the service on both stores: a broadcast's summary is queued in the
transaction of its last job's end and mailed once to a real SMTP server (aiosmtpd), a
submission asking for a receipt the options do not allow is refused before anything is
queued, a pending receipt is cancelled, and settled receipts go with the archive's age
limit."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from openfax.errors import ConfigError, InvalidOperationError, SubmissionError
from openfax.model import ReceiptType, format_id, new_id
from openfax.service import FaxService, ManualClock
from openfax.store import DeliveryStatus, Receipt
from openfax.store import queries as q
from tests.integration.service.conftest import MakeConfig, request, send_all
from tests.peers import smtp_server
from tests.waiting import until

DAY = timedelta(days=1)

pytestmark = pytest.mark.anyio


async def test_a_broadcast_summary_is_mailed_once_when_its_last_job_ends(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    with smtp_server() as (mailbox, port):
        options = await service.options.save_receipt_options(
            {"allowed_receipts": 1, "smtp_server": "127.0.0.1", "smtp_port": port}
        )
        assert options.allowed_receipts is ReceiptType.MAIL
        job_ids = await service.outgoing_queue.submit(
            request(
                two_pages,
                "1002",
                "1003",
                receipt_type=ReceiptType.MAIL,
                receipt_address="sender@example.com",
                group_broadcast_receipts=True,
            )
        )
        await send_all(service, clock, job_ids)
        ((_, mail),) = await asyncio.to_thread(mailbox.wait_for, 1)

        async def sent() -> bool:
            return bool(await service.receipts.get_receipts(status=DeliveryStatus.DONE))

        await until(sent, "the summary marked sent")
        (summary,) = await service.receipts.get_receipts()
        async with service.ctx.db.read() as conn:  # what it reports stays on the server
            (stored,) = await q.list_receipts(conn)
    assert summary.job_id is None
    assert summary.delivered
    assert [job["status"] for job in stored.report["jobs"]] == ["COMPLETED", "COMPLETED"]
    # Without a subject the fax goes by its document's name.
    assert mail["Subject"] == 'Broadcast fax "two.pdf": 2 of 2 recipients received it'
    assert len(mailbox.messages) == 1


async def test_a_receipt_the_options_do_not_allow_is_refused_and_nothing_is_queued(
    service: FaxService, two_pages: Path
) -> None:
    asked = request(two_pages, receipt_type=ReceiptType.MAIL, receipt_address="a@example.com")
    with pytest.raises(SubmissionError, match=r"allowed: none"):
        await service.outgoing_queue.submit(asked)
    assert await service.outgoing_queue.get_jobs() == []
    with pytest.raises(ConfigError, match="smtp_port: must be a port"):
        await service.options.save_receipt_options({"smtp_port": 0})
    with pytest.raises(ConfigError, match="unknown option"):
        await service.options.save_receipt_options({"smtp_host": "mail"})


async def queue_receipt(
    service: FaxService, status: DeliveryStatus, due: timedelta | None = None
) -> Receipt:
    """A receipt as the scheduler queues it (``due`` after now when pending: the sender
    leaves it alone until then), already in ``status``."""
    now = service.ctx.clock.now()
    receipt = Receipt(
        submission_id=new_id(),
        job_id=new_id(),
        address="sender@example.com",
        delivered=True,
        status=status,
        next_attempt_at=None if due is None else now + due,
        created_at=now,
        updated_at=now,
    )
    async with service.ctx.db.transaction() as conn:
        await q.insert_receipts(conn, [receipt])
    return receipt


async def test_a_pending_receipt_is_cancelled_and_can_still_be_sent(service: FaxService) -> None:
    pending = await queue_receipt(service, DeliveryStatus.PENDING, due=DAY)
    cancelled = await service.receipts.cancel_receipt(pending.id, "alice")
    assert cancelled.status is DeliveryStatus.FAILED
    assert cancelled.next_attempt_at is None
    assert cancelled.last_error == "cancelled by alice"
    (failed,) = await service.receipts.get_receipts(status=DeliveryStatus.FAILED)
    assert failed.id == pending.id
    with pytest.raises(InvalidOperationError, match="is failed: only pending ones"):
        await service.receipts.cancel_receipt(pending.id, "alice")
    audited = [e for e in await service.options.get_audit() if e.object_type == "receipt"]
    assert [(e.action, e.actor, e.object_id) for e in audited] == [
        ("cancelled", "alice", format_id(pending.id))
    ]
    resent = await service.receipts.resend_receipt(pending.id)
    assert resent.status is DeliveryStatus.PENDING


async def test_sent_and_failed_receipts_go_with_the_outgoing_archive_age_limit(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data", archive={"outgoing_age_limit_days": 3})
    async with FaxService(config, clock=clock) as service:
        sent = await queue_receipt(service, DeliveryStatus.DONE)
        failed = await queue_receipt(service, DeliveryStatus.FAILED)
        pending = await queue_receipt(service, DeliveryStatus.PENDING, due=30 * DAY)
        await clock.advance(2 * DAY.total_seconds())
        young = await queue_receipt(service, DeliveryStatus.DONE)
        await clock.advance(DAY.total_seconds() + 3600)

        async def settled_gone() -> bool:
            await clock.advance(60)  # the clean-up runs hourly: wake it if it slept past
            return len(await service.receipts.get_receipts()) == 2

        await until(settled_gone, "the receipts older than three days are removed")
        assert {r.id for r in await service.receipts.get_receipts()} == {pending.id, young.id}
        purged = [e for e in await service.options.get_audit() if e.object_type == "receipt"]
    assert {e.object_id for e in purged} == {format_id(sent.id), format_id(failed.id)}
    assert {(e.action, e.actor) for e in purged} == {("purged", "openfaxd")}
    assert all(e.details == {"age_limit_days": 3} for e in purged)


@pytest.mark.parametrize(
    "address",
    ["a@x, c@y", "a@x;c@y", "Alice <a@x>", "a@x (home)", "a@x\nBcc: c@y", "a@x c@y", "ax", "a@"],
)
async def test_a_receipt_address_that_is_not_one_address_is_refused_by_name(
    service: FaxService, two_pages: Path, address: str
) -> None:
    await service.options.save_receipt_options({"allowed_receipts": 1})
    asked = request(two_pages, receipt_type=ReceiptType.MAIL, receipt_address=address)
    with pytest.raises(SubmissionError, match="receipt_address is one e-mail address"):
        await service.outgoing_queue.submit(asked)
    assert await service.outgoing_queue.get_jobs() == []
