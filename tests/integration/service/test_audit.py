"""The audit trail written by the service: each operation on a fax or the configuration
leaves one entry with its actor, in the operation's transaction; the age limits' purges are
the service's own; no entry holds document content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openfax.errors import MessageNotFoundError
from openfax.model import format_id
from openfax.service import FaxService, ManualClock
from openfax.service.housekeeping import apply_age_limits
from openfax.store import Direction

from .conftest import archived, job_leaves_queue, request

pytestmark = pytest.mark.anyio

DAY = 86400


async def test_each_operation_leaves_an_entry_with_its_actor(
    service: FaxService, clock: ManualClock, tmp_path: Path, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True, actor="admin")
    queued, sent = await service.outgoing_queue.submit(
        request(two_pages, "1002", "1003", owner="helen", subject="Lab results: positive")
    )
    await service.outgoing_queue.pause_job(queued, "helen")
    await service.outgoing_queue.cancel_job(queued, "helen")
    await service.options.set_queue_switches(outgoing_paused=False, actor="admin")
    await job_leaves_queue(service, sent)
    await service.archives.get_message(Direction.OUT, sent, "auditor")
    await service.archives.pdf_path(Direction.OUT, sent, "auditor")
    await service.archives.get_message(Direction.OUT, sent)  # the service's own read: not audited
    await service.archives.delete_message(Direction.OUT, sent, "admin")
    await service.options.save_configuration({"retries": 1}, "admin")

    trail = [
        (e.actor, e.action, e.object_type, e.object_id) for e in await service.options.get_audit()
    ]
    submission = trail[1][3]
    assert trail == [
        ("admin", "config_changed", "queues", "queues"),
        ("helen", "submitted", "submission", submission),
        ("helen", "paused", "outgoing_job", format_id(queued)),
        ("helen", "cancelled", "outgoing_job", format_id(queued)),
        ("admin", "config_changed", "queues", "queues"),
        ("auditor", "viewed", "outgoing_message", format_id(sent)),
        ("auditor", "downloaded", "outgoing_message", format_id(sent)),
        ("admin", "deleted", "outgoing_message", format_id(sent)),
        ("admin", "config_changed", "configuration", "configuration"),
    ]
    entries = await service.options.get_audit()
    assert entries[1].details == {"job_ids": [format_id(queued), format_id(sent)]}
    assert entries[-1].details == {"retries": 1}
    assert "Lab results" not in json.dumps([e.details for e in entries]), "no content"


async def test_a_refused_operation_leaves_no_entry(service: FaxService, two_pages: Path) -> None:
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)
    before = len(await service.options.get_audit())
    with pytest.raises(MessageNotFoundError):
        await service.outgoing_queue.cancel_job(job_id, "helen")
    assert len(await service.options.get_audit()) == before


async def test_the_age_limits_purges_are_audited_as_the_service(
    service: FaxService, clock: ManualClock, two_pages: Path
) -> None:
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
    await job_leaves_queue(service, job_id)

    # A message still being routed is kept from the age limit: the clock moves on only once
    # the routing is done.
    (incoming,) = await archived(service)
    await service.options.save_configuration(
        {"archive_age_limit": 1, "incoming_archive_age_limit": 2}, "admin"
    )
    await clock.advance(1.5 * DAY)
    await apply_age_limits(service.ctx)
    await clock.advance(DAY)
    await apply_age_limits(service.ctx)
    purges = [e for e in await service.options.get_audit() if e.action == "purged"]
    assert [(e.actor, e.object_type, e.object_id, e.details) for e in purges] == [
        ("openfaxd", "outgoing_message", format_id(job_id), {"age_limit_days": 1}),
        ("openfaxd", "incoming_message", format_id(incoming.id), {"age_limit_days": 2}),
    ]
