"""Inbound routing in the service: the methods' priorities, configurations and per-line use,
and the deliveries of each received fax, kept in the store.

When a fax has been archived, one delivery row per method the line uses (in priority order,
leaving out those whose ``called_numbers`` do not hold the number dialled) records that
method's attempts. Each method is retried on its own exponential backoff
(``incoming.routing_retry_delay_minutes`` doubled at each failure, at most
``incoming.routing_retries`` times); the incoming job shows ROUTING, then RETRYING while a
failed method waits, and RETRIES_EXCEEDED with the errors once one has failed for good; it
leaves the queue when every method has delivered. The fax is in the incoming archive all
along. Rows survive a restart, so pending retries resume at their time. Cancelling the job
fails its pending deliveries ("cancelled") and takes it out of the queue; the fax stays.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import (
    ConfigError,
    InvalidOperationError,
    MessageNotFoundError,
    NotSupportedError,
    RoutingError,
)
from openfax.masking import masked, unmasked
from openfax.model import format_id
from openfax.model.events import ConfigChanged, IncomingJobRemoved
from openfax.model.lifecycle import IncomingInput
from openfax.model.records import DeliveryInfo
from openfax.routing import (
    BUILTIN_EXTENSION,
    CALLED_NUMBERS,
    ROUTE_TO_EMAIL,
    WORDS,
    MethodSpec,
    Registration,
    Registry,
    RoutedFax,
    RoutingExtension,
    RoutingInformation,
    RoutingMethod,
    normalize_guid,
)
from openfax.routing.registry import LAST
from openfax.service.config_file import listen_address
from openfax.service.context import ServiceContext
from openfax.service.housekeeping import pdf_cache_path
from openfax.service.receipts import load_receipt_options
from openfax.service.system_log import inbound_events
from openfax.service.views import delivery_info, incoming_job_changed
from openfax.store import DeliveryStatus, Direction, IncomingJob, RoutingDelivery
from openfax.store import queries as q

_logger = logging.getLogger(__name__)

PRIORITIES_KEY = "routing.priorities"
EXTENSIONS_KEY = "routing.extensions"
CANCELLED = "cancelled"
"""The error of the deliveries a cancel stopped."""
MAX_DELAY = timedelta(days=1)
"""The longest wait between two attempts, however many failed."""


def configuration_key(guid: str, device_id: int) -> str:
    """The settings key of a method's configuration for a line (0: every line)."""
    return f"routing.configuration.{guid}.{device_id}"


def _ordered(registry: Registry, priorities: Mapping[str, int]) -> list[str]:
    """The GUIDs of the registry's methods by their saved priorities (the unsaved last, in
    the registry's order)."""
    guids = list(registry.methods)
    return sorted(guids, key=lambda g: (priorities.get(g, LAST), guids.index(g)))


def called_number(routing_information: str) -> str:
    """The number dialled, from FAXCOMEX's ``CanonicalNumber[|additional-info]``."""
    return routing_information.split("|", 1)[0].strip()


@dataclass(frozen=True)
class MethodInfo:
    """FAXCOMEX ``FaxInboundRoutingMethod``: a method and its priority (1 runs first)."""

    method: RoutingMethod
    priority: int


