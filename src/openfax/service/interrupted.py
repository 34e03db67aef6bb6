"""Outgoing jobs whose call was cut off by the death of their node: killed, taken by the
kernel's out-of-memory killer, or hung past its lease.

Each such call is counted on the job (``interrupted_calls``, back to 0 when a call ends). A
job comes back to the queue after one; after ``MAX_INTERRUPTED_CALLS`` in a row it is set
aside, FAILED with a reason that says so, audited and announced, instead of being tried
again: were it what kills the service (a document too heavy to send), it would kill it at
every start.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import JobStatus
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.config_file import RetryCause
from openfax.store import OutgoingJob
from openfax.store import queries as q

MAX_INTERRUPTED_CALLS = 2
"""Calls in a row cut off by their node's death after which a job is set aside."""

_logger = logging.getLogger(__name__)


async def interrupt(
    conn: AsyncConnection, job: OutgoingJob, *, now: datetime, retry_at: datetime
) -> OutgoingJob | None:
    """Release ``job``, whose call (INPROGRESS or CANCELING) was cut off, in ``conn``'s
    transaction: back in the queue due at ``retry_at``, CANCELED if it was being cancelled,
    or set aside (audited) when that makes ``MAX_INTERRUPTED_CALLS`` in a row. None if
    another change got to the job first."""
    interrupted = job.interrupted_calls + 1
    if job.status is not JobStatus.INPROGRESS or interrupted < MAX_INTERRUPTED_CALLS:
        return await q.interrupt_job(conn, job, now=now, retry_at=retry_at)
    reason = (
        f"set aside: the service stopped during each of its last {interrupted} calls "
        "(killed or out of memory), so it is not tried again; restart it once the "
        "cause is found"
    )
    cause = RetryCause.INTERNAL.value
    updated = await q.set_aside_job(conn, job, now=now, failure_cause=cause, reason=reason)
    if updated is not None:
        _logger.error("job %016x: %s", job.id, reason)
        details = {"interrupted_calls": interrupted, "reason": reason}
        await record(
            conn, now, SERVICE_ACTOR, AuditAction.SET_ASIDE, "outgoing_job", job.id, details
        )
    return updated
