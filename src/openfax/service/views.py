"""The records the service shows (:mod:`openfax.model.records`), filled from the store's
rows: they join what FAXCOMEX shows on one object (an outgoing job shows its submission's
sender and subject) and add what is computed, never stored (``available_operations``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from openfax.model import CoverPageType, JobType, format_id
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
        available_operations=available_operations(job.status),
        recipient=Recipient.of(
            {**job.recipient, "fax_number": job.recipient_number, "name": job.recipient_name}
        ),
        sender=Sender.of(submission.sender),
        subject=submission.subject,
        document_name=submission.document_name,
        pages=job.total_pages,
        schedule_type=submission.schedule_type,
        receipt_type=submission.receipt_type,
        receipt_address=submission.receipt_address,
        has_cover_page=submission.cover_page_type is not CoverPageType.NONE,
        group_broadcast_receipts=submission.group_broadcast_receipts,
        original_scheduled_time=job.original_scheduled_at,
        scheduled_time=job.scheduled_at,
        submission_time=submission.submitted_at,
        transmission_start=job.started_at,
        transmission_end=job.ended_at,
        owner=submission.owner,
        owner_id=submission.owner_id,
    )


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


def outgoing_job_payload(job: OutgoingJob) -> dict[str, Any]:
    """An outgoing job's FAXCOMEX ``IFaxJobStatus``, as an event carries it."""
    return {
        "job_id": format_id(job.id),
        "job_type": int(JobType.SEND),
        "status": int(job.status),
        "extended_status": job.extended_status,
        "extended_status_text": job.extended_status_text,
        "available_operations": int(available_operations(job.status)),
        "pages": job.total_pages,
        "pages_confirmed": job.pages_confirmed,
        "current_page": job.current_page,
        "bit_rate": job.bit_rate,
        "page_bytes": job.page_bytes,
        "page_bytes_sent": job.page_bytes_sent,
        "device_id": job.device_id,
        "retries": job.retries,
        "csid": job.csid,
        "tsid": job.tsid,
        "scheduled_time": job.scheduled_at.isoformat(),
        "size": job.size,
        **_transmission(job.started_at, job.ended_at),
    }


def incoming_job_payload(job: IncomingJob) -> dict[str, Any]:
    """An incoming job's FAXCOMEX ``IFaxJobStatus``, as an event carries it."""
    return {
        "job_id": format_id(job.id),
        "job_type": int(job.job_type),
        "status": int(job.status),
        "extended_status": job.extended_status,
        "extended_status_text": job.extended_status_text,
        "available_operations": int(incoming_operations(job.status)),
        "pages": job.pages,
        "current_page": job.current_page,
        "device_id": job.device_id,
        "retries": job.retries,
        "csid": job.csid,
        "tsid": job.tsid,
        "caller_id": job.caller_id,
        "routing_information": job.routing_information,
        "partial": job.partial,
        **_transmission(job.started_at, job.ended_at),
    }


def _transmission(start: datetime | None, end: datetime | None) -> dict[str, str | None]:
    """FAXCOMEX ``TransmissionStart/End`` as an event carries them (None: not yet)."""
    return {
        "transmission_start": None if start is None else start.isoformat(),
        "transmission_end": None if end is None else end.isoformat(),
    }


def message_removed_payload(message: Message) -> dict[str, Any]:
    """What ``On*MessageRemoved`` carries: the id, and for a received fax whether it left
    the receive folder (FAXCOMEX ``IFaxAccountNotify``'s ``fRemovedFromReceiveFolder``:
    True unless it had been reassigned to an account)."""
    payload: dict[str, Any] = {"message_id": format_id(message.id)}
    if message.direction is Direction.IN:
        payload["removed_from_receive_folder"] = not message.was_reassigned
    return payload