class InboundRouting:
    """The routing extensions loaded at start, their methods' settings, and the routing of
    received faxes. Create with :meth:`open`."""

    def __init__(self, ctx: ServiceContext, registry: Registry, order: list[str]) -> None:
        self.ctx = ctx
        self.registry = registry
        self._order = order
        self._wake: dict[int, asyncio.Event] = {}

    @classmethod
    async def open(cls, ctx: ServiceContext) -> InboundRouting:
        """Load the registered extensions (a broken one is listed with its error)."""
        async with ctx.db.read() as conn:
            recorded = await q.get_setting(conn, EXTENSIONS_KEY, [])
            priorities: dict[str, int] = await q.get_setting(conn, PRIORITIES_KEY, {})
        registrations = []
        for value in recorded:
            try:
                registrations.append(Registration.from_json(value))
            except (ConfigError, KeyError, TypeError) as exc:
                _logger.error("a recorded routing extension is unreadable (%s): %r", exc, value)
        registry = await asyncio.to_thread(Registry.load, registrations)
        return cls(ctx, registry, _ordered(registry, priorities))

    async def take_up_priorities(self) -> None:
        """Read the methods' priorities again (saved on another node of the cluster)."""
        async with self.ctx.db.read() as conn:
            priorities: dict[str, int] = await q.get_setting(conn, PRIORITIES_KEY, {})
        self._order = _ordered(self.registry, priorities)

    # --- extensions and methods -----------------------------------------------------------------

    def get_extensions(self) -> list[RoutingExtension]:
        """FAXCOMEX ``InboundRouting.GetExtensions()``."""
        return list(self.registry.extensions.values())

    def get_methods(self) -> list[MethodInfo]:
        """FAXCOMEX ``InboundRouting.GetMethods()``: every method, by priority."""
        return [MethodInfo(self.registry.methods[g], i + 1) for i, g in enumerate(self._order)]

    def get_method(self, guid: str) -> MethodInfo:
        """One method by GUID (braces optional); NotSupportedError if none has it."""
        key = self._guid(guid)
        return MethodInfo(self.registry.methods[key], self._order.index(key) + 1)

    def _guid(self, guid: str) -> str:
        key = normalize_guid(guid)
        if key is None or key not in self.registry.methods:
            raise NotSupportedError(f"no inbound routing method {guid} is installed")
        return key

    async def set_method_priority(self, guid: str, priority: int) -> MethodInfo:
        """FAXCOMEX ``Method.Priority`` + ``Save()``: the method moves to that place (1 first,
        beyond the last: last) and the others close up, so priorities stay 1..N."""
        key = self._guid(guid)
        if priority < 1:
            raise ConfigError("inbound routing", "priority", f"must be 1 or more, not {priority}")
        order = [g for g in self._order if g != key]
        order.insert(min(priority, len(self._order)) - 1, key)
        async with self.ctx.hub.transaction() as conn:
            value = {g: i + 1 for i, g in enumerate(order)}
            await q.set_setting(conn, PRIORITIES_KEY, value, now=self.ctx.clock.now())
            await self.ctx.hub.emit(conn, ConfigChanged(routing_method=key))
        self._order = order
        return self.get_method(key)

    # --- configuration ----------------------------------------------------------------------------

    async def get_configuration(self, guid: str, device_id: int = 0) -> dict[str, Any] | None:
        """A method's configuration for a line (0: the one every line without its own uses),
        secrets masked; None when none is set."""
        key = self._guid(guid)
        async with self.ctx.db.read() as conn:
            await self._check_device(conn, device_id)
            value = await q.get_setting(conn, configuration_key(key, device_id))
        return None if value is None else masked(value)

    async def set_configuration(
        self, guid: str, device_id: int, configuration: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Check and store a method's configuration for a line (0: every line); a secret
        given as the mask keeps its stored value. ConfigError names a wrong key."""
        key = self._guid(guid)
        method = self.registry.methods[key]
        async with self.ctx.hub.transaction() as conn:
            await self._check_device(conn, device_id)
            setting = configuration_key(key, device_id)
            stored = await q.get_setting(conn, setting) or {}
            value = method.check(unmasked(configuration, stored))
            await q.set_setting(conn, setting, value, now=self.ctx.clock.now())
            await self.ctx.hub.emit(conn, ConfigChanged(routing_method=key, device=device_id))
        return masked(value)

    async def delete_configuration(self, guid: str, device_id: int = 0) -> None:
        """Forget a method's configuration for a line (the line then uses the one of 0)."""
        key = self._guid(guid)
        async with self.ctx.hub.transaction() as conn:
            await q.delete_setting(conn, configuration_key(key, device_id))
            await self.ctx.hub.emit(conn, ConfigChanged(routing_method=key, device=device_id))

    async def _check_device(self, conn: AsyncConnection, device_id: int) -> None:
        if device_id != 0 and await q.get_device(conn, device_id) is None:
            raise MessageNotFoundError("device", device_id)

    async def use_routing_method(self, device_id: int, guid: str, use: bool) -> None:
        """FAXCOMEX ``Device.UseRoutingMethod(guid, use)``. A method no longer installed
        (its extension unregistered) can still be turned off."""
        key = normalize_guid(guid) if not use else self._guid(guid)
        if key is None:
            raise NotSupportedError(f"{guid!r} is not a routing method's GUID")
        async with self.ctx.hub.transaction() as conn:
            device = await q.get_device(conn, device_id)
            if device is None:
                raise MessageNotFoundError("device", device_id)
            methods = [m for m in device.routing_methods if m != key] + ([key] if use else [])
            await q.update_device(conn, device_id, {"routing_methods": methods})
            await self.ctx.hub.emit(conn, ConfigChanged(device_id=device_id))

    # --- third-party extensions -------------------------------------------------------------------

    async def register_extension(
        self, unique_name: str, friendly_name: str, image_name: str, methods: list[str]
    ) -> None:
        """FAXCOMEX ``RegisterInboundRoutingExtension``: recorded now, loaded at the next
        start. ``image_name`` is the extension's entry point in ``openfax.routing_methods``;
        each method is ``"Name;FriendlyName;Function;{GUID}"``."""
        source = "routing extension"
        if not unique_name.strip() or unique_name == BUILTIN_EXTENSION:
            raise ConfigError(source, "unique_name", f"{unique_name!r} cannot be registered")
        if not image_name.strip():
            raise ConfigError(source, "image_name", "must name an entry point")
        if not methods:
            raise ConfigError(source, "methods", "must list at least one method")
        specs = tuple(MethodSpec.parse(text) for text in methods)
        registration = Registration(
            unique_name=unique_name,
            friendly_name=friendly_name or unique_name,
            image_name=image_name,
            methods=specs,
        )
        async with self.ctx.hub.transaction() as conn:
            recorded = await q.get_setting(conn, EXTENSIONS_KEY, [])
            if any(r.get("unique_name") == unique_name for r in recorded):
                raise InvalidOperationError(
                    f"a routing extension named {unique_name!r} is already registered"
                )
            taken = {
                g
                for g, m in self.registry.methods.items()
                if m.extension_unique_name != unique_name
            } | {MethodSpec.parse(m).guid for r in recorded for m in r.get("methods", [])}
            guids = [spec.guid for spec in specs]
            reused = [g for g in guids if g in taken or guids.count(g) > 1]
            if reused:
                raise ConfigError(source, "methods", f"GUID {reused[0]} is already used")
            recorded = [*recorded, registration.to_json()]
            await q.set_setting(conn, EXTENSIONS_KEY, recorded, now=self.ctx.clock.now())
            await self.ctx.hub.emit(conn, ConfigChanged(routing_extension=unique_name))
        _logger.info("routing extension %s registered; it loads at the next start", unique_name)

    async def unregister_extension(self, unique_name: str) -> None:
        """FAXCOMEX ``UnregisterInboundRoutingExtension``: gone at the next start."""
        async with self.ctx.hub.transaction() as conn:
            recorded = await q.get_setting(conn, EXTENSIONS_KEY, [])
            kept = [r for r in recorded if r.get("unique_name") != unique_name]
            if len(kept) == len(recorded):
                raise NotSupportedError(f"no routing extension {unique_name!r} is registered")
            await q.set_setting(conn, EXTENSIONS_KEY, kept, now=self.ctx.clock.now())
            await self.ctx.hub.emit(conn, ConfigChanged(routing_extension=unique_name))

    # --- deliveries -------------------------------------------------------------------------------

    async def get_deliveries(
        self,
        *,
        message_id: int | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 1000,
    ) -> list[DeliveryInfo]:
        """A fax's deliveries in the order its methods run, or every delivery in ``status``
        (the failed ones, for an administrator), latest first."""
        async with self.ctx.db.read() as conn:
            if message_id is not None:
                await q.get_message(conn, Direction.IN, message_id)
            found = await q.list_routing_deliveries(
                conn, message_id=message_id, status=status, limit=limit
            )
        return [delivery_info(delivery, self.registry) for delivery in found]

    async def resend(self, delivery_id: int) -> DeliveryInfo:
        """Run a delivery that failed for good again, with a fresh set of retries."""
        now = self.ctx.clock.now()
        async with self.ctx.hub.transaction() as conn:
            delivery = await q.get_routing_delivery(conn, delivery_id)
            if delivery.status is not DeliveryStatus.FAILED:
                raise InvalidOperationError(
                    f"routing delivery {delivery_id:016x} is {delivery.status.value}: "
                    "only failed ones are sent again"
                )
            try:
                job = await q.get_incoming_job(conn, delivery.message_id, for_update=True)
            except MessageNotFoundError:
                raise InvalidOperationError(
                    f"fax {delivery.message_id:016x} has left the incoming queue"
                ) from None
            changes = {
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": None,
                "updated_at": now,
            }
            resent = await q.update_routing_delivery(conn, delivery_id, changes)
            assert resent is not None
            routing = await self._changed(conn, await q.resend_routing(conn, job))
        _logger.info("routing delivery %016x resent", delivery_id)
        if routing is not None:
            self.ctx.spawn(self.route(routing), f"routing {routing.id:016x}")
        return delivery_info(resent, self.registry)

    async def cancel(self, conn: AsyncConnection, job: IncomingJob) -> None:
        """FAXCOMEX ``IncomingJob.Cancel()`` of a fax being routed, in the caller's transaction
        (``job`` read for update): its pending deliveries fail as "cancelled" and the job
        leaves the queue, as when routing completes; the archived fax stays."""
        now = self.ctx.clock.now()
        changes = {
            "status": DeliveryStatus.FAILED,
            "last_error": CANCELLED,
            "next_attempt_at": None,
            "updated_at": now,
        }
        for delivery in await q.list_routing_deliveries(conn, message_id=job.id):
            if delivery.status is DeliveryStatus.PENDING:
                await q.update_routing_delivery(conn, delivery.id, changes)
        await q.delete_incoming_job(conn, job.id)
        await self.ctx.hub.emit(conn, IncomingJobRemoved(job_id=job.id))
        _logger.info("fax %016x: routing cancelled", job.id)

    def wake(self, job_id: int) -> None:
        """Have the routing of a fax look at its deliveries again now, if it is waiting."""
        wake = self._wake.get(job_id)
        if wake is not None:
            wake.set()

    # --- routing a received fax -------------------------------------------------------------------

    async def route(self, job: IncomingJob) -> None:
        """Run the fax's due deliveries, then wait for the next retry, until none is pending.
        A second call for a fax being routed only wakes the first."""
        if job.id in self._wake:
            self.wake(job.id)
            return
        wake = self._wake[job.id] = asyncio.Event()
        try:
            await self._route(job, wake)
        finally:
            del self._wake[job.id]

    async def _route(self, job: IncomingJob, wake: asyncio.Event) -> None:
        deliveries = await self._plan(job)
        while True:
            wake.clear()
            now = self.ctx.clock.now()
            due = [
                d
                for d in deliveries
                if d.status is DeliveryStatus.PENDING
                and (d.next_attempt_at is None or d.next_attempt_at <= now)
            ]
            settled: IncomingJob | None = job
            for delivery in due:
                if self.ctx.stopping.is_set():
                    return
                settled, deliveries = await self._attempt(job, delivery)
                if settled is None:
                    return
                job = settled
            if not due:
                async with self.ctx.hub.transaction() as conn:
                    deliveries = await q.list_routing_deliveries(conn, message_id=job.id)
                    settled = await self._settle(conn, job, deliveries)
                if settled is None:
                    return
                job = settled
            waiting = [
                d.next_attempt_at or now for d in deliveries if d.status is DeliveryStatus.PENDING
            ]
            if not waiting or not await self.ctx.sleep_until(min(waiting), wake):
                return
            # Woken early, the deliveries may have been resent or cancelled meanwhile.
            async with self.ctx.db.read() as conn:
                deliveries = await q.list_routing_deliveries(conn, message_id=job.id)

    async def _plan(self, job: IncomingJob) -> list[RoutingDelivery]:
        """The fax's deliveries, made the first time from the methods its line uses, leaving
        out those whose called numbers or words (in the fax's text) it does not match."""
        now = self.ctx.clock.now()
        number = called_number(job.routing_information)
        async with self.ctx.hub.transaction() as conn:
            known = await q.list_routing_deliveries(conn, message_id=job.id)
            if known:
                return known
            try:
                await q.get_incoming_job(conn, job.id, for_update=True)
            except MessageNotFoundError:
                return []  # cancelled before its routing began
            device = await q.get_device(conn, job.device_id)
            used = set(device.routing_methods) if device is not None else set()
            read = await q.get_message_text(conn, job.id)
            text = read.text.casefold() if read is not None else ""
            planned = []
            for priority, guid in enumerate(self._order + sorted(used - set(self._order)), 1):
                if guid not in used:
                    continue
                configuration = await self._configuration(conn, guid, job.device_id)
                numbers = (configuration or {}).get(CALLED_NUMBERS)
                if numbers and number not in numbers:
                    continue
                words = (configuration or {}).get(WORDS)
                if words and not any(word.casefold() in text for word in words):
                    continue
                planned.append(
                    RoutingDelivery(
                        message_id=job.id,
                        device_id=job.device_id,
                        method=guid,
                        priority=priority,
                        created_at=now,
                        updated_at=now,
                    )
                )
            await q.insert_routing_deliveries(conn, planned)
        return planned

    async def _configuration(
        self, conn: AsyncConnection, guid: str, device_id: int
    ) -> dict[str, Any] | None:
        """The configuration a line's method uses: the line's own, else every line's."""
        own = await q.get_setting(conn, configuration_key(guid, device_id))
        if own is not None:
            return dict(own)
        shared = await q.get_setting(conn, configuration_key(guid, 0))
        return None if shared is None else dict(shared)

    async def _attempt(
        self, job: IncomingJob, delivery: RoutingDelivery
    ) -> tuple[IncomingJob | None, list[RoutingDelivery]]:
        """One attempt of one method, within the routing step deadline; its outcome stored
        and shown on the incoming job in one transaction. The job as it is then (None once
        it has left the queue or was gone) and the fax's deliveries."""
        ctx = self.ctx
        attempt = delivery.attempts + 1
        method = self.registry.methods.get(delivery.method)
        name = method.friendly_name if method else delivery.method
        error: str | None = None
        retryable = True
        try:
            await self._run(job, delivery, method, attempt)
        except RoutingError as exc:
            error, retryable = str(exc), exc.retryable
        except ConfigError as exc:
            error, retryable = str(exc), False
        except TimeoutError:
            seconds = ctx.config.deadlines.routing_step_seconds
            error = f"took longer than the {seconds:g} s allowed (deadlines.routing_step_seconds)"
        except Exception as exc:
            _logger.exception("routing method %s failed on fax %016x", name, job.id)
            error = f"{type(exc).__name__}: {exc}"
        now = ctx.clock.now()
        changes: dict[str, Any] = {"attempts": attempt, "updated_at": now, "next_attempt_at": None}
        if error is None:
            changes |= {"status": DeliveryStatus.DONE, "delivered_at": now, "last_error": ""}
            _logger.info("fax %016x: %s done (attempt %d)", job.id, name, attempt)
        elif retryable and attempt <= ctx.config.incoming.routing_retries:
            minutes = ctx.config.incoming.routing_retry_delay_minutes * 2 ** (attempt - 1)
            delay = min(timedelta(minutes=minutes), MAX_DELAY)
            changes |= {"last_error": error, "next_attempt_at": now + delay}
            _logger.warning(
                "fax %016x: %s failed (attempt %d), again in %s: %s",
                *(job.id, name, attempt, delay, error),
            )
        else:
            changes |= {"status": DeliveryStatus.FAILED, "last_error": error}
            inbound_events.error(
                "fax %016x: %s failed for good (attempt %d): %s", job.id, name, attempt, error
            )
        async with ctx.hub.transaction() as conn:
            current = await q.get_routing_delivery(conn, delivery.id)
            # A delivery cancelled during the attempt stays so, unless it got through.
            if error is None or current.status is DeliveryStatus.PENDING:
                await q.update_routing_delivery(conn, delivery.id, changes)
            deliveries = await q.list_routing_deliveries(conn, message_id=delivery.message_id)
            settled = await self._settle(conn, job, deliveries)
        return settled, deliveries

    async def _run(
        self,
        job: IncomingJob,
        delivery: RoutingDelivery,
        method: RoutingMethod | None,
        attempt: int,
    ) -> None:
        if method is None:
            raise RoutingError(f"no routing method {delivery.method} is installed", retryable=False)
        if method.route is None:
            extension = self.registry.extensions[method.extension_unique_name]
            raise RoutingError(
                f"its extension {extension.unique_name} did not load: {extension.init_error}",
                retryable=False,
            )
        async with self.ctx.db.read() as conn:
            configuration = await self._configuration(conn, delivery.method, job.device_id)
            if configuration is not None and delivery.method == ROUTE_TO_EMAIL:
                # FAXCOMEX UseForInboundRouting: the receipts' SMTP settings fill the gaps.
                shared = (await load_receipt_options(conn)).routing_defaults()
                configuration = shared | configuration
        if configuration is None:
            raise RoutingError(
                f"{method.friendly_name} is not configured for this line", retryable=False
            )
        fax = self._routed_fax(job, delivery, attempt)
        route = method.route
        async with asyncio.timeout(self.ctx.config.deadlines.routing_step_seconds):
            if inspect.iscoroutinefunction(route):
                await route(fax, configuration)
            else:
                result = await asyncio.to_thread(route, fax, configuration)
                if inspect.isawaitable(result):
                    await result

    def _routed_fax(self, job: IncomingJob, delivery: RoutingDelivery, attempt: int) -> RoutedFax:
        ctx = self.ctx
        line = ctx.lines.get(job.device_id)
        assert job.receive_path is not None
        address = listen_address(ctx.config.api.listen) if ctx.config.api.listen else None
        pdf_url = ""
        if address is not None and address[1] != 0:
            pdf_url = f"http://{ctx.config.api.listen}/v1/incoming-messages/{format_id(job.id)}/pdf"
        return RoutedFax(
            message_id=job.id,
            event_id=delivery.id,
            attempt=attempt,
            routing_information=RoutingInformation(
                called_number=called_number(job.routing_information),
                caller_id=job.caller_id,
                device_id=job.device_id,
                device_name=line.name if line is not None else str(job.device_id),
            ),
            csid=job.csid,
            tsid=job.tsid,
            pages=job.pages,
            partial=job.partial,
            received_at=job.ended_at or job.started_at,
            tiff=ctx.spool.path(job.receive_path),
            pdf=pdf_cache_path(ctx.spool, Direction.IN, job.id),
            pdf_url=pdf_url,
        )

    async def _settle(
        self, conn: AsyncConnection, job: IncomingJob, deliveries: list[RoutingDelivery]
    ) -> IncomingJob | None:
        """Show the deliveries on the incoming job; remove the job once all are done."""
        if all(d.status is DeliveryStatus.DONE for d in deliveries):
            # Not there any more if it was cancelled meanwhile.
            if await q.delete_incoming_job(conn, job.id):
                await self.ctx.hub.emit(conn, IncomingJobRemoved(job_id=job.id))
                _logger.info("fax %016x routed", job.id)
            return None
        pending = any(d.status is DeliveryStatus.PENDING for d in deliveries)
        failing = any(d.last_error for d in deliveries)
        given = (
            IncomingInput.ROUTING_SPENT if not pending
            else IncomingInput.ROUTING_FAILED if failing
            else IncomingInput.ROUTE
        )  # fmt: skip
        names = {g: m.friendly_name for g, m in self.registry.methods.items()}
        text = "; ".join(
            f"{names.get(d.method, d.method)}: {d.last_error}"
            for d in deliveries
            if d.last_error and d.status is not DeliveryStatus.DONE
        )
        state = {
            d.method: {"status": d.status.value, "attempts": d.attempts, "error": d.last_error}
            for d in deliveries
        }
        retries = max((max(d.attempts - 1, 0) for d in deliveries), default=0)
        try:
            current = await q.get_incoming_job(conn, job.id, for_update=True)
        except MessageNotFoundError:
            return None  # cancelled meanwhile
        shown = await q.show_routing(conn, current, given, q.RoutingShown(text, state, retries))
        return await self._changed(conn, shown)

    async def _changed(self, conn: AsyncConnection, job: IncomingJob | None) -> IncomingJob | None:
        """Tell of the incoming job just written (if it was)."""
        if job is not None:
            await self.ctx.hub.emit(conn, incoming_job_changed(job))
        return job
