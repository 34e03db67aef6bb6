"""Service benchmark: submission, queue listing and event latency, OpenFax against HylaFAX.

Both servers run privately, side by side in the same run, with nothing able to send, so every
job stays queued:

* **HylaFAX 6.0.7** (Debian ``hylafax-server``/``hylafax-client``): the benchmark builds a
  spool in a temporary directory (the layout of ``/var/spool/hylafax``, ``etc/config`` and
  ``etc/hosts.hfaxd`` from ``bench/hylafax/``, a ``FIFO``), then runs ``faxq -D -q SPOOL``
  and ``hfaxd -d -q SPOOL -l 127.0.0.1 -i PORT`` on a free port, in the foreground as its
  own children. No modem is configured: jobs wait in state W. Both daemons are stopped and
  the spool removed at the end. Needs root (the daemons switch to the ``uucp`` user).
* **OpenFax**: a private ``openfaxd`` (``python -m openfax.daemon --config FILE``)
  with its data in a temporary directory and the outgoing queue paused. The client and the
  CLI reach it as a local user does: ``FaxServer.connect("")`` and ``openfax send`` on its
  Unix socket (``OPENFAX_SOCKET``).

Measured:

* **Submission.** Jobs per second from one process through ``openfax.client``
  (``FaxDocument.connected_submit``, a one-page text document, one upload per call): (a)
  one recipient per submission, (b) 100 recipients per submission (``recipients.add``), the
  fair counterpart of one ``sendfax`` with 100 ``-d`` (one process, one upload, one job per
  destination; HylaFAX runs as many of those as OpenFax makes such submissions, and both
  rates are all jobs over all the time, since one ``sendfax`` alone swings from about 400 to
  700 jobs/s). HylaFAX also runs one ``sendfax`` process per job, and a Python client
  speaking hfaxd's own protocol in one session (JNEW/JPARM/JSUBM per job on one upload, as
  ``sendfax`` does). The target is held on the like-for-like pair, 100 recipients against
  ``sendfax`` with 100 ``-d``; the other pairs are printed beside it (one recipient per
  submission against one ``sendfax`` process per job, 100 recipients against the hfaxd
  protocol session, one upload each): each OpenFax submission renders its document and is
  durable (fsync) before it returns, so one-recipient submissions are bound by that.
  And the wall time of one one-job ``openfax send FILE --to N`` (median of the runs,
  process start included) against one one-job ``sendfax``, with its client part: the
  median less that of the same two requests (upload, the job's GET) made from the running
  client, i.e. process start, imports and connecting; when the CLI is more than
  1.5x slower, the costliest imports of its path (``python -X importtime``) and the bare
  interpreter's start are printed to guide the fix. Targets: OpenFax at least 10x
  HylaFAX's jobs per second from one process; the CLI no slower than ``sendfax``.
* **Listing.** The latency of listing the outgoing queue with 0, 1,000 and 10,000 jobs
  queued: ``server.folders.outgoing_queue.get_jobs()`` as a script writes it (the
  collection: one request brings the snapshot's count and first page of 25 jobs), every
  job of that collection iterated (further pages are read on demand in the table form,
  growing eightfold to 10,000; its first time at a size once, then as many runs as
  faxstat's), the first page by a raw
  ``GET /v1/outgoing-jobs`` over the Unix socket (``http.client``, kept alive), and the
  whole queue in the table form the same way, against ``faxstat -s`` (which prints the
  whole queue). The queues are filled through hfaxd's protocol (HylaFAX) and the client
  (OpenFax); the job counts are checked in the spool and the listing. Targets: under 10 ms
  at 10,000 (held against the first); every job iterated faster than faxstat at 1,000
  and 10,000 (issue 15).
* **Event latency.** With the queue paused, one queued job is paused and resumed in turn
  (``job.pause()``/``resume()``) and each change is awaited as its ``OnOutgoingJobChanged``
  callback (``add_event_handler`` + ``listen_to_server_events(OUT_QUEUE)``). Timed: from
  the event's ``time`` (the server's clock, stamped in the transaction of the change) to
  the callback's arrival (the same machine's clock), p50 and p99 (target: p99 under
  20 ms); and, informative, from calling ``pause()`` to its callback and from the call's
  return to its callback. (HylaFAX's ``faxwatch`` trigger stream is not measured: the
  issue sets no peer figure for it.)

Run: ``.venv/bin/python bench/service.py`` (``--quick`` for a short run, ``--listing`` for
the listings alone, ``--json`` for machine-readable output, ``--skip-openfax``/
``--skip-hylafax`` for one side). This is a benchmark, not a test: nothing is asserted about
time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue as queue_module
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hylafax import (
    HylaFax,
    HylaFaxError,
    free_port,
    stop_process_groups,
    system_hylafax_processes,
)

QUEUE_SIZES = (0, 1_000, 10_000)
AVOID_AFTER_SECOND = 0.015
"""hfaxd loses new jobs made this early in a second (see ``HfaxdSession.submit``)."""
TARGET_SUBMIT_RATIO = 10.0
TARGET_LIST_MS = 10.0
TARGET_EVENT_P99_MS = 20.0
DOCUMENT_TEXT = "OpenFax service benchmark: a one-page document.\n"
DOCUMENT_PS = (
    "%!PS-Adobe-3.0\n"
    "/Courier findfont 12 scalefont setfont\n"
    "72 720 moveto (OpenFax service benchmark: a one-page document) show\n"
    "showpage\n"
)


def milliseconds(seconds: list[float]) -> dict[str, float]:
    """Median, minimum and maximum of some durations, in milliseconds."""
    return {
        "median_ms": 1000 * statistics.median(seconds),
        "min_ms": 1000 * min(seconds),
        "max_ms": 1000 * max(seconds),
    }


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds one call of ``action`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


class HfaxdSession:
    """A client of hfaxd's own protocol (FTP-like) that queues jobs as ``sendfax`` does.

    One document upload (``STOT`` over a passive data connection), then per job
    ``JOB DEFAULT``, ``JNEW``, the ``JPARM`` lines that matter, ``JPARM DOCUMENT`` on the
    same uploaded file, and ``JSUBM``: each job is a real job of faxq, with its own
    ``sendq/qN`` and document link. Used to fill the queue far faster than one ``sendfax``
    process per job, and measured as HylaFAX's best one-process submission rate.
    """

    def __init__(self, port: int, user: str = "bench") -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._file = self._sock.makefile("rb")
        self._expect("2")
        self.command(f"USER {user}", "2")
        self.command("TZONE LOCAL", "2")
        self.document = ""
        self.waits = 0
        self.failed = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.command("QUIT")
        self._file.close()
        self._sock.close()

    def __enter__(self) -> HfaxdSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reply(self) -> tuple[str, str]:
        """One reply, multi-line ``NNN-`` replies joined: (code, text)."""
        line = self._file.readline().decode("latin-1").rstrip("\r\n")
        if not line:
            raise HylaFaxError("hfaxd closed the connection")
        code, text = line[:3], line[4:]
        if line[3:4] == "-":
            while True:
                more = self._file.readline().decode("latin-1").rstrip("\r\n")
                if not more:
                    raise HylaFaxError("hfaxd closed the connection")
                text += "\n" + more
                if more[:3] == code and more[3:4] == " ":
                    break
        return code, text

    def _expect(self, prefix: str) -> str:
        code, text = self._reply()
        if not code.startswith(prefix):
            raise HylaFaxError(f"hfaxd: {code} {text}")
        return text

    def command(self, line: str, expect: str = "") -> str:
        self._sock.sendall(line.encode("latin-1") + b"\r\n")
        code, text = self._reply()
        if expect and not code.startswith(expect):
            raise HylaFaxError(f"hfaxd: {line!r} -> {code} {text}")
        return text

    def upload(self, data: bytes, form: str = "PS") -> str:
        """Store ``data`` as a temporary file on the server; its name (``/tmp/docN.ps``)."""
        self.command(f"FORM {form}", "2")
        self.command("TYPE I", "2")
        reply = self.command("PASV", "227")
        numbers = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", reply)
        if numbers is None:
            raise HylaFaxError(f"hfaxd: cannot parse PASV reply {reply!r}")
        parts = [int(n) for n in numbers.groups()]
        address = (".".join(map(str, parts[:4])), parts[4] * 256 + parts[5])
        with socket.create_connection(address, timeout=30) as data_sock:
            self._sock.sendall(b"STOT\r\n")
            started = self._expect("1")
            data_sock.sendall(data)
        self._expect("2")
        name = re.search(r"FILE: (\S+)", started)
        if name is None:
            raise HylaFaxError(f"hfaxd: no file name in {started!r}")
        self.document = name.group(1)
        return self.document

    def submit(self, number: str) -> int:
        """Queue one job to ``number`` with the uploaded document; its job id.

        hfaxd 6.0.7 forgets the parameters of a job made in the first few milliseconds after
        the clock turns a whole second: ``JSUBM`` then fails with ``504 ... null or missing
        DIALSTRING`` (``sendfax`` with many ``-d`` runs into the same fault), and a job made
        again right after deleting such a job is accepted but left suspended. So no job is
        started in the first 15 ms of a second (``self.waits`` counts these pauses, about
        1.5 % of the time); a job that fails all the same is deleted and counted in
        ``self.failed``, and the caller tops the queue up.
        """
        fraction = time.time() % 1.0
        if fraction < AVOID_AFTER_SECOND:
            self.waits += 1
            time.sleep(AVOID_AFTER_SECOND - fraction)
        self.command("JOB DEFAULT", "2")
        reply = self.command("JNEW", "2")
        job = re.search(r"jobid: (\d+)", reply)
        if job is None:
            raise HylaFaxError(f"hfaxd: no job id in {reply!r}")
        self.command('JPARM FROMUSER "bench"', "2")
        self.command("JPARM LASTTIME 000259", "2")
        self.command(f'JPARM DIALSTRING "{number}"', "2")
        self.command('JPARM NOTIFY "none"', "2")
        self.command(f"JPARM DOCUMENT {self.document}", "2")
        self._sock.sendall(b"JSUBM\r\n")
        code, text = self._reply()
        if code.startswith("2"):
            return int(job.group(1))
        if "DIALSTRING" not in text:
            raise HylaFaxError(f"hfaxd: JSUBM -> {code} {text}")
        self.command("JDELE", "2")
        self.failed += 1
        return 0


def queue_listing_jobs(listing: str) -> int:
    """The job lines in a ``faxstat -s`` listing (after the ``JID ...`` header)."""
    lines = listing.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("JID"):
            return sum(1 for rest in lines[index + 1 :] if rest.strip())
    return 0


# --- the settings and results of a run ---------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How much of each measurement a run does."""

    send_runs: int
    """One-job ``sendfax`` runs in a row (HylaFAX's per-process rate and CLI time)."""
    cli_runs: int
    """One-job ``openfax send`` runs in a row."""
    multi_destinations: int
    """Destinations of each ``sendfax`` with many ``-d``, and recipients of each OpenFax
    many-recipient submission."""
    client_jobs: int
    """One-recipient ``connected_submit`` calls for OpenFax's jobs/s figure (a). These, the
    batch submissions and the CLI runs must together stay within the first queue size."""
    batch_submissions: int
    """``connected_submit`` calls of ``multi_destinations`` recipients for figure (b), and
    ``sendfax`` runs with as many ``-d`` for HylaFAX's (both rates: all jobs over all time)."""
    list_runs: int
    """Timed listings at each queue size (after one untimed)."""
    queue_sizes: tuple[int, ...]
    events: int
    """Pause/resume operations timed for the event latency."""


