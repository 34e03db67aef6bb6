"""Metrics benchmark: how long one scrape of ``/metrics`` takes with the queue full.

A private ``openfaxd`` (``bench/service.py``'s :class:`OpenFaxd`: one unpaced loopback line,
the outgoing queue paused) is given 0, 1,000 and 10,000 queued jobs through the client
(1,000 recipients a submission), and at each size ``GET /metrics`` is timed on a kept-alive
connection, over the Unix socket and over TCP from 127.0.0.1 (both allowed without an
account by the default ``[api] metrics_from``): the median and p95 of the runs, and what
the daemon itself says its store's counts took (``openfax_database_latency_seconds``).

Run: ``.venv/bin/python bench/metrics.py`` (``--runs N``, ``--sizes 0,1000,10000``). A
benchmark, not a test: nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from pathlib import Path

from service import DOCUMENT_PS, OpenFaxd, UnixHTTPConnection, local_socket, percentile


def scrape(connection: http.client.HTTPConnection) -> tuple[float, bytes]:
    """One ``GET /metrics``: its seconds and its body."""
    start = time.perf_counter()
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    body = response.read()
    seconds = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"GET /metrics: {response.status} {body[:200]!r}")
    return seconds, body


def store_latency(body: bytes) -> float:
    """The daemon's own ``openfax_database_latency_seconds`` in a scrape's body."""
    for line in body.decode().splitlines():
        if line.startswith("openfax_database_latency_seconds "):
            return float(line.split()[1])
    raise RuntimeError("no openfax_database_latency_seconds in /metrics")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="scrapes per size and transport")
    parser.add_argument("--sizes", default="0,1000,10000", help="queue sizes, comma-separated")
    options = parser.parse_args(argv)
    sizes = sorted(int(size) for size in options.sizes.split(","))
    from openfax.client import FaxDocument, FaxServer

    with OpenFaxd() as daemon, local_socket(daemon.socket):
        document = Path(daemon.root) / "page.ps"
        document.write_text(DOCUMENT_PS)
        numbers = (f"555{n:07d}" for n in range(10**7))
        rows = []
        with FaxServer() as server:
            server.connect("")
            queue = server.folders.outgoing_queue
            for size in sizes:
                while (have := len(queue.get_jobs())) < size:
                    fax = FaxDocument(body=document)
                    for _ in range(min(1_000, size - have)):
                        fax.recipients.add(next(numbers))
                    fax.connected_submit(server)
                    print(f"  {len(queue.get_jobs()):,} jobs queued", file=sys.stderr)
                for transport, connection in (
                    ("unix", UnixHTTPConnection(daemon.socket)),
                    ("tcp", http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)),
                ):
                    scrape(connection)  # the connection made, the first scrape's costs paid
                    times, latencies = [], []
                    for _ in range(options.runs):
                        seconds, body = scrape(connection)
                        times.append(seconds)
                        latencies.append(store_latency(body))
                    connection.close()
                    rows.append(
                        (
                            size,
                            transport,
                            1000 * statistics.median(times),
                            1000 * percentile(times, 0.95),
                            1000 * statistics.median(latencies),
                            len(body),
                        )
                    )
    print(f"{'jobs':>7} {'via':>5} {'median ms':>10} {'p95 ms':>8} {'store ms':>9} {'bytes':>7}")
    for size, transport, median, p95, store, length in rows:
        print(f"{size:>7,} {transport:>5} {median:>10.2f} {p95:>8.2f} {store:>9.2f} {length:>7,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
