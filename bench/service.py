"""Service benchmark: submission, queue listing and event latency, OpenFax against HylaFAX.

Both servers run privately, side by side in the same run, with nothing able to send, so every
job stays queued:

* **HylaFAX 6.0.7** (Debian ``hylafax-server``/``hylafax-client``): the benchmark builds a
  spool in a temporary directory (the layout of ``/var/spool/hylafax``, ``etc/config`` and
  ``etc/hosts.hfaxd`` from ``bench/hylafax/``, a ``FIFO``), then runs ``faxq -D -q SPOOL``
  and ``hfaxd -d -q SPOOL -l 127.0.0.1 -i PORT`` on a free port, in the foreground as its
  own children. No modem is configured: jobs wait in state W. Both daemons are stopped and
  the spool removed at the end. Needs root (the daemons switch to the ``uucp`` user).
* **OpenFax**: a private ``openfaxd`` (``python -m openfax.service.daemon --config FILE``)
  with its data in a temporary directory and the outgoing queue paused.

Measured:

* **Submission.** Jobs per second from one process: for OpenFax through ``openfax.client``
  (``FaxDocument.connected_submit``, one recipient per job, a small document); for HylaFAX
  one ``sendfax`` process per job (N in a row), one ``sendfax`` with many ``-d`` (one
  process, one upload, one job per destination), and a Python client speaking hfaxd's own
  protocol in one session (JNEW/JPARM/JSUBM per job on one upload, as ``sendfax`` does).
  And the wall time of one one-job ``openfax send`` against one one-job ``sendfax``.
  Targets: OpenFax at least 10x HylaFAX's jobs per second from one process (the best of
  HylaFAX's one-process figures); the CLI no slower than ``sendfax``.
* **Listing.** The latency of listing the outgoing queue with 0, 1,000 and 10,000 jobs
  queued: ``folders.outgoing_queue.get_jobs()`` and ``GET /v1/outgoing-jobs`` directly,
  against ``faxstat -s``. The queues are filled through hfaxd's protocol (HylaFAX) and the
  client (OpenFax); the job counts are checked in the spool and the listing. Target: under
  10 ms at 10,000.
* **Event latency.** From a job's state change to the client's callback, p50 and p99: a
  queued job is paused and resumed in turn and each change is timed until its OUT_QUEUE
  event reaches ``listen_to_server_events``. Target: p99 under 20 ms. (HylaFAX's
  ``faxwatch`` trigger stream is not measured: the issue sets no peer figure for it.)

Run: ``.venv/bin/python bench/service.py`` (``--quick`` for a short run, ``--json`` for
machine-readable output, ``--skip-openfax``/``--skip-hylafax`` for one side). This is a
benchmark, not a test: nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
HYLAFAX_TEMPLATES = BENCH_DIR / "hylafax"
SYSTEM_SPOOL = Path("/var/spool/hylafax")
SYSTEM_ETC = Path("/etc/hylafax")
SPOOL_DIRS = (
    "archive", "bin", "client", "config", "dev", "docq", "doneq", "etc", "info", "log",
    "pollq", "recvq", "sendq", "status", "tmp",
)  # fmt: skip
FAX_USER = "uucp"
"""The user HylaFAX's daemons run as on Debian (compiled in); the spool belongs to it."""
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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


# --- HylaFAX: a private instance ---------------------------------------------------------


class HylaFaxError(RuntimeError):
    """The private HylaFAX instance could not be set up or did not answer as expected."""