FULL = Settings(
    send_runs=30, cli_runs=10, multi_destinations=100, client_jobs=490, batch_submissions=5,
    list_runs=20, queue_sizes=QUEUE_SIZES, events=300,
)  # fmt: skip
LISTING = Settings(
    send_runs=0, cli_runs=0, multi_destinations=100, client_jobs=0, batch_submissions=0,
    list_runs=20, queue_sizes=QUEUE_SIZES, events=0,
)  # fmt: skip
"""The listings alone (``--listing``): faxstat and every job iterated, in turn, with both
servers up (``run_listings_side_by_side``); no submission rate, CLI or event timed."""
QUICK = Settings(
    send_runs=5, cli_runs=5, multi_destinations=100, client_jobs=200, batch_submissions=3,
    list_runs=5, queue_sizes=(0, 1_000), events=60,
)  # fmt: skip


@dataclass
class Submission:
    """Jobs submitted one way, how long it took, and the jobs actually queued."""

    way: str
    jobs: int
    seconds: float
    queued: int
    note: str = ""

    @property
    def jobs_per_second(self) -> float:
        return self.queued / self.seconds if self.seconds else 0.0


@dataclass
class SideResult:
    """Everything measured on one server; ``error`` (or ``pending``) when it could not run."""

    name: str
    submissions: list[Submission] = field(default_factory=list)
    send_seconds: list[float] = field(default_factory=list)
    """Wall time of each one-job CLI run (``sendfax`` / ``openfax send``)."""
    send_server_seconds: list[float] = field(default_factory=list)
    """OpenFax: the requests of one ``openfax send`` made from a running client."""
    listings: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    """Listing method -> queue size -> seconds per listing."""
    events: dict[str, list[float]] = field(default_factory=dict)
    """Event path (``EVENT_COMMIT``, ``EVENT_ROUND_TRIP``, ...) -> seconds, one per change."""
    import_costs: list[tuple[str, float]] = field(default_factory=list)
    """The costliest imports of the CLI path (module, cumulative ms), when it was slow."""
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    pending: str | None = None

    @property
    def best_submission(self) -> Submission | None:
        """The highest jobs/s of the ways measured."""
        return max(self.submissions, key=lambda s: s.jobs_per_second, default=None)

    def submission(self, prefix: str) -> Submission | None:
        """The submission measured the way starting with ``prefix``."""
        return next((s for s in self.submissions if s.way.startswith(prefix)), None)

    @property
    def own_client_submission(self) -> Submission | None:
        """HylaFAX's own client submitting from one process: ``sendfax`` with many ``-d``
        (what the 10x target is held against)."""
        return self.submission("sendfax with")

    @property
    def send_ms(self) -> float | None:
        return 1000 * statistics.median(self.send_seconds) if self.send_seconds else None

    @property
    def send_client_ms(self) -> float | None:
        """The client's part of one ``openfax send``: the wall time's median less that of
        its requests made from a running client."""
        if not (self.send_seconds and self.send_server_seconds):
            return None
        return self.send_ms - 1000 * statistics.median(self.send_server_seconds)  # type: ignore[operator]

    def list_ms(self, method: str, size: int) -> float | None:
        runs = self.listings.get(method, {}).get(size)
        return 1000 * statistics.median(runs) if runs else None

    def event_ms(self, path: str, fraction: float) -> float | None:
        values = self.events.get(path)
        return 1000 * percentile(values, fraction) if values else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "error": self.error,
            "pending": self.pending,
            "notes": self.notes,
            "submissions": [
                {**asdict(s), "jobs_per_second": s.jobs_per_second} for s in self.submissions
            ],
            "best_jobs_per_second": (
                self.best_submission.jobs_per_second if self.best_submission else None
            ),
            "send_ms": {**milliseconds(self.send_seconds)} if self.send_seconds else None,
            "send_requests_ms": (
                milliseconds(self.send_server_seconds) if self.send_server_seconds else None
            ),
            "send_client_ms": self.send_client_ms,
            "listing_ms": {
                method: {str(size): milliseconds(runs) for size, runs in sizes.items()}
                for method, sizes in self.listings.items()
            },
            "event_ms": {
                path: {
                    "count": len(values),
                    "p50": self.event_ms(path, 0.50),
                    "p99": self.event_ms(path, 0.99),
                    "max": 1000 * max(values),
                }
                for path, values in self.events.items()
                if values
            },
            "import_costs_ms": dict(self.import_costs),
        }


