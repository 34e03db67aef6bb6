"""A node among others on one PostgreSQL: its heartbeat, and what it does of the events
every node writes.

A node records its start, beats every third of a lease while it runs (on PostgreSQL: on
SQLite it is alone) and records its clean stop (``nodes``): every node lists the lines of a
node not running as unavailable.

Each node reads the one event log (woken by LISTEN/NOTIFY, :meth:`EventHub.follow_other_nodes`)
and takes up there what concerns it, done on another node: a change of the saved
configuration, of the queue switches, of the event or activity logging or of accounts is
put in force; a line's settings saved anywhere are given to the line if it is here; the
inbound routing methods' priorities are read again; an extension property's owners here are
told its value; a cover page added or removed is written or removed here; a
cancel of a job whose call this node carries hangs the call up; a job queued, resumed or
put back, and a change of outbound routing, wake the scheduler, so the node that owns a free
line claims the job at once. Its own events it leaves alone: it took them up as it made
them. On SQLite (one node) every event is the node's own: no follower runs.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from openfax import __version__
from openfax.model import JobStatus
from openfax.model.events import (
    ConfigChanged,
    EventType,
    IncomingJobChanged,
    OutgoingJobChanged,
)
from openfax.service.accounts import Accounts
from openfax.service.context import ServiceContext
from openfax.service.cover_pages import CoverPages
from openfax.service.devices import Devices
from openfax.service.event_hub import ServerEvent
from openfax.service.extension_properties import ExtensionProperties
from openfax.service.inbound_routing import InboundRouting
from openfax.service.job_states import base
from openfax.service.listening import ALL_EVENTS
from openfax.service.options import Options
from openfax.service.receiving import Receiver
from openfax.service.scheduler import Scheduler
from openfax.store import queries as q

_logger = logging.getLogger(__name__)

FOLLOWED = frozenset(
    {
        EventType.OUTGOING_JOB_ADDED,
        EventType.OUTGOING_JOB_CHANGED,
        EventType.INCOMING_JOB_CHANGED,
        EventType.CONFIG_CHANGED,
        EventType.QUEUES_STATUS_CHANGED,
    }
)
"""The events a node acts on."""
_WAITING = {JobStatus.PENDING, JobStatus.RETRYING}
RETRY = timedelta(seconds=1)
"""How long the follower waits after a store error before reading the log again."""


class Follower:
    """Takes up, on this node, what every node's events say (see the module)."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        scheduler: Scheduler,
        receiver: Receiver,
        options: Options,
        accounts: Accounts,
        devices: Devices,
        inbound: InboundRouting,
        extensions: ExtensionProperties,
        cover_pages: CoverPages,
    ) -> None:
        self._ctx = ctx
        self._scheduler = scheduler
        self._receiver = receiver
        self._options = options
        self._accounts = accounts
        self._devices = devices
        self._inbound = inbound
        self._extensions = extensions
        self._cover_pages = cover_pages
        self._after: int | None = None
        """The last event taken up."""

    async def run(self) -> None:
        """Follow the event log from now until the service stops; after a store error,
        again from the last event taken."""
        ctx = self._ctx
        while await ctx.unless_stopping(self._follow()) and not ctx.hub.closed:
            await ctx.sleep_until(ctx.clock.now() + RETRY)

    async def _follow(self) -> None:
        """Take up the events after the last one taken, until the hub closes or the store
        fails (logged)."""
        try:
            if self._after is None:
                self._after = await self._ctx.hub.last_seq()
            hub = self._ctx.hub
            async for event in hub.subscribe(ALL_EVENTS, self._after, only=FOLLOWED):
                if not hub.is_own(event.seq):
                    await self.take_up(event)
                self._after = event.seq
        except SQLAlchemyError:
            _logger.exception("this node could not follow the cluster's events")

    async def take_up(self, event: ServerEvent) -> None:
        """Act on one event."""
        payload = event.payload
        if isinstance(payload, OutgoingJobChanged):
            status = base(payload.status)
            if status is JobStatus.CANCELING:
                self._scheduler.cancel_call(payload.job_id)
            elif status in _WAITING and not payload.status & JobStatus.PAUSED:
                self._scheduler.wake()
        elif isinstance(payload, IncomingJobChanged):
            if payload.status is JobStatus.CANCELING:
                self._receiver.hang_up(payload.job_id)
        elif isinstance(payload, ConfigChanged):
            await self._config_changed(payload)
        elif event.type in (EventType.OUTGOING_JOB_ADDED, EventType.QUEUES_STATUS_CHANGED):
            if event.type is EventType.QUEUES_STATUS_CHANGED:
                await self._options.load()
            self._scheduler.wake()

    async def _config_changed(self, changed: ConfigChanged) -> None:
        if changed.configuration is not None or changed.options is not None:
            await self._options.load()
        elif changed.security:
            await self._accounts.take_up_changes()
        elif changed.extension_property is not None:
            await self._extensions.take_up(changed.extension_property, changed.device_id or 0)
        elif changed.device_id is not None:
            await self._devices.take_up_settings(changed.device_id)
        elif changed.routing_method is not None and changed.device is None:
            await self._inbound.take_up_priorities()
        elif changed.cover_page is not None and changed.change is not None:
            await self._cover_pages.take_up(changed.cover_page, changed.change)
        if changed.outbound_routing is not None or changed.device_id is not None:
            self._scheduler.wake()


async def node_started(ctx: ServiceContext) -> None:
    """Record this node as started and alive (before its lines are attached)."""
    async with ctx.db.transaction() as conn:
        await q.node_started(conn, ctx.node_id, version=__version__, now=ctx.clock.now())


async def node_stopped(ctx: ServiceContext) -> None:
    """Record that this node stopped cleanly: its lines are unavailable at once."""
    try:
        async with ctx.db.transaction() as conn:
            await q.node_stopped(conn, ctx.node_id)
    except SQLAlchemyError:
        _logger.warning("this node's stop could not be written", exc_info=True)
