"""Moving faxes into the archives and jobs out of the queues, by the FAXCOMEX rules.

A sent fax is archived as soon as its job completes, under the job's id. The jobs of a
broadcast leave the outgoing queue only when every one of them has reached a final state:
then the completed and cancelled ones go, and failed ones stay for Restart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import JobStatus
from openfax.model.events import IncomingMessageAdded, OutgoingJobRemoved, OutgoingMessageAdded
from openfax.service.event_hub import EventHub
from openfax.service.job_states import base, is_final
from openfax.store import Direction, IncomingJob, Message, OutgoingJob, Submission
from openfax.store import queries as q


async def archive_outgoing(
    conn: AsyncConnection,
    hub: EventHub,
    job: OutgoingJob,
    submission: Submission,
    *,
    device_name: str,
    now: datetime,
) -> None:
    """Add a completed job to the outgoing archive (the message takes the job's id)."""
    sender = submission.sender
    message = Message(
        id=job.id,
        direction=Direction.OUT,
        owner=submission.owner,
        owner_id=submission.owner_id,
        submission_id=submission.id,
        subject=submission.subject,
        document_name=submission.document_name,
        sender=sender,
        sender_name=str(sender.get("name", "")),
        sender_fax_number=str(sender.get("fax_number", "")),
        recipient_number=job.recipient_number,
        recipient_name=job.recipient_name,
        recipient=job.recipient,
        priority=job.priority,
        receipt_type=submission.receipt_type,
        receipt_address=submission.receipt_address,
        has_cover_page=bool(submission.cover_page_type),
        pages=job.total_pages,
        size=job.size,
        retries=job.retries,
        device_name=device_name,
        csid=job.csid,
        tsid=job.tsid,
        original_scheduled_at=job.original_scheduled_at,
        submitted_at=submission.submitted_at,
        transmission_start=job.started_at,
        transmission_end=now,
        tiff_path=job.document_path,
        archived_at=now,
    )
    await q.archive_message(conn, message)
    await hub.emit(conn, OutgoingMessageAdded(message_id=job.id))


async def archive_incoming(
    conn: AsyncConnection, hub: EventHub, job: IncomingJob, *, device_name: str, now: datetime
) -> None:
    """Add a received fax (whole or partial) to the incoming archive under the job's id."""
    message = Message(
        id=job.id,
        direction=Direction.IN,
        pages=job.pages,
        size=job.size,
        device_name=device_name,
        csid=job.csid,
        tsid=job.tsid,
        caller_id=job.caller_id,
        routing_information=job.routing_information,
        transmission_start=job.started_at,
        transmission_end=job.ended_at,
        partial=job.partial,
        tiff_path=job.receive_path,
        archived_at=now,
    )
    await q.archive_message(conn, message)
    # FAXCOMEX IFaxAccountNotify's fAddedToReceiveFolder: a fax arrives there.
    await hub.emit(conn, IncomingMessageAdded(message_id=job.id, added_to_receive_folder=True))


async def settle_submission(conn: AsyncConnection, hub: EventHub, submission_id: int) -> list[str]:
    """Remove a finished broadcast's completed and cancelled jobs from the queue.

    Returns the spool files no row refers to any more (cover pages, the cancelled jobs'
    documents, the shared body once no job is left), so the caller can delete them once the
    transaction has committed.
    """
    jobs = await q.list_jobs(conn, submission_id=submission_id)
    if not all(is_final(job.status) for job in jobs):
        return []
    leaving = [j for j in jobs if base(j.status) in (JobStatus.COMPLETED, JobStatus.CANCELED)]
    if not leaving:
        return []
    await q.delete_jobs(conn, [job.id for job in leaving])
    await hub.emit_many(conn, [OutgoingJobRemoved(job_id=job.id) for job in leaving])
    return await unreferenced_documents(conn, submission_id, leaving)


async def unreferenced_documents(
    conn: AsyncConnection, submission_id: int, removed: list[OutgoingJob]
) -> list[str]:
    """The spool files that jobs of one submission just removed from the queue leave behind:
    their cover pages, the documents of those not archived, and the shared body when no job
    of the submission is left."""
    archived = await q.archived_ids(conn, [job.id for job in removed])
    files = [job.cover_path for job in removed if job.cover_path]
    files += [job.document_path for job in removed if job.document_path and job.id not in archived]
    body = await q.release_body(conn, submission_id)
    return files + ([body] if body else [])