def time_listing(list_once: Callable[[], object], runs: int) -> list[float]:
    """``runs`` timed listings after one untimed one."""
    list_once()
    return [timed(list_once) for _ in range(runs)]


# --- the HylaFAX side --------------------------------------------------------------------


def run_hylafax(settings: Settings, document: Path, progress: Callable[[str], None]) -> SideResult:
    """All HylaFAX measurements on one private instance, queue sizes in increasing order."""
    result = SideResult("HylaFAX 6.0.7")
    others = system_hylafax_processes()
    if others:
        result.notes.append(f"other HylaFAX processes were running: {', '.join(others)}")
    try:
        with HylaFax() as hylafax:
            _measure_hylafax(hylafax, settings, document, result, progress)
    except (HylaFaxError, OSError, subprocess.SubprocessError) as exc:
        result.error = str(exc)
    return result


def _measure_hylafax(
    hylafax: HylaFax,
    settings: Settings,
    document: Path,
    result: SideResult,
    progress: Callable[[str], None],
) -> None:
    result.notes.append(f"private spool {hylafax.spool}, hfaxd on {hylafax.host}")
    listing = result.listings.setdefault("faxstat -s", {})
    sizes = sorted(settings.queue_sizes)
    numbers = (f"555{n:07d}" for n in range(10**7))

    def list_at(size: int) -> None:
        queued = queue_listing_jobs(hylafax.faxstat())
        if queued != size:
            raise HylaFaxError(f"faxstat lists {queued} jobs, expected {size}")
        progress(f"HylaFAX: faxstat -s with {size:,} jobs queued")
        listing[size] = time_listing(hylafax.faxstat, settings.list_runs)

    if sizes and sizes[0] == 0:
        list_at(0)
        sizes.pop(0)

    progress(f"HylaFAX: {settings.send_runs} one-job sendfax runs")
    for _ in range(settings.send_runs):
        result.send_seconds.append(timed(lambda: hylafax.sendfax(document, [next(numbers)])))
    result.submissions.append(
        Submission(
            "sendfax, one process per job",
            settings.send_runs,
            sum(result.send_seconds),
            settings.send_runs,
        )
    )

    many = settings.multi_destinations
    runs = settings.batch_submissions
    progress(f"HylaFAX: {runs} sendfax runs with {many} destinations each")
    asked = queued = 0
    seconds = 0.0
    stopped: list[int] = []
    for _ in range(runs):
        batch = [next(numbers) for _ in range(many)]
        start = time.perf_counter()
        made = hylafax.sendfax(document, batch)
        seconds += time.perf_counter() - start
        asked, queued = asked + len(batch), queued + made
        if made < len(batch):
            stopped.append(made)
    lost = asked - queued
    result.submissions.append(
        Submission(
            f"sendfax with {many} -d (one process)",
            asked,
            seconds,
            queued,
            f"{lost} destinations lost to hfaxd's 504 (see notes)" if lost else "",
        )
    )
    if stopped:
        result.notes.append(
            f"sendfax with {many} -d stopped after {', '.join(map(str, stopped))} jobs: hfaxd's "
            "'504 ... null or missing DIALSTRING' when a job is made just after a whole second"
        )

    with HfaxdSession(hylafax.port) as session:
        session.upload(document.read_bytes())
        measured = False
        for size in sizes:
            while (have := queue_listing_jobs(hylafax.faxstat())) < size:
                count = size - have
                progress(f"HylaFAX: {count:,} jobs through hfaxd's protocol (to {size:,})")
                start = time.perf_counter()
                made = sum(1 for _ in range(count) if session.submit(next(numbers)))
                seconds = time.perf_counter() - start
                if not measured:
                    result.submissions.append(
                        Submission("hfaxd protocol, one session (Python)", count, seconds, made)
                    )
                    measured = True
            list_at(size)
        if session.waits or session.failed:
            result.notes.append(
                f"hfaxd protocol: {session.waits} pauses to avoid the first "
                f"{1000 * AVOID_AFTER_SECOND:g} ms of a second, {session.failed} jobs lost "
                "all the same (deleted, queue topped up)"
            )