def system_hylafax_processes() -> list[str]:
    """``pid name`` of every faxq/hfaxd/faxgetty running now (to warn about a system one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name in ("faxq", "hfaxd", "faxgetty"):
            found.append(f"{entry.name} {name}")
    return found


class HylaFax:
    """hfaxd and faxq on a temporary spool and a free port of 127.0.0.1, without a modem.

    The spool is built from the installed layout: ``bin/`` (the conversion and notify
    scripts) is copied from ``/var/spool/hylafax``, the dial rules and page sizes from
    ``/etc/hylafax``, and ``etc/config`` and ``etc/hosts.hfaxd`` from ``bench/hylafax/``.
    Both daemons run in the foreground (``faxq -D``, ``hfaxd -d``) in a session of their
    own, so stopping them ends hfaxd's per-connection children too.
    """

    def __init__(self) -> None:
        self.spool = Path(tempfile.mkdtemp(prefix="openfax-bench-hylafax-"))
        self.port = 0
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def host(self) -> str:
        """The ``-h`` argument of the HylaFAX clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        for tool in ("faxq", "hfaxd", "sendfax", "faxstat"):
            if shutil.which(tool, path="/usr/sbin:/usr/bin") is None:
                raise HylaFaxError(
                    f"{tool} is missing: apt-get install hylafax-server hylafax-client"
                )
        if os.geteuid() != 0:
            raise HylaFaxError("the private HylaFAX instance needs root (its daemons run as uucp)")
        self._make_spool()
        self.port = free_port()
        self._spawn(["/usr/sbin/faxq", "-D", "-q", str(self.spool)])
        self._spawn(
            ["/usr/sbin/hfaxd", "-d", "-q", str(self.spool), "-l", "127.0.0.1",
             "-i", str(self.port)]
        )  # fmt: skip
        self._wait_ready()

    def _make_spool(self) -> None:
        for name in SPOOL_DIRS:
            (self.spool / name).mkdir()
        for script in (SYSTEM_SPOOL / "bin").iterdir():
            shutil.copy2(script, self.spool / "bin", follow_symlinks=False)
        etc = self.spool / "etc"
        try:
            cache = (SYSTEM_ETC / "setup.cache").read_text()
        except OSError as exc:
            raise HylaFaxError(
                f"no {SYSTEM_ETC}/setup.cache (faxq needs it; run faxsetup)"
            ) from exc
        (etc / "setup.cache").write_text(re.sub(r"(?m)^SPOOL=.*$", f"SPOOL='{self.spool}'", cache))
        for name in ("dialrules", "pagesizes"):
            if (SYSTEM_ETC / name).exists():
                shutil.copy2(SYSTEM_ETC / name, etc / name)
        shutil.copy2(HYLAFAX_TEMPLATES / "config", etc / "config")
        shutil.copy2(HYLAFAX_TEMPLATES / "hosts.hfaxd", etc / "hosts.hfaxd")
        os.mkfifo(self.spool / "FIFO", 0o600)
        fax = pwd.getpwnam(FAX_USER)
        for path in [self.spool, *self.spool.rglob("*")]:
            os.chown(path, fax.pw_uid, fax.pw_gid, follow_symlinks=False)
        (etc / "hosts.hfaxd").chmod(0o600)
        (self.spool / "tmp").chmod(0o1777)
        self.spool.chmod(0o755)

    def _spawn(self, command: list[str]) -> None:
        self._processes.append(
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def _wait_ready(self, timeout: float = 10.0) -> None:
        """Until hfaxd greets on its port and faxq has opened its FIFO."""
        deadline = time.monotonic() + timeout
        while True:
            for process in self._processes:
                if process.poll() is not None:
                    raise HylaFaxError(f"{process.args[0]} exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    greeting = sock.makefile("rb").readline()
                if greeting.startswith(b"220"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise HylaFaxError(f"hfaxd did not answer on port {self.port}")
            time.sleep(0.05)
        if not self.faxstat(check=True).startswith("HylaFAX scheduler on"):
            raise HylaFaxError("faxq is not running")

    def stop(self) -> None:
        """Stop both daemons (and hfaxd's children) and remove the spool."""
        for process in self._processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._processes.clear()
        shutil.rmtree(self.spool, ignore_errors=True)

    def __enter__(self) -> HylaFax:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what is measured

    def queued_jobs(self) -> int:
        """The job files in ``sendq`` (read from the spool, not through the server)."""
        return sum(1 for _ in (self.spool / "sendq").glob("q*"))

    def sendfax(self, document: Path, numbers: list[str]) -> int:
        """Run one ``sendfax`` for ``numbers`` (one job each); the jobs it reports queued."""
        command = ["sendfax", "-n", "-h", self.host]
        for number in numbers:
            command += ["-d", number]
        done = subprocess.run(
            [*command, str(document)], capture_output=True, text=True, check=False
        )
        queued = done.stdout.count("request id is")
        if done.returncode != 0 and queued == 0:
            raise HylaFaxError(f"sendfax failed: {done.stderr.strip() or done.stdout.strip()}")
        return queued

    def faxstat(self, check: bool = False) -> str:
        """The output of ``faxstat -s`` (server status and the send queue)."""
        done = subprocess.run(
            ["faxstat", "-h", self.host, "-s"], capture_output=True, text=True, check=check
        )
        return done.stdout


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
    """One-job ``sendfax`` / ``openfax send`` runs in a row."""
    multi_destinations: int
    """Destinations of the one ``sendfax`` with many ``-d``."""
    client_jobs: int
    """Jobs submitted through the OpenFax client for its jobs/s figure."""
    list_runs: int
    """Timed listings at each queue size (after one untimed)."""
    queue_sizes: tuple[int, ...]
    events: int
    """State changes timed for the event latency."""


FULL = Settings(
    send_runs=30, multi_destinations=100, client_jobs=1_000, list_runs=20,
    queue_sizes=QUEUE_SIZES, events=400,
)  # fmt: skip
QUICK = Settings(
    send_runs=5, multi_destinations=100, client_jobs=200, list_runs=5,
    queue_sizes=(0, 1_000), events=60,
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
    listings: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    """Listing method -> queue size -> seconds per listing."""
    events: list[float] = field(default_factory=list)
    """Seconds from a state change to its event, one per change."""
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    pending: str | None = None

    @property
    def best_submission(self) -> Submission | None:
        """The highest jobs/s of the ways measured."""
        return max(self.submissions, key=lambda s: s.jobs_per_second, default=None)

    @property
    def own_client_submission(self) -> Submission | None:
        """HylaFAX's own client submitting from one process: ``sendfax`` with many ``-d``
        (what the 10x target is held against)."""
        return next((s for s in self.submissions if s.way.startswith("sendfax with")), None)

    @property
    def send_ms(self) -> float | None:
        return 1000 * statistics.median(self.send_seconds) if self.send_seconds else None

    def list_ms(self, method: str, size: int) -> float | None:
        runs = self.listings.get(method, {}).get(size)
        return 1000 * statistics.median(runs) if runs else None

    def event_ms(self, fraction: float) -> float | None:
        return 1000 * percentile(self.events, fraction) if self.events else None

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
            "listing_ms": {
                method: {str(size): milliseconds(runs) for size, runs in sizes.items()}
                for method, sizes in self.listings.items()
            },
            "event_ms": (
                {
                    "count": len(self.events),
                    "p50": self.event_ms(0.50),
                    "p99": self.event_ms(0.99),
                    "max": 1000 * max(self.events),
                }
                if self.events
                else None
            ),
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

    progress(f"HylaFAX: one sendfax with {settings.multi_destinations} destinations")
    batch = [next(numbers) for _ in range(settings.multi_destinations)]
    queued = 0

    def many() -> None:
        nonlocal queued
        queued = hylafax.sendfax(document, batch)

    seconds = timed(many)
    lost = len(batch) - queued
    result.submissions.append(
        Submission(
            f"sendfax with {len(batch)} -d (one process)",
            len(batch),
            seconds,
            queued,
            f"{lost} destinations lost to hfaxd's 504 (see notes)" if lost else "",
        )
    )
    if lost:
        result.notes.append(
            f"sendfax with {len(batch)} -d stopped after {queued} jobs: hfaxd's '504 ... null "
            "or missing DIALSTRING' when a job is made just after a whole second"
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


def openfax_client_missing() -> str | None:
    """Why the OpenFax side cannot run yet (None when ``openfax.client`` is there)."""
    try:
        import openfax.client as client
    except ImportError as exc:
        return f"openfax.client is not there yet ({exc})"
    missing = [name for name in ("FaxServer", "FaxDocument") if not hasattr(client, name)]
    if missing:
        return f"openfax.client has no {', '.join(missing)} yet"
    return None


class OpenFaxError(RuntimeError):
    """The private openfaxd could not be started or did not answer as expected."""


class OpenFaxd:
    """A private ``openfaxd``: data, configuration, token and log in a temporary directory.

    One virtual loopback line (unpaced) and the outgoing queue paused through the API as soon
    as it answers, so submitted jobs stay queued as HylaFAX's do without a modem. The API
    listens on the data folder's Unix socket and on a free port of 127.0.0.1 with a bearer
    token written to the tokens file beforehand.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="openfax-bench-openfaxd-"))
        self.port = free_port()
        self.config = self.root / "openfaxd.toml"
        self.log = self.root / "openfaxd.log"
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
                [sys.executable, "-m", "openfax.service.daemon", "--config", str(self.config)],
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
                break
            except (OSError, http.client.HTTPException):
                self._http = None
            if time.monotonic() > deadline:
                raise OpenFaxError(f"openfaxd did not answer on {self.address}: {self.tail()}")
            time.sleep(0.1)
        self.request("PATCH", "/v1/outgoing-queue", {"paused": True})

    def tail(self) -> str:
        """The end of the daemon's log, for error messages."""
        try:
            return self.log.read_text(errors="replace")[-800:].strip()
        except OSError:
            return ""

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON request on a kept-alive connection with the token; the decoded reply."""
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
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
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


def run_openfax(settings: Settings, document: Path, progress: Callable[[str], None]) -> SideResult:
    """All OpenFax measurements on one private openfaxd (pending until the client exists)."""
    result = SideResult("OpenFax")
    missing = openfax_client_missing() or "openfax.client is not committed yet"
    result.notes.append(
        f"pending: connected_submit, get_jobs(), listen_to_server_events and `openfax send` "
        f"({missing}); submission and listing measured through the HTTP API directly"
    )
    try:
        with OpenFaxd() as daemon:
            _measure_openfax(daemon, settings, document, result, progress)
    except (OpenFaxError, OSError, subprocess.SubprocessError) as exc:
        result.error = str(exc)
    return result


def _measure_openfax(
    daemon: OpenFaxd,
    settings: Settings,
    document: Path,
    result: SideResult,
    progress: Callable[[str], None],
) -> None:
    import httpx

    result.notes.append(f"private openfaxd on {daemon.address}, data in {daemon.root}")
    body = document.read_bytes()
    numbers = (f"555{n:07d}" for n in range(10**7))
    kept_alive = result.listings.setdefault("HTTP GET, kept-alive", {})
    fresh = result.listings.setdefault("HTTP GET, new conn", {})
    auth = {"Authorization": f"Bearer {daemon.token}"}

    def list_new_connection() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=120)
        try:
            connection.request("GET", "/v1/outgoing-jobs", headers=auth)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise OpenFaxError(f"GET /v1/outgoing-jobs: {response.status}")
        finally:
            connection.close()

    with httpx.Client(base_url=f"http://{daemon.address}", headers=auth, timeout=600) as api:

        def submit(recipients: int) -> int:
            document_json = json.dumps(
                {"recipients": [{"fax_number": next(numbers)} for _ in range(recipients)]}
            )
            reply = api.post(
                "/v1/submissions",
                data={"document": document_json},
                files=[("bodies", ("document.txt", body, "text/plain"))],
            )
            if reply.status_code != 201:
                raise OpenFaxError(f"POST /v1/submissions: {reply.status_code} {reply.text}")
            return len(reply.json()["job_ids"])

        def queued() -> int:
            return len(api.get("/v1/outgoing-jobs").raise_for_status().json())

        measured = False
        for size in sorted(settings.queue_sizes):
            if not measured and size > 0:
                jobs = settings.send_runs * 4
                progress(f"OpenFax: {jobs} submissions of one recipient over HTTP")
                start = time.perf_counter()
                made = sum(submit(1) for _ in range(jobs))
                result.submissions.append(
                    Submission(
                        "HTTP POST, 1 recipient each",
                        jobs,
                        time.perf_counter() - start,
                        made,
                    )
                )
                measured = True
            while (have := queued()) < size:
                count = min(1_000, size - have)
                progress(f"OpenFax: {count:,} more jobs in one submission (to {size:,})")
                submit(count)
            if (have := queued()) != size:
                raise OpenFaxError(f"the outgoing queue has {have} jobs, expected {size}")
            progress(f"OpenFax: listing with {size:,} jobs queued")
            kept_alive[size] = time_listing(
                lambda: api.get("/v1/outgoing-jobs").raise_for_status(), settings.list_runs
            )
            fresh[size] = time_listing(list_new_connection, settings.list_runs)


# --- output ------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


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

    ours_best = openfax.best_submission
    ours_rate = ours_best.jobs_per_second if ours_best else None
    own = hylafax.own_client_submission
    theirs_rate = own.jobs_per_second if own else None
    ratio = ours_rate / theirs_rate if ours_rate and theirs_rate else None
    row(
        "submit jobs/s, one process (sendfax many -d)", theirs_rate, ours_rate, ratio,
        f">= {TARGET_SUBMIT_RATIO:g}x", None if ratio is None else ratio >= TARGET_SUBMIT_RATIO,
    )  # fmt: skip
    for submission in hylafax.submissions:
        theirs_rate = submission.jobs_per_second
        ratio = ours_rate / theirs_rate if ours_rate and theirs_rate else None
        row(f"  HylaFAX: {submission.way}", theirs_rate, None, ratio)
    for submission in openfax.submissions:
        row(f"  OpenFax: {submission.way}", None, submission.jobs_per_second)
    theirs_ms, ours_ms = hylafax.send_ms, openfax.send_ms
    ratio = ours_ms / theirs_ms if ours_ms and theirs_ms else None
    row(
        "one-job send (CLI) wall ms, median", theirs_ms, ours_ms, ratio, "<= 1x sendfax",
        None if ratio is None else ratio <= 1.0,
    )  # fmt: skip
    methods = list(openfax.listings) or ["get_jobs()"]
    for size in settings.queue_sizes:
        theirs_ms = hylafax.list_ms("faxstat -s", size)
        for method in methods:
            ours_ms = openfax.list_ms(method, size)
            ratio = ours_ms / theirs_ms if ours_ms and theirs_ms else None
            at_target = size == max(QUEUE_SIZES)
            row(
                f"list {size:,} queued, ms ({method})", theirs_ms, ours_ms, ratio,
                f"< {TARGET_LIST_MS:g} ms" if at_target else "",
                None if not at_target or ours_ms is None else ours_ms < TARGET_LIST_MS,
                digits=2,
            )  # fmt: skip
    row("event latency p50, ms", None, openfax.event_ms(0.50), digits=2)
    p99 = openfax.event_ms(0.99)
    row(
        "event latency p99, ms", None, p99, None, f"< {TARGET_EVENT_P99_MS:g} ms",
        None if p99 is None else p99 < TARGET_EVENT_P99_MS, digits=2,
    )  # fmt: skip
    return rows


def print_table(hylafax: SideResult, openfax: SideResult, settings: Settings) -> None:
    print("OpenFax service benchmark: submission, queue listing, events (OpenFax vs HylaFAX)")
    print()
    width = 50
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
    print("ratio: OpenFax/HylaFAX (jobs/s: higher is better; ms: lower is better); the")
    print("submission target is held against HylaFAX's own client in one process (sendfax")
    print("with many -d), the sub-rows give OpenFax's best rate against every HylaFAX way.")
    print("ms: medians (send: of the runs; listing: of timed runs after one untimed).")
    print("Listing: HylaFAX is faxstat -s; OpenFax GET /v1/outgoing-jobs over TCP with a")
    print("token on one kept-alive connection or a new connection per listing.")
    for side in (hylafax, openfax):
        if side.error:
            print(f"{side.name}: FAILED: {side.error}")
        if side.pending:
            print(f"{side.name} side pending: {side.pending}")
        for note in side.notes:
            print(f"{side.name}: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (queues up to 1,000)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--skip-hylafax", action="store_true", help="measure OpenFax only")
    parser.add_argument("--skip-openfax", action="store_true", help="measure HylaFAX only")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="openfax-bench-service-") as name:
        document = Path(name) / "document.ps"
        document.write_text(DOCUMENT_PS)
        text = Path(name) / "document.txt"
        text.write_text(DOCUMENT_TEXT)
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
