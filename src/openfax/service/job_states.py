"""The jobs' states and what a user may do in each: one table per queue, read top to bottom.

A status is a base state with, on PENDING and RETRYING, the PAUSED or NOLINE modifier bit.
``available_operations`` is computed from it, never stored; the job operations of the
service (pause, resume, restart, cancel) ask :func:`transition` for the next status, which
refuses with :class:`~openfax.errors.InvalidOperationError` what the table does not allow.
An incoming job has no modifier bits and one operation, cancel (:func:`incoming_cancel`).
"""

from __future__ import annotations

import enum

from openfax.errors import InvalidOperationError
from openfax.model import JobOperations, JobStatus

S = JobStatus
MODIFIERS = S.PAUSED | S.NOLINE
FINAL = S.COMPLETED | S.CANCELED | S.FAILED | S.RETRIES_EXCEEDED
"""Base states after which the scheduler does nothing more with a job by itself."""
OUT_OF_CALL: dict[str, object] = {"bit_rate": 0, "page_bytes": 0, "page_bytes_sent": 0}
"""A job's speed and progress within a page when no call of it runs (nor has trained yet)."""


class Operation(enum.Enum):
    """A job operation a user asks for; its value is the JobOperations bit that allows it."""

    PAUSE = JobOperations.PAUSE
    RESUME = JobOperations.RESUME
    RESTART = JobOperations.RESTART
    CANCEL = JobOperations.DELETE


_ALWAYS = JobOperations.VIEW | JobOperations.RECIPIENT_INFO | JobOperations.SENDER_INFO

# base state -> operations allowed (the PAUSED bit replaces PAUSE with RESUME).
_OPERATIONS: dict[JobStatus, JobOperations] = {
    S.PENDING: JobOperations.PAUSE | JobOperations.DELETE,
    S.RETRYING: JobOperations.PAUSE | JobOperations.DELETE,
    S.INPROGRESS: JobOperations.DELETE,
    S.CANCELING: JobOperations(0),
    S.CANCELED: JobOperations(0),
    S.COMPLETED: JobOperations(0),
    S.FAILED: JobOperations.RESTART | JobOperations.DELETE,
    S.RETRIES_EXCEEDED: JobOperations.RESTART | JobOperations.DELETE,
}

_INCOMING_OPERATIONS: dict[JobStatus, JobOperations] = {
    S.INPROGRESS: JobOperations.DELETE,
    S.ROUTING: JobOperations.DELETE,
    S.RETRYING: JobOperations.DELETE,
    S.RETRIES_EXCEEDED: JobOperations.DELETE,
}
"""Incoming job status -> operations allowed besides viewing."""


def base(status: JobStatus) -> JobStatus:
    """The status without its modifier bits."""
    return status & ~MODIFIERS


def is_final(status: JobStatus) -> bool:
    return base(status) in FINAL


def available_operations(status: JobStatus) -> JobOperations:
    """FAXCOMEX ``AvailableOperations`` of an outgoing job in ``status``."""
    allowed = _OPERATIONS[base(status)]
    if status & S.PAUSED:
        allowed = (allowed & ~JobOperations.PAUSE) | JobOperations.RESUME
    return _ALWAYS | allowed


def incoming_operations(status: JobStatus) -> JobOperations:
    """FAXCOMEX ``AvailableOperations`` of an incoming job in ``status``: it may be cancelled
    while it is received (INPROGRESS) or routed."""
    return JobOperations.VIEW | _INCOMING_OPERATIONS.get(status, JobOperations(0))


def incoming_cancel(status: JobStatus) -> JobStatus:
    """The status of an incoming job cancelled in ``status`` (InvalidOperationError if it
    cannot be): a reception is only asked to end (CANCELING) as its call is hung up."""
    if not incoming_operations(status) & Operation.CANCEL.value:
        raise InvalidOperationError(f"cannot cancel an incoming job that is {describe(status)}")
    return S.CANCELING if status is S.INPROGRESS else S.CANCELED


def transition(status: JobStatus, operation: Operation) -> JobStatus:
    """The status after ``operation``; InvalidOperationError if the status does not allow it.

    Cancelling a job in a call only asks for it (CANCELING): the call is hung up and the job
    becomes CANCELED when the call has ended.
    """
    if not available_operations(status) & operation.value:
        raise InvalidOperationError(
            f"cannot {operation.name.lower()} a job that is {describe(status)}"
        )
    if operation is Operation.PAUSE:
        return status | S.PAUSED
    if operation is Operation.RESUME:
        return status & ~S.PAUSED
    if operation is Operation.RESTART:
        return S.PENDING
    return S.CANCELING if base(status) is S.INPROGRESS else S.CANCELED


def describe(status: JobStatus) -> str:
    """The status in words, e.g. ``"retrying, paused"``."""
    words = [(base(status).name or "unknown").lower()]
    words += [flag.name.lower() for flag in (S.PAUSED, S.NOLINE) if status & flag and flag.name]
    return ", ".join(words)
