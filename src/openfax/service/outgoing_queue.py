"""The outgoing queue (FAXCOMEX ``FaxOutgoingQueue`` and ``ConnectedSubmit2``): submitting
faxes, reading the queued jobs and their calls, and pausing, resuming, restarting and
cancelling them.

A submission is checked, rendered once into the spool and stored with one job per
recipient in one transaction; each change of a job is one transaction that also writes its
audit entry and its server event. The scheduler is woken after each change.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from openfax.documents import write_fax_tiff
from openfax.errors import (
    MessageNotFoundError,
    QueueBlockedError,
    RecipientsLimitError,
    SubmissionError,
)
from openfax.model import DEFAULT_PREFETCH_SIZE, CoverPageType, JobStatus, new_ids
from openfax.model.events import OutgoingJobAdded
from openfax.model.job_table import OutgoingJobTable
from openfax.model.paging import QueueCursor, QueuePage
from openfax.model.records import CallAttemptInfo, OutgoingJobInfo, SubmitResult, person_fields
from openfax.service.archiving import settle_submission
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record, record_read
from openfax.service.composing import compose_pages, sending_tsid
from openfax.service.config_file import OutgoingConfig, ServiceConfig
from openfax.service.context import ServiceContext
from openfax.service.cover_pages import folder as cover_pages_folder
from openfax.service.job_listing import OutgoingJobListing
from openfax.service.job_states import Operation, operate
from openfax.service.receipts import load_receipt_options
from openfax.service.schedule import first_send_time
from openfax.service.scheduler import Scheduler, emit_job
from openfax.service.submission import (
    RenderedSubmission,
    Rendering,
    SubmitRequest,
    render_in_time,
)
from openfax.service.views import call_attempt_info, outgoing_job_info
from openfax.store import Direction, OutgoingJob, Spool, Submission
from openfax.store import queries as q

_AUDITED = {
    Operation.PAUSE: AuditAction.PAUSED,
    Operation.RESUME: AuditAction.RESUMED,
    Operation.RESTART: AuditAction.RESTARTED,
    Operation.CANCEL: AuditAction.CANCELLED,
}


class OutgoingQueue:
    """FAXCOMEX ``OutgoingQueue`` with ``ConnectedSubmit2``: the running service's
    ``outgoing_queue``."""

    def __init__(self, ctx: ServiceContext, scheduler: Scheduler) -> None:
        self._ctx = ctx
        self._scheduler = scheduler
        self._listing = OutgoingJobListing(ctx.db)

    # --- submitting ---------------------------------------------------------------------------

    async def submit(self, request: SubmitRequest) -> list[int]:
        """Queue a fax: render it, store one job per recipient; the job ids in recipient order
        (see ``connected_submit2``)."""
        return (await self.connected_submit2(request)).job_ids

    async def connected_submit2(self, request: SubmitRequest) -> SubmitResult:
        """FAXCOMEX ``ConnectedSubmit2``: queue a fax; its submission id and one job id per
        recipient, in recipient order.

        The bodies are rendered once into one spool document that every job sends (cover
        pages, when asked, are one per recipient); the jobs and their events are stored in
        one transaction. Refused with QueueBlockedError while the outgoing queue is blocked,
        SubmissionError for an incomplete request or a field out of its range,
        NumberError (naming the recipient) for a fax number no line could dial,
        RecipientsLimitError past ``outgoing.max_recipients``, and BodyError (naming the
        body's index) for a body that cannot be rendered; then nothing is queued.
        """
        ctx = self._ctx
        config, now = ctx.config, ctx.clock.now()
        await self._check(request, now, config.outgoing)
        known = await self._known(request)
        if known is not None:
            return known
        rendered = await self._render(request, now, config)
        submission = _submission(request, rendered, now)
        jobs = _jobs(request, submission.id, rendered, now, config.outgoing, ctx.zone)
        return await self._queue(request, submission, jobs, rendered.paths, now)

    async def _check(self, request: SubmitRequest, now: datetime, outgoing: OutgoingConfig) -> None:
        """Refuse what the queue's switches, the request's own rules, the server's limits
        and its receipt options do not allow."""
        ctx = self._ctx
        if ctx.switches.outgoing_blocked:
            raise QueueBlockedError("the outgoing queue is blocked: submissions are refused")
        request.check(now, dials=ctx.dials)
        if len(request.recipients) > outgoing.max_recipients:
            raise RecipientsLimitError(len(request.recipients), outgoing.max_recipients)
        personal = request.cover_page_type is CoverPageType.LOCAL
        if personal and not outgoing.allow_personal_cover_pages:
            raise SubmissionError(
                "personal cover pages are not allowed on this server "
                "(configuration allow_personal_cover_pages): use a server cover page"
            )
        if request.receipt_type:
            async with ctx.db.read() as conn:
                options = await load_receipt_options(conn)
            options.check_request(request.receipt_type, request.receipt_address)

    async def _known(self, request: SubmitRequest) -> SubmitResult | None:
        """The jobs of an earlier submission with the request's idempotency key: a key seen
        before, whether its jobs are queued or long archived, sends nothing."""
        if request.idempotency_key is None:
            return None
        async with self._ctx.db.read() as conn:
            known = await q.find_submission(conn, request.owner_id, request.idempotency_key)
        return None if known is None else SubmitResult(known.id, known.job_ids, created=False)

    async def _render(
        self, request: SubmitRequest, now: datetime, config: ServiceConfig
    ) -> RenderedSubmission:
        """The bodies and cover pages in the spool, within the render deadline."""
        rendering = Rendering(
            request=request,
            when=now.astimezone(self._ctx.zone),
            cover_pages_dir=cover_pages_folder(config.data_dir),
            max_pages=config.outgoing.max_pages,
            office=self._ctx.office,
        )
        return await render_in_time(rendering, self._ctx.spool, config.deadlines.render_seconds)

    async def _queue(
        self,
        request: SubmitRequest,
        submission: Submission,
        jobs: list[OutgoingJob],
        paths: list[str],
        now: datetime,
    ) -> SubmitResult:
        """Store the submission and its jobs with their audit entry and events in one
        transaction; the spool files go again if they were not stored (a failure, or the
        same key submitted at the same time)."""
        ctx = self._ctx
        try:
            async with ctx.hub.transaction() as conn:
                result = await q.insert_submission(conn, submission, jobs)
                if result.created:
                    details = {"job_ids": [f"{job.id:016x}" for job in jobs]}
                    await record(
                        conn,
                        now,
                        request.owner or SERVICE_ACTOR,
                        AuditAction.SUBMITTED,
                        "submission",
                        submission.id,
                        details,
                    )
                    added = [
                        OutgoingJobAdded(job_id=job.id, submission_id=job.submission_id)
                        for job in jobs
                    ]
                    await ctx.hub.emit_many(conn, added)
        except BaseException:
            await asyncio.to_thread(_delete_files, ctx.spool, paths)
            raise
        if result.created:
            self._listing.keep_queued(submission, jobs)
            self._scheduler.wake()
        else:
            await asyncio.to_thread(_delete_files, ctx.spool, paths)
        return result

    # --- the jobs -----------------------------------------------------------------------------

    async def get_jobs(self) -> list[OutgoingJobInfo]:
        """FAXCOMEX ``OutgoingQueue.GetJobs()``: every job in the queue, oldest first."""
        async with self._ctx.db.read() as conn:
            jobs = await q.list_jobs(conn)
            submissions = await q.get_submissions(conn, {j.submission_id for j in jobs})
        return [outgoing_job_info(job, submissions[job.submission_id]) for job in jobs]

    async def get_job_page(
        self,
        after: QueueCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> QueuePage[OutgoingJobInfo]:
        """One page of a snapshot of the queue (or of the jobs of the account whose id is
        ``owner``), oldest first: the first (``after`` None) fixes the snapshot and its
        count, ``next_cursor`` reads on in it."""
        async with self._ctx.db.read() as conn:
            page = await q.list_jobs_page(conn, owner=owner, after=after, limit=limit)
            submissions = await q.get_submissions(conn, {j.submission_id for j in page.jobs})
        jobs = [outgoing_job_info(job, submissions[job.submission_id]) for job in page.jobs]
        return QueuePage(jobs, page.count, page.next_cursor)

    async def get_job_table(
        self,
        after: QueueCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> OutgoingJobTable:
        """The page ``get_job_page`` reads, in the listing's table form: the same jobs and
        fields, encoded at a fraction of the cost (``job_listing``)."""
        return await self._listing.page(after, limit, owner=owner)

    async def get_job(self, job_id: int) -> OutgoingJobInfo:
        """FAXCOMEX ``OutgoingQueue.GetJob(id)``; MessageNotFoundError if there is none."""
        async with self._ctx.db.read() as conn:
            job = await q.get_job(conn, job_id)
            return outgoing_job_info(job, await q.get_submission(conn, job.submission_id))

    async def get_call_attempts(self, job_id: int) -> list[CallAttemptInfo]:
        """The calls made for a job in the queue or for the archived message it became, with
        their T.30 transcripts; MessageNotFoundError if there is neither."""
        async with self._ctx.db.read() as conn:
            attempts = await q.list_call_attempts(conn, job_id)
            if not attempts:
                try:
                    await q.get_job(conn, job_id)
                except MessageNotFoundError:
                    await q.get_message(conn, Direction.OUT, job_id)
        return [call_attempt_info(attempt) for attempt in attempts]

    async def pause_job(self, job_id: int, actor: str = SERVICE_ACTOR) -> OutgoingJobInfo:
        """FAXCOMEX ``Pause()``: a pending or retrying job waits until resumed."""
        return await self._operate(job_id, Operation.PAUSE, actor)

    async def resume_job(self, job_id: int, actor: str = SERVICE_ACTOR) -> OutgoingJobInfo:
        """FAXCOMEX ``Resume()``: a paused job is pending or retrying again."""
        return await self._operate(job_id, Operation.RESUME, actor)

    async def restart_job(self, job_id: int, actor: str = SERVICE_ACTOR) -> OutgoingJobInfo:
        """FAXCOMEX ``Restart()``: a failed job is queued again with its retries reset,
        from its first unconfirmed page."""
        return await self._operate(job_id, Operation.RESTART, actor)

    async def cancel_job(self, job_id: int, actor: str = SERVICE_ACTOR) -> OutgoingJobInfo:
        """FAXCOMEX ``Cancel()``: a waiting job is cancelled; a job in a call is hung up."""
        return await self._operate(job_id, Operation.CANCEL, actor)

    async def _operate(self, job_id: int, operation: Operation, actor: str) -> OutgoingJobInfo:
        ctx = self._ctx
        now = ctx.clock.now()
        unreferenced: list[str] = []
        async with ctx.hub.transaction() as conn:
            job = await q.get_job(conn, job_id, for_update=True)
            kill_at = now + timedelta(minutes=ctx.config.outgoing.kill_time_minutes)
            updated = await operate(conn, job, operation, now=now, kill_at=kill_at)
            if updated is None:
                raise MessageNotFoundError("outgoing job", job_id)
            status = updated.status
            await record(conn, now, actor, _AUDITED[operation], "outgoing_job", job_id)
            await emit_job(conn, ctx, updated)
            if status is JobStatus.CANCELED:
                unreferenced = await settle_submission(conn, ctx.hub, job.submission_id)
            submission = await q.get_submission(conn, job.submission_id)
        if status is JobStatus.CANCELING:
            self._scheduler.cancel_call(job_id)
        if unreferenced:
            await asyncio.to_thread(_delete_files, ctx.spool, unreferenced)
        self._scheduler.wake()
        return outgoing_job_info(updated, submission)

    async def copy_tiff(
        self, job_id: int, destination: str | Path, actor: str | None = None
    ) -> None:
        """FAXCOMEX ``CopyTiff(path)``: write the job's TIFF-F (every page) to ``destination``,
        as it is sent: the pages confirmed as their call sent them, the others composed now
        with the TSID of the job's last device or its own."""
        ctx = self._ctx
        async with ctx.db.read() as conn:
            job = await q.get_job(conn, job_id)
            submission = await q.get_submission(conn, job.submission_id)
            device = None if job.device_id is None else await q.get_device(conn, job.device_id)
        tsid = sending_tsid(job, device, ctx.config.outgoing.use_device_tsid)
        when = ctx.clock.now().astimezone(ctx.zone)
        await asyncio.to_thread(
            _write_composed, ctx.spool, job, submission.body_path, tsid, when, Path(destination)
        )
        if actor is not None:
            await record_read(ctx, actor, AuditAction.DOWNLOADED, "outgoing_job", job_id)


def _submission(request: SubmitRequest, rendered: RenderedSubmission, now: datetime) -> Submission:
    """The submission's row: what its jobs share."""
    return Submission(
        idempotency_key=request.idempotency_key,
        owner=request.owner,
        owner_id=request.owner_id,
        document_name=request.document_name
        or (Path(request.bodies[0]).name if request.bodies else ""),
        subject=request.subject,
        note=request.note,
        sender={k: v for k, v in person_fields(request.sender).items() if v},
        cover_page_type=request.cover_page_type,
        cover_page=request.cover_page,
        receipt_type=request.receipt_type,
        receipt_address=request.receipt_address,
        attach_fax_to_receipt=request.attach_fax_to_receipt,
        group_broadcast_receipts=request.group_broadcast_receipts,
        priority=request.priority,
        schedule_type=request.schedule_type,
        schedule_time=request.schedule_time,
        body_path=None if rendered.body is None else rendered.body.path,
        page_count=rendered.pages(0),
        submitted_at=now,
    )


def _jobs(
    request: SubmitRequest,
    submission_id: int,
    rendered: RenderedSubmission,
    now: datetime,
    outgoing: OutgoingConfig,
    zone: tzinfo | None,
) -> list[OutgoingJob]:
    """One job per recipient, in recipient order, first sent at the request's schedule."""
    start = first_send_time(
        request.schedule_type,
        request.schedule_time,
        now,
        (outgoing.discount_start, outgoing.discount_end),
        zone,
    )
    kill_at = start + timedelta(minutes=outgoing.kill_time_minutes)
    tsid = request.sender.tsid or outgoing.tsid
    ids = new_ids(len(request.recipients))
    return [
        OutgoingJob(
            id=ids[index],
            submission_id=submission_id,
            recipient_index=index,
            recipient_number=recipient.fax_number,
            recipient_name=recipient.name,
            recipient={k: v for k, v in person_fields(recipient).items() if v},
            cover_path=None if cover is None else cover.path,
            header_at_send=outgoing.branding,
            total_pages=rendered.pages(index),
            size=rendered.size(index),
            tsid=tsid,
            priority=request.priority,
            original_scheduled_at=start,
            scheduled_at=start,
            kill_at=kill_at,
            created_at=now,
        )
        for index, (recipient, cover) in enumerate(
            zip(request.recipients, rendered.covers, strict=True)
        )
    ]


def _delete_files(spool: Spool, paths: list[str]) -> None:
    """Remove spool files no row refers to (after the transaction that let go of them)."""
    for path in paths:
        with contextlib.suppress(OSError):
            spool.delete(path)


def _write_composed(
    spool: Spool,
    job: OutgoingJob,
    body_path: str | None,
    tsid: str,
    when: datetime,
    destination: Path,
) -> None:
    write_fax_tiff(compose_pages(spool, job, body_path, tsid=tsid, when=when), destination)
