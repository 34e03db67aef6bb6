"""What the parts of the service share: configuration, clock, store, events and lines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from openfax.documents.office import OfficeConverter
from openfax.model.records import QueueSwitches
from openfax.providers import Line
from openfax.service.activity_log import ActivityLog
from openfax.service.clock import Clock
from openfax.service.config_file import ServiceConfig
from openfax.service.event_hub import EventHub
from openfax.store import Database, Spool

_logger = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    """The running service's shared state; ``lines`` maps store device ids to lines."""

    config: ServiceConfig
    clock: Clock
    db: Database
    hub: EventHub
    spool: Spool
    zone: tzinfo | None
    office: OfficeConverter
    """LibreOffice for Office documents, started on the first one and kept."""
    lines: dict[int, Line] = field(default_factory=dict)
    switches: QueueSwitches = field(default_factory=QueueSwitches)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    wake_scheduler: asyncio.Event = field(default_factory=asyncio.Event)
    wake_receipts: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once a transaction that queued a receipt has committed."""
    activity_log: ActivityLog | None = None
    """The inbox and outbox logs (None until the service has read their options)."""
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the service stops: background work ends at its next wait, never inside a
    transaction (a task cancelled there could leave SQLite's write lock taken)."""

    @property
    def node_id(self) -> str:
        return self.config.node_id

    def dials(self, number: str) -> bool:
        """Whether a line of this node reaches ``number`` (a SIP URI needs a SIP line)."""
        return reaches_any(self.lines.values(), number)

    def device_id_of(self, line: Line) -> int:
        """The store id of a provider's line."""
        for device_id, known in self.lines.items():
            if known is line:
                return device_id
        raise KeyError(f"unknown line {line.name}")

    async def sleep_until(self, when: datetime, woken_by: asyncio.Event | None = None) -> bool:
        """Wait on the clock until ``when``, or until ``woken_by`` is set; False if the
        service began stopping first."""
        if woken_by is None:
            return await self.unless_stopping(self.clock.sleep_until(when))
        return await self.unless_stopping(self.clock.sleep_until(when), woken_by.wait())

    async def unless_stopping(self, *waited: Awaitable[object]) -> bool:
        """Wait for the first of ``waited`` to end (the others are cancelled: a race, not
        work that belongs together); False if the service began stopping first."""
        racing = [asyncio.ensure_future(w) for w in (*waited, self.stopping.wait())]
        try:
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in racing:
                waiting.cancel()
        return not self.stopping.is_set()

    async def store_until_done(self, write: Callable[[], Awaitable[object]], what: str) -> bool:
        """Run the store work ``write`` (a whole transaction) until it succeeds; after a store
        error (say, SQLite's write lock not free within its busy timeout under overload) it
        is logged and tried again every second. False if the service began stopping first:
        start-up recovery then finishes what ``write`` was for.

        For what must not be lost (a call's outcome, a received fax); a mere hint or a
        progress step is logged and dropped instead.
        """
        while True:
            try:
                await write()
                return True
            except SQLAlchemyError:
                _logger.exception("%s could not be written to the store; trying again", what)
            if not await self.sleep_until(self.clock.now() + timedelta(seconds=1)):
                return False

    def spawn(self, work: Coroutine[Any, Any, object], name: str) -> asyncio.Task[Any]:
        """Run ``work`` in the background, owned by the service: logged if it fails,
        cancelled when the service stops."""
        # Not a task group: each piece of work is independent; one failing must not stop others.
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _logger.error("%s failed", task.get_name(), exc_info=task.exception())


def reaches_any(lines: Iterable[Line], number: str) -> bool:
    """Whether one of ``lines`` reaches ``number`` (a SIP URI needs a SIP line)."""
    return any(line.reaches(number) for line in lines)
