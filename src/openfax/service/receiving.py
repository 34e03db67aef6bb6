"""Receiving: the service as the providers' device listener, and routing of received faxes.

An answered call becomes an incoming job (INPROGRESS) receiving into the spool. When the
call ends with at least one page, the fax is archived at once (partial receptions too,
marked partial) in the same transaction that moves the job to ROUTING; then the device's
routing methods run (``openfax.service.inbound_routing``). A routing failure is retried on
its method's backoff and never loses the fax, which is already in the archive. A call that
brought no page leaves nothing behind. Cancelling a reception (CANCELING) hangs up its
call; what arrived is archived as partial all the same, and the job ends CANCELED and leaves
the queue without being routed.

A store error never loses a received fax: its pages are in the spool before the store is
written, and the step that archives it (or forgets an empty call), like its routing, is
tried again every second until the store answers (``ServiceContext.store_until_done``); a
progress step that fails is logged and skipped. If the service stops first, start-up
recovery archives what the spool holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.engine import Negotiated, PageReceived, SessionOptions
from openfax.errors import FaxError
from openfax.file_modes import FOLDER_MODE
from openfax.log_format import log_job
from openfax.model import ExtendedStatus, JobStatus, format_id, new_id
from openfax.model.events import (
    ConfigChanged,
    DeviceStatusChanged,
    IncomingJobAdded,
    IncomingJobRemoved,
    NewCall,
    event_type,
    payload_json,
)
from openfax.providers import (
    Answered,
    CallEnded,
    CallOutcome,
    CallProgress,
    DeviceProvider,
    DeviceState,
    IncomingCall,
    Line,
    ReceiveSetup,
    Ringing,
)
from openfax.service.activity_log import INBOX_COLUMNS, INBOX_LOG
from openfax.service.archiving import archive_incoming
from openfax.service.context import ServiceContext
from openfax.service.event_hub import after_commit
from openfax.service.inbound_routing import InboundRouting
from openfax.service.ocr import TextReader
from openfax.service.system_log import inbound_events
from openfax.service.views import incoming_job_changed
from openfax.store import IncomingJob
from openfax.store import queries as q

_logger = logging.getLogger(__name__)

RECEIVE_FOLDER = "in"
"""Spool folder the lines receive into."""

_Record = Callable[[AsyncConnection], Awaitable[IncomingJob | None]]
"""A store transition recording a step of a reception (``q.record_page_received``...)."""


class Receiver:
    """The :class:`~openfax.providers.DeviceListener` of every provider of the service."""

    def __init__(
        self,
        ctx: ServiceContext,
        routing: InboundRouting,
        on_idle: Callable[[], None],
        sending: Callable[[Line], bool],
    ) -> None:
        self.ctx = ctx
        self.routing = routing
        self.texts = TextReader(ctx)
        self._on_idle = on_idle
        self._sending = sending
        self._calls: dict[int, asyncio.Queue[CallProgress]] = {}
        self._lines: dict[int, Line] = {}
        """The line of each reception running on this node, by incoming job id."""
        self._notices: asyncio.Queue[ConfigChanged | DeviceStatusChanged | NewCall | None] = (
            asyncio.Queue()
        )

    def close_notices(self) -> None:
        """End :meth:`run_notices` once the notices before this one are written."""
        self._notices.put_nowait(None)

    async def run_notices(self) -> None:
        """Write device and new-call notices to the event log, in the order they happened.

        A notice that cannot be written (the store failed) is logged and dropped: it only
        tells of a moment already past, and the notices after it must still be written."""
        while True:
            notice = await self._notices.get()
            if notice is None:
                return
            try:
                async with self.ctx.hub.transaction() as conn:
                    if isinstance(notice, DeviceStatusChanged):
                        # What every node lists of the line (``Devices``).
                        status = payload_json(notice)
                        await q.set_device_status(conn, notice.device_id, status)
                    await self.ctx.hub.emit(conn, notice)
            except Exception:
                kind = event_type(notice).value
                _logger.exception("the %s notice %s could not be written", kind, notice)

    # --- DeviceListener -----------------------------------------------------------------------

    def on_device_state(self, device: Line, state: DeviceState) -> None:
        sending = state is not DeviceState.IDLE and self._sending(device)
        registration = device.registration
        status = DeviceStatusChanged(
            device_id=self.ctx.device_id_of(device),
            powered_off=registration is not None and registration.failed,
            sending=sending,
            receiving=state is DeviceState.IN_CALL and not sending,
            ringing=state is DeviceState.RINGING,
            registration="" if registration is None else registration.state.value,
            registration_error="" if registration is None else registration.error,
        )
        self._notices.put_nowait(status)
        if state is DeviceState.IDLE:
            self._on_idle()

    def on_provider_status(self, provider: DeviceProvider) -> None:
        """A provider's status changed: a configuration event names it, its status and why
        (FAXCOMEX has no provider event; a listener reads the providers again)."""
        changed = ConfigChanged(
            device_provider=provider.name,
            provider_status=provider.status.name,
            provider_error=provider.error,
        )
        self._notices.put_nowait(changed)

    def on_incoming_call(self, call: IncomingCall, event: CallProgress) -> None:
        if isinstance(event, Ringing) and event.ring == 1:
            new_call = NewCall(
                call_id=call.call_id,
                device_id=self.ctx.device_id_of(call.device),
                caller_id=call.caller_id,
            )
            self._notices.put_nowait(new_call)
        queue = self._calls.get(call.call_id)
        if queue is not None:
            queue.put_nowait(event)

    async def receive_setup(self, call: IncomingCall) -> ReceiveSetup:
        """Open an incoming job for an answered call and say where to receive it."""
        if self.ctx.switches.incoming_blocked:
            raise FaxError("the incoming queue is blocked")
        device_id = self.ctx.device_id_of(call.device)
        job_id = new_id()
        relative = f"{RECEIVE_FOLDER}/{format_id(job_id)}.tif"
        path = self.ctx.spool.path(relative)
        await asyncio.to_thread(path.parent.mkdir, FOLDER_MODE, parents=True, exist_ok=True)
        async with self.ctx.hub.transaction() as conn:
            device = await q.get_device(conn, device_id)
            assert device is not None
            job = IncomingJob(
                id=job_id,
                device_id=device_id,
                node_id=self.ctx.node_id,
                extended_status=ExtendedStatus.ANSWERED,
                caller_id=call.caller_id,
                routing_information=call.called_number,
                csid=device.csid,
                started_at=self.ctx.clock.now(),
                receive_path=relative,
            )
            await q.insert_incoming_job(conn, job)
            await self.ctx.hub.emit(conn, IncomingJobAdded(job_id=job_id))
        queue: asyncio.Queue[CallProgress] = asyncio.Queue()
        self._calls[call.call_id] = queue
        self._lines[job_id] = call.device
        self.ctx.spawn(self._follow(call.call_id, job, queue), f"reception {job_id:016x}")
        return ReceiveSetup(path, SessionOptions(ident=device.csid))

    # --- one reception ------------------------------------------------------------------------

    async def _follow(self, call_id: int, job: IncomingJob, queue: asyncio.Queue[Any]) -> None:
        log_job(job.id, call_id)
        try:
            while True:
                event = await queue.get()
                if isinstance(event, CallEnded):
                    await self._ended(job, event.outcome)
                    return
                record: _Record | None = None
                if isinstance(event, Answered):
                    record = partial(q.answer_incoming_job, job_id=job.id)
                elif isinstance(event, Negotiated):
                    record = partial(q.record_caller_tsid, job_id=job.id, tsid=event.remote_ident)
                elif isinstance(event, PageReceived):
                    record = partial(q.record_page_received, job_id=job.id, number=event.number)
                if record is not None:
                    await self._change(job.id, record)
        finally:
            del self._calls[call_id]
            del self._lines[job.id]

    def hang_up(self, job_id: int) -> bool:
        """Hang up the call of a reception being cancelled, if this node receives it."""
        line = self._lines.get(job_id)
        return line is not None and line.hang_up()

    def hang_up_receptions(self) -> int:
        """Hang up every reception of this node (its heartbeat lapsed: another node will
        archive them); how many calls were asked to end."""
        return sum(line.hang_up() for line in self._lines.values())

    async def _change(self, job_id: int, record: _Record) -> None:
        """Show a reception's progress in its job by the store's ``record`` (a PROGRESS
        transition); a store error costs only this step (the call goes on, and its end
        writes the pages received)."""
        try:
            async with self.ctx.hub.transaction() as conn:
                job = await record(conn)
                if job is not None:
                    await self.ctx.hub.emit(conn, incoming_job_changed(job))
        except SQLAlchemyError:
            _logger.exception("fax %016x: its progress could not be written", job_id)

    async def _ended(self, job: IncomingJob, outcome: CallOutcome) -> None:
        """Archive what arrived and route it; forget a call that brought nothing."""
        if outcome.pages == 0:
            _logger.info("call from %s on device %d brought no page", job.caller_id, job.device_id)
            await self.discard(job)
            return
        size = 0
        if job.receive_path:
            size = (await asyncio.to_thread(self.ctx.spool.path(job.receive_path).stat)).st_size
        end = q.ReceptionEnd(
            pages=outcome.pages,
            partial=not outcome.ok,
            size=size,
            extended_status=outcome.extended_status,
            extended_status_text=outcome.detail,
            tsid=outcome.negotiated.remote_ident if outcome.negotiated else "",
        )
        await self.archive(job, end)

    async def discard(self, job: IncomingJob) -> None:
        """Remove an incoming job that received nothing, and its empty file."""
        removed = await self.ctx.store_until_done(
            partial(self._remove, job), f"fax {job.id:016x}: its removal"
        )
        if removed and job.receive_path:
            await asyncio.to_thread(self.ctx.spool.delete, job.receive_path)

    async def _remove(self, job: IncomingJob) -> None:
        async with self.ctx.hub.transaction() as conn:
            await q.delete_incoming_job(conn, job.id)
            await self.ctx.hub.emit(conn, IncomingJobRemoved(job_id=job.id))

    async def archive(
        self, job: IncomingJob, end: q.ReceptionEnd, *, cut_off: bool = False
    ) -> None:
        """Move a finished reception to ROUTING and into the archive in one step, then route;
        a cancelled one (CANCELING) is archived too, then ends CANCELED and leaves the queue.
        ``cut_off``: the reception was cut off by a restart (recovery; it is then routed in
        the background, so the start does not wait). A store error is tried again until the
        fax is archived (or the service stops)."""
        archived: list[tuple[IncomingJob, bool]] = []
        written = await self.ctx.store_until_done(
            partial(self._archive, job, end, cut_off, archived),
            f"fax {job.id:016x}: its archiving",
        )
        if not written:
            return
        if not archived:
            return  # another node archived it (see _archive)
        routed, cancelled = archived[-1]
        _logger.info(
            "received %d pages%s from %s on device %d%s",
            routed.pages,
            " (partial)" if routed.partial else "",
            routed.caller_id,
            routed.device_id,
            ", cancelled" if cancelled else "",
        )
        if cancelled:
            return
        if cut_off:
            # At start-up: the reading of its text and its routing must not hold up the start.
            self.ctx.spawn(self.route(routed), f"routing {routed.id:016x}")
        else:
            await self.route(routed)

    async def _archive(
        self,
        job: IncomingJob,
        end: q.ReceptionEnd,
        cut_off: bool,
        archived: list[tuple[IncomingJob, bool]],
    ) -> None:
        """One try at :meth:`archive`'s transaction; appends the job archived and whether it
        was cancelled to ``archived``, nothing if the job is no longer this node's (its
        heartbeat lapsed and another node archived what the spool held)."""
        now = self.ctx.clock.now()
        line = self.ctx.lines.get(job.device_id)
        async with self.ctx.hub.transaction() as conn:
            current = await q.get_incoming_job(conn, job.id, for_update=True)
            if current.node_id != self.ctx.node_id:
                _logger.warning("fax %016x: archived by node %s meanwhile", job.id, current.node_id)
                return
            routed = await q.finish_reception(conn, current, end, now=now, cut_off=cut_off)
            assert routed is not None, "the job is locked by this transaction"
            cancelled = routed.status is JobStatus.CANCELED
            # Another node's line when this node took over a dead node's reception.
            device_name = line.name if line else await _device_name(conn, job.device_id)
            await archive_incoming(conn, self.ctx.hub, routed, device_name=device_name, now=now)
            await self.ctx.hub.emit(conn, incoming_job_changed(routed))
            if cancelled:
                await q.delete_incoming_job(conn, job.id)
                await self.ctx.hub.emit(conn, IncomingJobRemoved(job_id=job.id))
            after_commit(conn, partial(self._archived, routed, device_name))
        archived.append((routed, cancelled))

    def _archived(self, job: IncomingJob, device_name: str) -> None:
        """Tell the event log and the inbox log of a fax just archived."""
        inbound_events.log(
            logging.WARNING if job.partial else logging.INFO,
            "fax %016x received on %s from %s: %d pages%s",
            *(job.id, device_name, job.caller_id or job.tsid or "an unknown caller", job.pages),
            " (partly: the call broke off)" if job.partial else "",
        )
        log = self.ctx.activity_log
        line = None if log is None else log.incoming_line(job, device_name)
        if log is not None and line is not None:
            work = asyncio.to_thread(log.append, INBOX_LOG, INBOX_COLUMNS, line)
            self.ctx.spawn(work, "inbox log")

    # --- routing ------------------------------------------------------------------------------

    async def route(self, job: IncomingJob) -> None:
        """Run the line's routing methods on an archived fax (see ``inbound_routing``), once
        its text is read or the time for it is up (``openfax.service.ocr``). After a store
        error they start again a second later: a delivery stored as done is not run again,
        one done whose result the store refused is (at least once, never lost)."""
        await self.texts.wait_for_text(job)
        await self.ctx.store_until_done(
            partial(self.routing.route, job), f"fax {job.id:016x}: its routing"
        )


async def _device_name(conn: AsyncConnection, device_id: int) -> str:
    """The name of a device, or its id if it is gone."""
    device = await q.get_device(conn, device_id)
    return str(device_id) if device is None else device.name