# --- the OpenFax side --------------------------------------------------------------------

EVENT_COMMIT = "event time -> callback"
"""From the ``time`` the server wrote on the event (in the transaction that made the change)
to the callback's arrival on the client, both on this machine's wall clock."""
EVENT_ROUND_TRIP = "pause()/resume() call -> callback"
"""From calling ``job.pause()`` (or ``resume()``) to its ``OnOutgoingJobChanged`` callback."""
EVENT_AFTER_RETURN = "call returned -> callback"
"""From that call's return to the callback (negative when the event came first)."""
LIST_CLIENT = "folders.outgoing_queue.get_jobs() (count + 1st page)"
LIST_ITERATE = "get_jobs(), every job iterated"
LIST_ITERATE_FIRST = "  the same, its first time at this size"
"""The first listing at a size, one run: the jobs queued since the last listing are new to
the listing (the server kept their rows when it queued them, so it reads none in full)."""
LIST_RAW_TABLE = "raw HTTP GET whole queue, table form (10,000 a page)"
LIST_RAW_UNIX = "raw HTTP GET 1st page, Unix socket"
LIST_ACTIVITY = "server.activity (GET /v1/activity: queue counts)"
ONE_RECIPIENT = "client, 1 recipient per submission"
MANY_RECIPIENTS = "client, {n} recipients per submission"
SLOW_CLI_RATIO = 1.5
"""Above this ratio to ``sendfax`` the CLI's import costs are printed."""


def openfax_client_missing() -> str | None:
    """Why the OpenFax side cannot run (None when ``openfax.client`` is there)."""
    try:
        import openfax.client as client
    except ImportError as exc:
        return f"openfax.client is not there ({exc})"
    missing = [name for name in ("FaxServer", "FaxDocument") if not hasattr(client, name)]
    if missing:
        return f"openfax.client has no {', '.join(missing)}"
    return None


