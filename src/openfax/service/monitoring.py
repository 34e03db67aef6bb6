"""What an administrator's monitoring reads of a running node: its metrics in Prometheus's
text format, and whether it is ready to work.

Two kinds of metric. Gauges of what is (jobs by state, calls on each line, receipts and
routing deliveries waiting or failed, the store's latency) are read when a scrape asks, by
count queries that walk an index, never the rows. Counters and histograms of what happened
(pages, failures by cause, T.38 and G.711 calls, call set-up and fax times) follow the
server's events, the same log every listener hears, from this node's lines only (on a
shared PostgreSQL the log holds every node's events). Labels take only bounded values: a
provider's or a line's name, a FAXCOMEX status name; never a number dialled or a job id.

A node is ready when its store answers, its schema is the one this version expects, and
its device providers are in service; alive while its event loop runs (the API answering
says so).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy.exc import SQLAlchemyError

from openfax import __version__
from openfax.model import ExtendedStatus, JobStatus, ProviderStatus, ServerEvents
from openfax.model.events import (
    EventType,
    IncomingJobChanged,
    IncomingJobRemoved,
    OutgoingJobChanged,
    OutgoingJobRemoved,
)
from openfax.providers import DeviceState, carried_by
from openfax.service.context import ServiceContext
from openfax.service.device_providers import DeviceProviders
from openfax.service.event_hub import ServerEvent
from openfax.service.job_states import base
from openfax.store import Direction
from openfax.store import queries as q
from openfax.store.database import head_revision, schema_revision

_logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of Prometheus's text format."""
JOB_STATES = (
    JobStatus.PENDING,
    JobStatus.INPROGRESS,
    JobStatus.RETRYING,
    JobStatus.ROUTING,
    JobStatus.CANCELING,
    JobStatus.FAILED,
    JobStatus.RETRIES_EXCEEDED,
    JobStatus.COMPLETED,
    JobStatus.CANCELED,
)
"""The base states a job gauge shows, each always (0 when no job is in it)."""
FOLLOWED = frozenset(
    {
        EventType.OUTGOING_JOB_CHANGED,
        EventType.OUTGOING_JOB_REMOVED,
        EventType.INCOMING_JOB_CHANGED,
        EventType.INCOMING_JOB_REMOVED,
    }
)
"""The events the metrics follow (a submission's thousands of OnOutgoingJobAdded are not
even decoded)."""
IN_CALL = (JobStatus.INPROGRESS, JobStatus.CANCELING)
"""A job's base states while its call runs."""
FAILED = (JobStatus.RETRYING, JobStatus.FAILED, JobStatus.RETRIES_EXCEEDED)
"""The base states a call that failed leaves its job in."""
SETUP_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120)
DURATION_BUCKETS = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LAG_INTERVAL_SECONDS = 0.5
"""How often the event loop's lag is measured."""
MAX_CALLS_FOLLOWED = 10_000
"""Calls whose events are followed at most (a node runs one a line: far fewer)."""
STORE_CHECK_SECONDS = 5.0
"""How long the readiness check and a scrape wait for the store before calling it
unreachable."""
RETRY_SECONDS = 1.0
"""How long the metrics wait after a store error before reading the events again."""


@dataclass
class _Call:
    """What the metrics keep of one call of this node while it runs."""

    pages: int
    dialing_at: datetime | None = None
    answered_at: datetime | None = None


