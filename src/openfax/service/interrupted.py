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

from openfax.model import ExtendedStatus, JobStatus
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.config import FailureCause
from openfax.service.job_states import OUT_OF_CALL
from openfax.service.lifecycle import JobInput, step
from openfax.store import OutgoingJob

MAX_INTERRUPTED_CALLS = 2
"""Calls in a row cut off by their node's death after which a job is set aside."""

_logger = logging.getLogger(__name__)


def after_interruption(job: OutgoingJob, now: datetime, retry_at: datetime) -> dict[str, object]:
    """The changes for ``job`` once its call (INPROGRESS) was cut off: back in the queue,
    due at ``retry_at``, or set aside when that makes ``MAX_INTERRUPTED_CALLS`` in a row. Its
    node and lease are not among them."""
    interrupted = job.interrupted_calls + 1
    if interrupted < MAX_INTERRUPTED_CALLS:
        return {
            "status": step(JobStatus.INPROGRESS, JobInput.INTERRUPTED),
            "scheduled_at": retry_at,
            "interrupted_calls": interrupted,
            **OUT_OF_CALL,
        }
    return {
        **OUT_OF_CALL,
        "status": step(JobStatus.INPROGRESS, JobInput.SET_ASIDE),
        "interrupted_calls": interrupted,
        "ended_at": now,
        "current_page": 0,
        "failure_cause": FailureCause.INTERNAL.value,
        "retryable": False,
        "extended_status": ExtendedStatus.FATAL_ERROR,
        "extended_status_text": (
            f"set aside: the service stopped during each of its last {interrupted} calls "
            "(killed or out of memory), so it is not tried again; restart it once the "
            "cause is found"
        ),
    }


async def audit_set_aside(conn: AsyncConnection, job: OutgoingJob, now: datetime) -> None:
    """Record in ``conn``'s transaction that the service set ``job`` aside, if it did."""
    if job.status is not JobStatus.FAILED or job.interrupted_calls < MAX_INTERRUPTED_CALLS:
        return
    _logger.error("job %016x: %s", job.id, job.extended_status_text)
    details = {"interrupted_calls": job.interrupted_calls, "reason": job.extended_status_text}
    await record(conn, now, SERVICE_ACTOR, AuditAction.SET_ASIDE, "outgoing_job", job.id, details)
