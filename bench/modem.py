"""Modem benchmark: CPU per fax call against HylaFAX, simultaneous calls under load, and how
quickly OpenFax answers its modems.

Every call runs through virtual modem pairs (``openfax virtual-modems --pair``, each pair a
process of its own) at real time, one one-page or few-page fine A4 TIFF a call.

* **CPU per call** (one pair): the measured side on modem A, the same peer on modem B in
  every run (an ``openfaxd`` with one modem line, number 1002). OpenFax: an ``openfaxd``
  with one modem line (1001) sends to the peer, then receives from it. HylaFAX 6.0.7
  (``bench/hylafax``, private, faxgetty on modem A): ``sendfax`` -> hfaxd -> faxq ->
  faxsend sends to the peer, then faxgetty answers the peer's call. Per call: the CPU time
  of the measured daemon(s) from the fax's submission to its end, that of the peer and that
  of the pair's process. For OpenFax it is the whole ``openfaxd`` (every thread: the modem
  line, the scheduler, the store, the archive). For HylaFAX ``total`` is faxq, hfaxd and
  faxgetty with their children (faxsend, the conversion and notification scripts, hfaxd's
  session processes); ``faxsend`` is faxsend alone (faxq runs it through a wrapper that
  records its resource usage) and ``faxgetty`` the receiving faxgetty with its children.
  The ratio is OpenFax over HylaFAX (below 1: OpenFax uses less).
* **Simultaneous calls**: N pairs, an ``openfaxd`` with N modem lines on their A ends
  sending one fax to N recipients at once (the scheduler places N calls) and one with N
  lines on the B ends receiving, while ``--load`` busy processes keep the machine's load at
  about that figure; no retries, so a failed call is a failed fax. Per N: the faxes failed,
  the wall time, the CPU time of each daemon and of all the pairs.
* **Response time to the modem**: every OpenFax modem line times its answers to its
  modem's result codes (from the code's arrival at the port to the next command or data
  written) and logs them per call (``modem timing:``); each round pools them: how many,
  the maximum, p99 (the upper edge of its bucket), and the latest a line's timer fired.
  T.30 wants answers within about 3 s, and 75 ms pauses between carriers.

Run: ``.venv/bin/python bench/modem.py`` (``--pages 1,3``, ``--rounds 4,8,16,24,32``,
``--load 2``, ``--skip-hylafax``, ``--skip-cpu``, ``--skip-rounds``, ``--json``). A
benchmark, not a test: nothing is asserted about time. HylaFAX needs root.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from hylafax import (
    MODEM_IDLE,
    TEMPLATES,
    HylaFax,
    missing_programs,
    system_hylafax_processes,
)
from openfax.client import FaxDocument
from openfax.providers.modem.timing import ResponseTimes
from sip import CLOCK_TICKS, Daemon, toml

EVENTS = re.compile(r"(modem timing: .*|job [0-9a-f]+ to \S+: .*|fax [0-9a-f]+ routed)$")
"""What a daemon logs that the benchmark waits for: a call's modem timing (at its end), a
job's end (``job ID to NUMBER: STATUS (detail)``) and a received fax routed."""
TRACE = re.compile(r"^\w{3} \d\d (\d\d):(\d\d):(\d\d\.\d+): \[ *\d+\]: (-->|<--) (.*)$")
"""A line of a HylaFAX session log (``log/cNNNNNNNNN``) with the modem's I/O: its time of
day (to the hundredth of a second), its direction (``-->`` from the modem) and text."""
RESULT = re.compile(r"\[\d+:(CONNECT|OK|NO CARRIER|ERROR|\+FCERROR)\]")
ANSWER = re.compile(r"\[\d+:AT\+F|HDLC<|data \[")
"""What HylaFAX writes to the modem in the fax phase: +F commands, frames and image data
(a reset or hang-up after the call is left out, as OpenFax's provider leaves it out)."""
Call = tuple[int, Path, bool]
"""A call of the CPU part: its pages, its document, and whether it only warms up."""
IDLE_SECONDS = 10.0
"""How long each measured side's CPU time is taken idle, before its calls."""
SETTLE = 3.0
"""Seconds the meters run on once a call's end is logged, for what follows it (storing,
archiving, notification scripts), on both sides alike."""
NUMBERS = ("1001", "1002")
"""Modem A's and modem B's numbers (the pair rings the other modem whatever is dialled)."""
CALL_TIMEOUT = 300.0
SENDFAX_OPTIONS = ("-m", "-s", "a4", "-T", "1", "-t", "1")
"""Fine resolution on A4, one dial and one try, as OpenFax's jobs (no retries)."""
FAXSEND = "/usr/lib/hylafax/bin/faxsend"
"""faxsend itself: Debian's /usr/sbin/faxsend is a shell script that bind-mounts
/etc/hylafax on the system spool around it."""
FAXSEND_WRAPPER = f"""#!/usr/bin/python3
# faxq's SendFaxCmd in the benchmark: faxsend, then its resource usage to log/faxsend-cpu.
import os, sys
pid = os.fork()
if pid == 0:
    os.execv({FAXSEND!r}, ["faxsend", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
with open("log/faxsend-cpu", "a") as out:
    out.write(f"{{usage.ru_utime + usage.ru_stime}}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def process_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds (user and system, every thread) of process ``pid`` so far, and with
    ``children`` those of its children it has waited for; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def fax_tiff(path: Path, pages: int) -> Path:
    """A fine A4 G3 TIFF of ``pages`` pages of text and boxes (no two pages alike)."""
    images = []
    for number in range(1, pages + 1):
        page = Image.new("1", (1728, 2287), 1)
        draw = ImageDraw.Draw(page)
        rng = random.Random(number)
        for _ in range(12):
            x, y = rng.randrange(0, 1528), rng.randrange(0, 2087)
            draw.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(5, 200)), fill=0)
        for line in range(40):
            draw.text((100, 80 + line * 52), f"page {number} line {line} of the bench " * 3, fill=0)
        images.append(page)
    images[0].save(
        path, compression="group3", save_all=True, append_images=images[1:], dpi=(204, 196)
    )
    return path


class Pair:
    """``openfax virtual-modems --pair`` in a process of its own: modems A and B, once
    ``wait_started`` has returned (pairs start side by side)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.a, self.b = folder / "ttyA", folder / "ttyB"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from openfax.cli.main import main; main()",
             "virtual-modems", "--pair", str(self.a), str(self.b), "--json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip

    def wait_started(self) -> Pair:
        """Until the pair says its modems are there; SystemExit if it does not start."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("{"):
            self.stop()
            raise SystemExit(f"openfax virtual-modems did not start: {line!r}")
        return self

    def cpu_seconds(self) -> float:
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def modem_daemon(root: Path, devices: list[Path], number: str) -> Daemon:
    """An openfaxd with a modem line on each of ``devices`` (all with ``number``), answering
    at the first ring; once every line's modem is ready."""
    sections = []
    for index, device in enumerate(devices):
        line = {
            "device": str(device),
            "name": f"modem {index + 1}",
            "number": number,
            "rings_before_answer": 1,
        }
        sections += ["[[modem.lines]]", *(f"{key} = {toml(value)}" for key, value in line.items())]
    daemon = Daemon(root, sections, figures=EVENTS)
    ready = 60 + 5 * len(devices)
    try:
        wait_for(lambda: lines_ready(daemon, len(devices)), ready, f"{root.name}'s modems ready")
    except BaseException:
        daemon.stop()
        raise
    return daemon


