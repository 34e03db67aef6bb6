"""The scheduler: takes ready jobs for free lines, runs their calls, applies their outcomes.

One task loops: return the jobs of dead or hung nodes to the queue (every half lease; never
a job this node is itself calling for), then claim the next ready job for each idle line that
may send, and sleep until the next job is due or something wakes it (a submission, a line
becoming idle, a queue switch). A second task keeps the leases of this node's calls (see
``Scheduler._keep_leases``), so that a loop slowed by claims or by the store's write lock
never lets a lease lapse under a call that still runs.
Each claimed job runs in a task of its own: compose its pages (:mod:`openfax.service.composing`),
dial, stream progress into the job row and the events, decide the outcome
(:mod:`openfax.service.outcome`) and commit it with the call attempt.

Cancelling the dial task is the only way a call is hung up; the job's task always ends by
itself and writes the job's next state while its call still holds the job (a store error is
tried again: a call whose outcome were lost would be placed again after its lease lapsed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.engine import Negotiated, PageProgress, PageSent, SessionOptions
from openfax.log_format import log_job
from openfax.model import ExtendedStatus, JobStatus, ScheduleType
from openfax.model.lifecycle import JobInput, put_back
from openfax.providers import (
    Answered,
    CallCause,
    CallDirection,
    CallEnded,
    CallOutcome,
    CallProgress,
    DeviceState,
    Dialing,
    Line,
    SendRequest,
)
from openfax.service.activity_log import OUTBOX_COLUMNS, OUTBOX_LOG
from openfax.service.archiving import archive_outgoing, settle_submission
from openfax.service.composing import ComposedCall, compose_for_call, sending_tsid
from openfax.service.context import ServiceContext
from openfax.service.event_hub import after_commit
from openfax.service.interrupted import interrupt
from openfax.service.job_states import base, is_final
from openfax.service.node_health import node_state, reported_idle
from openfax.service.outbound_routing import Routes, load_routes, routes_changed, t38_policy_for
from openfax.service.outcome import Decision, decide
from openfax.service.planning import Claim, FreeLine, plan
from openfax.service.receipts import queue_receipts
from openfax.service.schedule import in_discount_period, next_discount_start
from openfax.service.system_log import outbound_events
from openfax.service.transcript import transcript_json
from openfax.service.views import outgoing_job_changed
from openfax.store import CallAttempt, Device, OutgoingJob, Submission
from openfax.store import queries as q
from openfax.store.queries import CallEnd

_logger = logging.getLogger(__name__)

PAGE_PROGRESS_INTERVAL = timedelta(seconds=0.4)
"""How often a call's progress within a page is written to its job (and announced) at most:
a little under the engine's half second of line time, so that a line at real time has each
report written (two a second) and a faster one no more than two and a half a second."""


@dataclass
class RunningCall:
    """A job this node is calling for, and why its call may have been hung up."""

    job: OutgoingJob
    line: Line
    device: Device
    lease_until: datetime
    """The end of the lease this node last wrote for the call."""
    dial: asyncio.Task[CallOutcome] | None = None
    answered: bool = False
    lost: bool = False
    """The call no longer holds the job (another node took it): write nothing to the job."""
    fenced: bool = False
    """Hung up because its lease could not be renewed in time (not the recipient's doing)."""
    setup_expired: bool = False
    progress: asyncio.Queue[CallProgress] = field(default_factory=asyncio.Queue)
    progress_written: datetime | None = None
    """When progress within a page was last written to the job."""

    def hang_up(self) -> None:
        if self.dial is not None:
            self.dial.cancel()


class _ClaimWithdrawn(Exception):
    """A claim rolled back: made while its line was barred, the routes changed or the
    outgoing queue was paused."""


class Scheduler:
    """Runs the outgoing queue on this node's lines."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.running: dict[int, RunningCall] = {}
        self.stopping = False
        self._runners: set[asyncio.Task[None]] = set()
        self._call_started = asyncio.Event()

    def wake(self) -> None:
        self.ctx.wake_scheduler.set()

    async def run(self) -> None:
        """The scheduler's loop, and the keeper of its leases; ends when the service stops.

        Lapsed leases are looked for every half lease, not at each wake: a burst of
        submissions wakes the loop once each, and each look is a write transaction. A store
        error (say, SQLite's write lock not free within its busy timeout on an overloaded
        machine) is logged and the round tried again later; it never ends the loop.
        """
        lease = timedelta(seconds=self.ctx.config.deadlines.lease_seconds)
        # Not a task group: a failing keeper must not cancel the loop inside a transaction;
        # both end at their next wait once the service stops.
        keeper = asyncio.create_task(self._keep_leases(), name="leases")
        recovery_due: datetime | None = None
        while not self.ctx.stopping.is_set():
            self.ctx.wake_scheduler.clear()
            now = self.ctx.clock.now()
            try:
                if recovery_due is None or now >= recovery_due:
                    await self._recover_expired()
                    recovery_due = now + lease / 2
                if not self.ctx.switches.outgoing_paused:
                    await self._dispatch(now)
                wake = await self._next_wake(now)
            except SQLAlchemyError:
                _logger.exception("the scheduler could not use the store; trying again")
                wake = now + lease / 6
            await self.ctx.sleep_until(wake, self.ctx.wake_scheduler)
        await keeper

    async def stop(self) -> None:
        """Hang up every call; their jobs go back to the queue, to be sent after a restart."""
        self.stopping = True
        for call in self.running.values():
            call.hang_up()
        if self._runners:
            await asyncio.wait(self._runners)

    def cancel_call(self, job_id: int) -> bool:
        """Hang up the call of a job being cancelled, if this node runs it."""
        call = self.running.get(job_id)
        if call is None:
            return False
        call.hang_up()
        return True

    # --- the loop's steps ---------------------------------------------------------------------

    async def _next_wake(self, now: datetime) -> datetime:
        """The next time the loop has work: a job coming due, or lease upkeep. A paused
        queue dispatches nothing until resumed (which wakes the loop): no need to look."""
        wake = now + timedelta(seconds=self.ctx.config.deadlines.lease_seconds / 2)
        if self.ctx.switches.outgoing_paused:
            return wake
        async with self.ctx.db.read() as conn:
            due = await q.next_scheduled_at(conn, after=now)
        return wake if due is None else min(wake, due)

    async def _keep_leases(self) -> None:
        """Renew the leases of this node's calls every third of a lease, apart from the loop
        (whose claims and reads may wait long for the store).

        A call whose job another node took, or whose job is being cancelled, is hung up. On
        a store shared by several nodes (PostgreSQL) so is a call whose renewal is still
        unconfirmed half a lease after its lease lapsed (the store too slow to answer): by
        then another node may have recovered its job, and it dials it only a whole lease
        after recovering it (``_recover_expired``), so the two calls never overlap.
        After a stall of this node's whole event loop the renewal gets half a lease of its
        own before that: if no node took the job meanwhile, the call goes on. On SQLite this
        node is the only one: nobody else can take its jobs, and a slow renewal is waited for.
        """
        lease = timedelta(seconds=self.ctx.config.deadlines.lease_seconds)
        shared = self.ctx.db.dialect == "postgresql"
        while not self.ctx.stopping.is_set():
            started = self.ctx.clock.now()
            calls = list(self.running.values())
            if not calls:
                # Idle, the task waits for a call rather than waking every third of a lease
                # (a clock moved on by days in tests stepped through each of those wakes).
                self._call_started.clear()
                await self.ctx.unless_stopping(self._call_started.wait())
                continue
            renewal = asyncio.ensure_future(self._renew_leases(calls, started + lease))
            try:
                if shared:
                    await self._fence_until_renewed(calls, renewal, started, lease / 2)
                await renewal
            except SQLAlchemyError:
                _logger.exception("the leases of this node's calls could not be renewed")
            await self.ctx.sleep_until(started + lease / 3)

    async def _fence_until_renewed(
        self,
        calls: list[RunningCall],
        renewal: asyncio.Future[None],
        started: datetime,
        grace: timedelta,
    ) -> None:
        """Until ``renewal`` is done, hang up each call whose lease (or the renewal itself, if
        it started later) falls ``grace`` behind."""
        while not renewal.done():
            waiting = [call for call in calls if not (call.fenced or call.lost)]
            if not waiting:
                break
            fence_at = min(max(call.lease_until, started) for call in waiting) + grace
            sleeper = asyncio.ensure_future(self.ctx.clock.sleep_until(fence_at))
            try:
                await asyncio.wait({renewal, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
            if renewal.done():
                break
            now = self.ctx.clock.now()
            for call in waiting:
                if max(call.lease_until, started) + grace <= now:
                    _logger.warning(
                        "job %016x: its lease could not be renewed in time, hanging up",
                        call.job.id,
                    )
                    call.fenced = True
                    call.hang_up()

    async def _renew_leases(self, calls: list[RunningCall], until: datetime) -> None:
        async with self.ctx.db.transaction() as conn:
            statuses = [
                await q.renew_lease(
                    conn,
                    call.job.id,
                    node_id=self.ctx.node_id,
                    attempt=call.job.attempts,
                    lease_until=until,
                )
                for call in calls
            ]
        for call, status in zip(calls, statuses, strict=True):
            if status is None:
                if call.dial is None or not call.dial.done():
                    _logger.warning("job %016x: lease lost, hanging up", call.job.id)
                call.lost = True
                call.hang_up()
                continue
            call.lease_until = max(call.lease_until, until)
            if base(status) is JobStatus.CANCELING:
                call.hang_up()

    async def _recover_expired(self) -> None:
        lease = timedelta(seconds=self.ctx.config.deadlines.lease_seconds)
        async with self.ctx.hub.transaction() as conn:
            # The time once the write lock is ours: the lock may have kept us waiting.
            now = self.ctx.clock.now()
            for job in await q.lapsed_jobs(conn, now=now, keep=list(self.running)):
                _logger.warning("job %016x: its node's lease lapsed, recovered", job.id)
                # Due a whole lease from now: later than a node that only hung can take to
                # find its lease lost and hang up, so two calls never carry one job.
                updated = await interrupt(conn, job, now=now, retry_at=now + lease)
                assert updated is not None, "the job is locked by this transaction"
                await emit_job(conn, self.ctx, updated)

    async def _dispatch(self, now: datetime) -> None:
        """Claim a ready job for every idle line that may send, and start its call.

        The plan (:func:`openfax.service.planning.plan`) gives each free line the first job
        it reaches (``Device.reaches``: a loopback line never calls its own number, which
        would find it busy) and outbound routing (:mod:`openfax.service.outbound_routing`)
        gives it. Each claim is then made in the store: a job another node took meanwhile,
        or one not to be sent now (put back, changed), leaves its line free, and the lines
        left free are planned again with what the store then holds. Jobs still ready when no
        line is left idle in the whole cluster get the NOLINE bit (a node whose lines are all
        busy leaves that to a node with an idle one), and so do those to numbers no idle line
        of this node reaches; they lose it when a line claims them.
        """
        lost: set[int] = set()
        """Jobs planned this round that the store did not give: not planned again."""
        while True:
            async with self.ctx.db.read() as conn:
                routes = await load_routes(conn, self.ctx.config.outgoing)
                devices = {d.id: d for d in routes.devices.values() if d.send_enabled}
                free = self._free_lines(devices)
                ready = await q.ready_jobs(conn, now=now) if free else []
            lines = [FreeLine(device_id, line.reaches) for device_id, line in free]
            planned = plan(now, lines, [job for job in ready if job.id not in lost], routes)
            started = 0
            for claim in planned.claims:
                if self.stopping:
                    return
                line = self.ctx.lines[claim.device_id]
                try:
                    claimed = await self._claim(line, claim, now, routes)
                except _ClaimWithdrawn:
                    return  # the change that withdrew it wakes the next round
                if claimed is None:
                    lost.add(claim.job_id)
                    continue
                job, submission, device = claimed
                if base(job.status) is JobStatus.INPROGRESS:
                    self._start(job, submission, line, device)
                    started += 1
            if self.stopping:
                return
            if started == len(planned.claims):
                break
        if planned.no_line is None and await self._idle_elsewhere(devices):
            return  # that node's line takes the jobs, or says which it cannot reach
        if planned.no_line is None or planned.no_line:
            async with self.ctx.hub.transaction() as conn:
                for job in await q.mark_no_line(conn, now=now, numbers=planned.no_line):
                    await emit_job(conn, self.ctx, job)

    async def _idle_elsewhere(self, devices: dict[int, Device]) -> bool:
        """Whether another running node of the cluster has a line that may send and last
        reported itself idle: a job then has a free line, on that node."""
        others = [
            device
            for device in devices.values()
            if device.node_id != self.ctx.node_id and reported_idle(device)
        ]
        if not others:
            return False
        async with self.ctx.db.read() as conn:
            nodes = await q.list_nodes(conn)
        now = self.ctx.clock.now()
        lease = timedelta(seconds=self.ctx.config.deadlines.lease_seconds)
        return any(
            node_state(nodes.get(device.node_id or ""), now, lease) == "running"
            for device in others
        )

    def _free_lines(self, devices: dict[int, Device]) -> list[tuple[int, Line]]:
        """This node's idle lines that may send now."""
        return [
            (device_id, line)
            for device_id, line in self.ctx.lines.items()
            if device_id in devices and line.can_send and self._is_free(line)
        ]

    def _is_free(self, line: Line) -> bool:
        running = any(call.line is line for call in self.running.values())
        return not running and line.state is DeviceState.IDLE

    async def _claim(
        self, line: Line, claim: Claim, now: datetime, routes: Routes
    ) -> tuple[OutgoingJob, Submission, Device] | None:
        """Take the job the plan gave the line, as the round's ``routes`` allow, if it is
        still ready (None: another node took it); a job not sendable now is put back,
        changed. ``_ClaimWithdrawn`` when the line was barred or the routes changed."""
        async with self.ctx.hub.transaction() as conn:
            # The lease runs from now, not from the round's start: a long round of claims
            # must not hand a new call a lease already short or lapsed.
            lease = timedelta(seconds=self.ctx.config.deadlines.lease_seconds)
            lease_until = self.ctx.clock.now() + lease
            if self.ctx.switches.outgoing_paused:
                # Paused while this round of claims was under way: claim nothing more.
                raise _ClaimWithdrawn
            job = await q.claim_next_job(
                conn,
                node_id=self.ctx.node_id,
                device_id=claim.device_id,
                now=now,
                lease_until=lease_until,
                job_ids=[claim.job_id],
            )
            if job is None:
                return None
            # Read after the claim, so that they see every change committed before it (on
            # PostgreSQL each statement sees the latest commits: read before it, a job
            # submitted meanwhile was claimed on a line barred in between).
            device = await q.get_device(conn, claim.device_id)
            if device is None or not device.send_enabled or await routes_changed(conn, routes):
                # The line was barred, or a rule or group changed, while the round was under
                # way: the claim is rolled back and the next round, which the change wakes,
                # decides.
                raise _ClaimWithdrawn
            submission = await q.get_submission(conn, job.submission_id)
            updated = await self._put_back_unsendable(conn, job, submission, now)
            if updated is None:
                await q.record_call_attempt(
                    conn,
                    CallAttempt(
                        job_id=job.id,
                        attempt=job.attempts,
                        device_id=claim.device_id,
                        started_at=now,
                    ),
                )
                updated = await q.begin_call(conn, job, now=now)
            assert updated is not None, "the claim holds the job"
            await emit_job(conn, self.ctx, updated)
            return updated, submission, device

    async def _put_back_unsendable(
        self, conn: AsyncConnection, job: OutgoingJob, submission: Submission, now: datetime
    ) -> OutgoingJob | None:
        """Put back a claimed job that must not be sent now, and return it; else None."""
        if job.kill_at is not None and now >= job.kill_at:
            reason = "the kill time passed before the fax could be sent"
            return await q.expire_job(conn, job, now=now, reason=reason)
        outgoing = self.ctx.config.outgoing
        window = (outgoing.discount_start, outgoing.discount_end)
        if submission.schedule_type is ScheduleType.DISCOUNT_PERIOD and not in_discount_period(
            now, *window, self.ctx.zone
        ):
            until = next_discount_start(now, *window, self.ctx.zone)
            return await q.postpone_job(conn, job, until=until, tried=job.retries > 0)
        return None

    def _start(self, job: OutgoingJob, submission: Submission, line: Line, device: Device) -> None:
        assert job.lease_until is not None, "a claimed job is under a lease"
        call = RunningCall(job, line, device, job.lease_until)
        self.running[job.id] = call
        self._call_started.set()
        # Each call on its own (awaited in stop()): one failing must not hang up the others.
        runner = asyncio.create_task(self._run_call(call, submission), name=f"job {job.id:016x}")
        self._runners.add(runner)
        runner.add_done_callback(self._runner_done)

    def _runner_done(self, runner: asyncio.Task[None]) -> None:
        self._runners.discard(runner)
        if not runner.cancelled() and runner.exception() is not None:
            _logger.error("%s failed", runner.get_name(), exc_info=runner.exception())
        self.wake()

    # --- one call -----------------------------------------------------------------------------

    async def _run_call(self, call: RunningCall, submission: Submission) -> None:
        job = call.job
        log_job(job.id)
        first_page = job.pages_confirmed + 1
        ctx = self.ctx
        tsid = sending_tsid(job, call.device, ctx.config.outgoing.use_device_tsid)
        when = ctx.clock.now().astimezone(ctx.zone)
        try:
            with tempfile.TemporaryDirectory(prefix="openfax-send-") as work:
                if first_page > job.total_pages:
                    # An earlier call had every page confirmed but its outcome was not
                    # written (the store failed, the node stopped): nothing is left to send.
                    outcome = CallOutcome(
                        CallDirection.OUTGOING,
                        CallCause.NONE,
                        job.recipient_number,
                        None,
                        detail="every page was confirmed by an earlier call",
                    )
                    await self._finish(call, submission, outcome, first_page)
                    return
                try:
                    composed = await asyncio.to_thread(
                        compose_for_call,
                        ctx.spool,
                        job,
                        submission.body_path,
                        tsid=tsid,
                        when=when,
                        work=Path(work),
                    )
                except Exception as exc:
                    _logger.exception("job %016x: the document cannot be read", job.id)
                    outcome = CallOutcome(
                        CallDirection.OUTGOING,
                        CallCause.DOCUMENT,
                        job.recipient_number,
                        None,
                        detail=f"the document cannot be read: {exc}",
                    )
                else:
                    failed = await self._use_document(call, composed, tsid)
                    outcome = failed or await self._call(call, composed.send_path)
            await self._finish(call, submission, outcome, first_page)
        finally:
            # A restarted job may already run again under a new entry.
            if self.running.get(job.id) is call:
                del self.running[job.id]

    async def _use_document(
        self, call: RunningCall, composed: ComposedCall, tsid: str
    ) -> CallOutcome | None:
        """Make the call's composed pages the job's document (what the archive will keep)
        and its TSID the one used; the document of an earlier call leaves the spool. The
        outcome of a call that cannot be placed (the store failed), else None."""
        previous = call.job.document_path
        try:
            async with self.ctx.db.transaction() as conn:
                updated = held = await self._held_job(conn, call)
                if held is not None:
                    path, size = composed.document_path, composed.size
                    updated = await q.set_job_document(
                        conn, held, document_path=path, size=size, tsid=tsid
                    )
        except SQLAlchemyError as exc:
            _logger.exception("job %016x: the store failed before dialling", call.job.id)
            await asyncio.to_thread(self.ctx.spool.delete, composed.document_path)
            return CallOutcome(
                CallDirection.OUTGOING,
                CallCause.INTERNAL,
                call.job.recipient_number,
                None,
                detail=f"the store failed before dialling: {exc}",
            )
        if updated is None:
            await asyncio.to_thread(self.ctx.spool.delete, composed.document_path)
            return None
        call.job = updated
        if previous and previous != composed.document_path:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.ctx.spool.delete, previous)
        return None

    async def _held_job(self, conn: AsyncConnection, call: RunningCall) -> OutgoingJob | None:
        """The call's job, locked for this transaction, while the call still holds it (this
        node, this attempt); None, and the call marked lost, once another node took it."""
        job = await q.get_job(conn, call.job.id, for_update=True)
        if job.node_id == self.ctx.node_id and job.attempts == call.job.attempts:
            return job
        call.lost = True
        return None

    async def _call(self, call: RunningCall, document: Path) -> CallOutcome:
        """Dial and follow the call to its end; the outcome the provider reported. The
        call takes the T.38 policy of the job's outbound routing rule, read now (the trunk's
        if the store fails to answer)."""
        job = call.job
        try:
            async with self.ctx.db.read() as conn:
                t38 = await t38_policy_for(conn, self.ctx.config.outgoing, job.recipient_number)
        except SQLAlchemyError:
            # The rule's policy is a preference: the call goes ahead under the trunk's own.
            _logger.warning(
                "job %016x: its rule's T.38 policy could not be read; the trunk's applies",
                job.id,
                exc_info=True,
            )
            t38 = None
        request = SendRequest(document, SessionOptions(ident=job.tsid), t38_policy=t38)
        # Not a task group: the outcome comes through call.progress (CallEnded), and a dial
        # that fails after reporting it must not cost the job that outcome.
        call.dial = asyncio.create_task(
            call.line.dial(job.recipient_number, request, progress=call.progress.put_nowait)
        )
        watchdog = asyncio.create_task(self._watch_setup(call))
        try:
            # A cancel that came before the dial task existed found nothing to hang up (if
            # the store fails here, the lease keeper finds the cancel instead).
            try:
                async with self.ctx.db.read() as conn:
                    if base((await q.get_job(conn, job.id)).status) is JobStatus.CANCELING:
                        call.hang_up()
            except SQLAlchemyError:
                _logger.exception("job %016x: could not look for a cancel", job.id)
            ended = await self._follow(call)
        finally:
            watchdog.cancel()
            await asyncio.wait({call.dial})
        return ended.outcome

    async def _watch_setup(self, call: RunningCall) -> None:
        """Hang up a call the far end has not answered within the set-up deadline."""
        seconds = self.ctx.config.deadlines.call_setup_seconds
        deadline = self.ctx.clock.now() + timedelta(seconds=seconds)
        if await self.ctx.sleep_until(deadline) and not call.answered:
            call.setup_expired = True
            call.hang_up()

    async def _follow(self, call: RunningCall) -> CallEnded:
        """Apply the call's progress to the job until it ends."""
        first_page = call.job.pages_confirmed + 1
        while True:
            event = await call.progress.get()
            progress: q.JobProgress | None = None
            if isinstance(event, CallEnded):
                return event
            if isinstance(event, Dialing):
                progress = q.JobProgress(extended_status=ExtendedStatus.DIALING)
            elif isinstance(event, Answered):
                call.answered = True
                progress = q.JobProgress(extended_status=ExtendedStatus.TRANSMITTING)
            elif isinstance(event, Negotiated):
                progress = q.JobProgress(csid=event.remote_ident, bit_rate=event.bit_rate)
            elif isinstance(event, PageProgress) and self._progress_due(call):
                progress = q.JobProgress(page_bytes=event.size, page_bytes_sent=event.sent)
            elif isinstance(event, PageSent) and event.confirmed:
                confirmed = first_page - 1 + event.number
                progress = q.JobProgress(
                    pages_confirmed=confirmed,
                    current_page=min(confirmed + 1, call.job.total_pages),
                    page_bytes=0,
                    page_bytes_sent=0,
                )
            if progress is not None and not call.lost:
                await self._progress(call, progress)

    def _progress_due(self, call: RunningCall) -> bool:
        """Whether progress within a page is written now: at most every
        ``PAGE_PROGRESS_INTERVAL``, as each write is a transaction and an event (what comes
        between is dropped; the next carries it)."""
        now = self.ctx.clock.now()
        if (
            call.progress_written is not None
            and now - call.progress_written < PAGE_PROGRESS_INTERVAL
        ):
            return False
        call.progress_written = now
        return True

    async def _progress(self, call: RunningCall, progress: q.JobProgress) -> None:
        """Show the call's progress in its job. A store error costs only this step: the
        call goes on, and its outcome carries the pages confirmed."""
        try:
            async with self.ctx.hub.transaction() as conn:
                if await self._held_job(conn, call) is None:
                    return
                job = await q.record_progress(conn, call.job.id, progress)
                if job is not None:
                    await emit_job(conn, self.ctx, job)
        except SQLAlchemyError:
            _logger.exception("job %016x: its progress could not be written", call.job.id)

    async def _finish(
        self, call: RunningCall, submission: Submission, outcome: CallOutcome, first_page: int
    ) -> None:
        """Commit the call attempt and the job's next state, archiving a completed fax.

        A store error does not lose the outcome: it is written again every second (the call
        stays this node's, its lease kept) until it is, or the service stops (then start-up
        recovery puts the job back in the queue). Were the runner to end without it, the job
        would be recovered once its lease lapsed and its fax sent again."""
        if call.setup_expired and outcome.cause is CallCause.ABORTED:
            seconds = self.ctx.config.deadlines.call_setup_seconds
            outcome = dataclasses.replace(
                outcome, cause=CallCause.NO_ANSWER, detail=f"no answer within {seconds:g} s"
            )
        elif call.fenced and outcome.cause is CallCause.ABORTED:
            outcome = dataclasses.replace(
                outcome, detail="hung up: the lease on the job could not be renewed in time"
            )
        await self.ctx.store_until_done(
            partial(self._write_outcome, call, submission, outcome, first_page),
            f"job {call.job.id:016x}: its outcome",
        )

    async def _write_outcome(
        self, call: RunningCall, submission: Submission, outcome: CallOutcome, first_page: int
    ) -> None:
        now = self.ctx.clock.now()
        unreferenced: list[str] = []
        async with self.ctx.hub.transaction() as conn:
            held = await self._held_job(conn, call)
            await q.finish_call_attempt(
                conn,
                call.job.id,
                call.job.attempts,
                {
                    "ended_at": now,
                    "result_code": outcome.result.code.value if outcome.result else None,
                    "result_name": outcome.result.code.name if outcome.result else None,
                    "failure_cause": None if outcome.ok else outcome.cause.value,
                    "pages_confirmed": outcome.pages,
                    "transcript": transcript_json(outcome),
                },
            )
            if held is None:
                _logger.warning("job %016x: another node took it during the call", call.job.id)
                return
            job = held
            decision = self._next_state(call, job, submission, outcome, first_page, now)
            updated = await _end_call(conn, job, decision, now)
            assert updated is not None, "only this task changes a job in a call"
            status = updated.status
            await emit_job(conn, self.ctx, updated)
            if status is JobStatus.COMPLETED and self.ctx.config.archive.archive_sent_items:
                await archive_outgoing(
                    conn, self.ctx.hub, updated, submission, device_name=call.line.name, now=now
                )
            unreferenced = await settle_submission(conn, self.ctx.hub, job.submission_id)
        for path in unreferenced:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.ctx.spool.delete, path)
        _logger.info(
            "job %016x to %s: %s (%s)",
            job.id,
            job.recipient_number,
            status.name,
            outcome.detail or outcome.cause.value,
        )

    def _next_state(
        self,
        call: RunningCall,
        job: OutgoingJob,
        submission: Submission,
        outcome: CallOutcome,
        first_page: int,
        now: datetime,
    ) -> Decision:
        """What the call's end means for its job: the life cycle's input, what the job keeps
        of the call, and when it is due again if it waits."""
        confirmed = min(job.total_pages, first_page - 1 + outcome.pages)
        kept = CallEnd(
            confirmed,
            outcome.extended_status,
            outcome.detail,
            job.failure_cause,
            job.retryable,
        )
        delivered = confirmed == job.total_pages
        if base(job.status) is JobStatus.CANCELING and not delivered:
            return Decision(JobInput.HUNG_UP, kept)
        local = outcome.cause is CallCause.LINE_UNAVAILABLE or (
            outcome.cause is CallCause.ABORTED and (self.stopping or call.fenced)
        )
        if local and not delivered:
            # Not the recipient's doing (the line was taken, the service is stopping, the
            # lease could not be kept): back in the queue at once, no failure counted.
            return Decision(put_back(tried=job.retries > 0 or confirmed > 0), kept, next_try=now)
        decision = decide(
            job, outcome, first_page=first_page, now=now, policy=self.ctx.config.outgoing
        )
        discount = submission.schedule_type is ScheduleType.DISCOUNT_PERIOD
        if decision.next_try is not None and discount:
            outgoing = self.ctx.config.outgoing
            window = (outgoing.discount_start, outgoing.discount_end)
            when = next_discount_start(decision.next_try, *window, self.ctx.zone)
            decision = dataclasses.replace(decision, next_try=when)
        return decision


