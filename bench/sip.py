"""SIP benchmark: the most simultaneous fax calls between two openfaxd on this machine.

Two private ``openfaxd`` (``python -m openfax.daemon``), A and B, each with one SIP
trunk pointing at the other on 127.0.0.1 and as many channels as the largest round needs,
no loopback lines. Each round submits one fax (a one-page text document) to N recipients on
A, all B's number, so the scheduler places N calls at once; B answers them all. The media
run at real time as toward a real gateway: the media clock at 1.0 and T.38 paced by spandsp
(``t38_paced = true``). A round passes when every job completed and B archived N whole
faxes, none partial; N grows until a round fails or the largest N is reached. Faxes
received twice (a job placed again while its first call still ran) are counted apart
(``received_twice``): they are no failed fax, but a fault of the scheduler to fix.

Measured per round: the wall time from submission to the last job done, and the CPU time
both daemons used meanwhile (``/proc/PID/stat``), per call (CPU seconds per fax) and as
the share of one core per simultaneous call. Run for T.38 (``t38 = "request"``) and G.711
(``t38 = "off"``). Target: at least 100 simultaneous T.38 calls on 2 cores.

Why calls fail is printed with each round: the failed jobs' extended status, the most
frequent warnings and errors the daemons logged (figures and names left out), and the media
counters every call logs when it ends (``media statistics:`` lines of both daemons, see
``MediaSession.figures``), summed over the round's calls: ticks of the media clock run in
catch-up bursts or slipped, the latest the event loop woke a clock (max), RTP packets late
or missing (concealed samples), UDPTL packets lost or late.

Run: ``.venv/bin/python bench/sip.py`` (``--rounds 25,50,100`` to choose N, ``--search`` to
find the largest passing N by doubling from ``--start`` then bisecting to ``--precision``,
``--mode t38`` or ``g711`` for one, ``--json``). A benchmark, not a test: nothing is
asserted about time. There is no peer to compare with here (no Asterisk or FreeSWITCH
package on this machine): the figures are OpenFax against OpenFax.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

from openfax.api.tokens import TokenFile
from openfax.client import FaxDocument, FaxServer
from openfax.model import JobStatus

READY = re.compile(r"openfaxd ready .* and http://([\d.]+):(\d+)")
MEDIA = re.compile(r"media statistics: (.*)$")
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d ")
EXCEPTION = re.compile(r"[\w.]+(Error|Exception|Exit): ")
PROBLEM = re.compile(r" (WARNING|ERROR) (\S+): (.*)$")
MAXIMA = {"max_lateness"}
"""Media counters that are a maximum over the calls, not a sum."""
NUMBERS = ("5550101", "5550202")
ROUND_TIMEOUT = 600.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port free for both UDP and TCP (SIP listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    return str(value)


class Daemon:
    """One private openfaxd with no loopback line and no retries; ``sections`` are more lines
    of its configuration (a SIP trunk, modem lines). The figures each call logs (lines
    matching ``figures``: its first group) are gathered in ``figures``, the warnings and
    errors in ``problems``."""

    def __init__(self, root: Path, sections: list[str], figures: re.Pattern[str] = MEDIA) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.token = TokenFile(root / "tokens").add("bench")
        self.socket = Path(tempfile.mkdtemp(prefix="ofx-", dir="/tmp")) / "openfaxd.sock"
        lines = [
            f"data_dir = {toml(str(root / 'data'))}",
            'node_id = "bench"',
            "[loopback]",
            "lines = 0",
            "[outgoing]",
            "branding = false",
            "retries = 0",
            "[api]",
            f"socket = {toml(str(self.socket))}",
            'listen = "127.0.0.1:0"',
            f"tokens_file = {toml(str(root / 'tokens'))}",
            *sections,
        ]
        self.config = root / "openfaxd.toml"
        self.config.write_text("\n".join(lines) + "\n")
        self.address = ""
        self.log: deque[str] = deque(maxlen=50)
        self.pattern = figures
        self.figures: list[str] = []
        self.problems: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openfax.daemon", "--config", str(self.config)],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            found = READY.search(line)
            if found:
                self.address = f"{found[1]}:{found[2]}"
                break
        else:
            raise SystemExit(f"openfaxd did not start: {''.join(self.log)}")
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()

    def _drain(self, stream: IO[str]) -> None:
        following = ""
        for line in stream:
            self.log.append(line)
            if following and not LOG_LINE.match(line):
                # A traceback: the problem is told by its exception's line.
                if EXCEPTION.match(line):
                    self.problems[-1] = f"{following} | {line.strip()[:160]}"
                continue
            following = ""
            problem = PROBLEM.search(line.rstrip())
            if problem:
                # One kind per message: channel names, ids and figures left out.
                following = re.sub(r"\[[^]]*\]|[0-9a-f]*\d[0-9a-f]*", "#", problem[3])[:120]
                self.problems.append(following)
            found = self.pattern.search(line.rstrip())
            if found:
                self.figures.append(found[1])

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def connect(self) -> FaxServer:
        server = FaxServer()
        server.connect(self.address, token=self.token)
        return server

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_pair(root: Path, mode: str, channels: int) -> tuple[Daemon, Daemon]:
    sip = free_port(), free_port()
    media = free_port()
    daemons = []
    for me, other in ((0, 1), (1, 0)):
        first = media + me * (2 * channels + 16)
        trunk = {
            "name": "bench",
            "host": "127.0.0.1",
            "port": sip[other],
            "local_address": "127.0.0.1",
            "local_port": sip[me],
            "numbers": [NUMBERS[me]],
            "channels": channels,
            "t38": "request" if mode == "t38" else "off",
            "media_ports": f"{first}-{first + 2 * channels + 15}",
            "ring_seconds": 0.5,
        }
        sections = ["[[sip.trunks]]", *(f"{key} = {toml(value)}" for key, value in trunk.items())]
        daemons.append(Daemon(root / f"{mode}-{me}", sections))
    return daemons[0], daemons[1]


def run_round(a: Daemon, b: Daemon, body: Path, calls: int) -> dict[str, Any]:
    """Send one fax to ``calls`` recipients at once from A to B; how it went."""
    with a.connect() as source, b.connect() as target:
        archive = target.folders.incoming_archive
        before = {message.id for message in archive.get_messages()}
        document = FaxDocument(body=body, subject="bench")
        for _ in range(calls):
            document.recipients.add(NUMBERS[1])
        cpu = a.cpu_seconds() + b.cpu_seconds()
        logged = len(a.figures), len(b.figures)
        problems = len(a.problems), len(b.problems)
        started = time.monotonic()
        ids = set(document.connected_submit(source))
        queue = source.folders.outgoing_queue
        failures: Counter[str] = Counter()
        while time.monotonic() - started < ROUND_TIMEOUT:
            jobs = [job for job in queue.get_jobs() if job.id in ids]
            pending = [job for job in jobs if job.status not in FINAL]
            failures = Counter(job.extended_status or "?" for job in jobs if job.status in FINAL)
            if not pending:
                break
            time.sleep(0.5)
        failed = failures.total()
        wall = time.monotonic() - started
        cpu = a.cpu_seconds() + b.cpu_seconds() - cpu
        # B archives each fax once its call has ended: wait for the last ones (at most 60 s).
        whole = partial = 0
        for _ in range(60):
            new = [message for message in archive.get_messages() if message.id not in before]
            whole = sum(not message.partial for message in new)
            partial = len(new) - whole
            if len(new) >= calls - failed:
                break
            time.sleep(1.0)
        # Each call leg logs its media statistics once released: both ends, every call.
        for _ in range(20):
            if len(a.figures) - logged[0] + len(b.figures) - logged[1] >= 2 * calls:
                break
            time.sleep(0.5)
    return {
        "calls": calls,
        "failed": failed,
        "received_whole": whole,
        "received_partial": partial,
        "received_twice": max(0, whole + partial - calls),
        "ok": failed == 0 and partial == 0 and whole >= calls,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_seconds_per_call": round(cpu / calls, 3),
        "core_share_per_call": round(cpu / wall / calls, 4),
        "failures": dict(failures),
        "media": media_totals(a.figures[logged[0] :] + b.figures[logged[1] :]),
        "warnings": dict(
            Counter(a.problems[problems[0] :] + b.problems[problems[1] :]).most_common(6)
        ),
    }


def media_totals(legs: list[str]) -> dict[str, float]:
    """The call legs' media counters (``key=value`` each): summed, or the maximum for the
    maxima; only those that are not zero, with the number of legs that reported."""
    totals: dict[str, float] = {"legs": len(legs)}
    for leg in legs:
        pairs = (item.split("=", 1) for item in leg.split())
        for key, value in ((k, float(v)) for k, v in pairs if k != "kind"):
            if key in MAXIMA:
                totals[key] = max(totals.get(key, 0.0), value)
            else:
                totals[key] = totals.get(key, 0.0) + value
    return {key: round(value, 3) for key, value in totals.items() if value}


def sizes(args: argparse.Namespace) -> Generator[int, bool, None]:
    """The round sizes to run; each round's result is sent back (passed or not).

    Without ``--search``, the ``--rounds`` list until a round fails. With it: doubling from
    ``--start`` while rounds pass (up to ``--limit``), then bisecting between the largest
    passing and the smallest failing size until they are ``--precision`` apart.
    """
    if not args.search:
        for calls in (int(n) for n in args.rounds.split(",")):
            if not (yield calls):
                return
        return
    passed, failed = 0, None
    calls = args.start
    while True:
        ok = yield calls
        if ok:
            passed = calls
        else:
            failed = calls
        if failed is None:
            if calls >= args.limit:
                return
            calls = min(2 * calls, args.limit)
        else:
            if failed - passed <= args.precision:
                return
            calls = (passed + failed) // 2


FINAL = {JobStatus.FAILED, JobStatus.RETRIES_EXCEEDED, JobStatus.CANCELED}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", default="25,50,100,150,200")
    parser.add_argument("--search", action="store_true", help="find the largest passing N")
    parser.add_argument("--start", type=int, default=25)
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--precision", type=int, default=10)
    parser.add_argument("--mode", choices=["t38", "g711", "both"], default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    most = args.limit if args.search else max(int(n) for n in args.rounds.split(","))
    modes = ["t38", "g711"] if args.mode == "both" else [args.mode]
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="openfax-bench-sip-") as folder:
        body = Path(folder) / "page.txt"
        body.write_text("OpenFax SIP benchmark\n\n" + "A line of text on the page.\n" * 40)
        for mode in modes:
            a, b = start_pair(Path(folder), mode, most)
            results[mode] = []
            try:
                steps = sizes(args)
                calls = next(steps)
                while True:
                    result = run_round(a, b, body, calls)
                    results[mode].append(result)
                    if not args.json:
                        print(mode, json.dumps(result), flush=True)
                    calls = steps.send(result["ok"])
            except StopIteration:
                pass
            finally:
                a.stop()
                b.stop()
    summary = {
        mode: max((r["calls"] for r in rows if r["ok"]), default=0)
        for mode, rows in results.items()
    }
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    if args.json:
        output = {"rounds": results, "most_simultaneous_calls": summary, "load_average": load}
        print(json.dumps(output, indent=2))
    else:
        for mode, best in summary.items():
            print(f"{mode}: {best} simultaneous calls with no failed fax")
        print(f"load average at the end: {load}")


if __name__ == "__main__":
    main()
