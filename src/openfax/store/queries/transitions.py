"""One named operation per transition of an outgoing job (procrastinate's ``retry_job`` is
the model), one per change a call makes to its job, and the incoming job's cancel.

A transition takes the job as its caller read it (locked with ``get_job(for_update=True)``,
or just claimed), asks the life cycle's table (:mod:`openfax.model.lifecycle`) for the next
status, which refuses with ``InvalidTransitionError`` a transition the table does not hold,
and writes that status and only the fields the transition changes, if the job is still at
the version read: None when another change got there first (compare-and-set), the job as
written otherwise. No caller names a column. The transitions made in SQL over many jobs
(the claim, NOLINE) are in :mod:`openfax.store.queries.outgoing_jobs`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import ExtendedStatus, JobStatus
from openfax.model.lifecycle import IncomingInput, JobInput, put_back, step, step_incoming
from openfax.store.queries.incoming_jobs import update_incoming_job
from openfax.store.queries.outgoing_jobs import update_job
from openfax.store.records import IncomingJob, OutgoingJob

_OUT_OF_CALL: dict[str, Any] = {"bit_rate": 0, "page_bytes": 0, "page_bytes_sent": 0}
"""A job's speed and progress within a page when no call of it runs (nor has trained yet)."""

_RELEASED: dict[str, Any] = {"node_id": None, "lease_until": None}
"""A job no node holds: no lease on it."""

_ENDINGS = frozenset(
    {JobInput.DELIVERED, JobInput.RETRIES_RAN_OUT, JobInput.FAIL, JobInput.HUNG_UP}
)
"""The inputs by which a call ends its job (``finish_job``)."""


@dataclass(frozen=True, slots=True)
class CallEnd:
    """What a job keeps of how its last call ended: the pages confirmed so far (this call's
    and earlier ones'), the extended status, and the failure, if any, the retry policy saw."""

    pages_confirmed: int
    extended_status: ExtendedStatus
    extended_status_text: str
    failure_cause: str | None
    retryable: bool


@dataclass(frozen=True, slots=True)
class JobProgress:
    """A step of a call's progress shown in its job; fields left None are not written."""

    extended_status: ExtendedStatus | None = None
    csid: str | None = None
    bit_rate: int | None = None
    pages_confirmed: int | None = None
    current_page: int | None = None
    page_bytes: int | None = None
    page_bytes_sent: int | None = None


async def _write(
    conn: AsyncConnection, job: OutgoingJob, status: JobStatus, fields: dict[str, Any]
) -> OutgoingJob | None:
    """Give the job read as ``job`` its next ``status`` and ``fields``, if it is unchanged."""
    changes = {**fields, "status": status}
    return await update_job(conn, job.id, changes, expected_version=job.version)


# --- A user's operations (FAXCOMEX FaxOutgoingJob) ------------------------------------------------


async def pause_job(conn: AsyncConnection, job: OutgoingJob) -> OutgoingJob | None:
    """PAUSE: a waiting job stays in the queue until resumed."""
    return await _write(conn, job, step(job.status, JobInput.PAUSE), {})


async def resume_job(conn: AsyncConnection, job: OutgoingJob) -> OutgoingJob | None:
    """RESUME: a paused job waits again as it did."""
    return await _write(conn, job, step(job.status, JobInput.RESUME), {})


async def restart_job(
    conn: AsyncConnection, job: OutgoingJob, *, now: datetime, kill_at: datetime
) -> OutgoingJob | None:
    """RESTART: a failed job is queued again now, its retries, its interrupted calls and its
    failure forgotten, with a new kill time; it resumes from its first unconfirmed page."""
    fields = {
        "retries": 0,
        "interrupted_calls": 0,
        "scheduled_at": now,
        "kill_at": kill_at,
        "failure_cause": None,
        "ended_at": None,
    }
    return await _write(conn, job, step(job.status, JobInput.RESTART), fields)


async def cancel_job(
    conn: AsyncConnection, job: OutgoingJob, *, now: datetime
) -> OutgoingJob | None:
    """CANCEL: a job not in a call ends CANCELED now; a job in a call becomes CANCELING (its
    call is to be hung up)."""
    status = step(job.status, JobInput.CANCEL)
    return await _write(
        conn, job, status, {"ended_at": now} if status is JobStatus.CANCELED else {}
    )


# --- The scheduler's, around the claim (``claim_next_job``) -------------------------------------


async def begin_call(
    conn: AsyncConnection, job: OutgoingJob, *, now: datetime
) -> OutgoingJob | None:
    """The claimed job's call starts: from its first unconfirmed page, nothing said yet."""
    fields = {
        "extended_status": ExtendedStatus.INITIALIZING,
        "extended_status_text": "",
        "current_page": job.pages_confirmed + 1,
        "started_at": job.started_at or now,
        **_OUT_OF_CALL,
    }
    return await update_job(conn, job.id, fields, expected_version=job.version)


async def postpone_job(
    conn: AsyncConnection, job: OutgoingJob, *, until: datetime, tried: bool
) -> OutgoingJob | None:
    """PUT_BACK of a claimed job not to be sent now (outside its discount period): back in
    the queue until ``until``, the claim's attempt not counted; RETRYING once ``tried``."""
    fields = {**_RELEASED, "attempts": job.attempts - 1, "scheduled_at": until}
    return await _write(conn, job, step(job.status, put_back(tried)), fields)