def lines_ready(daemon: Daemon, count: int) -> bool:
    with daemon.connect() as server:
        modems = [d for d in server.get_devices() if d.provider_unique_name == "modem"]
    return len(modems) == count and all(d.registration == "registered" for d in modems)


def wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    """Until ``condition()`` is true (every 0.25 s); SystemExit after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.25)


def archived(daemon: Daemon) -> list[Any]:
    with daemon.connect() as server:
        return list(server.folders.incoming_archive.get_messages())


def send(daemon: Daemon, document: Path, recipients: int, number: str) -> None:
    """Submit ``document`` to ``recipients`` times ``number`` on ``daemon``."""
    fax = FaxDocument(body=document, subject="bench")
    for _ in range(recipients):
        fax.recipients.add(number)
    with daemon.connect() as server:
        fax.connected_submit(server)


def events(daemon: Daemon, kind: str, since: int = 0) -> list[str]:
    """What ``daemon`` logged of ``kind`` (``modem timing: ``, ``job ``, ``fax ``) from its
    ``since``-th event on. Read from its log: polling its API would cost it CPU time."""
    return [
        line.removeprefix("modem timing: ")
        for line in daemon.figures[since:]
        if line.startswith(kind)
    ]


def failures(job_lines: list[str]) -> list[str]:
    """The failed jobs' status and detail among logged job ends."""
    return [line.split(": ", 1)[1] for line in job_lines if ": COMPLETED" not in line]


