"""Start-up recovery: what a node that died (kill -9, power loss) left half done.

Receptions come first: a fax whose call completed is already archived and only needs its
routing finished; a reception cut off by the crash keeps the pages that reached the spool,
archived as partial. Then this node's outgoing jobs that were in a call go back to the
queue (they resume from the first unconfirmed page), or are set aside when their last two
calls were both cut off so (:mod:`openfax.service.interrupted`), and those being cancelled
end CANCELED; other nodes' jobs come back when their leases lapse (the scheduler's loop).

While it runs, a node writes its heartbeat to the store (:class:`NodeWatch`) and takes over
what a node whose heartbeat lapsed left: its receptions in progress become partial faxes in
the archive (from the spool the nodes share), its faxes not yet routed are routed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

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


async def node_heartbeats(conn: AsyncConnection) -> dict[str, datetime]:
    """When each running node last beat, by node id (``nodes``, which every node's start
    writes: a node stopped cleanly, or one of a version before heartbeats, has none)."""
    return {
        node_id: node.heartbeat_at
        for node_id, node in (await q.list_nodes(conn)).items()
        if node.heartbeat_at is not None
    }


class NodeWatch:
    """This node's heartbeat, and the receptions of nodes whose heartbeat lapsed.

    Every third of a lease (``deadlines.lease_seconds``) the node writes that it is alive for
    a lease more; the same round takes over the incoming jobs of any node whose heartbeat
    ended a whole lease ago: a node that died (kill -9, power loss) or lost the store. A node
    whose own heartbeat is still unwritten half a lease after it ended hangs up its
    receptions, so that a reception is never archived by two nodes: what it received is in
    the spool, archived by whichever node takes it. A node that never wrote a heartbeat
    (an older version during a rolling upgrade) is never taken over.
    """

    def __init__(self, ctx: ServiceContext, receiver: Receiver) -> None:
        self.ctx = ctx
        self.receiver = receiver
        self.alive_until: datetime | None = None
        """The end of the last heartbeat the store confirmed."""

    async def run(self) -> None:
        """Beat, take over and fence until the service stops; a store error is logged and
        the round tried again a third of a lease later (the node rejoins by itself)."""
        ctx = self.ctx
        lease = timedelta(seconds=ctx.config.deadlines.lease_seconds)
        while not ctx.stopping.is_set():
            started = ctx.clock.now()
            try:
                async with asyncio.timeout(lease.total_seconds() / 3):
                    await self.beat(started, lease)
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                _logger.warning("this node's heartbeat could not be written: %s", exc)
            else:
                try:
                    await self.take_over(started, lease)
                except SQLAlchemyError:
                    _logger.exception("the jobs of dead nodes could not be taken over")
            # Only a heartbeat the store refused counts: after a stall of the whole event
            # loop (time passed, nothing ran) the beat of this round renews it in time.
            confirmed = self.alive_until
            unconfirmed = confirmed is not None and confirmed < started + lease
            if unconfirmed and ctx.clock.now() >= (confirmed or started) + lease / 2:
                hung_up = self.receiver.hang_up_receptions()
                if hung_up:
                    _logger.error(
                        "the store did not take this node's heartbeat for half a lease: "
                        "%d receptions hung up (another node archives them)",
                        hung_up,
                    )
            await ctx.sleep_until(started + lease / 3)

    async def beat(self, now: datetime, lease: timedelta) -> None:
        """Write that this node is alive at ``now`` (so for a lease more)."""
        async with self.ctx.db.transaction() as conn:
            await q.node_beats(conn, self.ctx.node_id, now=now)
        self.alive_until = now + lease

    async def take_over(self, now: datetime, lease: timedelta) -> None:
        """Take the incoming jobs of the nodes whose heartbeat ended a lease before ``now``:
        receptions are archived as partial faxes, faxes received but not yet routed routed."""
        async with self.ctx.db.read() as conn:
            beats = await node_heartbeats(conn)
            dead = {node for node, beat in beats.items() if beat + 2 * lease <= now}
            dead.discard(self.ctx.node_id)
            if not dead:
                return
            jobs = [job for node in dead for job in await q.list_incoming_jobs(conn, node_id=node)]
        for job in jobs:
            async with self.ctx.hub.transaction() as conn:
                taken = await q.take_incoming_job(conn, job, self.ctx.node_id)
            if taken is None:
                continue  # changed meanwhile: another node took it, or it was cancelled
            _logger.warning("fax %016x: its node %s died, taken over", job.id, job.node_id)
            if base(taken.status) in (JobStatus.INPROGRESS, JobStatus.CANCELING):
                await _cut_off_reception(self.ctx, self.receiver, taken)
            else:
                self.ctx.spawn(self.receiver.route(taken), f"routing {taken.id:016x}")