async def expire_job(
    conn: AsyncConnection, job: OutgoingJob, *, now: datetime, reason: str
) -> OutgoingJob | None:
    """KILL_TIME_PASSED: the claimed job's kill time passed before it could be sent; the
    claim's attempt is not counted."""
    fields = {
        **_RELEASED,
        "attempts": job.attempts - 1,
        "extended_status_text": reason,
        "ended_at": now,
    }
    return await _write(conn, job, step(job.status, JobInput.KILL_TIME_PASSED), fields)


# --- A call's changes to its job ------------------------------------------------------------------


async def set_job_document(
    conn: AsyncConnection, job: OutgoingJob, *, document_path: str, size: int, tsid: str
) -> OutgoingJob | None:
    """The pages composed for the job's call (what the archive keeps), their size and the
    TSID they carry."""
    fields = {"document_path": document_path, "size": size, "tsid": tsid}
    return await update_job(conn, job.id, fields)


async def record_progress(
    conn: AsyncConnection, job_id: int, progress: JobProgress
) -> OutgoingJob | None:
    """Show a step of the call's progress in its job, while the job is in its call."""
    fields = {name: value for name, value in asdict(progress).items() if value is not None}
    return await update_job(conn, job_id, fields, expected_status=JobStatus.INPROGRESS)


def _after_call(end: CallEnd) -> dict[str, Any]:
    """What every end of a call writes: the job is out of its call and no node's."""
    return {**_RELEASED, **asdict(end), "current_page": 0, "interrupted_calls": 0, **_OUT_OF_CALL}


async def finish_job(
    conn: AsyncConnection, job: OutgoingJob, given: JobInput, end: CallEnd, *, now: datetime
) -> OutgoingJob | None:
    """The job's call ended it: DELIVERED, RETRIES_RAN_OUT, FAIL or (a cancelled job's call)
    HUNG_UP."""
    if given not in _ENDINGS:
        raise ValueError(f"a call does not end a job by {given.name}")
    fields = {**_after_call(end), "ended_at": now}
    return await _write(conn, job, step(job.status, given), fields)


async def retry_job(
    conn: AsyncConnection, job: OutgoingJob, end: CallEnd, *, next_try: datetime
) -> OutgoingJob | None:
    """RETRY: the call failed with tries left; the job waits until ``next_try``, one retry
    more counted."""
    fields = {**_after_call(end), "retries": job.retries + 1, "scheduled_at": next_try}
    return await _write(conn, job, step(job.status, JobInput.RETRY), fields)


async def put_back_job(
    conn: AsyncConnection, job: OutgoingJob, end: CallEnd, *, at: datetime, tried: bool
) -> OutgoingJob | None:
    """PUT_BACK after a call this end broke off (the line was taken, the service stopped,
    the lease could not be kept): back in the queue at ``at``, no failure counted."""
    fields = {**_after_call(end), "scheduled_at": at}
    return await _write(conn, job, step(job.status, put_back(tried)), fields)


# --- Recovery of a call cut off by its node's death -----------------------------------------------


async def interrupt_job(
    conn: AsyncConnection, job: OutgoingJob, *, now: datetime, retry_at: datetime
) -> OutgoingJob | None:
    """INTERRUPTED: the job's call was cut off. In a call, it waits again until ``retry_at``,
    the cut-off call counted; being cancelled, it ends CANCELED."""
    status = step(job.status, JobInput.INTERRUPTED)
    fields: dict[str, Any] = {**_RELEASED, "current_page": 0}
    if status is JobStatus.CANCELED:
        fields["ended_at"] = now
    else:
        fields |= {
            "scheduled_at": retry_at,
            "interrupted_calls": job.interrupted_calls + 1,
            **_OUT_OF_CALL,
        }
    return await _write(conn, job, status, fields)


async def set_aside_job(
    conn: AsyncConnection, job: OutgoingJob, *, now: datetime, failure_cause: str, reason: str
) -> OutgoingJob | None:
    """SET_ASIDE: as ``interrupt_job``, once too many calls in a row were cut off: the job
    ends FAILED, not to be retried, ``reason`` saying why."""
    fields = {
        **_RELEASED,
        **_OUT_OF_CALL,
        "interrupted_calls": job.interrupted_calls + 1,
        "ended_at": now,
        "current_page": 0,
        "failure_cause": failure_cause,
        "retryable": False,
        "extended_status": ExtendedStatus.FATAL_ERROR,
        "extended_status_text": reason,
    }
    return await _write(conn, job, step(job.status, JobInput.SET_ASIDE), fields)


# --- An incoming job ------------------------------------------------------------------------------


async def cancel_incoming_job(conn: AsyncConnection, job: IncomingJob) -> IncomingJob | None:
    """CANCEL of an incoming job: a reception is only asked to end (CANCELING, its call to be
    hung up); a fax being routed, or waiting to be routed again, ends CANCELED."""
    status = step_incoming(job.status, IncomingInput.CANCEL)
    return await update_incoming_job(conn, job.id, {"status": status}, expected_version=job.version)