def pooled(figures: list[str]) -> ResponseTimes:
    """The response times of the calls logged in ``figures`` together."""
    total = ResponseTimes()
    for line in figures:
        total.merge(ResponseTimes.parse(line))
    return total


def timing_row(times: ResponseTimes) -> dict[str, float]:
    return {
        "responses": times.count,
        "max_response_ms": round(times.longest * 1000, 1),
        "p99_response_ms": round(times.quantile(0.99) * 1000, 1),
        "latest_timer_ms": round(times.late * 1000, 1),
    }


class Meter:
    """CPU seconds of named sources between ``start`` and ``stop``."""

    def __init__(self, sources: dict[str, Callable[[], float]]) -> None:
        self.sources = sources
        self.before: dict[str, float] = {}
        self.started = 0.0

    def start(self) -> None:
        self.before = {name: read() for name, read in self.sources.items()}
        self.started = time.monotonic()

    def reading(self, name: str) -> float:
        """``name``'s CPU seconds since ``start``."""
        return round(self.sources[name]() - self.before[name], 3)

    def stop(self, settled: float = SETTLE) -> dict[str, float]:
        """The CPU seconds of each source since ``start``, and the wall time less the
        ``settled`` seconds waited after the end."""
        used = {name: round(read() - self.before[name], 3) for name, read in self.sources.items()}
        wall = time.monotonic() - self.started - settled
        return {"wall_seconds": round(wall, 1), **used}


# --- CPU per call -------------------------------------------------------------------------


def openfax_calls(
    folder: Path, pair: Pair, peer: Daemon, documents: list[Call]
) -> list[dict[str, Any]]:
    """An openfaxd on modem A sends each document to the peer and receives it from it."""
    rows: list[dict[str, Any]] = []
    measured = modem_daemon(folder / "openfax", [pair.a], NUMBERS[0])
    meter = Meter(
        {"cpu": measured.cpu_seconds, "peer_cpu": peer.cpu_seconds, "pair_cpu": pair.cpu_seconds}
    )
    try:
        rows.append(idle("openfax", meter))
        rows += both_ways(
            "openfax",
            documents,
            lambda direction, document, pages: openfax_call(
                measured, peer, direction, document, pages, meter
            ),
        )
    finally:
        measured.stop()
    return rows


