"""The incoming queue (FAXCOMEX ``FaxIncomingQueue``): the faxes being received or routed,
and cancelling one."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

from openfax.errors import InvalidOperationError
from openfax.model import DEFAULT_PREFETCH_SIZE, JobStatus, JobType
from openfax.model.paging import QueueCursor, QueuePage
from openfax.model.records import IncomingJobInfo
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record, record_read
from openfax.service.context import ServiceContext
from openfax.service.inbound_routing import InboundRouting
from openfax.service.receiving import Receiver
from openfax.service.views import incoming_job_changed, incoming_job_info
from openfax.store import queries as q


class IncomingQueue:
    """FAXCOMEX ``IncomingQueue``: the running service's ``incoming_queue``."""

    def __init__(self, ctx: ServiceContext, receiver: Receiver, routing: InboundRouting) -> None:
        self._ctx = ctx
        self._receiver = receiver
        self._routing = routing

    async def get_jobs(self) -> list[IncomingJobInfo]:
        """FAXCOMEX ``IncomingQueue.GetJobs()``: faxes being received or routed."""
        async with self._ctx.db.read() as conn:
            return [incoming_job_info(job) for job in await q.list_incoming_jobs(conn)]

    async def get_job_page(
        self,
        after: QueueCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        words: Sequence[str] = (),
    ) -> QueuePage[IncomingJobInfo]:
        """One page of a snapshot of the queue, as the outgoing queue's ``get_job_page``;
        with ``words``, the faxes whose text (OCR) holds them all."""
        async with self._ctx.db.read() as conn:
            page = await q.list_incoming_jobs_page(conn, words=words, after=after, limit=limit)
        jobs = [incoming_job_info(job) for job in page.jobs]
        return QueuePage(jobs, page.count, page.next_cursor)

    async def get_job(self, job_id: int) -> IncomingJobInfo:
        """FAXCOMEX ``IncomingQueue.GetJob(id)``; MessageNotFoundError if there is none."""
        async with self._ctx.db.read() as conn:
            return incoming_job_info(await q.get_incoming_job(conn, job_id))

    async def cancel_job(self, job_id: int, actor: str = SERVICE_ACTOR) -> IncomingJobInfo:
        """FAXCOMEX ``IncomingJob.Cancel()``: a reception is hung up (CANCELING; the pages
        that arrived are archived as partial, then the job is CANCELED); a fax being routed
        stops being routed and leaves the queue (CANCELED), staying in the archive."""
        ctx = self._ctx
        async with ctx.hub.transaction() as conn:
            job = await q.get_incoming_job(conn, job_id, for_update=True)
            updated = await q.cancel_incoming_job(conn, job)
            assert updated is not None, "the job is locked by this transaction"
            status = updated.status
            await record(
                conn, ctx.clock.now(), actor, AuditAction.CANCELLED, "incoming_job", job_id
            )
            await ctx.hub.emit(conn, incoming_job_changed(updated))
            if status is JobStatus.CANCELED:
                await self._routing.cancel(conn, updated)
        if status is JobStatus.CANCELING:
            self._receiver.hang_up(job_id)
        else:
            self._routing.wake(job_id)
        return incoming_job_info(updated)

    async def copy_tiff(
        self, job_id: int, destination: str | Path, actor: str | None = None
    ) -> None:
        """FAXCOMEX ``IncomingJob.CopyTiff(path)``: write the received TIFF-F (every page that
        arrived) to ``destination``; InvalidOperationError while the fax is still arriving."""
        ctx = self._ctx
        async with ctx.db.read() as conn:
            job = await q.get_incoming_job(conn, job_id)
        if job.job_type is not JobType.ROUTING or job.receive_path is None:
            raise InvalidOperationError(
                f"incoming job {job_id:016x} is still being received: its TIFF is not complete"
            )
        await asyncio.to_thread(shutil.copyfile, ctx.spool.path(job.receive_path), destination)
        if actor is not None:
            await record_read(ctx, actor, AuditAction.DOWNLOADED, "incoming_job", job_id)
