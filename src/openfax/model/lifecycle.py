"""The life cycle of a job as one table: ``(status, input) -> status``, read top to bottom.

Every change of a job's status asks :func:`step` for the next status (the store's named
transitions, :mod:`openfax.store.queries.transitions`, one per input); a pair the table
does not hold is refused with :class:`~openfax.errors.InvalidTransitionError`
(fails closed, as h2's ``ConnectionStateMachine``). A status is the whole FAXCOMEX value,
modifier bits included: PENDING and RETRYING may carry PAUSED (a user paused it) and NOLINE
(no free line could take it when it was ready). Inputs are what happened to the job: a
user's operation, or a fact the scheduler, the call's outcome or recovery established.
Where the next status depends on the job's history (never tried: PENDING; tried: RETRYING),
that history is part of the input's name, so the table stays a plain mapping.

The provider's call states (dialling, answered, receiving) are extended statuses, not job
statuses: a provider that adds states adds rows here.
"""

from __future__ import annotations

import enum

from openfax.errors import InvalidTransitionError
from openfax.model import JobStatus

S = JobStatus
_PAUSED = S.PAUSED
_NOLINE = S.NOLINE


class JobInput(enum.Enum):
    """What happens to an outgoing job; its value says it in words, for errors and logs."""

    # A user's operation (FAXCOMEX FaxOutgoingJob): see job_states.Operation.
    PAUSE = "pause"
    RESUME = "resume"
    RESTART = "restart"
    CANCEL = "cancel"
    # The scheduler's.
    CLAIM = "claim"
    """A line took the ready job for a call (its NOLINE bit goes)."""
    NO_LINE = "find no line for"
    """The job was ready, but no free line could take it."""
    PUT_BACK_UNTRIED = "put back untried"
    """The claimed job is not sent now (outside the discount period; the line was taken,
    the service stopped, the lease was lost): back in the queue, no failure counted, and it
    has never failed a call."""
    PUT_BACK_TRIED = "put back"
    """As PUT_BACK_UNTRIED, of a job that has failed a call or had pages confirmed."""
    KILL_TIME_PASSED = "expire"
    """The claimed job's kill time passed before it could be sent."""
    # The call's outcome (outcome.decide).
    DELIVERED = "deliver"
    """Every page was confirmed: the fax is delivered, even if it was being cancelled."""
    RETRY = "retry"
    """The call failed of a retryable cause with tries left."""
    RETRIES_RAN_OUT = "run out of retries for"
    FAIL = "fail"
    """The call failed of a cause that is not retried."""
    HUNG_UP = "hang up"
    """The call of a job being cancelled ended without delivering it."""
    # Recovery of a call cut off by its node's death (recovery, the lapsed-lease sweep).
    INTERRUPTED = "recover"
    """The job's call was cut off (its node died or hung): back in the queue, or CANCELED
    if it was being cancelled."""
    SET_ASIDE = "set aside"
    """As INTERRUPTED, once too many calls in a row were cut off (interrupted.py)."""


In = JobInput


def _waiting(waiting: JobStatus) -> dict[tuple[JobStatus, JobInput], JobStatus]:
    """The rows of a waiting status (PENDING or RETRYING: both wait alike): paused, resumed
    or found no line for, it keeps its status and changes a bit; cancelled, it ends;
    claimed, it goes into a call."""
    return {
        (waiting, In.PAUSE): waiting | _PAUSED,
        (waiting, In.CANCEL): S.CANCELED,
        (waiting, In.CLAIM): S.INPROGRESS,
        (waiting, In.NO_LINE): waiting | _NOLINE,
        (waiting | _NOLINE, In.PAUSE): waiting | _NOLINE | _PAUSED,
        (waiting | _NOLINE, In.CANCEL): S.CANCELED,
        (waiting | _NOLINE, In.CLAIM): S.INPROGRESS,
        (waiting | _PAUSED, In.RESUME): waiting,
        (waiting | _PAUSED, In.CANCEL): S.CANCELED,
        (waiting | _NOLINE | _PAUSED, In.RESUME): waiting | _NOLINE,
        (waiting | _NOLINE | _PAUSED, In.CANCEL): S.CANCELED,
    }


OUTGOING: dict[tuple[JobStatus, JobInput], JobStatus] = {
    # waiting: pending (never tried) ..........................................................
    **_waiting(S.PENDING),
    # waiting: retrying (a call failed, or pages were confirmed) ..............................
    **_waiting(S.RETRYING),
    # in a call ...............................................................................
    (S.INPROGRESS, In.CANCEL): S.CANCELING,
    (S.INPROGRESS, In.PUT_BACK_UNTRIED): S.PENDING,
    (S.INPROGRESS, In.PUT_BACK_TRIED): S.RETRYING,
    (S.INPROGRESS, In.KILL_TIME_PASSED): S.RETRIES_EXCEEDED,
    (S.INPROGRESS, In.DELIVERED): S.COMPLETED,
    (S.INPROGRESS, In.RETRY): S.RETRYING,
    (S.INPROGRESS, In.RETRIES_RAN_OUT): S.RETRIES_EXCEEDED,
    (S.INPROGRESS, In.FAIL): S.FAILED,
    (S.INPROGRESS, In.INTERRUPTED): S.RETRYING,
    (S.INPROGRESS, In.SET_ASIDE): S.FAILED,
    # in a call being hung up .................................................................
    (S.CANCELING, In.DELIVERED): S.COMPLETED,
    (S.CANCELING, In.HUNG_UP): S.CANCELED,
    (S.CANCELING, In.INTERRUPTED): S.CANCELED,
    # ended: a failed job may be restarted or removed; COMPLETED and CANCELED take nothing ....
    (S.FAILED, In.RESTART): S.PENDING,
    (S.FAILED, In.CANCEL): S.CANCELED,
    (S.RETRIES_EXCEEDED, In.RESTART): S.PENDING,
    (S.RETRIES_EXCEEDED, In.CANCEL): S.CANCELED,
}
"""Every transition of an outgoing job; any other (status, input) pair is refused."""