def both_ways(
    side: str, documents: list[Call], call: Callable[[str, Path, int], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each document sent and then received by ``side`` through ``call(direction,
    document, pages)``, a row printed and kept for each call."""
    rows = []
    for pages, document, warm_up in documents:
        for direction in ("send", "receive"):
            row = {"side": side, "direction": direction, "pages": pages, "warm_up": warm_up}
            row |= call(direction, document, pages)
            rows.append(row)
            print_row(row)
    return rows


def idle(side: str, meter: Meter) -> dict[str, Any]:
    """The CPU time the measured side (and the rest) uses with no call, over ``IDLE_SECONDS``."""
    meter.start()
    time.sleep(IDLE_SECONDS)
    row = {"side": side, "direction": "idle", "pages": 0} | meter.stop(settled=0.0)
    print_row(row)
    return row


def openfax_call(
    measured: Daemon, peer: Daemon, direction: str, document: Path, pages: int, meter: Meter
) -> dict[str, Any]:
    sender, receiver = (measured, peer) if direction == "send" else (peer, measured)
    number = NUMBERS[1] if direction == "send" else NUMBERS[0]
    before = len(archived(receiver))
    marks = {id(d): len(d.figures) for d in (measured, peer)}
    meter.start()
    send(sender, document, 1, number)
    submitted = meter.reading("cpu")
    ended = wait_for(lambda: events(sender, "job ", marks[id(sender)]), CALL_TIMEOUT, "the call")
    failed = failures(ended)
    if not failed:
        with contextlib.suppress(SystemExit):
            wait_for(lambda: events(receiver, "fax ", marks[id(receiver)]), 60, "the fax routed")
    time.sleep(SETTLE)
    row: dict[str, Any] = meter.stop()
    row["submitted_cpu"] = submitted if direction == "send" else 0.0
    if failed:
        row |= {"ok": False, "reason": failed[0]}
    else:
        new = archived(receiver)[before:]
        row["ok"] = len(new) == 1 and new[0].pages == pages and not new[0].partial
    return row | timing_row(pooled(events(measured, "modem timing: ", marks[id(measured)])))


class MeasuredHylaFax(HylaFax):
    """The private HylaFAX with faxgetty on modem A, faxq running faxsend through a wrapper
    that records faxsend's resource usage; CPU meters of its parts."""

    def __init__(self, folder: Path) -> None:
        config = folder / "faxq.config"
        config.write_text((TEMPLATES / "config").read_text() + "SendFaxCmd: bin/faxsend-timed\n")
        super().__init__(config)
        self.pids: dict[str, int] = {}
        self.modem = ""

    def serve(self, device: Path) -> None:
        """faxgetty on ``device``, once it is ready."""
        wrapper = self.spool / "bin" / "faxsend-timed"
        wrapper.write_text(FAXSEND_WRAPPER)
        wrapper.chmod(0o755)
        # faxsend runs as root and would make these root's (mode 600), which faxgetty (uucp)
        # could then not write: no record of a fax received after one sent.
        for name in ("seqf", "xferfaxlog", "faxsend-cpu"):
            (self.spool / "log" / name).touch(mode=0o644)
            self._give_to_fax_user(self.spool / "log" / name)
        self.modem = self.add_modem(device.resolve())
        wait_for(lambda: self.modem_status(self.modem) == MODEM_IDLE, 60, "faxgetty ready")
        self.pids = self._daemons()

    def _daemons(self) -> dict[str, int]:
        """This instance's faxq, hfaxd and faxgetty (others may run beside it): the
        processes whose command line names its spool."""
        found = {}
        for pid, name in map(str.split, system_hylafax_processes()):
            with contextlib.suppress(OSError):
                if str(self.spool) in Path(f"/proc/{pid}/cmdline").read_text().split("\0"):
                    found[name] = int(pid)
        if len(found) != 3:
            raise SystemExit(f"HylaFAX's daemons on {self.spool} not found: {found}")
        return found

    def total_cpu(self) -> float:
        """faxq, hfaxd and faxgetty with the children they waited for."""
        return sum(process_cpu(pid, children=True) for pid in self.pids.values())

    def faxgetty_cpu(self) -> float:
        return process_cpu(self.pids["faxgetty"], children=True)

    def faxsend_cpu(self) -> float:
        """Every faxsend run so far, as its wrapper recorded it."""
        try:
            return sum(float(n) for n in (self.spool / "log" / "faxsend-cpu").read_text().split())
        except FileNotFoundError:
            return 0.0


def hylafax_calls(
    folder: Path, pair: Pair, peer: Daemon, documents: list[Call]
) -> list[dict[str, Any]]:
    """HylaFAX on modem A sends each document to the peer and receives it from it."""
    rows: list[dict[str, Any]] = []
    hylafax = MeasuredHylaFax(folder)
    with hylafax:
        hylafax.serve(pair.a)
        meter = Meter(
            {
                "cpu": hylafax.total_cpu,
                "faxsend_cpu": hylafax.faxsend_cpu,
                "faxgetty_cpu": hylafax.faxgetty_cpu,
                "peer_cpu": peer.cpu_seconds,
                "pair_cpu": pair.cpu_seconds,
            }
        )
        rows.append(idle("hylafax", meter))
        rows += both_ways(
            "hylafax",
            documents,
            lambda direction, document, pages: hylafax_call(
                hylafax, peer, direction, document, pages, meter
            ),
        )
    return rows


def hylafax_responses(logs: list[Path]) -> ResponseTimes:
    """HylaFAX's answers to its modem's result codes in the fax phase, from the session
    logs: the time from a result code logged as read to the next command or data logged as
    written (HylaFAX logs to the hundredth of a second)."""
    times = ResponseTimes()
    for log in logs:
        result_at: float | None = None
        for line in log.read_text(errors="replace").splitlines():
            found = TRACE.match(line)
            if found is None:
                continue
            at = int(found[1]) * 3600 + int(found[2]) * 60 + float(found[3])
            if found[4] == "-->":
                result_at = at if RESULT.match(found[5]) else None
            elif result_at is not None and ANSWER.match(found[5]):
                times.add((at - result_at) % 86400)
                result_at = None
            else:
                result_at = None
    return times


def hylafax_call(
    hylafax: MeasuredHylaFax, peer: Daemon, direction: str, document: Path, pages: int, meter: Meter
) -> dict[str, Any]:
    done = len(hylafax.transfers())
    traced = set((hylafax.spool / "log").glob("c*"))
    before = len(archived(peer))
    mark = len(peer.figures)
    meter.start()
    if direction == "send":
        hylafax.sendfax(document, [NUMBERS[1]], SENDFAX_OPTIONS)
    else:
        send(peer, document, 1, NUMBERS[0])
    submitted = meter.reading("cpu")
    transfers = wait_for(lambda: hylafax.transfers()[done:], CALL_TIMEOUT, "HylaFAX's record")
    ok = transfers[0].reason == "" and transfers[0].pages == pages
    with contextlib.suppress(SystemExit):
        kind = "fax " if direction == "send" else "job "
        wait_for(lambda: events(peer, kind, mark), 60 if ok else 5, "the peer's end of the call")
    time.sleep(SETTLE)
    row: dict[str, Any] = meter.stop()
    row["submitted_cpu"] = submitted if direction == "send" else 0.0
    if direction == "send":
        new = archived(peer)[before:]
        ok = ok and len(new) == 1 and new[0].pages == pages and not new[0].partial
    row["ok"] = ok
    if not ok:
        row["reason"] = transfers[0].reason or f"{transfers[0].pages} pages"
    # faxgetty takes the port back after faxsend, or sets the modem up after a call.
    wait_for(lambda: hylafax.modem_status(hylafax.modem) == MODEM_IDLE, 60, "faxgetty idle")
    logs = sorted(set((hylafax.spool / "log").glob("c*")) - traced)
    return row | timing_row(hylafax_responses(logs))


def cpu_per_call(folder: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    folder.mkdir()
    faxes = {n: fax_tiff(folder / f"fax-{n}.tif", n) for n in {1, *args.pages}}
    # A first call each way is not compared: OpenFax's first imports and caches its code.
    documents = [(1, faxes[1], True), *((n, faxes[n], False) for n in args.pages)]
    pair = Pair(folder / "pair")
    try:
        pair.wait_started()
        peer = modem_daemon(folder / "peer", [pair.b], NUMBERS[1])
        try:
            rows = openfax_calls(folder, pair, peer, documents)
            if not args.skip_hylafax:
                rows += hylafax_calls(folder, pair, peer, documents)
        finally:
            peer.stop()
    finally:
        pair.stop()
    return rows


# --- simultaneous calls -------------------------------------------------------------------


@contextlib.contextmanager
def busy(processes: int) -> Iterator[None]:
    """``processes`` busy loops (the machine's load about that figure) for the block."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def simultaneous(folder: Path, calls: int, document: Path) -> dict[str, Any]:
    """``calls`` faxes at once from N lines of one openfaxd to N lines of another."""
    pairs: list[Pair] = []
    daemons: list[Daemon] = []
    try:
        pairs += [Pair(folder / f"pair-{index}") for index in range(calls)]
        for pair in pairs:
            pair.wait_started()
        a = modem_daemon(folder / "sender", [pair.a for pair in pairs], NUMBERS[0])
        daemons.append(a)
        b = modem_daemon(folder / "receiver", [pair.b for pair in pairs], NUMBERS[1])
        daemons.append(b)
        meter = Meter(
            {
                "sender_cpu": a.cpu_seconds,
                "receiver_cpu": b.cpu_seconds,
                "pairs_cpu": lambda: sum(pair.cpu_seconds() for pair in pairs),
            }
        )
        marks = len(a.figures), len(b.figures)
        meter.start()
        send(a, document, calls, NUMBERS[1])
        wait = CALL_TIMEOUT + 10 * calls
        wait_for(lambda: events(a, "job ", marks[0])[calls - 1 :], wait, "the calls")
        failed = failures(events(a, "job ", marks[0]))
        with contextlib.suppress(SystemExit):
            wanted = calls - len(failed)
            wait_for(lambda: events(b, "fax ", marks[1])[wanted - 1 :], 60, "the faxes routed")
        time.sleep(SETTLE)
        row: dict[str, Any] = {"calls": calls} | meter.stop()
        whole = sum(not message.partial for message in archived(b))
        row["failed"] = len(failed)
        row["received_whole"] = whole
        row["ok"] = not failed and whole == calls
        row["failures"] = sorted(set(failed))
        row["daemons_cpu_per_call"] = round((row["sender_cpu"] + row["receiver_cpu"]) / calls, 3)
        row["pairs_cpu_per_call"] = round(row["pairs_cpu"] / calls, 3)
        timing = events(a, "modem timing: ", marks[0]) + events(b, "modem timing: ", marks[1])
        row |= timing_row(pooled(timing))
        row["warnings"] = sorted(set(a.problems + b.problems))[:6]
        return row
    finally:
        for daemon in daemons:
            daemon.stop()
        for pair in pairs:
            pair.stop()


# --- output -------------------------------------------------------------------------------


def print_row(row: dict[str, Any]) -> None:
    if not ARGS.json:
        print(json.dumps(row), flush=True)


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    """OpenFax's CPU per call over HylaFAX's, side by side per direction and pages."""
    lines = []
    for direction in ("send", "receive"):
        for pages in sorted({row["pages"] for row in rows}):
            found = {
                row["side"]: row
                for row in rows
                if row["direction"] == direction
                and row["pages"] == pages
                and row["ok"]
                and not row["warm_up"]
            }
            if {"openfax", "hylafax"} <= found.keys():
                ours, theirs = found["openfax"], found["hylafax"]
                alone = theirs["faxsend_cpu" if direction == "send" else "faxgetty_cpu"]
                lines.append(
                    f"{direction} {pages} page(s): openfaxd {ours['cpu']:.2f} s, "
                    f"HylaFAX {theirs['cpu']:.2f} s (faxsend or faxgetty alone {alone:.2f} s): "
                    f"ratio {ours['cpu'] / max(theirs['cpu'], 0.001):.2f} "
                    f"({ours['cpu'] / max(alone, 0.001):.2f} against the one program); "
                    f"the pair {ours['pair_cpu']:.2f} / {theirs['pair_cpu']:.2f} s, the peer "
                    f"{ours['peer_cpu']:.2f} / {theirs['peer_cpu']:.2f} s"
                )
    return lines


ARGS = argparse.Namespace(json=False)


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", default="1,3", help="pages of the faxes timed for CPU")
    parser.add_argument("--rounds", default="4,8,16,24,32", help="simultaneous calls")
    parser.add_argument("--load", type=int, default=2, help="busy processes during the rounds")
    parser.add_argument("--skip-hylafax", action="store_true")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-rounds", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = ARGS = parser.parse_args()
    args.pages = [int(n) for n in args.pages.split(",")]
    if not args.skip_hylafax and (missing_programs() or os.geteuid() != 0):
        print("HylaFAX skipped: it needs hylafax-server, hylafax-client and root", file=sys.stderr)
        args.skip_hylafax = True
    output: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="openfax-bench-modem-") as name:
        folder = Path(name)
        if not args.skip_cpu:
            output["cpu_per_call"] = cpu_per_call(folder / "cpu", args)
        if not args.skip_rounds:
            document = fax_tiff(folder / "round.tif", 1)
            output["rounds"] = []
            with busy(args.load):
                for calls in (int(n) for n in args.rounds.split(",")):
                    try:
                        row = simultaneous(folder / f"round-{calls}", calls, document)
                    except SystemExit as exc:  # a time-out: the round failed
                        row = {"calls": calls, "ok": False, "error": str(exc)}
                    output["rounds"].append(row)
                    print_row(row)
                    if not row["ok"]:
                        break
    output["load_average"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    if args.json:
        print(json.dumps(output, indent=2))
        return
    for line in ratios(output.get("cpu_per_call", [])):
        print(line)
    for row in output.get("cpu_per_call", []):
        if row["direction"] == "idle":
            print(f"{row['side']} idle: {row['cpu']:.2f} s of CPU in {row['wall_seconds']} s")
    singles = [row for row in output.get("cpu_per_call", []) if row.get("responses")]
    for side in ("openfax", "hylafax"):
        mine = [row for row in singles if row["side"] == side]
        if mine:
            worst = max(row["max_response_ms"] for row in mine)
            print(f"{side}: worst response to the modem in single calls {worst} ms")
    rounds = output.get("rounds", [])
    for row in rounds:
        if "error" in row:
            print(f"{row['calls']} calls at load {args.load}: {row['error']}")
            continue
        print(
            f"{row['calls']} calls at load {args.load}: {row['failed']} failed, "
            f"{row['wall_seconds']} s, {row['daemons_cpu_per_call']} s of openfaxd CPU and "
            f"{row['pairs_cpu_per_call']} s of the pairs' a call; responses to the modem "
            f"max {row['max_response_ms']} ms, p99 {row['p99_response_ms']} ms, "
            f"timers up to {row['latest_timer_ms']} ms late"
        )
    passed = [row["calls"] for row in rounds if row["ok"]]
    if not args.skip_rounds:
        print(f"{max(passed, default=0)} simultaneous modem calls with no failed fax "
              f"at load {args.load} (target: at least 16)")  # fmt: skip
    print(f"load average at the end: {output['load_average']}")


if __name__ == "__main__":
    main()