class OpenFaxError(RuntimeError):
    """The private openfaxd could not be started or did not answer as expected."""


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client`` over a Unix socket (the raw HTTP figure of the local transport)."""

    def __init__(self, path: Path, timeout: float = 120) -> None:
        super().__init__("openfaxd", timeout=timeout)
        self.path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


class OpenFaxd:
    """A private ``openfaxd``: data, configuration, token and log in a temporary directory.

    One virtual loopback line (unpaced) and the outgoing queue paused through the API as soon
    as it answers, so submitted jobs stay queued as HylaFAX's do without a modem. The API
    listens on the data folder's Unix socket (``socket``; what the client and the CLI use
    with ``OPENFAX_SOCKET``) and on a free port of 127.0.0.1 with a bearer token written to
    the tokens file beforehand (used only to see that it answers).
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="openfax-bench-openfaxd-"))
        self.port = free_port()
        self.config = self.root / "openfaxd.toml"
        self.log = self.root / "openfaxd.log"
        self.socket = self.root / "data" / "openfaxd.sock"
        self.token = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._http: http.client.HTTPConnection | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        from openfax.api.tokens import TokenFile

        data = self.root / "data"
        self.config.write_text(
            f'data_dir = "{data}"\n\n[loopback]\nlines = 1\npace = "unpaced"\n\n'
            f'[api]\nlisten = "{self.address}"\ntokens_file = "{self.root / "tokens"}"\n'
        )
        self.token = TokenFile(self.root / "tokens").add("bench")
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "openfax.daemon", "--config", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            if self._process.poll() is not None:
                raise OpenFaxError(
                    f"openfaxd exited with {self._process.returncode}: {self.tail()}"
                )
            try:
                self.request("GET", "/v1/server")
                if self.socket.exists():
                    break
            except (OSError, http.client.HTTPException):
                self._http = None
            if time.monotonic() > deadline:
                raise OpenFaxError(f"openfaxd did not answer on {self.address}: {self.tail()}")
            time.sleep(0.1)
        # The setup goes over the Unix socket, as the local administrator (this process is
        # root or the daemon's user): the tokens file's holder holds the default rights only.
        self._http.close()
        self._http = UnixHTTPConnection(self.socket)
        self.request("PATCH", "/v1/outgoing-queue", {"paused": True})

    def tail(self) -> str:
        """The end of the daemon's log, for error messages."""
        try:
            return self.log.read_text(errors="replace")[-800:].strip()
        except OSError:
            return ""

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON request on a kept-alive TCP connection with the token; the decoded reply."""
        if self._http is None:
            self._http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self._http.request(method, path, body=payload, headers=headers)
            response = self._http.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # uvicorn closes a connection idle for 5 s: open a new one, once.
            self._http.close()
            self._http.request(method, path, body=payload, headers=headers)
            response = self._http.getresponse()
        data = response.read()
        if response.status >= 300:
            raise OpenFaxError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._process is not None:
            stop_process_groups([self._process], timeout=15)
            self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> OpenFaxd:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def local_socket(path: Path) -> Iterator[None]:
    """``OPENFAX_SOCKET`` set to ``path`` in this process (for ``FaxServer.connect("")``)."""
    before = os.environ.get("OPENFAX_SOCKET")
    os.environ["OPENFAX_SOCKET"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OPENFAX_SOCKET", None)
        else:
            os.environ["OPENFAX_SOCKET"] = before


def openfax_command() -> list[str]:
    """How to run the ``openfax`` CLI: the venv's script, as a user runs it."""
    script = Path(sys.executable).parent / "openfax"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from openfax.cli.main import main; main()"]


def run_openfax(settings: Settings, document: Path, progress: Callable[[str], None]) -> SideResult:
    """All OpenFax measurements on one private openfaxd, through ``openfax.client``."""
    result = SideResult("OpenFax")
    missing = openfax_client_missing()
    if missing:
        result.pending = missing
        return result
    try:
        with OpenFaxd() as daemon, local_socket(daemon.socket):
            _measure_openfax(daemon, settings, document, result, progress)
    except (OpenFaxError, OSError, subprocess.SubprocessError) as exc:
        result.error = str(exc)
    except Exception as exc:  # an openfax.errors.FaxError from the client, with its class
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _measure_openfax(
    daemon: OpenFaxd,
    settings: Settings,
    document: Path,
    result: SideResult,
    progress: Callable[[str], None],
) -> None:
    from openfax.client import FaxDocument, FaxServer

    result.notes.append(
        f"private openfaxd, client and CLI on its Unix socket {daemon.socket} (as root)"
    )
    numbers = (f"555{n:07d}" for n in range(10**7))

    def submit(server: FaxServer, recipients: int) -> int:
        fax = FaxDocument(body=document)
        for _ in range(recipients):
            fax.recipients.add(next(numbers))
        return len(fax.connected_submit(server))

    def timed_submissions(server: FaxServer, way: str, calls: int, recipients: int) -> None:
        progress(f"OpenFax: {calls} connected_submit of {recipients} recipient(s)")
        start = time.perf_counter()
        made = sum(submit(server, recipients) for _ in range(calls))
        seconds = time.perf_counter() - start
        result.submissions.append(Submission(way, calls * recipients, seconds, made))

    server = FaxServer()
    server.connect("")
    with server:
        queue = server.folders.outgoing_queue
        if not queue.paused:
            raise OpenFaxError("the outgoing queue is not paused: jobs would be sent")
        measured = False
        for size in sorted(settings.queue_sizes):
            if not measured and size > 0:
                timed_submissions(server, ONE_RECIPIENT, settings.client_jobs, 1)
                many = settings.multi_destinations
                timed_submissions(
                    server, MANY_RECIPIENTS.format(n=many), settings.batch_submissions, many
                )
                _measure_cli(server, settings, document, result, progress, numbers)
                measured = True
            while (have := len(queue.get_jobs())) < size:
                count = min(1_000, size - have)
                progress(f"OpenFax: {count:,} more jobs in one submission (to {size:,})")
                submit(server, count)
            if (have := len(queue.get_jobs())) != size:
                raise OpenFaxError(f"the outgoing queue has {have} jobs, expected {size}")
            progress(f"OpenFax: listing with {size:,} jobs queued")
            _measure_listing(daemon, server, settings, result, size)
        if not measured:
            submit(server, 1)
        if settings.events:
            _measure_events(server, settings, result, progress)


