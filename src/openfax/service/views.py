"""The records the service shows (:mod:`openfax.model.records`) and the events it emits
(:mod:`openfax.model.events`), filled from the store's rows: they join what FAXCOMEX shows on
one object (an outgoing job shows its submission's sender and subject) and add what is
computed, never stored (``available_operations``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from openfax.model import CoverPageType, JobType, format_id
from openfax.model.events import (
    IncomingJobChanged,
    IncomingMessageRemoved,
    OutgoingJobChanged,
    OutgoingMessageRemoved,
)
from openfax.model.records import (
    AuditEntryInfo,
    CallAttemptInfo,
    DeliveryInfo,
    IncomingJobInfo,
    MessageInfo,
    OutgoingJobInfo,
    ReceiptInfo,
    Recipient,
    Sender,
    person_fields,
)
from openfax.routing.registry import Registry
from openfax.service.job_states import available_operations, incoming_operations
from openfax.store import (
    AuditEntry,
    CallAttempt,
    Direction,
    IncomingJob,
    Message,
    OutgoingJob,
    Receipt,
    RoutingDelivery,
    Submission,
)
from openfax.store.records import field_names

V = TypeVar("V")


def _view(kind: type[V], row: object, **given: Any) -> V:
    """A record of ``kind`` whose fields not ``given`` are the row's of the same name."""
    names = field_names(kind)
    return kind(**{name: getattr(row, name) for name in names if name not in given}, **given)


def outgoing_job_info(job: OutgoingJob, submission: Submission) -> OutgoingJobInfo:
    """The outgoing job as FAXCOMEX shows it: the job row with its submission's fields."""
    return _view(
        OutgoingJobInfo,
        job,
        **_outgoing_status(job),
        recipient=Recipient.of(
            {**job.recipient, "fax_number": job.recipient_number, "name": job.recipient_name}
        ),
        sender=Sender.of(submission.sender),
        subject=submission.subject,
        document_name=submission.document_name,
        schedule_type=submission.schedule_type,
        receipt_type=submission.receipt_type,
        receipt_address=submission.receipt_address,
        has_cover_page=submission.cover_page_type is not CoverPageType.NONE,
        group_broadcast_receipts=submission.group_broadcast_receipts,
        original_scheduled_time=job.original_scheduled_at,
        submission_time=submission.submitted_at,
        owner=submission.owner,
        owner_id=submission.owner_id,
    )


def outgoing_job_row(row: Sequence[Any]) -> tuple[Any, ...]:
    """A job's values in a listing's table form (``OUTGOING_JOB_COLUMNS``), as
    ``outgoing_job_info`` shows them, from its ``LISTED_COLUMNS`` alone: no record, no view,
    a few microseconds a job."""
    (
        job_id, _version, submission_id, status, extended, extended_text, failure_cause,
        recipient, number, name, *counts, priority, original, scheduled, started, ended,
    ) = row  # fmt: skip
    return (
        format_id(job_id), format_id(submission_id), status, extended, extended_text,
        failure_cause, available_operations(status),
        {**recipient, "fax_number": number, "name": name},
        *counts, priority, original, scheduled, started, ended,
    )  # fmt: skip


def submission_fields(row: Sequence[Any]) -> dict[str, Any]:
    """What the jobs of a submission show of it, by ``SUBMISSION_FIELDS``, from its
    ``LISTED_SUBMISSION_COLUMNS``."""
    (
        _id, sender, subject, document_name, schedule_type, receipt_type, receipt_address,
        cover_page_type, group_broadcast_receipts, submitted_at, owner,
    ) = row  # fmt: skip
    return {
        "sender": person_fields(Sender.of(sender)),
        "subject": subject,
        "document_name": document_name,
        "schedule_type": schedule_type,
        "receipt_type": receipt_type,
        "receipt_address": receipt_address,
        "has_cover_page": cover_page_type is not CoverPageType.NONE,
        "group_broadcast_receipts": group_broadcast_receipts,
        "submission_time": submitted_at,
        "owner": owner,
    }


def incoming_job_info(job: IncomingJob) -> IncomingJobInfo:
    """The incoming job as FAXCOMEX shows it, with the operations its status allows."""
    return _view(
        IncomingJobInfo,
        job,
        available_operations=incoming_operations(job.status),
        transmission_start=job.started_at,
        transmission_end=job.ended_at,
    )


def message_info(message: Message) -> MessageInfo:
    """An archived fax as FAXCOMEX shows it; its recipient as stored (the limits of a new
    submission's fields are not checked again)."""
    recipient = None
    if message.recipient_number:
        recipient = Recipient.of(
            {
                **message.recipient,
                "fax_number": message.recipient_number,
                "name": message.recipient_name,
            }
        )
    return _view(
        MessageInfo,
        message,
        recipient=recipient,
        original_scheduled_time=message.original_scheduled_at,
        submission_time=message.submitted_at,
    )


def call_attempt_info(attempt: CallAttempt) -> CallAttemptInfo:
    """A call made for an outgoing job, as a client reads it."""
    return _view(CallAttemptInfo, attempt)


def audit_entry_info(entry: AuditEntry) -> AuditEntryInfo:
    """A line of the audit trail as an administrator reads it."""
    return _view(AuditEntryInfo, entry, time=entry.created_at)


def receipt_info(receipt: Receipt) -> ReceiptInfo:
    """A receipt as a client reads it (what it reports stays on the server)."""
    return _view(ReceiptInfo, receipt)


def delivery_info(delivery: RoutingDelivery, registry: Registry) -> DeliveryInfo:
    """A routing method's delivery as a client reads it, with the friendly name of the
    method (as ``registry`` loaded it; empty for a method no longer loaded)."""
    method = registry.methods.get(delivery.method)
    return _view(DeliveryInfo, delivery, method_name=method.friendly_name if method else "")


def outgoing_job_changed(job: OutgoingJob) -> OutgoingJobChanged:
    """An outgoing job's FAXCOMEX ``IFaxJobStatus``, as ``OnOutgoingJobChanged`` carries it."""
    return _view(
        OutgoingJobChanged, job, **_outgoing_status(job), job_id=job.id, job_type=JobType.SEND
    )


def _outgoing_status(job: OutgoingJob) -> dict[str, Any]:
    """The status fields of an outgoing job's records that its row has under other names,
    or computes."""
    return {
        "available_operations": available_operations(job.status),
        "pages": job.total_pages,
        "scheduled_time": job.scheduled_at,
        "transmission_start": job.started_at,
        "transmission_end": job.ended_at,
    }


def incoming_job_changed(job: IncomingJob) -> IncomingJobChanged:
    """An incoming job's FAXCOMEX ``IFaxJobStatus``, as ``OnIncomingJobChanged`` carries it."""
    return _view(IncomingJobChanged, incoming_job_info(job), job_id=job.id)


def message_removed(message: Message) -> IncomingMessageRemoved | OutgoingMessageRemoved:
    """What ``On*MessageRemoved`` carries: the id, and for a received fax whether it left
    the receive folder (True unless it had been reassigned to an account)."""
    if message.direction is Direction.IN:
        return IncomingMessageRemoved(
            message_id=message.id, removed_from_receive_folder=not message.was_reassigned
        )
    return OutgoingMessageRemoved(message_id=message.id)
