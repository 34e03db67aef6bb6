"""What an outgoing call's outcome means for its job: the one place that decides success.

A job is COMPLETED when the receiver confirmed every page, even if the call failed after
the last confirmation (a drop before DCN): the fax is delivered. Anything else is a failure
of one :class:`~openfax.service.config.FailureCause`, retried after that cause's delay from
the first unconfirmed page while the policy, the attempts left and the kill time allow;
otherwise the job ends RETRIES_EXCEEDED (a retryable cause ran out) or FAILED.

Resuming from the first unconfirmed page is the least a sender can resend: a page whose
confirmation (MCF) was lost on the way back may already be at the receiver, which then gets
that one page twice, but the sender cannot tell it from a page that never arrived (HylaFAX
resumes the same way). The retried job's text says how many pages were confirmed and where
the next call starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from openfax.model import ExtendedStatus, JobStatus
from openfax.model.lifecycle import JobInput, step
from openfax.providers import CallCause, CallOutcome
from openfax.service.config import FailureCause, OutgoingConfig
from openfax.store import OutgoingJob
from openfax.store.queries import CallEnd

_CAUSES: dict[CallCause, FailureCause] = {
    CallCause.BUSY: FailureCause.BUSY,
    CallCause.NO_ANSWER: FailureCause.NO_ANSWER,
    CallCause.NO_FAX: FailureCause.NO_ANSWER,
    CallCause.REJECTED: FailureCause.NO_ANSWER,
    CallCause.UNREACHABLE: FailureCause.NO_ANSWER,
    CallCause.LINE_DROPPED: FailureCause.LINE_DROPPED,
    CallCause.PROTOCOL: FailureCause.PROTOCOL,
    CallCause.REMOTE_INCAPABLE: FailureCause.REMOTE_INCAPABLE,
    CallCause.DOCUMENT: FailureCause.DOCUMENT,
    CallCause.INTERNAL: FailureCause.INTERNAL,
}
"""Call causes the retry policy decides on. BAD_ADDRESS never succeeds on retry; ABORTED and
LINE_UNAVAILABLE are this end's doing (a cancel, a shutdown, the line was taken) and are
handled by the scheduler without counting a failure."""


@dataclass(frozen=True)
class Decision:
    """What a call's outcome means for its job: the life cycle's input (DELIVERED, RETRY,
    RETRIES_RAN_OUT or FAIL), what the job keeps of the call, and when a retry is due."""

    input: JobInput
    end: CallEnd
    next_try: datetime | None = None

    @property
    def status(self) -> JobStatus:
        """The status the input gives a job in a call."""
        return step(JobStatus.INPROGRESS, self.input)


def failure_cause(outcome: CallOutcome) -> FailureCause | None:
    """The retry-policy cause of a failed call; None for a number that cannot be dialled."""
    return _CAUSES.get(outcome.cause)


def decide(
    job: OutgoingJob,
    outcome: CallOutcome,
    *,
    first_page: int,
    now: datetime,
    policy: OutgoingConfig,
) -> Decision:
    """Decide the job's state after a call that sent the document from page ``first_page``.

    ``outcome.pages`` counts pages confirmed in this call; they follow on from the pages
    confirmed by earlier calls.
    """
    confirmed = min(job.total_pages, first_page - 1 + outcome.pages)
    text = outcome.detail
    if confirmed == job.total_pages:
        if not outcome.ok:
            # The receiver confirmed the last page (MCF): the fax is delivered, whatever
            # ended the call after it. Retrying would send it again, or nothing at all.
            ended = outcome.detail or outcome.cause.value
            text = f"every page was confirmed; the call then ended: {ended}"
        end = CallEnd(confirmed, outcome.extended_status, text, None, retryable=False)
        return Decision(JobInput.DELIVERED, end)
    cause = failure_cause(outcome)
    extended = outcome.extended_status
    if outcome.ok:
        # The far end ended the call cleanly without confirming every page: not a success.
        cause = FailureCause.PROTOCOL
        extended = ExtendedStatus.FATAL_ERROR
        text = f"the call ended after {confirmed} of {job.total_pages} pages were confirmed"
    rule = policy.causes[cause] if cause is not None else None
    retryable = rule is not None and rule.retryable
    failure = cause.value if cause is not None else "bad_address"
    if rule is not None and retryable:
        retry_at = now + timedelta(minutes=rule.delay_minutes)
        kill_passed = job.kill_at is not None and retry_at >= job.kill_at
        if job.retries < policy.retries and job.attempts < policy.max_attempts and not kill_passed:
            if outcome.connected:
                text = (
                    f"{text}; {confirmed} of {job.total_pages} pages"
                    f" confirmed, the next call sends from page {confirmed + 1}"
                )
            end = CallEnd(confirmed, extended, text, failure, retryable)
            return Decision(JobInput.RETRY, end, next_try=retry_at)
        end = CallEnd(confirmed, extended, text, failure, retryable)
        return Decision(JobInput.RETRIES_RAN_OUT, end)
    return Decision(JobInput.FAIL, CallEnd(confirmed, extended, text, failure, retryable))
