"""The fax service facade: every operation the API exposes, named after FAXCOMEX.

``FaxService`` owns the store, the spool, the device providers (loopback lines, SIP trunks),
the scheduler and the receiver. Its methods check the FAXCOMEX rules and change the store in
one transaction each, announcing what changed as server events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy.exc import SQLAlchemyError

from openfax import __version__
from openfax.documents import write_fax_tiff
from openfax.errors import (
    ConfigError,
    InvalidOperationError,
    MessageNotFoundError,
    QueueBlockedError,
    RecipientsLimitError,
    SubmissionError,
)
from openfax.model import (
    DEFAULT_PREFETCH_SIZE,
    CoverPageType,
    JobStatus,
    JobType,
    ReceiveMode,
    ServerApiVersion,
    ServerEvents,
    new_ids,
)
from openfax.providers import DeviceProvider, DeviceState, LoopbackProvider, Transport
from openfax.providers.sip import SipProvider
from openfax.routing import STORE_IN_FOLDER, FolderSettings, normalize_guid, write_pdf
from openfax.service.accounts import Accounts
from openfax.service.activity_log import ACTIVITY_LOGGING_KEY, ActivityLog, ActivityLogging
from openfax.service.archiving import settle_submission
from openfax.service.audit import SERVICE_ACTOR, AuditAction, message_type, record
from openfax.service.clock import Clock, SystemClock
from openfax.service.composing import compose_pages, sending_tsid
from openfax.service.config import ServiceConfig
from openfax.service.configuration import (
    CONFIGURATION_KEY,
    SWITCHES,
    Configuration,
    apply_saved,
    check_changes,
    configuration_of,
    emit_changes,
    saved_json,
)
from openfax.service.context import ServiceContext
from openfax.service.cover_pages import (
    CoverPageInfo,
    add_cover_page,
    list_cover_pages,
    remove_cover_page,
)
from openfax.service.cover_pages import (
    folder as cover_pages_folder,
)
from openfax.service.device_providers import (
    FSPI_VERSION,
    PROVIDERS_KEY,
    LoadedProvider,
    ProviderInfo,
    ProviderRegistration,
    check_registration,
    load_provider,
    registered,
    with_registration,
    without_registration,
)
from openfax.service.event_log import EVENT_LOGGING_KEY, EventLogging, init_events
from openfax.service.events import EventHub, EventType, ServerEvent, after_commit
from openfax.service.extension_properties import (
    ExtensionProperties,
    ExtensionPropertyListener,
)
from openfax.service.housekeeping import pdf_cache_path, run_housekeeping
from openfax.service.inbound_routing import InboundRouting
from openfax.service.job_states import Operation, base, incoming_cancel, transition
from openfax.service.outbound_routing import OutboundRouting
from openfax.service.receipt_options import (
    RECEIPT_OPTIONS_KEY,
    ReceiptOptions,
    check_receipt_options,
)
from openfax.service.receipts import ReceiptSender, change_receipt, load_receipt_options
from openfax.service.receiving import Receiver
from openfax.service.recovery import recover
from openfax.service.schedule import first_send_time
from openfax.service.scheduler import Scheduler, emit_job
from openfax.service.sip_memory import StoredDestinations
from openfax.service.submission import Rendering, SubmitRequest, fields_of, render_in_time
from openfax.service.views import (
    Activity,
    DeviceInfo,
    IncomingJobInfo,
    OutgoingJobInfo,
    QueueSwitches,
    ServerInfo,
    incoming_job_payload,
    message_removed_payload,
)
from openfax.store import (
    AuditEntry,
    CallAttempt,
    DeliveryStatus,
    Device,
    Direction,
    Message,
    OutgoingJob,
    Receipt,
    Spool,
    Submission,
    open_database,
)
from openfax.store import queries as q
from openfax.store.queries import (
    MessageCursor,
    MessagePage,
    QueueCursor,
    QueuePage,
    SubmitResult,
)

_logger = logging.getLogger(__name__)

ALL_EVENTS = ServerEvents(sum(ServerEvents))

STOP_TIMEOUT = 10.0
"""Wall seconds ``stop`` waits for background work to finish before cancelling it."""
CHANGEABLE_MESSAGE_FIELDS = {
    Direction.OUT: frozenset({"read"}),
    Direction.IN: frozenset(
        {"read", "subject", "sender_name", "sender_fax_number", "has_cover_page"}
    ),
}
"""What ``save_message`` changes of a message of each archive (FAXCOMEX's writable
properties of FaxOutgoingMessage2 and FaxIncomingMessage2; ``Recipients`` is ReAssign's)."""
SHUTDOWN_NOTICE_SECONDS = 2.0
"""How long ``announce_shutdown`` waits for the event streams to take the notice."""

SWITCHES_KEY = "queues"
"""Settings key of the queue switches."""

DEVICE_SETTINGS = frozenset(
    {"description", "tsid", "csid", "rings_before_answer", "receive_mode", "send_enabled"}
)
"""The FAXCOMEX ``IFaxDevice`` properties a user may change."""


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
        loopback = config.loopback
        self.provider = LoopbackProvider(
            loopback.lines,
            base_number=loopback.base_number,
            transport=Transport(loopback.transport),
            pace=loopback.pace,
        )
        self.providers: list[DeviceProvider] = [self.provider]
        """The built-in providers of the node: the loopback lines, then the SIP trunks if
        any; registered ones are loaded at start."""
        if config.sip.trunks:
            memory = StoredDestinations(lambda: self.ctx)
            self.providers.append(
                SipProvider(
                    config.sip.trunks,
                    memory=memory,
                    dns_servers=config.sip.dns_servers,
                    dns_timeout=config.sip.dns_timeout,
                )
            )
        self._registered: list[LoadedProvider] = []
        self._ctx: ServiceContext | None = None
        self._scheduler: Scheduler | None = None
        self._receiver: Receiver | None = None
        self._routing: InboundRouting | None = None
        self._accounts: Accounts | None = None
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
        routing = await InboundRouting.open(ctx)
        self._routing = routing
        self._extensions = ExtensionProperties(ctx, self._extension_owners)
        receiver = Receiver(
            ctx,
            routing,
            on_idle=scheduler.wake,
            sending=lambda line: any(c.line is line for c in scheduler.running.values()),
        )
        self._receiver = receiver
        await self._load_registered_providers()
        async with ctx.db.transaction() as conn:
            lines = [(p, line) for p in self._running_providers() for line in p.devices]
            for provider, line in lines:
                device = await q.ensure_device(
                    conn,
                    provider.name,
                    line.name,
                    node_id=config.node_id,
                    number=line.number,
                    csid=config.incoming.csid or line.number,
                    tsid=config.outgoing.tsid or line.number,
                    rings_before_answer=config.incoming.rings_before_answer,
                    receive_mode=ReceiveMode.AUTO_ANSWER,
                )
                ctx.lines[device.id] = line
                self._apply_to_line(device)
            ctx.switches = QueueSwitches(**await q.get_setting(conn, SWITCHES_KEY, {}))
            saved = await q.get_setting(conn, CONFIGURATION_KEY, {})
            activity = ActivityLogging.from_json(await q.get_setting(conn, ACTIVITY_LOGGING_KEY))
            levels = EventLogging.from_json(await q.get_setting(conn, EVENT_LOGGING_KEY))
        try:
            ctx.config = apply_saved(config, saved)
        except ConfigError as exc:
            _logger.error("the saved configuration is not used: %s", exc)
        levels.apply()
        ctx.activity_log = ActivityLog(config.data_dir / "activity", activity)
        await self._extensions.tell_owners()
        await recover(ctx, receiver)
        for provider in self._running_providers():
            provider.set_listener(receiver)
            await provider.start()
        ctx.spawn(receiver.run_notices(), "device notices")
        ctx.spawn(run_housekeeping(ctx), "age limits")
        ctx.spawn(ReceiptSender(ctx).run(), "receipts")
        ctx.spawn(self._report_activity(), "activity")
        self._loop_task = asyncio.create_task(scheduler.run(), name="scheduler")
        _logger.info("fax service %s started with %d lines", config.node_id, len(ctx.lines))
        init_events.info("fax service %s started with %d lines", config.node_id, len(ctx.lines))

    async def stop(self) -> None:
        """Hang up every call (its job is sent again after a restart) and close the store."""
        ctx = self._ctx
        if ctx is None:
            return
        assert self._scheduler is not None
        assert self._receiver is not None
        ctx.stopping.set()
        if self._loop_task is not None:
            await self._loop_task
        await self._scheduler.stop()
        for provider in self._running_providers():
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
    def inbound_routing(self) -> InboundRouting:
        """FAXCOMEX ``InboundRouting``: extensions, methods, their configurations and the
        deliveries of received faxes."""
        if self._routing is None:
            raise RuntimeError("the fax service is not running")
        return self._routing

    @property
    def accounts(self) -> Accounts:
        """FAXCOMEX ``FaxAccountSet`` and ``FaxSecurity2``: accounts, their rights, signing
        in, and the receive folder's settings."""
        if self._accounts is None:
            raise RuntimeError("the fax service is not running")
        return self._accounts

    @property
    def outbound_routing(self) -> OutboundRouting:
        """FAXCOMEX ``OutboundRouting``: the groups and rules that choose a job's lines."""
        return OutboundRouting(self.ctx)

    @property
    def scheduler(self) -> Scheduler:
        assert self._scheduler is not None
        return self._scheduler

    @property
    def receiver(self) -> Receiver:
        assert self._receiver is not None
        return self._receiver

    # --- server -------------------------------------------------------------------------------

    def server_info(self) -> ServerInfo:
        """FAXCOMEX ``ServerName``, ``Version`` and ``APIVersion``."""
        return ServerInfo(
            server_name=self.config.server_name,
            version=__version__,
            api_version=ServerApiVersion.API_VERSION_3,
        )

    async def events(
        self, mask: ServerEvents = ALL_EVENTS, after: int | None = None
    ) -> AsyncIterator[ServerEvent]:
        """The server events of the kinds in ``mask`` from now on (ListenToServerEvents), or
        those numbered after ``after``."""
        async for event in self.ctx.hub.subscribe(mask, after):
            yield event

    async def last_event_seq(self) -> int:
        """The number of the newest server event, where ``events`` from now on starts."""
        return await self.ctx.hub.last_seq()

    async def get_activity(self) -> Activity:
        """FAXCOMEX ``IFaxActivity``: receptions, routings, sends under way, jobs waiting."""
        async with self.ctx.db.read() as conn:
            incoming = await q.count_queue_by_status(conn, Direction.IN)
            outgoing = await q.count_queue_by_status(conn, Direction.OUT)

        def tally(counts: dict[JobStatus, int], *statuses: JobStatus) -> int:
            return sum(n for status, n in counts.items() if base(status) in statuses)

        receiving = tally(incoming, JobStatus.INPROGRESS)
        return Activity(
            incoming_messages=receiving,
            routing_messages=sum(incoming.values()) - receiving,
            outgoing_messages=tally(outgoing, JobStatus.INPROGRESS),
            queued_messages=tally(outgoing, JobStatus.PENDING, JobStatus.RETRYING),
        )

    async def _report_activity(self) -> None:
        """Emit FAXCOMEX ``OnServerActivityChange`` with the counts of ``get_activity``
        whenever they differ from the last ones emitted: they are read again after each
        commit (the commits that come while they are read are taken together)."""
        ctx = self.ctx
        generation = ctx.hub.generation
        last = await self.get_activity()
        while await ctx.unless_stopping(ctx.hub.next_commit(generation)) and not ctx.hub.closed:
            generation = ctx.hub.generation
            try:
                activity = await self.get_activity()
                if activity == last:
                    continue
                async with ctx.hub.transaction() as conn:
                    counts = dataclasses.asdict(activity)
                    await ctx.hub.emit(conn, EventType.ACTIVITY_CHANGED, counts)
            except SQLAlchemyError:
                # A hint, not a record: the next commit tries again.
                _logger.exception("the server's activity could not be reported")
                continue
            last = activity

    # --- configuration ------------------------------------------------------------------------

    async def get_configuration(self) -> Configuration:
        """FAXCOMEX ``Configuration.Refresh()``: the properties as saved in the store (read
        again, so a change saved by another node is taken up here too)."""
        ctx = self.ctx
        async with ctx.db.read() as conn:
            saved = await q.get_setting(conn, CONFIGURATION_KEY, {})
            sizes = await q.archive_sizes(conn)
        ctx.config = apply_saved(self._config, saved)
        return configuration_of(ctx.config, dataclasses.asdict(ctx.switches), sizes)

    async def save_configuration(
        self, changes: dict[str, Any], actor: str = SERVICE_ACTOR
    ) -> Configuration:
        """FAXCOMEX ``Configuration.Save()`` of the properties given; the others keep their
        value. In force at once (the next call, submission or housekeeping pass uses it) and
        kept over the TOML file's values across restarts. ConfigError names a wrong property
        and then nothing changes; one CONFIG event per configuration changed (and
        ``OnQueuesStatusChange`` for the queue switches). Audited as ``actor``'s."""
        ctx = self.ctx
        values = check_changes(changes)
        stored = {k: v for k, v in values.items() if k not in SWITCHES}
        if stored:
            async with ctx.hub.transaction() as conn:
                saved = await q.get_setting(conn, CONFIGURATION_KEY, {})
                saved = {**saved, **saved_json(stored)}
                config = apply_saved(self._config, saved)
                now = ctx.clock.now()
                await q.set_setting(conn, CONFIGURATION_KEY, saved, now=now)
                await record(
                    conn,
                    now,
                    actor,
                    AuditAction.CONFIG_CHANGED,
                    "configuration",
                    "configuration",
                    saved_json(stored),
                )
                await emit_changes(conn, ctx.hub, set(stored))
            ctx.config = config
        switched = {SWITCHES[k]: v for k, v in values.items() if k in SWITCHES}
        if switched:
            await self.set_queue_switches(**switched, actor=actor)
        self.scheduler.wake()
        return await self.get_configuration()

    # --- extension properties -------------------------------------------------------------------

    async def get_extension_property(self, guid: str, device_id: int = 0) -> bytes:
        """FAXCOMEX ``GetExtensionProperty``: the server's (device 0) or a device's blob
        named by ``guid``; empty when never set."""
        assert self._extensions is not None, "the fax service is not running"
        return await self._extensions.get(guid, device_id)

    async def set_extension_property(
        self, guid: str, data: bytes, device_id: int = 0, actor: str = SERVICE_ACTOR
    ) -> None:
        """FAXCOMEX ``SetExtensionProperty``: keep the blob and tell the plug-in that owns
        ``guid`` (``docs/design/configuration.md``)."""
        assert self._extensions is not None, "the fax service is not running"
        await self._extensions.set(guid, data, device_id, actor=actor)

    def _extension_owners(self, guid: str) -> list[ExtensionPropertyListener]:
        """The routing extension whose method has ``guid`` and the providers that say they
        own it, when they listen."""
        owners: list[object] = [self.inbound_routing.registry.owner_of(guid)]
        owners += [
            p for p in self._running_providers() if guid in getattr(p, "extension_guids", ())
        ]
        owners += [
            loaded.provider
            for loaded in self._registered
            if normalize_guid(loaded.registration.unique_name) == guid
        ]
        return [owner for owner in owners if isinstance(owner, ExtensionPropertyListener)]

    # --- device providers -----------------------------------------------------------------------

    async def _load_registered_providers(self) -> None:
        """Load the registered providers (at start; a broken one is listed with its error)."""
        async with self.ctx.db.read() as conn:
            recorded = await q.get_setting(conn, PROVIDERS_KEY, [])
        taken = {provider.name for provider in self.providers}
        self._registered = []
        for registration in registered(recorded):
            loaded = load_provider(registration, taken)
            if loaded.provider is not None:
                taken.add(loaded.provider.name)
            self._registered.append(loaded)

    def _running_providers(self) -> list[DeviceProvider]:
        """The built-in providers and the registered ones that loaded."""
        loaded = [r.provider for r in self._registered if r.provider is not None]
        return [*self.providers, *loaded]

    def get_device_providers(self) -> list[ProviderInfo]:
        """FAXCOMEX ``GetDeviceProviders()``: the built-in providers, then the registered
        ones as loaded at start, with their status, load error and devices."""
        infos = [
            ProviderInfo(
                unique_name=provider.name,
                friendly_name=f"OpenFax {provider.name} lines",
                image_name=type(provider).__module__,
                tapi_provider_name="",
                version=__version__,
                status=provider.status,
                init_error=provider.error,
                device_ids=self._device_ids(provider),
            )
            for provider in self.providers
        ]
        for loaded in self._registered:
            registration = loaded.registration
            infos.append(
                ProviderInfo(
                    unique_name=registration.unique_name,
                    friendly_name=registration.friendly_name,
                    image_name=registration.image_name,
                    tapi_provider_name=registration.tsp_name,
                    version=loaded.version,
                    status=loaded.status,
                    init_error=loaded.init_error,
                    device_ids=[] if loaded.provider is None else self._device_ids(loaded.provider),
                )
            )
        return infos

    def _device_ids(self, provider: DeviceProvider) -> list[int]:
        lines = list(provider.devices)
        return sorted(i for i, line in self.ctx.lines.items() if any(line is x for x in lines))

    async def register_device_provider(
        self,
        unique_name: str,
        friendly_name: str,
        image_name: str,
        tsp_name: str = "",
        version: int = FSPI_VERSION,
        actor: str = SERVICE_ACTOR,
    ) -> None:
        """FAXCOMEX ``RegisterDeviceProvider``: recorded now, loaded at the next start from
        the entry point ``image_name`` of the group ``openfax.providers``."""
        registration = ProviderRegistration(
            unique_name=unique_name,
            friendly_name=friendly_name or unique_name,
            image_name=image_name,
            tsp_name=tsp_name,
            version=version,
        )
        check_registration(registration, [provider.name for provider in self.providers])
        await self._change_providers(
            lambda recorded: with_registration(recorded, registration), unique_name, actor
        )
        _logger.info("device provider %s registered; it loads at the next start", unique_name)

    async def unregister_device_provider(
        self, unique_name: str, actor: str = SERVICE_ACTOR
    ) -> None:
        """FAXCOMEX ``UnregisterDeviceProvider``: its lines are gone at the next start."""
        await self._change_providers(
            lambda recorded: without_registration(recorded, unique_name), unique_name, actor
        )

    async def _change_providers(
        self,
        change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        unique_name: str,
        actor: str,
    ) -> None:
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            recorded = await q.get_setting(conn, PROVIDERS_KEY, [])
            now = ctx.clock.now()
            await q.set_setting(conn, PROVIDERS_KEY, change(recorded), now=now)
            await record(
                conn, now, actor, AuditAction.CONFIG_CHANGED, "device_provider", unique_name
            )
            await ctx.hub.emit(conn, EventType.CONFIG_CHANGED, {"device_provider": unique_name})

    # --- server cover pages ---------------------------------------------------------------------

    async def get_cover_pages(self) -> list[CoverPageInfo]:
        """The server's cover pages (``CoverPageType.SERVER`` with one's name), by name."""
        return await asyncio.to_thread(list_cover_pages, self.config.data_dir)

    async def add_cover_page(
        self, name: str, content: bytes, actor: str = SERVICE_ACTOR
    ) -> CoverPageInfo:
        """Check a cover page template and keep it as ``name`` (replacing one so named);
        ConfigError for a bad name, DocumentError for a template that does not draw."""
        info = await asyncio.to_thread(add_cover_page, self.config.data_dir, name, content)
        await self._cover_pages_changed(info.name, "added", actor)
        return info

    async def remove_cover_page(self, name: str, actor: str = SERVICE_ACTOR) -> None:
        """Remove a server cover page; faxes already submitted keep theirs."""
        await asyncio.to_thread(remove_cover_page, self.config.data_dir, name)
        await self._cover_pages_changed(name, "removed", actor)

    async def _cover_pages_changed(self, name: str, change: str, actor: str) -> None:
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            details = {"change": change}
            now = ctx.clock.now()
            await record(conn, now, actor, AuditAction.CONFIG_CHANGED, "cover_page", name, details)
            await ctx.hub.emit(conn, EventType.CONFIG_CHANGED, {"cover_page": name, **details})

    # --- queues -------------------------------------------------------------------------------

    def get_queue_switches(self) -> QueueSwitches:
        """Whether the outgoing queue is blocked or paused and the incoming queue blocked."""
        return self.ctx.switches

    async def set_queue_switches(
        self,
        *,
        outgoing_blocked: bool | None = None,
        outgoing_paused: bool | None = None,
        incoming_blocked: bool | None = None,
        actor: str = SERVICE_ACTOR,
    ) -> QueueSwitches:
        """Change queue switches (the others keep their value); raises QUEUE_STATE events;
        audited as ``actor``'s."""
        ctx = self.ctx
        current = ctx.switches
        switches = QueueSwitches(
            outgoing_blocked=current.outgoing_blocked
            if outgoing_blocked is None
            else outgoing_blocked,
            outgoing_paused=current.outgoing_paused if outgoing_paused is None else outgoing_paused,
            incoming_blocked=current.incoming_blocked
            if incoming_blocked is None
            else incoming_blocked,
        )
        async with ctx.hub.transaction() as conn:
            value = {
                "outgoing_blocked": switches.outgoing_blocked,
                "outgoing_paused": switches.outgoing_paused,
                "incoming_blocked": switches.incoming_blocked,
            }
            now = ctx.clock.now()
            await q.set_setting(conn, SWITCHES_KEY, value, now=now)
            await record(conn, now, actor, AuditAction.CONFIG_CHANGED, "queues", "queues", value)
            await ctx.hub.emit(conn, EventType.QUEUES_STATUS_CHANGED, value)
        ctx.switches = switches
        self.scheduler.wake()
        return switches

    # --- receipt and logging options ---------------------------------------------------------

    async def get_receipt_options(self) -> ReceiptOptions:
        """FAXCOMEX ``ReceiptOptions.Refresh()``: the password reads as the mask."""
        async with self.ctx.db.read() as conn:
            return (await load_receipt_options(conn)).masked()

    async def save_receipt_options(self, changes: Mapping[str, Any]) -> ReceiptOptions:
        """FAXCOMEX ``ReceiptOptions.Save()`` of the options given (the others kept); a
        ConfigError names a wrong one (NTLM and message boxes are Windows-only)."""
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            options = check_receipt_options(changes, await load_receipt_options(conn))
            await q.set_setting(conn, RECEIPT_OPTIONS_KEY, options.to_json(), now=ctx.clock.now())
            await ctx.hub.emit(conn, EventType.CONFIG_CHANGED, {"options": "receipts"})
        return options.masked()

    async def get_activity_logging(self) -> ActivityLogging:
        """FAXCOMEX ``LoggingOptions.ActivityLogging``; ``database_path`` as it is in use."""
        async with self.ctx.db.read() as conn:
            options = ActivityLogging.from_json(await q.get_setting(conn, ACTIVITY_LOGGING_KEY))
        return self._activity_shown(options)

    async def save_activity_logging(self, changes: Mapping[str, Any]) -> ActivityLogging:
        """FAXCOMEX ``ActivityLogging.Save()``: the next lines follow the new options."""
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            stored = ActivityLogging.from_json(await q.get_setting(conn, ACTIVITY_LOGGING_KEY))
            options = stored.changed(changes)
            await q.set_setting(conn, ACTIVITY_LOGGING_KEY, options.to_json(), now=ctx.clock.now())
            await ctx.hub.emit(conn, EventType.CONFIG_CHANGED, {"options": "activity_logging"})
        if ctx.activity_log is not None:
            ctx.activity_log.options = options
        return self._activity_shown(options)

    def _activity_shown(self, options: ActivityLogging) -> ActivityLogging:
        folder = options.database_path or str(self.config.data_dir / "activity")
        return dataclasses.replace(options, database_path=folder)

    async def get_event_logging(self) -> EventLogging:
        """FAXCOMEX ``LoggingOptions.EventLogging``: the level of each category."""
        async with self.ctx.db.read() as conn:
            return EventLogging.from_json(await q.get_setting(conn, EVENT_LOGGING_KEY))

    async def save_event_logging(self, changes: Mapping[str, Any]) -> EventLogging:
        """FAXCOMEX ``EventLogging.Save()``: the levels apply at once on this node."""
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            levels = EventLogging.from_json(await q.get_setting(conn, EVENT_LOGGING_KEY))
            levels = levels.changed(changes)
            await q.set_setting(conn, EVENT_LOGGING_KEY, levels.to_json(), now=ctx.clock.now())
            await ctx.hub.emit(conn, EventType.CONFIG_CHANGED, {"options": "event_logging"})
        levels.apply()
        return levels

    async def get_receipts(
        self, *, status: DeliveryStatus | None = None, owner: int | None = None, limit: int = 1000
    ) -> list[Receipt]:
        """The delivery receipts in ``status`` (every one when None), latest change first;
        only those of the faxes of the account whose id is ``owner``, if given."""
        async with self.ctx.db.read() as conn:
            return await q.list_receipts(conn, status=status, owner=owner, limit=limit)

    async def resend_receipt(self, receipt_id: int) -> Receipt:
        """Send a receipt that failed for good again, with fresh retries (after the SMTP
        settings were put right); InvalidOperationError for one not failed."""
        ctx = self.ctx
        now = ctx.clock.now()
        changes = {
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        async with ctx.hub.transaction() as conn:
            resent = await change_receipt(
                conn, receipt_id, DeliveryStatus.FAILED, changes, "only failed ones are sent again"
            )
            after_commit(conn, ctx.wake_receipts.set)
        return resent

    async def cancel_receipt(self, receipt_id: int, actor: str = SERVICE_ACTOR) -> Receipt:
        """Never send a pending receipt: it is failed for good, ``last_error`` naming who
        cancelled it (``resend_receipt`` still sends it); InvalidOperationError for one not
        pending. One already being handed to the SMTP server may still go, and then reads
        done. Audited as ``actor``'s."""
        ctx = self.ctx
        now = ctx.clock.now()
        changes = {
            "status": DeliveryStatus.FAILED,
            "last_error": f"cancelled by {actor}",
            "next_attempt_at": None,
            "updated_at": now,
        }
        async with ctx.hub.transaction() as conn:
            cancelled = await change_receipt(
                conn, receipt_id, DeliveryStatus.PENDING, changes, "only pending ones are cancelled"
            )
            await record(conn, now, actor, AuditAction.CANCELLED, "receipt", receipt_id)
        return cancelled

    # --- submitting ---------------------------------------------------------------------------

    def _dials(self, number: str) -> bool:
        """Whether a line of this node reaches ``number`` (a SIP URI needs a SIP line)."""
        return any(line.reaches(number) for line in self.ctx.lines.values())

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
        ctx = self.ctx
        if ctx.switches.outgoing_blocked:
            raise QueueBlockedError("the outgoing queue is blocked: submissions are refused")
        now = ctx.clock.now()
        outgoing = self.config.outgoing
        request.check(now, dials=self._dials)
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
        if request.idempotency_key is not None:
            # A key seen before, whether its jobs are queued or long archived, sends nothing.
            async with ctx.db.read() as conn:
                known = await q.find_submission(conn, request.owner_id, request.idempotency_key)
            if known is not None:
                return SubmitResult(known.id, known.job_ids, created=False)
        rendering = Rendering(
            request=request,
            when=now.astimezone(self.zone),
            cover_pages_dir=cover_pages_folder(self.config.data_dir),
            max_pages=outgoing.max_pages,
        )
        seconds = self.config.deadlines.render_seconds
        rendered = await render_in_time(rendering, ctx.spool, seconds)
        submission = Submission(
            idempotency_key=request.idempotency_key,
            owner=request.owner,
            owner_id=request.owner_id,
            document_name=request.document_name
            or (Path(request.bodies[0]).name if request.bodies else ""),
            subject=request.subject,
            note=request.note,
            sender={k: v for k, v in fields_of(request.sender).items() if v},
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
        start = first_send_time(
            request.schedule_type,
            request.schedule_time,
            now,
            (outgoing.discount_start, outgoing.discount_end),
            self.zone,
        )
        kill_at = start + timedelta(minutes=outgoing.kill_time_minutes)
        tsid = request.sender.tsid or outgoing.tsid
        ids = new_ids(len(request.recipients))
        jobs = [
            OutgoingJob(
                id=ids[index],
                submission_id=submission.id,
                recipient_index=index,
                recipient_number=recipient.fax_number,
                recipient_name=recipient.name,
                recipient={k: v for k, v in fields_of(recipient).items() if v},
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
                    added = [_job_added(job) for job in jobs]
                    await ctx.hub.emit_many(conn, EventType.OUTGOING_JOB_ADDED, added)
        except BaseException:
            await asyncio.to_thread(_delete_files, ctx.spool, rendered.paths)
            raise
        if result.created:
            self.scheduler.wake()
        else:
            await asyncio.to_thread(_delete_files, ctx.spool, rendered.paths)
        return result

    # --- the outgoing queue -------------------------------------------------------------------

    async def get_outgoing_jobs(self) -> list[OutgoingJobInfo]:
        """FAXCOMEX ``OutgoingQueue.GetJobs()``: every job in the queue, oldest first."""
        async with self.ctx.db.read() as conn:
            jobs = await q.list_jobs(conn)
            submissions = await q.get_submissions(conn, {j.submission_id for j in jobs})
        return [OutgoingJobInfo.of(job, submissions[job.submission_id]) for job in jobs]

    async def get_outgoing_job_page(
        self,
        after: QueueCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> QueuePage[OutgoingJobInfo]:
        """One page of a snapshot of the outgoing queue (or of the jobs of the account whose
        id is ``owner``), oldest
        first: the first (``after`` None) fixes the snapshot and its count, ``next_cursor``
        reads on in it."""
        async with self.ctx.db.read() as conn:
            page = await q.list_jobs_page(conn, owner=owner, after=after, limit=limit)
            submissions = await q.get_submissions(conn, {j.submission_id for j in page.jobs})
        jobs = [OutgoingJobInfo.of(job, submissions[job.submission_id]) for job in page.jobs]
        return QueuePage(jobs, page.count, page.next_cursor)

    async def get_outgoing_job(self, job_id: int) -> OutgoingJobInfo:
        """FAXCOMEX ``OutgoingQueue.GetJob(id)``; MessageNotFoundError if there is none."""
        async with self.ctx.db.read() as conn:
            job = await q.get_job(conn, job_id)
            return OutgoingJobInfo.of(job, await q.get_submission(conn, job.submission_id))

    async def get_call_attempts(self, job_id: int) -> list[CallAttempt]:
        """The calls made for a job in the queue or for the archived message it became, with
        their T.30 transcripts; MessageNotFoundError if there is neither."""
        async with self.ctx.db.read() as conn:
            attempts = await q.list_call_attempts(conn, job_id)
            if not attempts:
                try:
                    await q.get_job(conn, job_id)
                except MessageNotFoundError:
                    await q.get_message(conn, Direction.OUT, job_id)
            return attempts

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
        ctx = self.ctx
        now = ctx.clock.now()
        unreferenced: list[str] = []
        async with ctx.hub.transaction() as conn:
            job = await q.get_job(conn, job_id, for_update=True)
            status = transition(job.status, operation)
            changes: dict[str, Any] = {"status": status}
            if operation is Operation.RESTART:
                changes |= {
                    "retries": 0,
                    "interrupted_calls": 0,  # a job set aside gets two calls again
                    "scheduled_at": now,
                    "kill_at": now + timedelta(minutes=self.config.outgoing.kill_time_minutes),
                    "failure_cause": None,
                    "ended_at": None,
                }
            if status is JobStatus.CANCELED:
                changes["ended_at"] = now
            updated = await q.update_job(conn, job_id, changes, expected_version=job.version)
            if updated is None:
                raise MessageNotFoundError("outgoing job", job_id)
            await record(conn, now, actor, _AUDITED[operation], "outgoing_job", job_id)
            await emit_job(conn, ctx, updated)
            if status is JobStatus.CANCELED:
                unreferenced = await settle_submission(conn, ctx.hub, job.submission_id)
            submission = await q.get_submission(conn, job.submission_id)
        if status is JobStatus.CANCELING:
            self.scheduler.cancel_call(job_id)
        if unreferenced:
            await asyncio.to_thread(_delete_files, ctx.spool, unreferenced)
        self.scheduler.wake()
        return OutgoingJobInfo.of(updated, submission)

    async def copy_tiff(
        self, job_id: int, destination: str | Path, actor: str | None = None
    ) -> None:
        """FAXCOMEX ``CopyTiff(path)``: write the job's TIFF-F (every page) to ``destination``,
        as it is sent: the pages confirmed as their call sent them, the others composed now
        with the TSID of the job's last device or its own."""
        ctx = self.ctx
        async with ctx.db.read() as conn:
            job = await q.get_job(conn, job_id)
            submission = await q.get_submission(conn, job.submission_id)
            device = None if job.device_id is None else await q.get_device(conn, job.device_id)
        tsid = sending_tsid(job, device, self.config.outgoing.use_device_tsid)
        when = ctx.clock.now().astimezone(self.zone)
        await asyncio.to_thread(
            _write_composed, ctx.spool, job, submission.body_path, tsid, when, Path(destination)
        )
        if actor is not None:
            await self._audit(actor, AuditAction.DOWNLOADED, "outgoing_job", job_id)

    # --- the incoming queue -------------------------------------------------------------------

    async def get_incoming_jobs(self) -> list[IncomingJobInfo]:
        """FAXCOMEX ``IncomingQueue.GetJobs()``: faxes being received or routed."""
        async with self.ctx.db.read() as conn:
            return [IncomingJobInfo.of(job) for job in await q.list_incoming_jobs(conn)]

    async def get_incoming_job_page(
        self, after: QueueCursor | None = None, limit: int = DEFAULT_PREFETCH_SIZE
    ) -> QueuePage[IncomingJobInfo]:
        """One page of a snapshot of the incoming queue, as ``get_outgoing_job_page``."""
        async with self.ctx.db.read() as conn:
            page = await q.list_incoming_jobs_page(conn, after=after, limit=limit)
        jobs = [IncomingJobInfo.of(job) for job in page.jobs]
        return QueuePage(jobs, page.count, page.next_cursor)

    async def get_incoming_job(self, job_id: int) -> IncomingJobInfo:
        async with self.ctx.db.read() as conn:
            return IncomingJobInfo.of(await q.get_incoming_job(conn, job_id))

    async def cancel_incoming_job(self, job_id: int, actor: str = SERVICE_ACTOR) -> IncomingJobInfo:
        """FAXCOMEX ``IncomingJob.Cancel()``: a reception is hung up (CANCELING; the pages
        that arrived are archived as partial, then the job is CANCELED); a fax being routed
        stops being routed and leaves the queue (CANCELED), staying in the archive."""
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            job = await q.get_incoming_job(conn, job_id, for_update=True)
            status = incoming_cancel(job.status)
            updated = await q.update_incoming_job(conn, job_id, {"status": status})
            assert updated is not None
            await record(
                conn, ctx.clock.now(), actor, AuditAction.CANCELLED, "incoming_job", job_id
            )
            await ctx.hub.emit(conn, EventType.INCOMING_JOB_CHANGED, incoming_job_payload(updated))
            if status is JobStatus.CANCELED:
                await self.inbound_routing.cancel(conn, updated)
        if status is JobStatus.CANCELING:
            self.receiver.hang_up(job_id)
        else:
            self.inbound_routing.wake(job_id)
        return IncomingJobInfo.of(updated)

    async def copy_incoming_tiff(
        self, job_id: int, destination: str | Path, actor: str | None = None
    ) -> None:
        """FAXCOMEX ``IncomingJob.CopyTiff(path)``: write the received TIFF-F (every page that
        arrived) to ``destination``; InvalidOperationError while the fax is still arriving."""
        ctx = self.ctx
        async with ctx.db.read() as conn:
            job = await q.get_incoming_job(conn, job_id)
        if job.job_type is not JobType.ROUTING or job.receive_path is None:
            raise InvalidOperationError(
                f"incoming job {job_id:016x} is still being received: its TIFF is not complete"
            )
        await asyncio.to_thread(shutil.copyfile, ctx.spool.path(job.receive_path), destination)
        if actor is not None:
            await self._audit(actor, AuditAction.DOWNLOADED, "incoming_job", job_id)

    # --- archives -----------------------------------------------------------------------------

    async def get_incoming_messages(
        self,
        after: MessageCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> MessagePage:
        """One page of the incoming archive (or of the faxes assigned to ``owner``), oldest
        first; pass ``next_cursor`` for more."""
        return await self.get_messages(Direction.IN, after, limit, owner=owner)

    async def get_outgoing_messages(
        self,
        after: MessageCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> MessagePage:
        """One page of the outgoing archive (or of ``owner``'s faxes in it), oldest first;
        pass ``next_cursor`` for more."""
        return await self.get_messages(Direction.OUT, after, limit, owner=owner)

    async def get_messages(
        self,
        direction: Direction,
        after: MessageCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> MessagePage:
        """One page of an archive, all of it or ``owner``'s messages."""
        async with self.ctx.db.read() as conn:
            return await q.list_messages(conn, direction, owner=owner, after=after, limit=limit)

    async def archive_size(self, direction: Direction, *, owner: int | None = None) -> int:
        """FAXCOMEX ``SizeLow/High`` of an archive: bytes of its faxes, or of ``owner``'s."""
        async with self.ctx.db.read() as conn:
            return (await q.archive_sizes(conn, owner)).get(direction, 0)

    async def get_message(
        self, direction: Direction, message_id: int, actor: str | None = None
    ) -> Message:
        """An archived fax; MessageNotFoundError if there is none. Audited as viewed by
        ``actor`` unless None (the service itself)."""
        async with self.ctx.db.read() as conn:
            message = await q.get_message(conn, direction, message_id)
        if actor is not None:
            await self._audit(actor, AuditAction.VIEWED, message_type(direction), message_id)
        return message

    async def _audit(
        self,
        actor: str,
        action: AuditAction,
        object_type: str,
        object_id: int,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record what was done on its own (a read has no transaction of its own)."""
        ctx = self.ctx
        async with ctx.db.transaction() as conn:
            await record(conn, ctx.clock.now(), actor, action, object_type, object_id, details)

    async def get_audit(
        self, since: datetime | None = None, after: int = 0, limit: int = DEFAULT_PREFETCH_SIZE
    ) -> list[AuditEntry]:
        """The audit trail, oldest first: entries at or after ``since``, numbered after
        ``after`` (the last ``seq`` of the page before), at most ``limit``."""
        async with self.ctx.db.read() as conn:
            return await q.list_audit(conn, since=since, after=after, limit=limit)

    async def owner_of(self, direction: Direction, fax_id: int) -> int | None:
        """The id of the account a fax belongs to, queued or archived (a job and the message
        it became share their id): an outgoing job's submitter, a received fax's assignee;
        None when it has none or is gone."""
        async with self.ctx.db.read() as conn:
            if direction is Direction.OUT:
                try:
                    job = await q.get_job(conn, fax_id)
                except MessageNotFoundError:
                    pass
                else:
                    return (await q.get_submission(conn, job.submission_id)).owner_id
            try:
                return (await q.get_message(conn, direction, fax_id)).owner_id
            except MessageNotFoundError:
                return None

    async def save_message(
        self,
        direction: Direction,
        message_id: int,
        changes: Mapping[str, Any],
        actor: str = SERVICE_ACTOR,
    ) -> Message:
        """FAXCOMEX ``FaxIncomingMessage2/FaxOutgoingMessage2.Save()``: set the fields a
        message lets change (``read``; on a received fax also what a routing assistant fills
        in: ``subject``, ``sender_name``, ``sender_fax_number``, ``has_cover_page``);
        InvalidOperationError names another. Audited as ``actor``'s change (the fields'
        names, not their text)."""
        allowed = CHANGEABLE_MESSAGE_FIELDS[direction]
        for name in changes:
            if name not in allowed:
                raise InvalidOperationError(
                    f"{name} of {message_type(direction).replace('_', ' ')}s cannot be "
                    f"changed (only {', '.join(sorted(allowed))})"
                )
        ctx = self.ctx
        async with ctx.db.transaction() as conn:
            message = await q.update_message(conn, direction, message_id, changes)
            if changes:
                kind, fields = message_type(direction), {"fields": sorted(changes)}
                now = ctx.clock.now()
                await record(conn, now, actor, AuditAction.CHANGED, kind, message_id, fields)
        return message

    async def delete_message(
        self, direction: Direction, message_id: int, actor: str = SERVICE_ACTOR
    ) -> None:
        """FAXCOMEX ``Message.Delete()``: remove a fax from its archive, and its file."""
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            message = await q.delete_message(conn, direction, message_id)
            await record(
                conn,
                ctx.clock.now(),
                actor,
                AuditAction.DELETED,
                message_type(direction),
                message_id,
            )
            kind = (
                EventType.INCOMING_MESSAGE_REMOVED
                if direction is Direction.IN
                else EventType.OUTGOING_MESSAGE_REMOVED
            )
            await ctx.hub.emit(conn, kind, message_removed_payload(message))
            in_use = direction is Direction.OUT and message_id in {
                job.id for job in await q.list_jobs(conn, submission_id=message.submission_id)
            }
        if message.tiff_path and not in_use:
            await asyncio.to_thread(ctx.spool.delete, message.tiff_path)
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self._pdf_cache(direction, message_id).unlink)

    async def message_tiff_path(
        self, direction: Direction, message_id: int, actor: str | None = None
    ) -> Path:
        """The archived fax's TIFF-F file (read it, do not change it); audited as downloaded
        by ``actor`` unless None."""
        message = await self.get_message(direction, message_id)
        if message.tiff_path is None:
            raise MessageNotFoundError("message document", message_id)
        if actor is not None:
            details = {"format": "tiff"}
            await self._audit(
                actor, AuditAction.DOWNLOADED, message_type(direction), message_id, details
            )
        return self.ctx.spool.path(message.tiff_path)

    async def message_pdf_path(
        self, direction: Direction, message_id: int, actor: str | None = None
    ) -> Path:
        """The archived fax as a PDF, made on first use and kept beside the spool; audited
        as downloaded by ``actor`` unless None."""
        tiff = await self.message_tiff_path(direction, message_id)
        pdf = self._pdf_cache(direction, message_id)
        if not pdf.exists():
            await asyncio.to_thread(write_pdf, tiff, pdf)
        if actor is not None:
            details = {"format": "pdf"}
            await self._audit(
                actor, AuditAction.DOWNLOADED, message_type(direction), message_id, details
            )
        return pdf

    def _pdf_cache(self, direction: Direction, message_id: int) -> Path:
        return pdf_cache_path(self.ctx.spool, direction, message_id)

    # --- devices ------------------------------------------------------------------------------

    async def get_devices(self) -> list[DeviceInfo]:
        """FAXCOMEX ``GetDevices()``: this node's lines with their settings and state."""
        async with self.ctx.db.read() as conn:
            devices = await q.list_devices(conn, node_id=self.config.node_id)
        return [self._device_info(device) for device in devices]

    async def get_device(self, device_id: int) -> DeviceInfo:
        async with self.ctx.db.read() as conn:
            device = await q.get_device(conn, device_id)
        if device is None:
            raise MessageNotFoundError("device", device_id)
        return self._device_info(device)

    async def save_device(self, device_id: int, **settings: Any) -> DeviceInfo:
        """FAXCOMEX ``Device.Save()`` of the given properties (description, tsid, csid,
        rings_before_answer, receive_mode, send_enabled). Setting one device to manual answer
        switches the one that was manual to no answer, as FAXCOMEX does."""
        unknown = set(settings) - DEVICE_SETTINGS
        if unknown:
            raise ValueError(f"not device settings: {sorted(unknown)}")
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            if settings.get("receive_mode") is ReceiveMode.MANUAL_ANSWER:
                for other in await q.list_devices(conn):
                    manual = other.receive_mode is ReceiveMode.MANUAL_ANSWER
                    if manual and other.id != device_id:
                        changed = await q.update_device(
                            conn, other.id, {"receive_mode": ReceiveMode.NO_ANSWER}
                        )
                        assert changed is not None
                        self._apply_to_line(changed)
            device = await q.update_device(conn, device_id, settings)
            if device is None:
                raise MessageNotFoundError("device", device_id)
            await ctx.hub.emit(conn, EventType.CONFIG_CHANGED, {"device_id": device_id})
        self._apply_to_line(device)
        self.scheduler.wake()
        return self._device_info(device)

    async def use_routing_method(self, device_id: int, method: str, use: bool) -> DeviceInfo:
        """FAXCOMEX ``Device.UseRoutingMethod(guid, use)``."""
        device = await self.inbound_routing.use_routing_method(device_id, method, use)
        return self._device_info(device)

    async def set_store_in_folder(self, device_id: int, settings: FolderSettings) -> None:
        """Where the "store in folder" routing method writes this device's faxes."""
        await self.inbound_routing.set_configuration(STORE_IN_FOLDER, device_id, settings.to_json())

    def answer_call(self, device_id: int) -> bool:
        """FAXCOMEX ``Device.AnswerCall()``: answer the call ringing on the device now.

        False if nothing rings there; like FAXCOMEX, acceptance says nothing of the outcome.
        """
        line = self.ctx.lines.get(device_id)
        if line is None:
            raise MessageNotFoundError("device", device_id)
        return line.answer()

    def _apply_to_line(self, device: Device) -> None:
        line = self.ctx.lines.get(device.id)
        if line is not None:
            # The provider's enum predates openfax.model's; the values are FAXCOMEX's.
            line.receive_mode = ReceiveMode(device.receive_mode)
            line.rings_before_answer = device.rings_before_answer

    def _device_info(self, device: Device) -> DeviceInfo:
        line = self.ctx.lines.get(device.id)
        state = line.state if line is not None else None
        sending = line is not None and any(
            call.line is line for call in self.scheduler.running.values()
        )
        registration = None if line is None else line.registration
        return DeviceInfo(
            id=device.id,
            device_name=device.name,
            provider_unique_name=device.provider,
            number=device.number,
            description=device.description,
            tsid=device.tsid,
            csid=device.csid,
            rings_before_answer=device.rings_before_answer,
            receive_mode=device.receive_mode,
            send_enabled=device.send_enabled,
            used_routing_methods=list(device.routing_methods),
            powered_off=line is None or (registration is not None and registration.failed),
            sending_now=sending,
            receiving_now=state is DeviceState.IN_CALL and not sending,
            ringing_now=state is DeviceState.RINGING,
            registration="" if registration is None else registration.state.value,
            registration_error="" if registration is None else registration.error,
        )


_AUDITED = {
    Operation.PAUSE: AuditAction.PAUSED,
    Operation.RESUME: AuditAction.RESUMED,
    Operation.RESTART: AuditAction.RESTARTED,
    Operation.CANCEL: AuditAction.CANCELLED,
}


def _job_added(job: OutgoingJob) -> dict[str, Any]:
    return {"job_id": f"{job.id:016x}", "submission_id": f"{job.submission_id:016x}"}


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
