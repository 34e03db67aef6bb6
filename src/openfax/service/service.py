"""The fax service: one node, started and stopped as a whole, its areas shaped like
FAXCOMEX's ``FaxServer``.

``FaxService`` owns the store, the spool, the device providers (loopback lines, SIP trunks),
the scheduler and the receiver; what it offers is in its parts, made at start, each taking
what it needs of these: ``outgoing_queue``, ``incoming_queue``, ``archives``, ``devices``,
``providers``, ``options``, ``routing``, ``accounts`` and the smaller ones. Their methods
check the FAXCOMEX rules and change the store in one transaction each, announcing what
changed as server events.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import tzinfo
from types import TracebackType
from typing import Generic, Self, TypeVar

from openfax.documents.office import OfficeConverter
from openfax.model.events import ServerShutDown
from openfax.service.accounts import Accounts
from openfax.service.address_book import AddressBook
from openfax.service.archives import Archives
from openfax.service.audit import AuditAction, record_read
from openfax.service.clock import Clock, SystemClock
from openfax.service.cluster import Follower, node_started, node_stopped
from openfax.service.config_file import ServiceConfig
from openfax.service.context import ServiceContext
from openfax.service.cover_pages import CoverPages
from openfax.service.cover_pages import folder as cover_pages_folder
from openfax.service.device_providers import (
    DeviceProviders,
    built_in_providers,
)
from openfax.service.devices import Devices
from openfax.service.event_hub import EventHub
from openfax.service.extension_properties import (
    ExtensionProperties,
)
from openfax.service.housekeeping import run_housekeeping
from openfax.service.inbound_routing import InboundRouting
from openfax.service.incoming_queue import IncomingQueue
from openfax.service.listening import Listening
from openfax.service.monitoring import Monitoring
from openfax.service.options import Options
from openfax.service.outbound_routing import OutboundRouting
from openfax.service.outgoing_queue import OutgoingQueue
from openfax.service.receipts import Receipts, ReceiptSender
from openfax.service.receiving import Receiver
from openfax.service.recovery import NodeWatch, recover
from openfax.service.routing import Routing
from openfax.service.scheduler import Scheduler
from openfax.service.server_activity import ServerActivity
from openfax.service.sip_memory import StoredDestinations
from openfax.service.system_log import init_events
from openfax.store import (
    Spool,
    open_database,
)
from openfax.store.backup import BackupWriter
from openfax.store.database import schema_revision

_logger = logging.getLogger(__name__)

T = TypeVar("T")

STOP_TIMEOUT = 10.0
"""Wall seconds ``stop`` waits for background work to finish before cancelling it."""
SHUTDOWN_NOTICE_SECONDS = 2.0
"""How long ``announce_shutdown`` waits for the event streams to take the notice."""


@dataclass(frozen=True)
class _Parts:
    """What a running service is made of."""

    ctx: ServiceContext
    scheduler: Scheduler
    receiver: Receiver
    accounts: Accounts
    outgoing_queue: OutgoingQueue
    incoming_queue: IncomingQueue
    archives: Archives
    devices: Devices
    providers: DeviceProviders
    options: Options
    routing: Routing
    receipts: Receipts
    cover_pages: CoverPages
    address_book: AddressBook
    extension_properties: ExtensionProperties
    listening: Listening
    activity: ServerActivity
    monitoring: Monitoring
    follower: Follower


class _Part(Generic[T]):
    """A part of the running service, read as an attribute of ``FaxService`` (the field of
    ``_Parts`` with the same name); ``RuntimeError`` while the service is not running."""

    def __set_name__(self, owner: type[FaxService], name: str) -> None:
        self._name = name

    def __get__(self, service: FaxService, owner: type[FaxService] | None = None) -> T:
        part: T = getattr(service._running(), self._name)
        return part


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
        self._parts: _Parts | None = None
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
            office=OfficeConverter(config.data_dir / "office", config.office),
        )
        await asyncio.to_thread(ctx.office.remove_leftovers)
        self._announced = False
        await node_started(ctx)
        parts = await self._assemble(ctx)
        self._parts = parts
        await recover(ctx, parts.receiver)
        for provider in parts.providers.running():
            provider.set_listener(parts.receiver)
            await provider.start()
        ctx.spawn(parts.receiver.run_notices(), "device notices")
        if db.dialect == "postgresql":
            ctx.spawn(NodeWatch(ctx, parts.receiver).run(), "heartbeat")
            notices = ctx.hub.follow_other_nodes(
                config.store.cluster_poll_seconds, f"openfaxd {config.node_id} events"
            )
            ctx.spawn(ctx.unless_stopping(notices), "event notices")
            ctx.spawn(parts.follower.run(), "cluster events")
        ctx.spawn(run_housekeeping(ctx), "age limits")
        ctx.spawn(ReceiptSender(ctx).run(), "receipts")
        ctx.spawn(parts.activity.report(), "activity")
        ctx.spawn(parts.monitoring.follow_events(), "metrics")
        ctx.spawn(parts.monitoring.measure_loop_lag(), "event loop lag")
        # Long-lived with its own stop (ctx.stopping, then Scheduler.stop), awaited in stop().
        self._loop_task = asyncio.create_task(parts.scheduler.run(), name="scheduler")
        _logger.info("fax service %s started with %d lines", config.node_id, len(ctx.lines))
        init_events.info("fax service %s started with %d lines", config.node_id, len(ctx.lines))

    async def _assemble(self, ctx: ServiceContext) -> _Parts:
        """Make the parts and load what they keep in the store: the accounts, the routing
        extensions, the registered providers, the lines as devices and the saved options
        (which the extension properties' owners are then told)."""
        accounts = Accounts(ctx)
        await accounts.load()
        scheduler = Scheduler(ctx)
        inbound = await InboundRouting.open(ctx)
        providers = DeviceProviders(ctx, self._built_in)
        await providers.load_registered()
        receiver = Receiver(
            ctx,
            inbound,
            on_idle=scheduler.wake,
            sending=lambda line: any(c.line is line for c in scheduler.running.values()),
        )
        devices = Devices(ctx, scheduler, inbound)
        await devices.attach(providers.running())
        options = Options(ctx, self._config, scheduler)
        await options.load()
        extensions = ExtensionProperties(
            ctx, lambda guid: [inbound.registry.owner_of(guid), *providers.owners_of(guid)]
        )
        await extensions.tell_owners()
        cover_pages = CoverPages(ctx)
        await cover_pages.take_up_all()
        return _Parts(
            ctx=ctx,
            scheduler=scheduler,
            receiver=receiver,
            accounts=accounts,
            outgoing_queue=OutgoingQueue(ctx, scheduler),
            incoming_queue=IncomingQueue(ctx, receiver, inbound),
            archives=Archives(ctx),
            devices=devices,
            providers=providers,
            options=options,
            routing=Routing(inbound, OutboundRouting(ctx)),
            receipts=Receipts(ctx),
            cover_pages=cover_pages,
            address_book=AddressBook(ctx),
            extension_properties=extensions,
            listening=Listening(ctx.hub),
            activity=ServerActivity(ctx),
            monitoring=Monitoring(ctx, providers),
            follower=Follower(
                ctx,
                scheduler=scheduler,
                receiver=receiver,
                options=options,
                accounts=accounts,
                devices=devices,
                inbound=inbound,
                extensions=extensions,
                cover_pages=cover_pages,
            ),
        )

    async def stop(self) -> None:
        """Hang up every call (its job is sent again after a restart) and close the store."""
        parts = self._parts
        if parts is None:
            return
        ctx = parts.ctx
        ctx.stopping.set()
        if self._loop_task is not None:
            await self._loop_task
        await parts.scheduler.stop()
        for provider in parts.providers.running():
            await provider.stop()
        parts.receiver.close_notices()
        parts.receiver.texts.close()
        if ctx.tasks:
            # Receptions finish once their calls have ended; sleepers see ``stopping``.
            await asyncio.wait(list(ctx.tasks), timeout=STOP_TIMEOUT)
        for task in list(ctx.tasks):
            _logger.error("%s did not stop; cancelled", task.get_name())
            task.cancel()
        if not self._announced:
            async with ctx.hub.transaction() as conn:
                await ctx.hub.emit(conn, ServerShutDown())
        await asyncio.to_thread(ctx.office.close)
        await node_stopped(ctx)
        await ctx.hub.close()
        await ctx.db.close()
        self._parts = None
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
            await ctx.hub.emit(conn, ServerShutDown())
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

    def _running(self) -> _Parts:
        if self._parts is None:
            raise RuntimeError("the fax service is not running")
        return self._parts

    @property
    def config(self) -> ServiceConfig:
        """The configuration in force: the TOML file's, with the saved properties over it
        while the service runs (``options.save_configuration``)."""
        return self._config if self._parts is None else self._parts.ctx.config

    async def start_backup(self, actor: str) -> tuple[BackupWriter, str | None]:
        """A backup's consistent snapshot of the store, made now for ``actor`` (audited
        first, so the backup holds its own entry), and the schema's migration it was taken
        at; the spool's deletions wait until the writer is closed, so the files the
        snapshot names are still there when the writer copies them."""
        ctx = self.ctx
        node = self.config.node_id
        await record_read(ctx, actor, AuditAction.BACKED_UP, "server", node)
        async with ctx.db.read() as conn:
            revision = await schema_revision(conn)
        cover_pages = cover_pages_folder(self.config.data_dir)
        writer = BackupWriter(ctx.db.engine.url, ctx.spool, cover_pages, self.config.node_id)
        try:
            await asyncio.to_thread(writer.snapshot)
        except BaseException:
            await asyncio.to_thread(writer.close)
            raise
        return writer, revision

    # --- the parts ----------------------------------------------------------------------------

    ctx = _Part[ServiceContext]()
    """What the parts share: the configuration, clock, store, events and lines."""
    accounts = _Part[Accounts]()
    """FAXCOMEX ``FaxAccountSet`` and ``FaxSecurity2``: accounts, their rights, signing
    in, and the receive folder's settings."""
    outgoing_queue = _Part[OutgoingQueue]()
    """FAXCOMEX ``OutgoingQueue`` and ``ConnectedSubmit2``: submitting faxes and the
    jobs waiting or being sent."""
    incoming_queue = _Part[IncomingQueue]()
    """FAXCOMEX ``IncomingQueue``: the faxes being received or routed."""
    archives = _Part[Archives]()
    """FAXCOMEX ``IncomingArchive`` and ``OutgoingArchive``: the faxes received and
    sent."""
    devices = _Part[Devices]()
    """FAXCOMEX ``GetDevices()`` and ``FaxDevice``: this node's lines."""
    providers = _Part[DeviceProviders]()
    """FAXCOMEX ``GetDeviceProviders()``: the built-in and the registered providers."""
    options = _Part[Options]()
    """FAXCOMEX ``Configuration``, ``ReceiptOptions``, ``LoggingOptions`` and the queues'
    switches, the server's identity and the audit trail."""
    routing = _Part[Routing]()
    """FAXCOMEX ``InboundRouting`` and ``OutboundRouting``."""
    receipts = _Part[Receipts]()
    """The delivery receipts queued, sent and failed."""
    cover_pages = _Part[CoverPages]()
    """The server's cover pages."""
    address_book = _Part[AddressBook]()
    """The address books: each account's contacts and groups, and the shared book."""
    extension_properties = _Part[ExtensionProperties]()
    """FAXCOMEX ``GetExtensionProperty`` and ``SetExtensionProperty``: the plug-ins'
    blobs, server-wide and per device."""
    listening = _Part[Listening]()
    """FAXCOMEX ``ListenToServerEvents``: the server's events."""
    activity = _Part[ServerActivity]()
    """FAXCOMEX ``Activity``: what the server is doing."""
    monitoring = _Part[Monitoring]()
    """The node's metrics (Prometheus) and readiness, for its administrator's monitoring."""