class Monitoring:
    """The running service's ``monitoring``: its metrics and its readiness."""

    def __init__(self, ctx: ServiceContext, providers: DeviceProviders) -> None:
        self._ctx = ctx
        self._providers = providers
        self._head = head_revision()
        self._after = 0
        """The number of the last event the metrics took."""
        self._outgoing: dict[int, _Call] = {}
        self._incoming: dict[int, _Call] = {}
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # the process's CPU, memory and files, from /proc
        Gauge(
            "openfax_info",
            "This node: its OpenFax version and node id.",
            ["version", "node"],
            registry=registry,
        ).labels(__version__, ctx.node_id).set(1)
        self.jobs = Gauge(
            "openfax_jobs",
            "Jobs in the queues (every node's) by base state.",
            ["queue", "state"],
            registry=registry,
        )
        self.calls = Gauge(
            "openfax_calls_in_progress",
            "Calls on each of this node's lines (0 or 1).",
            ["provider", "line"],
            registry=registry,
        )
        self.pages_sent = Counter(
            "openfax_pages_sent",
            "Pages the far end confirmed, on this node's calls.",
            registry=registry,
        )
        self.pages_received = Counter(
            "openfax_pages_received",
            "Pages received whole, on this node's calls.",
            registry=registry,
        )
        self.failures = Counter(
            "openfax_failures",
            "Calls of this node that failed, by FAXCOMEX extended status.",
            ["direction", "cause"],
            registry=registry,
        )
        self.network_calls = Counter(
            "openfax_network_fax_calls",
            "Calls of this node that reached the fax phase over T.38 or G.711 (SIP lines).",
            ["direction", "media"],
            registry=registry,
        )
        self.setup = Histogram(
            "openfax_call_setup_seconds",
            "From dialling to the far end answering.",
            buckets=SETUP_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "openfax_fax_duration_seconds",
            "From the answer to the end of a call.",
            ["direction"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.routing = Gauge(
            "openfax_routing_deliveries",
            "Inbound routing deliveries pending and failed.",
            ["state"],
            registry=registry,
        )
        self.receipts = Gauge(
            "openfax_receipts",
            "Delivery receipts pending and failed.",
            ["state"],
            registry=registry,
        )
        self.loop_lag = Histogram(
            "openfax_event_loop_lag_seconds",
            "How late the event loop ran a timer (measured every half second).",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.store_latency = Gauge(
            "openfax_database_latency_seconds",
            "How long the last scrape's read of the store (its counts) took.",
            registry=registry,
        )
        self.store_up = Gauge(
            "openfax_database_up",
            "1 when the scrape's read of the store succeeded, 0 when it failed or took 5 s.",
            registry=registry,
        )

    # --- scraping ---------------------------------------------------------------------------

    async def exposition(self) -> bytes:
        """Every metric in Prometheus's text format, the gauges read now. While the store
        does not answer, ``openfax_database_up`` is 0 and the gauges it gives are left out
        (the counters and the lines' states are still there)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(STORE_CHECK_SECONDS), self._ctx.db.read() as conn:
                outgoing = await q.count_queue_by_status(conn, Direction.OUT)
                incoming = await q.count_queue_by_status(conn, Direction.IN)
                routing = await q.count_routing_deliveries(conn)
                receipts = await q.count_receipts(conn)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            _logger.warning("metrics: the store did not answer: %s", _first_line(exc))
            for gauge in (self.jobs, self.routing, self.receipts, self.store_latency):
                gauge.clear()
            self.store_up.set(0)
        else:
            self.store_latency.set(time.perf_counter() - started)
            self.store_up.set(1)
            # From here on nothing waits: a scrape sees one consistent set of gauges.
            for queue, counts in (("outgoing", outgoing), ("incoming", incoming)):
                by_state = dict.fromkeys(JOB_STATES, 0)
                for status, n in counts.items():
                    by_state[base(status)] = by_state.get(base(status), 0) + n
                for state, n in by_state.items():
                    self.jobs.labels(queue, (state.name or "").lower()).set(n)
            for gauge, delivery_counts in ((self.routing, routing), (self.receipts, receipts)):
                for delivery_status, n in delivery_counts.items():
                    gauge.labels(delivery_status.value).set(n)
        self.calls.clear()
        for provider in self._providers.running():
            for line in provider.devices:
                busy = line.state is not DeviceState.IDLE
                self.calls.labels(provider.name, line.name).set(1 if busy else 0)
        return generate_latest(self.registry)

    # --- readiness --------------------------------------------------------------------------

    async def not_ready(self) -> list[str]:
        """Why this node is not ready to work, one reason each (none: ready)."""
        reasons = []
        if self._ctx.stopping.is_set():
            reasons.append("the service is stopping")
        try:
            async with asyncio.timeout(STORE_CHECK_SECONDS), self._ctx.db.read() as conn:
                revision = await schema_revision(conn)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            reasons.append(f"the store cannot be reached: {_first_line(exc)}")
        else:
            if revision != self._head:
                reasons.append(
                    f"the database schema is at migration {revision or '(none)'}, "
                    f"this version of OpenFax needs {self._head}"
                )
        # SQLite's open connections still read and write its file once it is deleted or
        # moved: what is written then is lost when they close.
        engine = self._ctx.db.engine
        path = engine.url.database or ":memory:"
        local = engine.dialect.name == "sqlite" and path != ":memory:"
        if local and not await asyncio.to_thread(os.path.exists, path):
            reasons.append(f"the database file {path} is gone (deleted or moved)")
        for provider in self._providers.get_device_providers():
            if provider.status is not ProviderStatus.SUCCESS:
                error = f": {provider.init_error}" if provider.init_error else ""
                reasons.append(
                    f"device provider {provider.unique_name} is not in service "
                    f"({provider.status.name}){error}"
                )
        return reasons

    # --- following the service -------------------------------------------------------------

    async def follow_events(self) -> None:
        """Feed the counters and histograms from the server's events, from now until the
        service stops; after a store error, again from the last event taken."""
        ctx = self._ctx
        self._after = await ctx.hub.last_seq()
        while await ctx.unless_stopping(self._take_events()) and not ctx.hub.closed:
            await ctx.sleep_until(ctx.clock.now() + timedelta(seconds=RETRY_SECONDS))

    async def _take_events(self) -> None:
        """Observe the events after the last one taken, until the hub closes or the store
        fails (logged)."""
        mask = ServerEvents.OUT_QUEUE | ServerEvents.IN_QUEUE
        try:
            async for event in self._ctx.hub.subscribe(mask, self._after, only=FOLLOWED):
                self._after = event.seq
                self.observe(event)
        except SQLAlchemyError:
            _logger.exception("the metrics could not read the server's events")

    async def measure_loop_lag(self) -> None:
        """Measure how late the event loop wakes a timer, every ``LAG_INTERVAL_SECONDS``,
        until the service stops: a loop kept busy by one task delays every call's audio."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_INTERVAL_SECONDS
            if not await self._ctx.unless_stopping(asyncio.sleep(LAG_INTERVAL_SECONDS)):
                return
            self.loop_lag.observe(max(0.0, loop.time() - due))

    def observe(self, event: ServerEvent) -> None:
        """Count what one event of a job says happened on this node's calls."""
        payload = event.payload
        if isinstance(payload, OutgoingJobChanged):
            self._outgoing_changed(payload, event.created_at)
        elif isinstance(payload, IncomingJobChanged):
            self._incoming_changed(payload)
        elif isinstance(payload, OutgoingJobRemoved):
            self._outgoing.pop(payload.job_id, None)
        elif isinstance(payload, IncomingJobRemoved):
            self._incoming.pop(payload.job_id, None)

    def _followed(
        self,
        calls: dict[int, _Call],
        job_id: int,
        status: JobStatus,
        device_id: int | None,
        pages: int,
    ) -> _Call | None:
        """The call of a job being followed, or one that just began on this node's line."""
        call = calls.get(job_id)
        mine = device_id in self._ctx.lines
        if call is not None and device_id is not None and not mine:
            del calls[job_id]  # another node took the job over
            return None
        begins = call is None and status is JobStatus.INPROGRESS and mine
        if begins and len(calls) < MAX_CALLS_FOLLOWED:
            call = calls[job_id] = _Call(pages)
        return call

    def _outgoing_changed(self, job: OutgoingJobChanged, at: datetime) -> None:
        status = base(job.status)
        call = self._followed(
            self._outgoing, job.job_id, status, job.device_id, job.pages_confirmed
        )
        if call is None:
            return
        if job.pages_confirmed > call.pages:
            self.pages_sent.inc(job.pages_confirmed - call.pages)
            call.pages = job.pages_confirmed
        if job.extended_status == ExtendedStatus.DIALING and call.dialing_at is None:
            call.dialing_at = at
        elif job.extended_status == ExtendedStatus.TRANSMITTING and call.answered_at is None:
            call.answered_at = at
            if call.dialing_at is not None:
                self.setup.observe((at - call.dialing_at).total_seconds())
        if status in IN_CALL:
            return
        del self._outgoing[job.job_id]
        self._count_media("outgoing", job.extended_status_text)
        if status in FAILED:
            self.failures.labels("outgoing", _cause(job.extended_status)).inc()
        if call.answered_at is not None:
            self.duration.labels("outgoing").observe((at - call.answered_at).total_seconds())

    def _incoming_changed(self, job: IncomingJobChanged) -> None:
        status = base(job.status)
        call = self._followed(self._incoming, job.job_id, status, job.device_id, job.pages)
        if call is None:
            return
        if job.pages > call.pages:
            self.pages_received.inc(job.pages - call.pages)
            call.pages = job.pages
        if status in IN_CALL:
            return
        del self._incoming[job.job_id]
        self._count_media("incoming", job.extended_status_text)
        if status is JobStatus.FAILED:
            self.failures.labels("incoming", _cause(job.extended_status)).inc()
        if job.transmission_end is not None:
            seconds = (job.transmission_end - job.transmission_start).total_seconds()
            self.duration.labels("incoming").observe(seconds)

    def _count_media(self, direction: str, status_text: str) -> None:
        """Count a network call that reached the fax phase by its media, which its provider
        named in the call's outcome (the job's status text: ``providers.carried_over``)."""
        media = carried_by(status_text)
        if media is not None:
            self.network_calls.labels(direction, media).inc()


def _cause(extended_status: int) -> str:
    """A failure's cause label: its FAXCOMEX extended status's name (``other`` for a code a
    provider made up, so that the label's values stay few)."""
    try:
        return ExtendedStatus(extended_status).name.lower()
    except ValueError:
        return "other"


def _first_line(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0]
