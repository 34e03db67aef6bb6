"""What a user may do with a job in each state, read from the life cycle's table.

A status is a base state with, on PENDING and RETRYING, the PAUSED or NOLINE modifier bit.
``available_operations`` is computed from it, never stored: the operations the table of
:mod:`openfax.model.lifecycle` takes in that status. The job operations of the service
(pause, resume, restart, cancel) are the store's transitions of the same names
(:func:`operate`), which refuse with :class:`~openfax.errors.InvalidTransitionError` (an
InvalidOperationError) what the table does not allow. An incoming job has no modifier bits
and one operation, cancel (the store's ``cancel_incoming_job``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from functools import cache

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import JobOperations, JobStatus, lifecycle
from openfax.model.lifecycle import IncomingInput, JobInput
from openfax.store import OutgoingJob
from openfax.store import queries as q

S = JobStatus
MODIFIERS = S.PAUSED | S.NOLINE
FINAL = S.COMPLETED | S.CANCELED | S.FAILED | S.RETRIES_EXCEEDED
"""Base states after which the scheduler does nothing more with a job by itself."""


class Operation(enum.Enum):
    """A job operation a user asks for; its value is the JobOperations bit that allows it."""

    PAUSE = JobOperations.PAUSE
    RESUME = JobOperations.RESUME
    RESTART = JobOperations.RESTART
    CANCEL = JobOperations.DELETE


_INPUTS = {
    Operation.PAUSE: JobInput.PAUSE,
    Operation.RESUME: JobInput.RESUME,
    Operation.RESTART: JobInput.RESTART,
    Operation.CANCEL: JobInput.CANCEL,
}
"""The life cycle's input of each operation."""

_ALWAYS = JobOperations.VIEW | JobOperations.RECIPIENT_INFO | JobOperations.SENDER_INFO


def base(status: JobStatus) -> JobStatus:
    """The status without its modifier bits."""
    return status & ~MODIFIERS


def is_final(status: JobStatus) -> bool:
    return base(status) in FINAL


@cache
def available_operations(status: JobStatus) -> JobOperations:
    """FAXCOMEX ``AvailableOperations`` of an outgoing job in ``status``: the operations
    the life cycle's table takes in it (remembered: a listing asks for a handful of
    statuses thousands of times)."""
    allowed = JobOperations(0)
    for operation in Operation:
        if lifecycle.allows(status, _INPUTS[operation]):
            allowed |= operation.value
    return _ALWAYS | allowed


def incoming_operations(status: JobStatus) -> JobOperations:
    """FAXCOMEX ``AvailableOperations`` of an incoming job in ``status``: it may be cancelled
    while it is received (INPROGRESS) or routed."""
    if (status, IncomingInput.CANCEL) in lifecycle.INCOMING:
        return JobOperations.VIEW | JobOperations.DELETE
    return JobOperations.VIEW


async def operate(
    conn: AsyncConnection,
    job: OutgoingJob,
    operation: Operation,
    *,
    now: datetime,
    kill_at: datetime,
) -> OutgoingJob | None:
    """Do a user's ``operation`` on ``job`` (read locked) by the store's transition for it;
    InvalidOperationError if its status does not allow it. A restarted job gets the kill
    time ``kill_at`` and two calls again even if it was set aside."""
    if operation is Operation.PAUSE:
        return await q.pause_job(conn, job)
    if operation is Operation.RESUME:
        return await q.resume_job(conn, job)
    if operation is Operation.RESTART:
        return await q.restart_job(conn, job, now=now, kill_at=kill_at)
    return await q.cancel_job(conn, job, now=now)
