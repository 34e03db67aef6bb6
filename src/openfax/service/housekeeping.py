"""Age limits and spool hygiene: failed and cancelled jobs leave the outgoing queue after
``outgoing.age_limit_days``, archived faxes leave their archive after
``archive.{outgoing,incoming}_age_limit_days`` (0 keeps them), with their spool files, and
delivery receipts sent or failed for good after ``archive.outgoing_age_limit_days``; the
archives' size is held against the quota water marks. Each pass reads the configuration in
force then, so a saved change applies from the next pass.

A background task runs the clean-up at start and then every hour of the service's clock, so
a test with a :class:`~openfax.service.clock.ManualClock` ages a queue by days in
milliseconds. Each run is one transaction (with its events); files are deleted after it
commits, so a crash leaves at worst an unreferenced file, never a row without its file; the
same task removes such orphans once they are an hour old.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from pathlib import Path

from openfax.errors import MessageNotFoundError
from openfax.model import JobStatus
from openfax.model.events import OutgoingJobRemoved
from openfax.service.archiving import unreferenced_documents
from openfax.service.audit import SERVICE_ACTOR, AuditAction, entry, message_type, record
from openfax.service.context import ServiceContext
from openfax.service.views import message_removed
from openfax.store import Direction, OutgoingJob, Spool
from openfax.store import queries as q

_logger = logging.getLogger(__name__)

INTERVAL = timedelta(hours=1)
"""How often the age limits are applied and orphaned spool files removed."""

MB = 1 << 20
ORPHAN_AGE = timedelta(hours=1)
"""How old (wall clock) a spool file no row refers to must be before it is removed."""

AGED_JOB_STATUSES = (JobStatus.FAILED, JobStatus.RETRIES_EXCEEDED, JobStatus.CANCELED)
"""Final statuses a job lingers in the queue with (for Restart) until its age limit."""


def pdf_cache_path(spool: Spool, direction: Direction, message_id: int) -> Path:
    """Where the PDF of an archived fax is kept once made."""
    return spool.root / "pdf" / f"{direction.value}-{message_id:016x}.pdf"


def page_image_path(
    spool: Spool, direction: Direction, message_id: int, page: int, width: int
) -> Path:
    """Where a page of an archived fax is kept as a PNG ``width`` pixels wide once made
    (the web console's thumbnails and viewer), beside its PDF."""
    return spool.root / "pdf" / f"{direction.value}-{message_id:016x}-page-{page}-{width}.png"


def cache_paths(spool: Spool, direction: Direction, message_id: int) -> list[Path]:
    """The files made of an archived fax on demand (its PDF, its page images), which go
    when it goes."""
    pdf = pdf_cache_path(spool, direction, message_id)
    return [pdf, *pdf.parent.glob(f"{pdf.stem}-page-*.png")]


class ArchiveQuota:
    """The archives' size warning (FAXCOMEX ``SizeQuotaWarning``): logged once when both
    archives together grow beyond the high water mark, and again only after they have shrunk
    below the low one. Like Windows it only warns: the age limits are what removes faxes."""

    def __init__(self) -> None:
        self.warned = False

    async def check(self, ctx: ServiceContext) -> bool:
        """Look at the archives' size now; True if the warning was given this time."""
        archive = ctx.config.archive
        async with ctx.db.read() as conn:
            size = await q.archive_size(conn)
        if size < archive.low_quota_water_mark_mb * MB:
            self.warned = False
        high = archive.high_quota_water_mark_mb
        if not archive.size_quota_warning or self.warned or size <= high * MB:
            return False
        self.warned = True
        _logger.warning(
            "the archives hold %.1f MB, more than the high water mark of %d MB "
            "(archive age limits or deleting faxes make room)",
            size / MB,
            high,
        )
        return True


async def run_housekeeping(ctx: ServiceContext) -> None:
    """Apply the age limits and watch the archives' size now and every :data:`INTERVAL`
    until the service stops."""
    quota = ArchiveQuota()
    while True:
        try:
            await apply_age_limits(ctx)
            await remove_orphans(ctx)
            await quota.check(ctx)
        except Exception:
            _logger.exception("applying the age limits failed; trying again later")
        if not await ctx.sleep_until(ctx.clock.now() + INTERVAL):
            return


async def remove_orphans(ctx: ServiceContext) -> int:
    """Delete spool files no row refers to that are older than :data:`ORPHAN_AGE`: left by a
    crash between a commit and the deletion it allowed, or before a document's row was
    written; returns how many. Younger files may belong to work under way (on any node)."""
    before = time.time() - ORPHAN_AGE.total_seconds()
    stale = await asyncio.to_thread(ctx.spool.stale_files, before)
    if not stale:
        return 0
    async with ctx.db.read() as conn:
        referenced = await q.spool_references(conn)
    orphans = [path for path in stale if path not in referenced]
    for path in orphans:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(ctx.spool.delete, path)
    if orphans:
        _logger.warning("%d spool files no fax refers to were removed", len(orphans))
    return len(orphans)


async def apply_age_limits(ctx: ServiceContext) -> int:
    """Remove what outlived its age limit; returns how many jobs, messages and receipts
    went."""
    config = ctx.config
    files: list[str] = []
    caches: list[Path] = []
    removed = 0
    async with ctx.hub.transaction() as conn:
        # Read once the transaction holds its connection: a manual clock may have moved on
        # while it was taken.
        now = ctx.clock.now()
        if config.outgoing.age_limit_days:
            cutoff = now - timedelta(days=config.outgoing.age_limit_days)
            jobs = await q.expired_jobs(conn, AGED_JOB_STATUSES, ended_before=cutoff)
            if jobs:
                # Those another pass removed meanwhile are its to record.
                removed_ids = await q.delete_jobs(conn, [job.id for job in jobs])
                jobs = [job for job in jobs if job.id in removed_ids]
            by_submission: dict[int, list[OutgoingJob]] = {}
            for job in jobs:
                by_submission.setdefault(job.submission_id, []).append(job)
            for submission_id, gone in by_submission.items():
                files += await unreferenced_documents(conn, submission_id, gone)
            await ctx.hub.emit_many(conn, [OutgoingJobRemoved(job_id=j.id) for j in jobs])
            limit = {"age_limit_days": config.outgoing.age_limit_days}
            await q.append_audit(
                conn,
                [
                    entry(now, SERVICE_ACTOR, AuditAction.PURGED, "outgoing_job", j.id, limit)
                    for j in jobs
                ],
            )
            removed += len(jobs)
        limits = (
            (Direction.OUT, config.archive.outgoing_age_limit_days),
            (Direction.IN, config.archive.incoming_age_limit_days),
        )
        in_use = {job.document_path for job in await q.list_jobs(conn)} | {
            job.receive_path for job in await q.list_incoming_jobs(conn)
        }
        for direction, days in limits:
            if not days:
                continue
            cutoff = now - timedelta(days=days)
            for message in await q.expired_messages(conn, direction, archived_before=cutoff):
                if message.tiff_path in in_use:
                    continue  # still being routed, or its broadcast is still in the queue
                try:
                    await q.delete_message(conn, direction, message.id)
                except MessageNotFoundError:
                    # Purged by another pass meanwhile (another node's, on PostgreSQL, whose
                    # commit this delete waited for): it is not this pass's to record.
                    continue
                await record(
                    conn,
                    now,
                    SERVICE_ACTOR,
                    AuditAction.PURGED,
                    message_type(direction),
                    message.id,
                    {"age_limit_days": days},
                )
                await ctx.hub.emit(conn, message_removed(message))
                files += [message.tiff_path] if message.tiff_path else []
                caches += await asyncio.to_thread(cache_paths, ctx.spool, direction, message.id)
                removed += 1
        if config.archive.outgoing_age_limit_days:
            days = config.archive.outgoing_age_limit_days
            cutoff = now - timedelta(days=days)
            await q.prune_submissions(conn, submitted_before=cutoff)
            receipts = await q.delete_settled_receipts(conn, changed_before=cutoff)
            limit = {"age_limit_days": days}
            await q.append_audit(
                conn,
                [
                    entry(now, SERVICE_ACTOR, AuditAction.PURGED, "receipt", r, limit)
                    for r in receipts
                ],
            )
            removed += len(receipts)
    for relative in files:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(ctx.spool.delete, relative)
    for cache in caches:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(cache.unlink, missing_ok=True)
    if removed:
        _logger.info("age limits: %d jobs, messages and receipts removed", removed)
    return removed