class IncomingInput(enum.Enum):
    """What happens to an incoming job (a fax being received, then routed); its value says
    it in words, for errors and logs."""

    # The reception's (receiving.Receiver).
    PROGRESS = "record the progress of"
    """The call was answered, the caller said its TSID, or a page arrived; the status stays."""
    RECEIVED = "finish receiving"
    """The call ended with pages: archived, the fax is routed (or, if the job was being
    cancelled, it ends)."""
    CUT_OFF = "recover"
    """The reception was cut off by its node's death: the pages that reached the spool are
    archived as partial at start-up, then as RECEIVED."""
    # The routing's (inbound_routing.InboundRouting), after each attempt of a delivery.
    ROUTE = "route"
    """Deliveries wait, none has failed."""
    ROUTING_FAILED = "retry the routing of"
    """A delivery failed; deliveries still wait (for their retry)."""
    ROUTING_SPENT = "give up on"
    """No delivery waits any more, and one failed for good."""
    # A user's (FAXCOMEX FaxIncomingJob, the routing deliveries' resend).
    RESEND = "resend"
    """A delivery that failed for good is sent again."""
    CANCEL = "cancel"


_In = IncomingInput

INCOMING: dict[tuple[JobStatus, IncomingInput], JobStatus] = {
    # being received ..........................................................................
    (S.INPROGRESS, _In.PROGRESS): S.INPROGRESS,
    (S.INPROGRESS, _In.RECEIVED): S.ROUTING,
    (S.INPROGRESS, _In.CUT_OFF): S.ROUTING,
    (S.INPROGRESS, _In.CANCEL): S.CANCELING,
    # being received, its call being hung up ..................................................
    (S.CANCELING, _In.PROGRESS): S.CANCELING,
    (S.CANCELING, _In.RECEIVED): S.CANCELED,
    (S.CANCELING, _In.CUT_OFF): S.CANCELED,
    # routed: the archived fax's deliveries run ...............................................
    (S.ROUTING, _In.ROUTE): S.ROUTING,
    (S.ROUTING, _In.ROUTING_FAILED): S.RETRYING,
    (S.ROUTING, _In.ROUTING_SPENT): S.RETRIES_EXCEEDED,
    (S.ROUTING, _In.RESEND): S.ROUTING,
    (S.ROUTING, _In.CANCEL): S.CANCELED,
    (S.RETRYING, _In.ROUTE): S.ROUTING,
    (S.RETRYING, _In.ROUTING_FAILED): S.RETRYING,
    (S.RETRYING, _In.ROUTING_SPENT): S.RETRIES_EXCEEDED,
    (S.RETRYING, _In.RESEND): S.ROUTING,
    (S.RETRYING, _In.CANCEL): S.CANCELED,
    # routed: a delivery failed for good, none waits ..........................................
    (S.RETRIES_EXCEEDED, _In.ROUTING_SPENT): S.RETRIES_EXCEEDED,
    (S.RETRIES_EXCEEDED, _In.RESEND): S.ROUTING,
    (S.RETRIES_EXCEEDED, _In.CANCEL): S.CANCELED,
}
"""Every transition of an incoming job; any other (status, input) pair is refused. A
reception is only asked to end (CANCELING) as its call is hung up; a job leaves the queue
(it is deleted, not moved to a status) once its fax is routed, cancelled, or brought no
page."""


def step(status: JobStatus, given: JobInput) -> JobStatus:
    """The outgoing job's status after ``given``; InvalidTransitionError if ``status`` does
    not allow it."""
    try:
        return OUTGOING[status, given]
    except KeyError:
        raise InvalidTransitionError(
            f"cannot {given.value} a job that is {describe(status)}", int(status), given.name
        ) from None


def step_incoming(status: JobStatus, given: IncomingInput) -> JobStatus:
    """The incoming job's status after ``given``; InvalidTransitionError if ``status`` does
    not allow it."""
    try:
        return INCOMING[status, given]
    except KeyError:
        raise InvalidTransitionError(
            f"cannot {given.value} an incoming job that is {describe(status)}",
            int(status),
            given.name,
        ) from None


def taking(given: IncomingInput) -> frozenset[JobStatus]:
    """The statuses in which an incoming job takes ``given``."""
    return frozenset(status for status, taken in INCOMING if taken is given)


def allows(status: JobStatus, given: JobInput) -> bool:
    """Whether an outgoing job in ``status`` takes ``given``."""
    return (status, given) in OUTGOING


def put_back(tried: bool) -> JobInput:
    """The input that puts a claimed job back in the queue unsent: RETRYING once ``tried``."""
    return In.PUT_BACK_TRIED if tried else In.PUT_BACK_UNTRIED


def describe(status: JobStatus) -> str:
    """The status in words, e.g. ``"retrying, paused"``."""
    words = [((status & ~(_PAUSED | _NOLINE)).name or "unknown").lower()]
    words += [flag.name.lower() for flag in (_PAUSED, _NOLINE) if status & flag and flag.name]
    return ", ".join(words)