async def _end_call(
    conn: AsyncConnection, job: OutgoingJob, decision: Decision, now: datetime
) -> OutgoingJob | None:
    """Write the job's state after its call by the store's operation for the decision."""
    given, end, next_try = decision.input, decision.end, decision.next_try
    if given in (JobInput.PUT_BACK_TRIED, JobInput.PUT_BACK_UNTRIED):
        assert next_try is not None
        tried = given is JobInput.PUT_BACK_TRIED
        return await q.put_back_job(conn, job, end, at=next_try, tried=tried)
    if given is JobInput.RETRY:
        assert next_try is not None
        return await q.retry_job(conn, job, end, next_try=next_try)
    return await q.finish_job(conn, job, given, end, now=now)


async def emit_job(conn: AsyncConnection, ctx: ServiceContext, job: OutgoingJob) -> None:
    """Announce a job's new state (OnOutgoingJobChanged). Every change of a job's status
    comes here, so a job that reached a final state gets its receipt queued in the same
    transaction (after the event, see ``queue_receipts``), and its outbox line and outbound
    event once that has committed."""
    await ctx.hub.emit(conn, outgoing_job_changed(job))
    status = base(job.status)
    if status is JobStatus.RETRYING and job.extended_status_text:
        after_commit(
            conn,
            partial(
                outbound_events.warning,
                "fax %016x to %s failed, to be tried again: %s",
                *(job.id, job.recipient_number, job.extended_status_text),
            ),
        )
    if not is_final(status):
        return
    submission = await queue_receipts(conn, ctx, job)
    line = None if job.device_id is None else ctx.lines.get(job.device_id)
    device_name = line.name if line is not None else str(job.device_id or "")
    after_commit(conn, partial(_job_ended, ctx, job, submission, device_name))


def _job_ended(ctx: ServiceContext, job: OutgoingJob, submission: Submission, device: str) -> None:
    """Tell the event log and the outbox log that a job ended (after its transaction)."""
    status = base(job.status)
    level = logging.INFO if status in (JobStatus.COMPLETED, JobStatus.CANCELED) else logging.ERROR
    outbound_events.log(
        level,
        "fax %016x to %s %s: %d of %d pages sent%s",
        *(job.id, job.recipient_number, status.name, job.pages_confirmed, job.total_pages),
        f" ({job.extended_status_text})" if job.extended_status_text else "",
    )
    log = ctx.activity_log
    line = None if log is None else log.outgoing_line(job, submission, device)
    if log is not None and line is not None:
        ctx.spawn(asyncio.to_thread(log.append, OUTBOX_LOG, OUTBOX_COLUMNS, line), "outbox log")
