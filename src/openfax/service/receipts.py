"""Delivery receipts: an e-mail to the sender when a job reaches its final state.

A delivery receipt (DR) says the fax went through, a non-delivery receipt (NDR) that it
did not (failed, retries exceeded, cancelled), with the FAXCOMEX fields of the job. With
``group_broadcast_receipts`` a broadcast gets one summary, once every job of the
submission is final, listing each recipient; otherwise every recipient's job gets its own.
``attach_fax_to_receipt`` attaches the fax as a PDF.

Receipts are rows of the store (``receipts``), queued in the same transaction that makes
the job final (:func:`queue_receipts`, called for every job change), so a crash can lose
none; :class:`ReceiptSender` sends the due ones and marks each sent once the SMTP server
took it, so a crash between the two repeats that one receipt once (its ``Message-ID`` is the
same). A failing SMTP server is retried with a doubling delay (``[receipts]`` of the
configuration), each failure logged in the general events; a receipt out of retries is
marked failed.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.documents import iter_fax_tiff, write_pdf
from openfax.errors import ConfigError, InvalidOperationError, MailError, MessageNotFoundError
from openfax.model import ExtendedStatus, JobStatus, ReceiptType, format_id
from openfax.model.records import ReceiptInfo
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.composing import compose_pages
from openfax.service.context import ServiceContext
from openfax.service.event_hub import after_commit
from openfax.service.job_states import base, is_final
from openfax.service.receipt_options import RECEIPT_OPTIONS_KEY, ReceiptOptions
from openfax.service.system_log import general_events
from openfax.service.views import receipt_info
from openfax.smtp import Attachment, send_message
from openfax.store import DeliveryStatus, Direction, OutgoingJob, Receipt, Submission
from openfax.store import queries as q

_logger = logging.getLogger(__name__)

HOLD = timedelta(minutes=10)
"""How long a sender holds a receipt it took: if its node dies, another sends it then."""
POLL = timedelta(seconds=30)
"""How often the sender looks for receipts queued by other nodes."""
MAX_DELAY = timedelta(hours=6)


async def load_receipt_options(conn: AsyncConnection) -> ReceiptOptions:
    """The receipt options as saved (the defaults when never saved)."""
    return ReceiptOptions.from_json(await q.get_setting(conn, RECEIPT_OPTIONS_KEY))


# --- queueing ---------------------------------------------------------------------------------


async def queue_receipts(
    conn: AsyncConnection, ctx: ServiceContext, job: OutgoingJob
) -> Submission:
    """Queue the receipt a job that just reached a final state calls for, in the caller's
    transaction: its own, or the broadcast's summary once every job of the submission is
    final (nothing when the fax asked for none). Returns the job's submission."""
    # Called after the job's event: on PostgreSQL the transaction holds the event log's lock
    # (``queries.append_event``) until it commits, so of two jobs of one broadcast ending at
    # once on two nodes, the second sees the first's end. SQLite has one writer at a time.
    submission = await q.get_submission(conn, job.submission_id)
    if not submission.receipt_type & ReceiptType.MAIL:
        return submission
    now = ctx.clock.now()
    jobs = [job]
    if submission.group_broadcast_receipts:
        jobs = await q.list_jobs(conn, submission_id=submission.id)
        if not all(is_final(j.status) for j in jobs):
            return submission
        jobs.sort(key=lambda j: j.recipient_index)
    names = await _device_names(conn, jobs)
    report = {
        "subject": submission.subject,
        "document_name": submission.document_name,
        "submission_id": format_id(submission.id),
        "submitted_at": submission.submitted_at.isoformat(),
        "owner": submission.owner,
        "jobs": [job_report(j, names.get(j.device_id or 0, "")) for j in jobs],
    }
    receipt = Receipt(
        submission_id=submission.id,
        job_id=None if submission.group_broadcast_receipts else job.id,
        address=submission.receipt_address,
        delivered=all(base(j.status) is JobStatus.COMPLETED for j in jobs),
        attach=submission.attach_fax_to_receipt,
        report=report,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    await q.insert_receipts(conn, [receipt])
    after_commit(conn, ctx.wake_receipts.set)
    return submission


async def _change_receipt(
    conn: AsyncConnection,
    receipt_id: int,
    required: DeliveryStatus,
    changes: dict[str, Any],
    refusal: str,
) -> Receipt:
    """Make ``changes`` to a receipt in status ``required`` (resent when failed, cancelled
    when pending); InvalidOperationError naming its status and ``refusal`` otherwise."""
    receipt = await q.get_receipt(conn, receipt_id)
    if receipt.status is not required:
        raise InvalidOperationError(
            f"receipt {receipt_id:016x} is {receipt.status.value}: {refusal}"
        )
    changed = await q.update_receipt(conn, receipt_id, changes)
    assert changed is not None
    return changed


class Receipts:
    """The running service's ``receipts``: the delivery receipts queued, sent and failed,
    sending a failed one again and cancelling a pending one."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def get_receipts(
        self, *, status: DeliveryStatus | None = None, owner: int | None = None, limit: int = 1000
    ) -> list[ReceiptInfo]:
        """The delivery receipts in ``status`` (every one when None), latest change first;
        only those of the faxes of the account whose id is ``owner``, if given."""
        async with self._ctx.db.read() as conn:
            found = await q.list_receipts(conn, status=status, owner=owner, limit=limit)
        return [receipt_info(receipt) for receipt in found]

    async def resend_receipt(self, receipt_id: int) -> ReceiptInfo:
        """Send a receipt that failed for good again, with fresh retries (after the SMTP
        settings were put right); InvalidOperationError for one not failed."""
        ctx = self._ctx
        now = ctx.clock.now()
        changes = {
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        async with ctx.hub.transaction() as conn:
            resent = await _change_receipt(
                conn, receipt_id, DeliveryStatus.FAILED, changes, "only failed ones are sent again"
            )
            after_commit(conn, ctx.wake_receipts.set)
        return receipt_info(resent)

    async def cancel_receipt(self, receipt_id: int, actor: str = SERVICE_ACTOR) -> ReceiptInfo:
        """Never send a pending receipt: it is failed for good, ``last_error`` naming who
        cancelled it (``resend_receipt`` still sends it); InvalidOperationError for one not
        pending. One already being handed to the SMTP server may still go, and then reads
        done. Audited as ``actor``'s."""
        ctx = self._ctx
        now = ctx.clock.now()
        changes = {
            "status": DeliveryStatus.FAILED,
            "last_error": f"cancelled by {actor}",
            "next_attempt_at": None,
            "updated_at": now,
        }
        async with ctx.hub.transaction() as conn:
            cancelled = await _change_receipt(
                conn, receipt_id, DeliveryStatus.PENDING, changes, "only pending ones are cancelled"
            )
            await record(conn, now, actor, AuditAction.CANCELLED, "receipt", receipt_id)
        return receipt_info(cancelled)


async def _device_names(conn: AsyncConnection, jobs: list[OutgoingJob]) -> dict[int, str]:
    names = {}
    for device_id in {j.device_id for j in jobs if j.device_id is not None}:
        device = await q.get_device(conn, device_id)
        if device is not None:
            names[device_id] = device.name
    return names


def job_report(job: OutgoingJob, device_name: str) -> dict[str, Any]:
    """What a receipt tells of one job: the FAXCOMEX ``OutgoingJob`` fields."""
    status = base(job.status)
    return {
        "job_id": format_id(job.id),
        "recipient_number": job.recipient_number,
        "recipient_name": job.recipient_name,
        "status": status.name,
        "extended_status_code": int(job.extended_status),
        "extended_status_name": _extended_name(job.extended_status),
        "extended_status": job.extended_status_text,
        "pages": job.pages_confirmed,
        "total_pages": job.total_pages,
        "retries": job.retries,
        "transmission_start": None if job.started_at is None else job.started_at.isoformat(),
        "transmission_end": None if job.ended_at is None else job.ended_at.isoformat(),
        "device_name": device_name,
        "tsid": job.tsid,
        "csid": job.csid,
    }


def _extended_name(code: int) -> str:
    try:
        return ExtendedStatus(code).name.replace("_", " ").lower() if code else ""
    except ValueError:
        return str(code)


# --- sending ----------------------------------------------------------------------------------


class ReceiptSender:
    """Sends the due receipts, one at a time, until the service stops."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def run(self) -> None:
        ctx = self.ctx
        while not ctx.stopping.is_set():
            ctx.wake_receipts.clear()
            while not ctx.stopping.is_set():
                now = ctx.clock.now()
                async with ctx.db.transaction() as conn:
                    receipt = await q.claim_due_receipt(conn, now=now, hold_until=now + HOLD)
                if receipt is None:
                    break
                await self._send(receipt)
            async with ctx.db.read() as conn:
                due = await q.next_receipt_at(conn)
            until = ctx.clock.now() + POLL
            await ctx.sleep_until(until if due is None else min(due, until), ctx.wake_receipts)

    async def _send(self, receipt: Receipt) -> None:
        """One attempt; its outcome stored (sent, due again later, or failed for good)."""
        ctx = self.ctx
        attempt = receipt.attempts + 1
        kind = "delivery receipt" if receipt.delivered else "non-delivery receipt"
        error: str | None = None
        retryable = True
        try:
            async with ctx.db.read() as conn:
                options = await load_receipt_options(conn)
            # The fax is written to a private file, and read from it as the e-mail is sent.
            with tempfile.NamedTemporaryFile(dir=ctx.spool.temporary, suffix=".pdf") as pdf:
                note = await self._attachment(receipt, pdf) if receipt.attach else ""
                pdf.flush()
                attached = Path(pdf.name) if receipt.attach and not note else None
                message, attachments = compose(receipt, options.sender, attached, note)
                async with asyncio.timeout(ctx.config.deadlines.routing_step_seconds):
                    await asyncio.to_thread(
                        send_message,
                        message,
                        options.smtp(),
                        attachments,
                        folder=ctx.spool.temporary,
                    )
        except MailError as exc:
            error, retryable = str(exc), exc.retryable
        except ConfigError as exc:
            error, retryable = str(exc), False
        except TimeoutError:
            error = "the SMTP server took too long (deadlines.routing_step_seconds)"
        except Exception as exc:
            _logger.exception("receipt %016x could not be made", receipt.id)
            error, retryable = f"{type(exc).__name__}: {exc}", False
        now = ctx.clock.now()
        changes: dict[str, Any] = {"attempts": attempt, "updated_at": now}
        where = f"{kind} {format_id(receipt.id)} to {receipt.address}"
        config = ctx.config.receipts
        if error is None:
            changes |= {"status": DeliveryStatus.DONE, "sent_at": now, "next_attempt_at": None}
            changes["last_error"] = ""
            general_events.info("%s sent (attempt %d)", where, attempt)
        elif retryable and attempt <= config.retries:
            minutes = config.retry_delay_minutes * 2 ** (attempt - 1)
            delay = min(timedelta(minutes=minutes), MAX_DELAY)
            changes |= {"last_error": error, "next_attempt_at": now + delay}
            general_events.warning(
                "%s failed (attempt %d), again in %s: %s", where, attempt, delay, error
            )
        else:
            changes |= {"status": DeliveryStatus.FAILED, "last_error": error}
            changes["next_attempt_at"] = None
            general_events.error("%s failed for good (attempt %d): %s", where, attempt, error)
        async with ctx.db.transaction() as conn:
            await q.update_receipt(conn, receipt.id, changes)

    async def _attachment(self, receipt: Receipt, out: IO[bytes]) -> str:
        """Write the fax as a PDF to attach to ``out`` (the archived fax, else the pages as
        the job's last call sent them, else as they would be sent now); returns "", or a
        note saying why there is none. A summary attaches the first recipient's fax that
        went through (else the first's)."""
        jobs = receipt.report.get("jobs", [])
        ids = [int(j["job_id"], 16) for j in jobs]
        completed = [int(j["job_id"], 16) for j in jobs if j["status"] == "COMPLETED"]
        ctx = self.ctx
        async with ctx.db.read() as conn:
            for job_id in completed + ids:
                try:
                    message = await q.get_message(conn, Direction.OUT, job_id)
                except MessageNotFoundError:
                    continue
                if message.tiff_path:
                    return await self._attach_spooled(message.tiff_path, out)
            for job_id in ids:
                try:
                    job = await q.get_job(conn, job_id)
                except MessageNotFoundError:
                    continue
                if job.document_path:
                    return await self._attach_spooled(job.document_path, out)
                submission = await q.get_submission(conn, job.submission_id)
                when = ctx.clock.now().astimezone(ctx.zone)
                pages = compose_pages(
                    ctx.spool, job, submission.body_path, tsid=job.tsid, when=when
                )  # composed as the PDF is written, on its thread
                await asyncio.to_thread(write_pdf, pages, out)
                return ""
        return "The fax is not attached: it is no longer kept on the server."

    async def _attach_spooled(self, name: str, out: IO[bytes]) -> str:
        """Write the spool's fax TIFF ``name`` to ``out`` as a PDF; returns "" (attached)."""
        tiff = self.ctx.spool.path(name)
        await asyncio.to_thread(write_pdf, iter_fax_tiff(tiff), out)
        return ""


def compose(
    receipt: Receipt, sender: str, pdf: Path | None, note: str
) -> tuple[EmailMessage, list[Attachment]]:
    """The e-mail of a receipt: what happened to each recipient, and the fax to attach
    when its ``pdf`` file is given (read as it is sent)."""
    report = receipt.report
    jobs: list[dict[str, Any]] = report.get("jobs", [])
    title = report.get("subject") or report.get("document_name") or "fax"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = receipt.address
    if receipt.job_id is None:
        reached = sum(j["status"] == "COMPLETED" for j in jobs)
        message["Subject"] = (
            f'Broadcast fax "{title}": {reached} of {len(jobs)} recipients received it'
        )
    else:
        (job,) = jobs
        verb = "delivered to" if receipt.delivered else "NOT delivered to"
        message["Subject"] = f'Fax "{title}" {verb} {_recipient(job)}'
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = f"<receipt-{format_id(receipt.id)}@openfax>"
    message["X-OpenFax-Receipt"] = "DR" if receipt.delivered else "NDR"
    message["X-OpenFax-Submission-Id"] = report.get("submission_id", "")
    lines = [
        f'Your fax "{title}", submitted {report.get("submitted_at", "")}'
        + (f" by {report['owner']}" if report.get("owner") else "")
        + ":",
        "",
    ]
    for job in jobs:
        lines += [*_job_lines(job), ""]
    if note:
        lines.append(note)
    message.set_content("\n".join(lines).rstrip() + "\n")
    if pdf is None:
        return message, []
    name = jobs[0]["job_id"] if receipt.job_id is not None else report["submission_id"]
    return message, [Attachment(path=pdf, filename=f"fax-{name}.pdf")]


def _recipient(job: dict[str, Any]) -> str:
    name = job.get("recipient_name")
    return f"{name} ({job['recipient_number']})" if name else job["recipient_number"]


def _job_lines(job: dict[str, Any]) -> list[str]:
    rows = [
        ("Recipient", _recipient(job)),
        ("Status", job["status"]),
        ("Extended status", _extended(job)),
        ("Pages", f"{job['pages']} of {job['total_pages']}"),
        ("Transmission start", job["transmission_start"] or "-"),
        ("Transmission end", job["transmission_end"] or "-"),
        ("Retries", str(job["retries"])),
        ("TSID", job["tsid"]),
        ("CSID", job["csid"]),
        ("Device", job["device_name"]),
        ("Job id", job["job_id"]),
    ]
    return [f"{label + ':':<20}{value}" for label, value in rows]


def _extended(job: dict[str, Any]) -> str:
    """``no answer: no line has number 1999 (9)``: the FAXCOMEX name, the detail, the code."""
    said = ": ".join(part for part in (job["extended_status_name"], job["extended_status"]) if part)
    return f"{said or '-'} ({job['extended_status_code']})"
