"""Receipts in the service on both stores: a broadcast's summary is queued in the
transaction of its last job's end and mailed once to a real SMTP server (aiosmtpd), and a
submission asking for a receipt the options do not allow is refused before anything is
queued."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openfax.errors import ConfigError, SubmissionError
from openfax.model import ReceiptType
from openfax.service import FaxService, ManualClock
from openfax.store import DeliveryStatus
from tests.routing.peers import smtp_server
from tests.service.conftest import eventually, request, send_all

pytestmark = pytest.mark.anyio


async def test_a_broadcast_summary_is_mailed_once_when_its_last_job_ends(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    with smtp_server() as (mailbox, port):
        options = await service.save_receipt_options(
            {"allowed_receipts": 1, "smtp_server": "127.0.0.1", "smtp_port": port}
        )
        assert options.allowed_receipts is ReceiptType.MAIL
        job_ids = await service.submit(
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
            return bool(await service.get_receipts(status=DeliveryStatus.DONE))

        await eventually(sent, "the summary marked sent")
        (summary,) = await service.get_receipts()
    assert summary.job_id is None and summary.delivered
    assert [job["status"] for job in summary.report["jobs"]] == ["COMPLETED", "COMPLETED"]
    # Without a subject the fax goes by its document's name.
    assert mail["Subject"] == 'Broadcast fax "two.pdf": 2 of 2 recipients received it'
    assert len(mailbox.messages) == 1


async def test_a_receipt_the_options_do_not_allow_is_refused_and_nothing_is_queued(
    service: FaxService, two_pages: Path
) -> None:
    asked = request(two_pages, receipt_type=ReceiptType.MAIL, receipt_address="a@example.com")
    with pytest.raises(SubmissionError, match=r"allowed: none"):
        await service.submit(asked)
    assert await service.get_outgoing_jobs() == []
    with pytest.raises(ConfigError, match="smtp_port: must be a port"):
        await service.save_receipt_options({"smtp_port": 0})
    with pytest.raises(ConfigError, match="unknown option"):
        await service.save_receipt_options({"smtp_host": "mail"})
