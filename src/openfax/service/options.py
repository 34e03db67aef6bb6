"""The server's options (FAXCOMEX ``FaxConfiguration``, ``FaxReceiptOptions`` and
``FaxLoggingOptions``, with the queues' ``Blocked`` and ``Paused`` switches): what an
administrator changes while the service runs, kept in the store's settings table over the
TOML file's values, and the audit trail of those changes and of what was done to faxes.

Each change is one transaction that keeps the new value, writes its audit entry and emits
its CONFIG (or ``OnQueuesStatusChange``) event; it is in force at once on this node, and on
the others as soon as they hear of the event (:mod:`openfax.service.cluster`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, Self, TypeVar

from openfax import __version__
from openfax.errors import ConfigError
from openfax.model import DEFAULT_PREFETCH_SIZE, ServerApiVersion
from openfax.model.events import ConfigChanged, QueuesStatusChanged
from openfax.model.records import AuditEntryInfo, QueueSwitches, ServerInfo
from openfax.service.activity_log import ACTIVITY_LOGGING_KEY, ActivityLog, ActivityLogging
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.config_file import ServiceConfig
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
from openfax.service.receipt_options import (
    RECEIPT_OPTIONS_KEY,
    ReceiptOptions,
    check_receipt_options,
)
from openfax.service.receipts import load_receipt_options
from openfax.service.scheduler import Scheduler
from openfax.service.system_log import EVENT_LOGGING_KEY, EventLogging
from openfax.service.views import audit_entry_info
from openfax.store import queries as q

_logger = logging.getLogger(__name__)


class _Stored(Protocol):
    """Options kept as one setting: read from its JSON, changed by a client, written back."""

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Self: ...

    def changed(self, given: Mapping[str, Any]) -> Self: ...

    def to_json(self) -> Mapping[str, Any]: ...


_Setting = TypeVar("_Setting", bound=_Stored)

SWITCHES_KEY = "queues"
"""Settings key of the queue switches."""


class Options:
    """The running service's ``options``; ``base`` is the TOML file's configuration, which
    the saved properties are laid over."""

    def __init__(self, ctx: ServiceContext, base: ServiceConfig, scheduler: Scheduler) -> None:
        self._ctx = ctx
        self._base = base
        self._scheduler = scheduler

    async def load(self) -> None:
        """Put the saved options in force: the queue switches, the configuration (a saved
        one that no longer fits is logged and left out), the event logging levels and the
        activity log's options. At start, and on every node whenever one of them changed
        on any node (:mod:`openfax.service.cluster`)."""
        ctx = self._ctx
        async with ctx.db.read() as conn:
            ctx.switches = QueueSwitches(**await q.get_setting(conn, SWITCHES_KEY, {}))
            saved = await q.get_setting(conn, CONFIGURATION_KEY, {})
            activity = ActivityLogging.from_json(await q.get_setting(conn, ACTIVITY_LOGGING_KEY))
            levels = EventLogging.from_json(await q.get_setting(conn, EVENT_LOGGING_KEY))
        try:
            ctx.config = apply_saved(self._base, saved)
        except ConfigError as exc:
            _logger.error("the saved configuration is not used: %s", exc)
        levels.apply()
        if ctx.activity_log is None:
            ctx.activity_log = ActivityLog(self._base.data_dir / "activity", activity)
        else:
            ctx.activity_log.options = activity
        self._scheduler.wake()

    def server_info(self) -> ServerInfo:
        """FAXCOMEX ``ServerName``, ``Version`` and ``APIVersion``."""
        return ServerInfo(
            server_name=self._ctx.config.server_name,
            version=__version__,
            api_version=ServerApiVersion.API_VERSION_3,
        )

    # --- configuration ------------------------------------------------------------------------

    async def get_configuration(self) -> Configuration:
        """FAXCOMEX ``Configuration.Refresh()``: the properties as saved in the store (read
        again, so a change saved by another node is taken up here too)."""
        ctx = self._ctx
        async with ctx.db.read() as conn:
            saved = await q.get_setting(conn, CONFIGURATION_KEY, {})
            sizes = await q.archive_sizes(conn)
        ctx.config = apply_saved(self._base, saved)
        return configuration_of(ctx.config, dataclasses.asdict(ctx.switches), sizes)

    async def save_configuration(
        self, changes: dict[str, Any], actor: str = SERVICE_ACTOR
    ) -> Configuration:
        """FAXCOMEX ``Configuration.Save()`` of the properties given; the others keep their
        value. In force at once (the next call, submission or housekeeping pass uses it) and
        kept over the TOML file's values across restarts. ConfigError names a wrong property
        and then nothing changes; one CONFIG event per configuration changed (and
        ``OnQueuesStatusChange`` for the queue switches). Audited as ``actor``'s."""
        ctx = self._ctx
        values = check_changes(changes)
        stored = {k: v for k, v in values.items() if k not in SWITCHES}
        if stored:
            async with ctx.hub.transaction() as conn:
                saved = await q.get_setting(conn, CONFIGURATION_KEY, {})
                saved = {**saved, **saved_json(stored)}
                config = apply_saved(self._base, saved)
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
        self._scheduler.wake()
        return await self.get_configuration()

    # --- queue switches -----------------------------------------------------------------------

    def get_queue_switches(self) -> QueueSwitches:
        """Whether the outgoing queue is blocked or paused and the incoming queue blocked."""
        return self._ctx.switches

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
        ctx = self._ctx
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
            await ctx.hub.emit(conn, QueuesStatusChanged(**value))
        ctx.switches = switches
        self._scheduler.wake()
        return switches

    # --- receipt and logging options ---------------------------------------------------------

    async def get_receipt_options(self) -> ReceiptOptions:
        """FAXCOMEX ``ReceiptOptions.Refresh()``: the password reads as the mask."""
        async with self._ctx.db.read() as conn:
            return (await load_receipt_options(conn)).masked()

    async def save_receipt_options(self, changes: Mapping[str, Any]) -> ReceiptOptions:
        """FAXCOMEX ``ReceiptOptions.Save()`` of the options given (the others kept); a
        ConfigError names a wrong one (NTLM and message boxes are Windows-only)."""
        ctx = self._ctx
        async with ctx.hub.transaction() as conn:
            options = check_receipt_options(changes, await load_receipt_options(conn))
            await q.set_setting(conn, RECEIPT_OPTIONS_KEY, options.to_json(), now=ctx.clock.now())
            await ctx.hub.emit(conn, ConfigChanged(options="receipts"))
        return options.masked()

    async def get_activity_logging(self) -> ActivityLogging:
        """FAXCOMEX ``LoggingOptions.ActivityLogging``; ``database_path`` as it is in use."""
        async with self._ctx.db.read() as conn:
            options = ActivityLogging.from_json(await q.get_setting(conn, ACTIVITY_LOGGING_KEY))
        return self._activity_shown(options)

    async def save_activity_logging(self, changes: Mapping[str, Any]) -> ActivityLogging:
        """FAXCOMEX ``ActivityLogging.Save()``: the next lines follow the new options."""
        key = ACTIVITY_LOGGING_KEY
        options = await self._save_setting(key, ActivityLogging, changes, "activity_logging")
        if self._ctx.activity_log is not None:
            self._ctx.activity_log.options = options
        return self._activity_shown(options)

    def _activity_shown(self, options: ActivityLogging) -> ActivityLogging:
        folder = options.database_path or str(self._ctx.config.data_dir / "activity")
        return dataclasses.replace(options, database_path=folder)

    async def get_event_logging(self) -> EventLogging:
        """FAXCOMEX ``LoggingOptions.EventLogging``: the level of each category."""
        async with self._ctx.db.read() as conn:
            return EventLogging.from_json(await q.get_setting(conn, EVENT_LOGGING_KEY))

    async def save_event_logging(self, changes: Mapping[str, Any]) -> EventLogging:
        """FAXCOMEX ``EventLogging.Save()``: the levels apply at once on this node."""
        levels = await self._save_setting(EVENT_LOGGING_KEY, EventLogging, changes, "event_logging")
        levels.apply()
        return levels

    async def _save_setting(
        self, key: str, kind: type[_Setting], changes: Mapping[str, Any], name: str
    ) -> _Setting:
        """The options kept under ``key`` with ``changes`` made, stored and announced as
        ``ConfigChanged(options=name)`` in one transaction."""
        ctx = self._ctx
        async with ctx.hub.transaction() as conn:
            options = kind.from_json(await q.get_setting(conn, key)).changed(changes)
            await q.set_setting(conn, key, options.to_json(), now=ctx.clock.now())
            await ctx.hub.emit(conn, ConfigChanged(options=name))
        return options

    async def get_audit(
        self, since: datetime | None = None, after: int = 0, limit: int = DEFAULT_PREFETCH_SIZE
    ) -> list[AuditEntryInfo]:
        """The audit trail, oldest first: entries at or after ``since``, numbered after
        ``after`` (the last ``seq`` of the page before), at most ``limit``."""
        async with self._ctx.db.read() as conn:
            entries = await q.list_audit(conn, since=since, after=after, limit=limit)
        return [audit_entry_info(entry) for entry in entries]
