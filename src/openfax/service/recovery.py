"""Start-up recovery: what a node that died (kill -9, power loss) left half done.

Receptions come first: a fax whose call completed is already archived and only needs its
routing finished; a reception cut off by the crash keeps the pages that reached the spool,
archived as partial. Then this node's outgoing jobs that were in a call go back to the
queue (they resume from the first unconfirmed page), or are set aside when their last two
calls were both cut off so (:mod:`openfax.service.interrupted`), and those being cancelled
end CANCELED; other nodes' jobs come back when their leases lapse (the scheduler's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from openfax.documents import iter_fax_tiff
from openfax.errors import DocumentError
from openfax.model import ExtendedStatus, JobStatus
from openfax.service.archiving import settle_submission
from openfax.service.context import ServiceContext
from openfax.service.interrupted import interrupt
from openfax.service.job_states import base
from openfax.service.receiving import Receiver
from openfax.service.scheduler import emit_job
from openfax.store import IncomingJob
from openfax.store import queries as q

_logger = logging.getLogger(__name__)


async def recover(ctx: ServiceContext, receiver: Receiver) -> None:
    """Finish or undo this node's work interrupted by its previous run."""
    async with ctx.db.read() as conn:
        incoming = await q.list_incoming_jobs(conn, node_id=ctx.node_id)
    for job in incoming:
        if base(job.status) in (JobStatus.INPROGRESS, JobStatus.CANCELING):
            await _cut_off_reception(ctx, receiver, job)
        else:
            _logger.info("fax %016x: resuming its routing", job.id)
            ctx.spawn(receiver.route(job), f"routing {job.id:016x}")
    await _requeue_outgoing(ctx)


async def _cut_off_reception(ctx: ServiceContext, receiver: Receiver, job: IncomingJob) -> None:
    pages = 0
    size = 0
    if job.receive_path:
        path = ctx.spool.path(job.receive_path)
        try:
            pages = await asyncio.to_thread(_count_pages, path)
            size = path.stat().st_size
        except (DocumentError, OSError):
            pages = 0
    _logger.warning("fax %016x: reception cut off by a restart, %d pages kept", job.id, pages)
    if pages == 0:
        await receiver.discard(job)
        return
    end = q.ReceptionEnd(
        pages=pages,
        partial=True,
        size=size,
        extended_status=ExtendedStatus.PARTIALLY_RECEIVED,
        extended_status_text="the reception was cut off when the service stopped",
    )
    await receiver.archive(job, end, cut_off=True)


def _count_pages(path: Path) -> int:
    """The pages a cut-off reception left whole, each read (and checked) in turn."""
    return sum(1 for _ in iter_fax_tiff(path))


async def _requeue_outgoing(ctx: ServiceContext) -> None:
    now = ctx.clock.now()
    unreferenced: list[str] = []
    async with ctx.hub.transaction() as conn:
        for job in await q.list_jobs(conn):
            in_call = base(job.status) in (JobStatus.INPROGRESS, JobStatus.CANCELING)
            if job.node_id != ctx.node_id or not in_call:
                continue
            _logger.warning("job %016x: its call was cut off by a restart", job.id)
            await q.finish_call_attempt(
                conn,
                job.id,
                job.attempts,
                {"ended_at": now, "failure_cause": "internal", "result_name": "INTERRUPTED"},
            )
            updated = await interrupt(conn, job, now=now, retry_at=now)
            if updated is not None:
                await emit_job(conn, ctx, updated)
                unreferenced += await settle_submission(conn, ctx.hub, job.submission_id)
    for path in unreferenced:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(ctx.spool.delete, path)
