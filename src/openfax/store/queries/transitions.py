"""One named operation per transition of a job (procrastinate's ``retry_job`` is the
model), outgoing and incoming, and one per change a call makes to its job.

A transition takes the job as its caller read it (locked with ``get_job(for_update=True)``,
or just claimed), asks the life cycle's table (:mod:`openfax.model.lifecycle`) for the next
status, which refuses with ``InvalidTransitionError`` a transition the table does not hold,
and writes that status and only the fields the transition changes, if the job is still at
the version read: None when another change got there first (compare-and-set), the job as
written otherwise. No caller names a column. A call's progress is written by job id, while
the job is in a status that takes it (the outgoing job INPROGRESS; the incoming job in the
statuses the table holds for PROGRESS). The transitions made in SQL over many jobs (the
claim, NOLINE) are in :mod:`openfax.store.queries.outgoing_jobs`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import ExtendedStatus, JobStatus, JobType
from openfax.model.lifecycle import (
    IncomingInput,
    JobInput,
    put_back,
    step,
    step_incoming,
    taking,
)
from openfax.store.queries.incoming_jobs import update_incoming_job
from openfax.store.queries.outgoing_jobs import update_job
from openfax.store.records import IncomingJob, JSONObject, OutgoingJob

_OUT_OF_CALL: dict[str, Any] = {"bit_rate": 0, "page_bytes": 0, "page_bytes_sent": 0}
"""A job's speed and progress within a page when no call of it runs (nor has trained yet)."""

_RELEASED: dict[str, Any] = {"node_id": None, "lease_until": None}
"""A job no node holds: no lease on it."""

_ENDINGS = frozenset(
    {JobInput.DELIVERED, JobInput.RETRIES_RAN_OUT, JobInput.FAIL, JobInput.HUNG_UP}
)
"""The inputs by which a call ends its job (``finish_job``)."""

_ROUTING_STEPS = frozenset(
    {IncomingInput.ROUTE, IncomingInput.ROUTING_FAILED, IncomingInput.ROUTING_SPENT}
)
"""The inputs by which routing shows its progress on an incoming job (``show_routing``)."""


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


@dataclass(frozen=True, slots=True)
class ReceptionEnd:
    """What an incoming job keeps of how its reception ended: the pages received, whether
    the call broke off before the fax was whole, the file's size and the extended status."""

    pages: int
    partial: bool
    size: int
    extended_status: ExtendedStatus
    extended_status_text: str
    tsid: str = ""
    """The caller's TSID as the call's end knows it ("": as the job holds it), written again:
    the progress step that wrote it may have been dropped (the store restarting meanwhile)."""


@dataclass(frozen=True, slots=True)
class RoutingShown:
    """The state of a fax's deliveries shown on its incoming job: the errors of those not
    done, each method's state, and the retries of the method retried most."""

    extended_status_text: str
    routing_state: JSONObject
    retries: int


async def _write_incoming(
    conn: AsyncConnection,
    job: IncomingJob,
    given: IncomingInput,
    fields: dict[str, Any],
) -> IncomingJob | None:
    """Give the incoming job read as ``job`` its status after ``given`` and ``fields``, if it
    is unchanged."""
    changes = {**fields, "status": step_incoming(job.status, given)}
    return await update_incoming_job(conn, job.id, changes, expected_version=job.version)


async def _record_reception(
    conn: AsyncConnection, job_id: int, fields: dict[str, Any]
) -> IncomingJob | None:
    """PROGRESS: show a step of a reception in its job, while it is being received (its
    status, which PROGRESS keeps, in the table's rows for it); None otherwise."""
    statuses = taking(IncomingInput.PROGRESS)
    return await update_incoming_job(conn, job_id, fields, expected_status=statuses)


async def answer_incoming_job(conn: AsyncConnection, job_id: int) -> IncomingJob | None:
    """PROGRESS: the call was answered; the fax is being received."""
    return await _record_reception(conn, job_id, {"extended_status": ExtendedStatus.RECEIVING})


async def record_caller_tsid(conn: AsyncConnection, job_id: int, tsid: str) -> IncomingJob | None:
    """PROGRESS: the caller said its TSID (the T.30 negotiation)."""
    return await _record_reception(conn, job_id, {"tsid": tsid})


async def record_page_received(
    conn: AsyncConnection, job_id: int, number: int
) -> IncomingJob | None:
    """PROGRESS: page ``number`` arrived whole; the next is being received."""
    return await _record_reception(conn, job_id, {"pages": number, "current_page": number + 1})


async def finish_reception(
    conn: AsyncConnection,
    job: IncomingJob,
    end: ReceptionEnd,
    *,
    now: datetime,
    cut_off: bool = False,
) -> IncomingJob | None:
    """RECEIVED (CUT_OFF if the node died during the call): the reception ended with pages,
    archived by the caller in the same transaction; the job is routed now, or ends CANCELED
    if it was being cancelled."""
    given = IncomingInput.CUT_OFF if cut_off else IncomingInput.RECEIVED
    ended = {key: value for key, value in asdict(end).items() if key != "tsid" or value}
    fields = {**ended, "job_type": JobType.ROUTING, "current_page": 0, "ended_at": now}
    return await _write_incoming(conn, job, given, fields)


async def show_routing(
    conn: AsyncConnection, job: IncomingJob, given: IncomingInput, shown: RoutingShown
) -> IncomingJob | None:
    """ROUTE, ROUTING_FAILED or ROUTING_SPENT: a delivery was attempted (or the deliveries
    were looked at again); the job shows where its routing stands."""
    if given not in _ROUTING_STEPS:
        raise ValueError(f"routing does not change a job by {given.name}")
    return await _write_incoming(conn, job, given, asdict(shown))


async def resend_routing(conn: AsyncConnection, job: IncomingJob) -> IncomingJob | None:
    """RESEND: a delivery that failed for good runs again; the fax is being routed."""
    return await _write_incoming(conn, job, IncomingInput.RESEND, {})


async def cancel_incoming_job(conn: AsyncConnection, job: IncomingJob) -> IncomingJob | None:
    """CANCEL of an incoming job: a reception is only asked to end (CANCELING, its call to be
    hung up); a fax being routed, or waiting to be routed again, ends CANCELED."""
    return await _write_incoming(conn, job, IncomingInput.CANCEL, {})