def _measure_listing(
    daemon: OpenFaxd, server: Any, settings: Settings, result: SideResult, size: int
) -> None:
    """``get_jobs()`` as a script writes it (the collection: its count and first page), every
    job of it iterated (the further pages read on demand), and the first page by raw HTTP
    on the Unix socket."""
    raw = UnixHTTPConnection(daemon.socket)

    def list_raw() -> None:
        raw.request("GET", "/v1/outgoing-jobs")
        response = raw.getresponse()
        body = response.read()
        if response.status != 200:
            raise OpenFaxError(f"GET /v1/outgoing-jobs: {response.status} {body[:200]!r}")

    def list_raw_table() -> None:
        cursor: str | None = ""
        while cursor is not None:
            after = f"&after={cursor}" if cursor else ""
            raw.request("GET", f"/v1/outgoing-jobs?form=table&limit=10000{after}")
            response = raw.getresponse()
            body = response.read()
            if response.status != 200:
                raise OpenFaxError(f"GET /v1/outgoing-jobs: {response.status} {body[:200]!r}")
            cursor = json.loads(body.split(b"\n", 1)[0])["next_cursor"]

    def iterate_all() -> None:
        jobs = server.folders.outgoing_queue.get_jobs()
        if (seen := sum(1 for _ in jobs)) != size:
            raise OpenFaxError(f"get_jobs() iterated {seen} jobs, expected {size}")

    try:
        result.listings.setdefault(LIST_CLIENT, {})[size] = time_listing(
            lambda: server.folders.outgoing_queue.get_jobs(), settings.list_runs
        )
        result.listings.setdefault(LIST_ITERATE_FIRST, {})[size] = [timed(iterate_all)]
        result.listings.setdefault(LIST_ITERATE, {})[size] = time_listing(
            iterate_all, settings.list_runs
        )
        result.listings.setdefault(LIST_RAW_TABLE, {})[size] = time_listing(
            list_raw_table, settings.list_runs
        )
        result.listings.setdefault(LIST_RAW_UNIX, {})[size] = time_listing(
            list_raw, settings.list_runs
        )
        result.listings.setdefault(LIST_ACTIVITY, {})[size] = time_listing(
            # FaxActivity reads its counts when first looked at: look, or nothing is asked.
            lambda: server.activity.queued_messages,
            settings.list_runs,
        )
    finally:
        raw.close()


def _measure_cli(
    server: Any,
    settings: Settings,
    document: Path,
    result: SideResult,
    progress: Callable[[str], None],
    numbers: Iterator[str],
) -> None:
    """``openfax send FILE --to N``, one job a run, process start included; then the same two
    requests (the upload, the job's GET) from this running client, the server's part of a
    run, so that the client's part is the difference of the medians."""
    from openfax.client import FaxDocument

    progress(f"OpenFax: {settings.cli_runs} one-job `openfax send` runs")
    command = openfax_command()
    for _ in range(settings.cli_runs):
        number = next(numbers)
        start = time.perf_counter()
        done = subprocess.run(
            [*command, "send", str(document), "--to", number],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0 or number not in done.stdout:
            raise OpenFaxError(f"openfax send failed: {done.stderr.strip() or done.stdout}")
        result.send_seconds.append(seconds)

    for _ in range(settings.cli_runs):
        fax = FaxDocument(body=document)
        fax.recipients.add(next(numbers))
        start = time.perf_counter()
        (job_id,) = fax.connected_submit(server)
        job = server.folders.outgoing_queue.get_job(job_id)
        result.send_server_seconds.append(time.perf_counter() - start)
        job.cancel()  # it leaves the queue, which the listing fills to exact sizes


def measure_import_costs(result: SideResult, top: int = 12) -> None:
    """``python -X importtime`` of the modules ``openfax send`` imports: the costliest
    (cumulative) imports two levels deep, and the bare interpreter's start for scale."""
    modules = (
        "import openfax.cli.main, openfax.cli.quick, openfax.cli.fax, openfax.client._connection"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", modules],
        capture_output=True,
        text=True,
        check=False,
    )
    costs: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 2:
            costs.append(("  " * depth + name.strip(), int(parts[1]) / 1000))
    result.import_costs = sorted(costs, key=lambda item: -item[1])[:top]
    bare = statistics.median(
        timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)) for _ in range(5)
    )
    imports = statistics.median(
        timed(lambda: subprocess.run([sys.executable, "-c", modules], check=True)) for _ in range(5)
    )
    help_run = statistics.median(
        timed(
            lambda: subprocess.run([*openfax_command(), "--help"], capture_output=True, check=True)
        )
        for _ in range(5)
    )
    result.notes.append(
        f"CLI start-up, medians of 5: `python -c pass` {1000 * bare:.0f} ms, importing the "
        f"send path ({modules.removeprefix('import ')}) {1000 * imports:.0f} ms, "
        f"`openfax --help` {1000 * help_run:.0f} ms"
    )


def _measure_events(
    server: Any, settings: Settings, result: SideResult, progress: Callable[[str], None]
) -> None:
    """Pause and resume one queued job in turn (the queue itself stays paused), each time
    waiting for its ``OnOutgoingJobChanged`` through ``listen_to_server_events``."""
    from openfax.client import ServerEvent
    from openfax.model import JobStatus, ServerEvents

    job = server.folders.outgoing_queue.get_jobs()[1]
    queued = server.activity.queued_messages
    arrivals: queue_module.Queue[tuple[float, float, ServerEvent]] = queue_module.Queue()

    def handler(_server: object, event: ServerEvent) -> None:
        arrivals.put((time.time(), time.perf_counter(), event))

    commit = result.events.setdefault(EVENT_COMMIT, [])
    round_trip = result.events.setdefault(EVENT_ROUND_TRIP, [])
    after_return = result.events.setdefault(EVENT_AFTER_RETURN, [])
    progress(f"OpenFax: {settings.events} pause/resume changes timed to their callback")
    server.add_event_handler(handler)
    server.listen_to_server_events(ServerEvents.OUT_QUEUE)
    try:
        for index in range(settings.events + settings.events % 2):
            pausing = index % 2 == 0
            start = time.perf_counter()
            job.pause() if pausing else job.resume()
            returned = time.perf_counter()
            while True:
                wall, arrived, event = arrivals.get(timeout=10)
                status = event.status
                if (
                    event.name == "OnOutgoingJobChanged"
                    and event.job_id == job.id
                    and status is not None
                    and bool(status & JobStatus.PAUSED) == pausing
                ):
                    break
            commit.append(wall - event.time.timestamp())
            round_trip.append(arrived - start)
            after_return.append(arrived - returned)
    finally:
        server.listen_to_server_events(ServerEvents.NONE)
        server.remove_event_handler(handler)
    result.notes.append(
        f"events: job {job.id} paused and resumed in turn with {queued:,} jobs queued "
        "(queue paused); callbacks on listen_to_server_events' thread"
    )


