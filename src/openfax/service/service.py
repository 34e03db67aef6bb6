"""The fax service facade: every operation the API exposes, named after FAXCOMEX.

``FaxService`` owns the store, the spool, the device providers (loopback lines, SIP trunks),
the scheduler and the receiver. Its methods check the FAXCOMEX rules and change the store in
one transaction each, announcing what changed as server events.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import tzinfo
from types import TracebackType
from typing import Self, TypeVar

from openfax.service.accounts import Accounts
from openfax.service.archives import Archives
from openfax.service.clock import Clock, SystemClock
from openfax.service.config import ServiceConfig
from openfax.service.context import ServiceContext
from openfax.service.cover_pages import CoverPages
from openfax.service.device_providers import (
    DeviceProviders,
    built_in_providers,
)
from openfax.service.devices import Devices
from openfax.service.event_log import init_events
from openfax.service.events import EventHub, EventType
from openfax.service.extension_properties import (
    ExtensionProperties,
)
from openfax.service.housekeeping import run_housekeeping
from openfax.service.inbound_routing import InboundRouting
from openfax.service.incoming_queue import IncomingQueue
from openfax.service.listening import Listening
from openfax.service.options import Options
from openfax.service.outbound_routing import OutboundRouting
from openfax.service.outgoing_queue import OutgoingQueue
from openfax.service.receipts import Receipts, ReceiptSender
from openfax.service.receiving import Receiver
from openfax.service.recovery import recover
from openfax.service.routing import Routing
from openfax.service.scheduler import Scheduler
from openfax.service.server_activity import ServerActivity
from openfax.service.sip_memory import StoredDestinations
from openfax.store import (
    Spool,
    open_database,
)

_logger = logging.getLogger("openfax.service")

_Part = TypeVar("_Part")

STOP_TIMEOUT = 10.0
"""Wall seconds ``stop`` waits for background work to finish before cancelling it."""
SHUTDOWN_NOTICE_SECONDS = 2.0
"""How long ``announce_shutdown`` waits for the event streams to take the notice."""


class FaxService:
    """One fax server node: create, ``await start()`` (or ``async with``), use, ``stop()``.

    ``clock`` defaults to the system clock; ``zone`` is the time zone of the discount
    period (the server's local time when None).
    """

    def __init__(
        self, config: ServiceConfig, *, clock: Clock | None = None, zone: tzinfo | None = None
    ) -> None:
        self._config = config
        self.clock = clock or SystemClock()
        self.zone = zone
        self._built_in = built_in_providers(config, StoredDestinations(lambda: self.ctx))
        """The built-in providers of the node, made once: registered ones load at start."""
        self._ctx: ServiceContext | None = None
        self._scheduler: Scheduler | None = None
        self._receiver: Receiver | None = None
        self._routing: Routing | None = None
        self._accounts: Accounts | None = None
        self._outgoing_queue: OutgoingQueue | None = None
        self._incoming_queue: IncomingQueue | None = None
        self._archives: Archives | None = None
        self._devices: Devices | None = None
        self._providers: DeviceProviders | None = None
        self._options: Options | None = None
        self._receipts: Receipts | None = None
        self._cover_pages: CoverPages | None = None
        self._listening: Listening | None = None
        self._activity: ServerActivity | None = None
        self._extensions: ExtensionProperties | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._announced = False

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, recover what a previous run left, and start the lines and queue."""
        config = self.config
        db = await open_database(
            config.database, busy_timeout_seconds=config.store.busy_timeout_seconds
        )
        spool = await asyncio.to_thread(Spool, config.spool_dir)
        ctx = ServiceContext(
            config=config,
            clock=self.clock,
            db=db,
            hub=EventHub(db, self.clock),
            spool=spool,
            zone=self.zone,
        )
        self._ctx = ctx
        self._announced = False
        self._accounts = Accounts(ctx)
        await self._accounts.load()
        scheduler = Scheduler(ctx)
        self._scheduler = scheduler
        self._outgoing_queue = OutgoingQueue(ctx, scheduler)
        self._archives = Archives(ctx)
        self._receipts = Receipts(ctx)
        self._cover_pages = CoverPages(ctx)
        self._listening = Listening(ctx.hub)
        activity = ServerActivity(ctx)
        self._activity = activity
        routing = await InboundRouting.open(ctx)
        self._routing = Routing(routing, OutboundRouting(ctx))
        providers = DeviceProviders(ctx, self._built_in)
        self._providers = providers
        self._extensions = ExtensionProperties(
            ctx, lambda guid: [routing.registry.owner_of(guid), *providers.owners_of(guid)]
        )
        receiver = Receiver(
            ctx,
            routing,
            on_idle=scheduler.wake,
            sending=lambda line: any(c.line is line for c in scheduler.running.values()),
        )
        self._receiver = receiver
        self._incoming_queue = IncomingQueue(ctx, receiver, routing)
        await providers.load_registered()
        devices = Devices(ctx, scheduler, routing)
        self._devices = devices
        await devices.attach(self.providers.running())
        options = Options(ctx, config, scheduler)
        self._options = options
        await options.load()
        await self._extensions.tell_owners()
        await recover(ctx, receiver)
        for provider in self.providers.running():
            provider.set_listener(receiver)
            await provider.start()
        ctx.spawn(receiver.run_notices(), "device notices")
        ctx.spawn(run_housekeeping(ctx), "age limits")
        ctx.spawn(ReceiptSender(ctx).run(), "receipts")
        ctx.spawn(activity.report(), "activity")
        self._loop_task = asyncio.create_task(scheduler.run(), name="scheduler")
        _logger.info("fax service %s started with %d lines", config.node_id, len(ctx.lines))
        init_events.info("fax service %s started with %d lines", config.node_id, len(ctx.lines))

    async def stop(self) -> None:
        """Hang up every call (its job is sent again after a restart) and close the store."""
        ctx = self._ctx
        if ctx is None:
            return
        assert self._scheduler is not None and self._receiver is not None
        ctx.stopping.set()
        if self._loop_task is not None:
            await self._loop_task
        await self._scheduler.stop()
        for provider in self.providers.running():
            await provider.stop()
        self._receiver.close_notices()
        if ctx.tasks:
            # Receptions finish once their calls have ended; sleepers see ``stopping``.
            await asyncio.wait(list(ctx.tasks), timeout=STOP_TIMEOUT)
        for task in list(ctx.tasks):
            _logger.error("%s did not stop; cancelled", task.get_name())
            task.cancel()
        if not self._announced:
            async with ctx.hub.transaction() as conn:
                await ctx.hub.emit(conn, EventType.SERVER_SHUT_DOWN, {})
        await ctx.hub.close()
        await ctx.db.close()
        self._ctx = None
        _logger.info("fax service %s stopped", self.config.node_id)
        init_events.info("fax service %s stopped", self.config.node_id)

    async def announce_shutdown(self, wait: float = SHUTDOWN_NOTICE_SECONDS) -> None:
        """Tell every listener that the service is ending (FAXCOMEX ``OnServerShutDown``)
        and end their event streams, waiting up to ``wait`` seconds for each to have taken
        its last events: the daemon calls it before its API stops listening, so that the
        notice reaches its clients now rather than when they reconnect after a restart.
        ``stop()`` then does not emit it again."""
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            await ctx.hub.emit(conn, EventType.SERVER_SHUT_DOWN, {})
        self._announced = True
        await ctx.hub.close(wait)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def config(self) -> ServiceConfig:
        """The configuration in force: the TOML file's, with the saved properties over it
        while the service runs (``save_configuration``)."""
        return self._config if self._ctx is None else self._ctx.config

    @property
    def ctx(self) -> ServiceContext:
        if self._ctx is None:
            raise RuntimeError("the fax service is not running")
        return self._ctx

    @property
    def accounts(self) -> Accounts:
        """FAXCOMEX ``FaxAccountSet`` and ``FaxSecurity2``: accounts, their rights, signing
        in, and the receive folder's settings."""
        return _running(self._accounts)

    @property
    def outgoing_queue(self) -> OutgoingQueue:
        """FAXCOMEX ``OutgoingQueue`` and ``ConnectedSubmit2``: submitting faxes and the
        jobs waiting or being sent."""
        return _running(self._outgoing_queue)

    @property
    def incoming_queue(self) -> IncomingQueue:
        """FAXCOMEX ``IncomingQueue``: the faxes being received or routed."""
        return _running(self._incoming_queue)

    @property
    def archives(self) -> Archives:
        """FAXCOMEX ``IncomingArchive`` and ``OutgoingArchive``: the faxes received and
        sent."""
        return _running(self._archives)

    @property
    def devices(self) -> Devices:
        """FAXCOMEX ``GetDevices()`` and ``FaxDevice``: this node's lines."""
        return _running(self._devices)

    @property
    def providers(self) -> DeviceProviders:
        """FAXCOMEX ``GetDeviceProviders()``: the built-in and the registered providers."""
        return _running(self._providers)

    @property
    def options(self) -> Options:
        """FAXCOMEX ``Configuration``, ``ReceiptOptions``, ``LoggingOptions`` and the queues'
        switches, the server's identity and the audit trail."""
        return _running(self._options)

    @property
    def receipts(self) -> Receipts:
        """The delivery receipts queued, sent and failed."""
        return _running(self._receipts)

    @property
    def cover_pages(self) -> CoverPages:
        """The server's cover pages."""
        return _running(self._cover_pages)

    @property
    def extension_properties(self) -> ExtensionProperties:
        """FAXCOMEX ``GetExtensionProperty`` and ``SetExtensionProperty``: the plug-ins'
        blobs, server-wide and per device."""
        return _running(self._extensions)

    @property
    def listening(self) -> Listening:
        """FAXCOMEX ``ListenToServerEvents``: the server's events."""
        return _running(self._listening)

    @property
    def activity(self) -> ServerActivity:
        """FAXCOMEX ``Activity``: what the server is doing."""
        return _running(self._activity)

    @property
    def routing(self) -> Routing:
        """FAXCOMEX ``InboundRouting`` and ``OutboundRouting``."""
        return _running(self._routing)

    @property
    def scheduler(self) -> Scheduler:
        assert self._scheduler is not None
        return self._scheduler

    @property
    def receiver(self) -> Receiver:
        assert self._receiver is not None
        return self._receiver


def _running(part: _Part | None) -> _Part:
    """A part of the service, which exists while it runs."""
    if part is None:
        raise RuntimeError("the fax service is not running")
    return part
