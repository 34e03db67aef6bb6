"""Three real ``openfaxd`` nodes on one real PostgreSQL, as a cluster runs: one spool shared
by the nodes, each node with its own two loopback lines, named after the node and numbered
1001 and 1002 on every node, so that a job any node takes over dials the same numbers. Leases
are short (a dead node's work is taken within seconds) and lines run at ten times real time
(a three-page call lasts a few seconds: long enough to kill a node in its middle).

What the store holds is read with plain SQL: the test counts what was sent and received
without trusting the service it checks."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from openfax.client import FaxDocument
from openfax.model import JobStatus, format_id
from openfax.service.job_states import base
from tests.daemon import Daemon
from tests.waiting import wait_until

NODES = ("node-a", "node-b", "node-c")
LEASE_SECONDS = 3.0
"""A dead node's jobs are dialled again two leases after its death at most."""
PACE = 10.0
NUMBER = "1002"
"""The line every fax is sent to (line 1001 of the node that sends calls it)."""
RETRY_SOON = {
    f"outgoing.causes.{cause}": {"delay_minutes": 0.05}
    for cause in ("busy", "line_dropped", "internal")
}
"""A call cut off by a node's death or the database's restart (or finding its line busy
meanwhile) is tried again within seconds, not the minutes of the defaults: the tests count
deliveries, not retry delays."""
WAIT_SECONDS = 120.0
"""Taking a dead node's work waits out its lease, and a three-node machine is a busy one."""


@dataclass(frozen=True)
class Delivery:
    """What the store says became of one fax: its job, its copy in the sent archive and
    the receptions that carried its TSID."""

    status: JobStatus | None
    """The job's status while it is queued; None once it left the queue (archived)."""
    sent_pages: int | None
    """Pages of the sent fax in the archive; None if it is not there (yet)."""
    received: list[tuple[int, bool, str]]
    """Each reception's pages, whether partial, and the device that received it."""
    receiving: int
    """Receptions of it still in the incoming queue."""


class Cluster:
    """The nodes by id (``nodes``), started and stopped together."""

    def __init__(
        self,
        base: Path,
        url: str,
        nodes: tuple[str, ...] = NODES,
        *,
        loopback: dict[str, Any] | None = None,
        **tables: dict[str, Any],
    ) -> None:
        """``loopback`` and ``tables`` change the nodes' configuration (see ``Daemon``)."""
        self.url = url
        # Pinged before each use: the test restarts the server under it.
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        self.nodes = {
            name: Daemon(
                base / name,
                database=url,
                node_id=name,
                spool_dir=base / "spool",
                loopback={"name": name, "pace": PACE, **(loopback or {})},
                **{
                    "deadlines": {"lease_seconds": LEASE_SECONDS, "call_setup_seconds": 60},
                    **RETRY_SOON,
                    **tables,
                },
            )
            for name in nodes
        }
        self._tags = 0

    def start(self) -> None:
        """Start every node at once (each start waits for its node to serve)."""
        with ThreadPoolExecutor(len(self.nodes)) as starting:
            list(starting.map(Daemon.start, self.nodes.values()))

    def stop(self) -> None:
        """Stop the nodes still running, reap the killed ones."""
        try:
            for node in self.nodes.values():
                if node.process is not None and node.process.poll() is None:
                    node.stop()
        finally:
            self.engine.dispose()

    def running(self) -> list[Daemon]:
        return [n for n in self.nodes.values() if n.process and n.process.poll() is None]

    def submit(self, body: Path, via: Daemon | None = None) -> tuple[int, str]:
        """Send ``body`` to ``NUMBER`` through a node (the first running one by default);
        the job's id and the TSID that tells its receptions apart."""
        self._tags += 1
        tag = f"fax-{self._tags:04d}"
        fax = FaxDocument(body=body, subject=tag)
        fax.sender.tsid = tag
        fax.recipients.add(NUMBER)
        with (via or self.running()[0]).connected() as server:
            (job_id,) = fax.connected_submit(server)
        return int(job_id, 16), tag

    def rows(self, query: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(query), params))

    def job(self, job_id: int) -> Any:
        """The job's row (status, node_id, pages_confirmed...), None once it left the queue."""
        found = self.rows("SELECT * FROM outgoing_jobs WHERE id = :id", id=job_id)
        return found[0] if found else None

    def caller_at(self, job_id: int, pages_confirmed: int) -> Daemon:
        """The node calling for the job once that many pages of it are confirmed (0: once
        it dials)."""

        def calling() -> str | None:
            job = self.job(job_id)
            in_call = job is not None and base(JobStatus(job.status)) is JobStatus.INPROGRESS
            if in_call and job.pages_confirmed >= pages_confirmed:
                return str(job.node_id)
            return None

        what = f"job {format_id(job_id)} in a call with {pages_confirmed} pages confirmed"
        return self.nodes[wait_until(calling, what, WAIT_SECONDS, poll=0.02)]

    def delivery(self, job_id: int, tag: str) -> Delivery:
        job = self.job(job_id)
        sent = self.rows(
            "SELECT pages FROM messages WHERE direction = 'out' AND id = :id", id=job_id
        )
        received = self.rows(
            "SELECT pages, partial, device_name FROM messages "
            "WHERE direction = 'in' AND tsid = :tag ORDER BY partial DESC, archived_at",
            tag=tag,
        )
        receiving = self.rows("SELECT count(*) FROM incoming_jobs WHERE tsid = :tag", tag=tag)
        return Delivery(
            status=None if job is None else JobStatus(job.status),
            sent_pages=sent[0].pages if sent else None,
            received=[(r.pages, r.partial, r.device_name) for r in received],
            receiving=receiving[0][0],
        )

    def delivered(self, job_id: int, tag: str) -> Delivery:
        """The fax's delivery once it is sent and every reception of it archived."""

        def done() -> Delivery | None:
            found = self.delivery(job_id, tag)
            ended = found.sent_pages is not None and found.status is None
            return found if ended and found.receiving == 0 else None

        return wait_until(
            done, lambda: f"{tag} delivered: {self.delivery(job_id, tag)}", WAIT_SECONDS
        )


@contextmanager
def cluster(
    base: Path, url: str, names: tuple[str, ...] = NODES, **options: Any
) -> Iterator[Cluster]:
    """A started ``Cluster`` (``options`` as its), stopped at the end."""
    nodes = Cluster(base, url, names, **options)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()


def check_delivered(delivery: Delivery, pages: int, *, beyond: bool = False) -> int:
    """Every page of a ``pages``-page fax arrived, in receptions of calls cut off by a node's
    death or a hang-up and the one that finished it; the pages received twice beyond the
    lost-confirmation page of each call cut off, which must be none unless ``beyond``
    (lines at ten times real time on a loaded machine: a confirmation the store has not
    written yet when the node dies may be a page or two behind the receiver). A call cut
    off may have ended whole at the receiver: the sender died before it heard so."""
    assert delivery.sent_pages == pages, delivery
    *cut_off, last = delivery.received
    assert not last[1], f"the last reception is whole: {delivery}"
    received = sum(p for p, _, _ in delivery.received)
    assert received >= pages, f"pages lost: {delivery}"
    twice = max(0, received - pages - len(cut_off))
    assert beyond or not twice, f"pages received twice: {delivery}"
    return twice