# --- output ------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours and theirs else None


def _below(value: float | None, bound: float) -> bool | None:
    return None if value is None else value < bound


def _rows(hylafax: SideResult, openfax: SideResult, settings: Settings) -> list[dict[str, Any]]:
    """The table: one row per figure, both servers, the ratio and the verdict on the target."""
    rows: list[dict[str, Any]] = []

    def row(
        figure: str, theirs: float | None, ours: float | None, ratio: float | None = None,
        target: str = "", met: bool | None = None, digits: int = 1,
    ) -> None:  # fmt: skip
        rows.append(
            {
                "figure": figure, "hylafax": theirs, "openfax": ours, "ratio": ratio,
                "target": target, "met": met, "digits": digits,
            }
        )  # fmt: skip

    def rate(submission: Submission | None) -> float | None:
        return submission.jobs_per_second if submission else None

    many = settings.multi_destinations
    sendfax_many = rate(hylafax.own_client_submission)
    ours_many = rate(openfax.submission(MANY_RECIPIENTS.format(n=many)))
    ratio = _ratio(ours_many, sendfax_many)
    row(
        f"submit jobs/s: {many} rcpt/submission vs sendfax {many} -d", sendfax_many, ours_many,
        ratio, f">= {TARGET_SUBMIT_RATIO:g}x",
        None if ratio is None else ratio >= TARGET_SUBMIT_RATIO,
    )  # fmt: skip
    ours_one = rate(openfax.submission(ONE_RECIPIENT))
    row(
        f"  1 rcpt/submission vs sendfax {many} -d", sendfax_many, ours_one,
        _ratio(ours_one, sendfax_many),
    )  # fmt: skip
    for submission in hylafax.submissions:
        if submission is hylafax.own_client_submission:
            continue
        theirs = submission.jobs_per_second
        # One upload for many jobs is set against a broadcast; one process per job against
        # one recipient per submission.
        one_upload = "one session" in submission.way
        ours, rcpt = (ours_many, many) if one_upload else (ours_one, 1)
        row(f"  {rcpt} rcpt vs HylaFAX {submission.way}", theirs, ours, _ratio(ours, theirs))
    theirs_ms, ours_ms = hylafax.send_ms, openfax.send_ms
    ratio = _ratio(ours_ms, theirs_ms)
    row(
        "one-job send (CLI) wall ms, median", theirs_ms, ours_ms, ratio, "<= 1x sendfax",
        None if ratio is None else ratio <= 1.0,
    )  # fmt: skip
    row("  its client part ms (wall - its requests in-process)", None, openfax.send_client_ms)
    methods = list(openfax.listings) or [LIST_CLIENT]
    for size in settings.queue_sizes:
        theirs_ms = hylafax.list_ms("faxstat -s", size)
        for method in methods:
            ours_ms = openfax.list_ms(method, size)
            ratio = _ratio(ours_ms, theirs_ms)
            if size == max(QUEUE_SIZES) and method == LIST_CLIENT:
                target, met = f"< {TARGET_LIST_MS:g} ms", _below(ours_ms, TARGET_LIST_MS)
            elif size and method == LIST_ITERATE:
                target, met = "< faxstat", _below(ratio, 1.0)
            else:
                target, met = "", None
            row(f"list {size:,}: {method}", theirs_ms, ours_ms, ratio, target, met, digits=2)
    for path in (EVENT_COMMIT, EVENT_ROUND_TRIP, EVENT_AFTER_RETURN):
        row(f"event ms p50: {path}", None, openfax.event_ms(path, 0.50), digits=2)
        p99 = openfax.event_ms(path, 0.99)
        at_target = path == EVENT_COMMIT
        row(
            f"event ms p99: {path}", None, p99, None,
            f"< {TARGET_EVENT_P99_MS:g} ms" if at_target else "",
            None if p99 is None or not at_target else p99 < TARGET_EVENT_P99_MS, digits=2,
        )  # fmt: skip
    return rows


