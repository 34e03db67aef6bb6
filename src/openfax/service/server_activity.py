"""What the server is doing (FAXCOMEX ``FaxActivity``): faxes being received, routed and
sent, and jobs waiting, counted from the queues and announced when they change."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.exc import SQLAlchemyError

from openfax.model import JobStatus
from openfax.model.events import ActivityChanged
from openfax.model.records import Activity
from openfax.service.context import ServiceContext
from openfax.service.job_states import base
from openfax.store import Direction
from openfax.store import queries as q

_logger = logging.getLogger(__name__)


class ServerActivity:
    """The running service's ``activity``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def get_activity(self) -> Activity:
        """FAXCOMEX ``IFaxActivity``: receptions, routings, sends under way, jobs waiting."""
        async with self._ctx.db.read() as conn:
            incoming = await q.count_queue_by_status(conn, Direction.IN)
            outgoing = await q.count_queue_by_status(conn, Direction.OUT)

        def tally(counts: dict[JobStatus, int], *statuses: JobStatus) -> int:
            return sum(n for status, n in counts.items() if base(status) in statuses)

        receiving = tally(incoming, JobStatus.INPROGRESS)
        return Activity(
            incoming_messages=receiving,
            routing_messages=sum(incoming.values()) - receiving,
            outgoing_messages=tally(outgoing, JobStatus.INPROGRESS),
            queued_messages=tally(outgoing, JobStatus.PENDING, JobStatus.RETRYING),
        )

    async def report(self) -> None:
        """Emit FAXCOMEX ``OnServerActivityChange`` with the counts of ``get_activity``
        whenever they differ from the last ones emitted, until the service stops: they are
        read again after each commit (the commits that come while they are read are taken
        together)."""
        ctx = self._ctx
        generation = ctx.hub.generation
        last = await self.get_activity()
        while await ctx.unless_stopping(ctx.hub.next_commit(generation)) and not ctx.hub.closed:
            generation = ctx.hub.generation
            try:
                activity = await self.get_activity()
                if activity == last:
                    continue
                async with ctx.hub.transaction() as conn:
                    changed = ActivityChanged(**dataclasses.asdict(activity))
                    await ctx.hub.emit(conn, changed)
            except SQLAlchemyError:
                # A hint, not a record: the next commit tries again.
                _logger.exception("the server's activity could not be reported")
                continue
            last = activity
