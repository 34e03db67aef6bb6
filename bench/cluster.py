"""Cluster benchmark: jobs per second with 1, 2 and 3 ``openfaxd`` nodes on one PostgreSQL,
beside one node on SQLite, and the time from a node's death to its job being dialled again.

Every node is a real ``openfaxd`` (``tests/daemon.py``) with four unpaced loopback lines of
its own, the nodes sharing one spool and one database, as the failover tests run them
(``tests/integration/failover/cluster.py``); PostgreSQL is a private server started for the
run (``tests/conftest.py``'s, on a Unix socket, fsync off), SQLite the node's own file.

Measured:

* **Submitted**: jobs per second taken by the nodes' API, one client thread per node, each
  submitting one-page faxes (``FaxDocument.connected_submit``, one recipient) as fast as
  its node answers.
* **Dispatched**: jobs per second sent, from the first submission to the last job leaving
  the queue (claimed by whichever node has a free line, dialled, confirmed, archived).
  Every fax goes to 1002, a line of the node that sends it: a node runs one call at a
  time (its line 1002 answers it), and a job a second line of the node takes meanwhile
  finds 1002 busy and is tried again 0.6 s later. So each node adds one call at a time,
  and the rate measures the claims, calls and archiving of a queue shared by the nodes.
* **Take-over**: a three-page fax at ten times real time; the node calling for it is killed
  (SIGKILL) once page 1 is confirmed, and the time to a survivor dialling the job again is
  measured, with leases of ``--lease`` seconds (60 by default in production; the survivors
  find the lease lapsed within half a lease after it ends, and dial the job a lease later).

Run: ``PYTHONPATH=src:. .venv/bin/python bench/cluster.py`` (``--quick`` for a short run,
``--json`` for machine-readable output). This is a benchmark, not a test: nothing is
asserted about time, and two cores shared by three nodes, PostgreSQL and the clients say
little of a cluster of three machines: the figures are for comparing runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.conftest import PostgreSQLServer  # noqa: E402  (after the path is set)
from tests.factories import make_pdf  # noqa: E402
from tests.integration.failover.cluster import NODES, Cluster  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

LINES = 4
"""Loopback lines per node (one call at a time reaches 1002)."""


@dataclass
class Throughput:
    store: str
    nodes: int
    jobs: int
    submitted_per_second: float
    dispatched_per_second: float


def throughput(base: Path, url: str, store: str, nodes: int, jobs: int, body: Path) -> Throughput:
    """Submit ``jobs`` faxes through ``nodes`` nodes at once and time their sending."""
    cluster = Cluster(
        base,
        url,
        NODES[:nodes],
        loopback={"lines": LINES, "pace": "unpaced"},
        # A line finding 1002 busy is not a failure of the run: as many tries as allowed.
        outgoing={"retries": 99, "max_attempts": 1000},
    )
    try:
        cluster.start()
        running = cluster.running()
        shares = [jobs // nodes + (k < jobs % nodes) for k in range(nodes)]
        submitted: list[tuple[int, str]] = []
        lock = threading.Lock()

        def submit(node_index: int) -> None:
            for _ in range(shares[node_index]):
                done = cluster.submit(body, running[node_index])
                with lock:
                    submitted.append(done)

        start = time.perf_counter()
        threads = [threading.Thread(target=submit, args=(k,)) for k in range(nodes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        submit_seconds = time.perf_counter() - start
        assert len(submitted) == jobs, f"{len(submitted)} of {jobs} jobs submitted"

        def all_sent() -> bool:
            left = cluster.rows("SELECT count(*) FROM outgoing_jobs")[0][0]
            return left == 0

        wait_until(all_sent, f"{jobs} jobs sent", timeout=max(1200.0, jobs * 20.0), poll=0.05)
        dispatch_seconds = time.perf_counter() - start
        sent = cluster.rows("SELECT count(*) FROM messages WHERE direction = 'out'")[0][0]
        assert sent == jobs, f"{sent} of {jobs} jobs in the sent archive"
    finally:
        cluster.stop()
    return Throughput(store, nodes, jobs, jobs / submit_seconds, jobs / dispatch_seconds)


def take_over_seconds(base: Path, url: str, kills: int, lease: float, body: Path) -> list[float]:
    """Seconds from each kill of the node calling for a fax to a survivor dialling it."""
    deadlines = {"lease_seconds": lease, "call_setup_seconds": 60}
    cluster = Cluster(base, url, deadlines=deadlines)
    found: list[float] = []
    try:
        cluster.start()
        for _ in range(kills):
            job_id, _tag = cluster.submit(body, cluster.running()[0])
            dead = cluster.caller_at(job_id, pages_confirmed=1)
            attempts = cluster.job(job_id).attempts
            dead.kill()
            killed = time.perf_counter()

            def dialled(job_id: int = job_id, attempts: int = attempts) -> bool:
                job = cluster.job(job_id)
                return job is None or job.attempts > attempts

            wait_until(dialled, "the job dialled again", timeout=20 * lease + 60, poll=0.01)
            found.append(time.perf_counter() - killed)
            dead.start()
    finally:
        cluster.stop()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs and kills")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--jobs", type=int, help="jobs per run (default 120, 30 with --quick)")
    parser.add_argument("--kills", type=int, help="kills timed (default 5, 2 with --quick)")
    parser.add_argument("--lease", type=float, default=3.0, help="lease seconds (default 3)")
    options = parser.parse_args(argv)
    jobs = options.jobs or (30 if options.quick else 120)
    kills = options.kills or (2 if options.quick else 5)
    results: list[Throughput] = []
    postgresql = PostgreSQLServer()
    with tempfile.TemporaryDirectory(prefix="openfax-bench-") as folder:
        base = Path(folder)
        one_page = make_pdf(base / "one.pdf", 1)
        three_pages = make_pdf(base / "three.pdf", 3)
        try:
            postgresql.start()

            def database() -> str:
                name = f"bench_{uuid.uuid4().hex}"
                with postgresql.admin() as admin:
                    admin.execute(f"CREATE DATABASE {name}")
                return postgresql.url(name)

            sqlite = f"sqlite:///{base / 'sqlite' / 'fax.db'}"
            (base / "sqlite").mkdir()
            results.append(throughput(base / "sqlite", sqlite, "sqlite", 1, jobs, one_page))
            for nodes in (1, 2, 3):
                run = base / f"pg{nodes}"
                results.append(throughput(run, database(), "postgresql", nodes, jobs, one_page))
            taken = take_over_seconds(base / "kill", database(), kills, options.lease, three_pages)
        finally:
            postgresql.stop()
    if options.json:
        output = {"throughput": [asdict(r) for r in results], "take_over_seconds": taken}
        print(json.dumps(output, indent=2))
        return 0
    single = results[0]
    print(f"{jobs} one-page faxes per run, {LINES} unpaced loopback lines per node")
    header = ("store", "nodes", "submitted/s", "x SQLite", "sent/s", "x SQLite")
    print("{:<11} {:>5} {:>12} {:>9} {:>8} {:>9}".format(*header))
    for r in results:
        print(
            f"{r.store:<11} {r.nodes:>5} {r.submitted_per_second:>12.1f} "
            f"{r.submitted_per_second / single.submitted_per_second:>9.2f} "
            f"{r.dispatched_per_second:>8.1f} "
            f"{r.dispatched_per_second / single.dispatched_per_second:>9.2f}"
        )
    print(
        f"take-over with {options.lease:g} s leases, {kills} kills: dialled again after "
        f"{statistics.median(taken):.1f} s median (min {min(taken):.1f}, max {max(taken):.1f}; "
        f"{statistics.median(taken) / options.lease:.1f} leases)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