def print_table(hylafax: SideResult, openfax: SideResult, settings: Settings) -> None:
    print("OpenFax service benchmark: submission, queue listing, events (OpenFax vs HylaFAX)")
    print()
    width = 56
    header = (
        f"{'figure':<{width}} {'HylaFAX':>10} {'OpenFax':>10} {'ratio':>7}  {'target':<14} verdict"
    )
    print(header)
    print("-" * len(header))
    for row in _rows(hylafax, openfax, settings):
        digits = row["digits"]
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        verdict = {None: "", True: "met", False: "MISSED"}[row["met"]]
        if row["target"] and row["met"] is None:
            verdict = "pending"
        print(
            f"{row['figure']:<{width}} {_fmt(row['hylafax'], digits):>10} "
            f"{_fmt(row['openfax'], digits):>10} {ratio:>7}  {row['target']:<14} {verdict}"
        )
    print()
    print("ratio: OpenFax/HylaFAX (jobs/s: higher is better; ms: lower is better). Submission:")
    print("FaxDocument.connected_submit in one process, one upload per submission, against")
    print("sendfax with many -d (HylaFAX's own client, one process, one upload); indented")
    print("rows pair one recipient per submission with one sendfax per job, and 100")
    print("recipients with hfaxd's protocol (one upload, a job each). ms: medians")
    print("(send: of the runs, process start included; listing: of timed runs after one")
    print("untimed). Listing: HylaFAX is faxstat -s (the whole queue); OpenFax through the")
    print("client on the Unix socket: get_jobs() (one request: the count and first 25 jobs),")
    print("every job of it iterated (further pages on demand, in the table form; the first")
    print("time once, then as often as faxstat), the API's default first page (100 jobs) and")
    print("the whole queue in the table form by raw HTTP. Send's client part: its wall time")
    print("less that of the same requests made from a running client. Events: nearest-rank")
    print("percentiles; 'event time' is the server's own stamp on the event, written in the")
    print("transaction of the change.")
    if openfax.import_costs:
        print()
        print("openfax send is slow: costliest imports of its path (python -X importtime,")
        print("cumulative ms, two levels deep):")
        for module, ms in openfax.import_costs:
            print(f"  {ms:8.1f}  {module}")
    for side in (hylafax, openfax):
        if side.error:
            print(f"{side.name}: FAILED: {side.error}")
        if side.pending:
            print(f"{side.name} side pending: {side.pending}")
        for note in side.notes:
            print(f"{side.name}: {note}")


def run_listings_side_by_side(
    settings: Settings, document: Path, text: Path, progress: Callable[[str], None]
) -> tuple[SideResult, SideResult]:
    """``--listing``: both servers up at once with the same queue, each timed listing of one
    followed by one of the other, so that both see the same load of a shared machine (run
    one after the other, minutes apart, the two sides' medians swung by 2x). HylaFAX's
    queue is filled through hfaxd's protocol, OpenFax's through the client."""
    from openfax.client import FaxDocument, FaxServer

    theirs, ours = SideResult("HylaFAX 6.0.7"), SideResult("OpenFax")
    numbers = (f"555{n:07d}" for n in range(10**7))
    try:
        with (
            HylaFax() as hylafax,
            HfaxdSession(hylafax.port) as session,
            OpenFaxd() as daemon,
            local_socket(daemon.socket),
        ):
            session.upload(document.read_bytes())
            server = FaxServer()
            server.connect("")
            with server:
                queue = server.folders.outgoing_queue

                def iterate_all() -> int:
                    return sum(1 for _ in queue.get_jobs())

                for size in sorted(settings.queue_sizes):
                    while (have := queue_listing_jobs(hylafax.faxstat())) < size:
                        progress(f"HylaFAX: {size - have:,} jobs through hfaxd's protocol")
                        for _ in range(size - have):
                            session.submit(next(numbers))
                    while (have := len(queue.get_jobs())) < size:
                        progress(f"OpenFax: {min(1_000, size - have):,} more jobs")
                        fax = FaxDocument(body=text)
                        for _ in range(min(1_000, size - have)):
                            fax.recipients.add(next(numbers))
                        fax.connected_submit(server)
                    counts = (queue_listing_jobs(hylafax.faxstat()), iterate_all())
                    if counts != (size, size):
                        raise OpenFaxError(f"queues of {counts} jobs, expected {size} each")
                    progress(f"both: {settings.list_runs} listings each, in turn, at {size:,}")
                    faxstat = theirs.listings.setdefault("faxstat -s", {})[size] = []
                    iterated = ours.listings.setdefault(LIST_ITERATE, {})[size] = []
                    for _ in range(settings.list_runs):
                        faxstat.append(timed(hylafax.faxstat))
                        iterated.append(timed(iterate_all))
    except (HylaFaxError, OpenFaxError, OSError, subprocess.SubprocessError) as exc:
        theirs.error = ours.error = str(exc)
    return theirs, ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (queues up to 1,000)")
    parser.add_argument("--listing", action="store_true", help="the queue listings alone")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--skip-hylafax", action="store_true", help="measure OpenFax only")
    parser.add_argument("--skip-openfax", action="store_true", help="measure HylaFAX only")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else LISTING if args.listing else FULL

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="openfax-bench-service-") as name:
        document = Path(name) / "document.ps"
        document.write_text(DOCUMENT_PS)
        text = Path(name) / "document.txt"
        text.write_text(DOCUMENT_TEXT)
        if args.listing:
            hylafax, openfax = run_listings_side_by_side(settings, document, text, progress)
        else:
            hylafax = (
                SideResult("HylaFAX 6.0.7", pending="skipped (--skip-hylafax)")
                if args.skip_hylafax
                else run_hylafax(settings, document, progress)
            )
            openfax = (
                SideResult("OpenFax", pending="skipped (--skip-openfax)")
                if args.skip_openfax
                else run_openfax(settings, text, progress)
            )
    ratio = _ratio(openfax.send_ms, hylafax.send_ms)
    if openfax.send_ms and (ratio is None or ratio > SLOW_CLI_RATIO):
        progress("OpenFax: import costs of the `openfax send` path")
        measure_import_costs(openfax)

    if args.json:
        report = {
            "settings": asdict(settings),
            "targets": {
                "submit_ratio": TARGET_SUBMIT_RATIO,
                "list_ms_at_10000": TARGET_LIST_MS,
                "event_p99_ms": TARGET_EVENT_P99_MS,
            },
            "hylafax": hylafax.as_dict(),
            "openfax": openfax.as_dict(),
            "rows": [
                {k: v for k, v in row.items() if k != "digits"}
                for row in _rows(hylafax, openfax, settings)
            ],
        }
        print(json.dumps(report, indent=2))
    else:
        print_table(hylafax, openfax, settings)
    return 1 if hylafax.error or openfax.error else 0


if __name__ == "__main__":
    sys.exit(main())
