"""Engine benchmark: simulated line seconds per CPU second, Python sessions against plain C.

For each case (audio V.17 with and without ECM, audio V.29, unpaced T.38 with and without
ECM) a multi-page fine-resolution TIFF is sent back to back, caller to answerer, by

* the Python engine: ``AudioSession``/``T38Session`` pairs run by ``openfax.engine.run_pair``,
  CPU time from ``time.process_time`` around each whole transfer (set-up, run, close);
* ``bench/c/engine_driver.c``: the same spandsp calls in the same order from C (same block
  size, handlers, log level, ECM and modem settings), compiled here with gcc into
  ``bench/.build/``, CPU time from ``CLOCK_PROCESS_CPUTIME_ID`` around each whole transfer.

The figure of merit is line seconds per CPU second. Python and C run in alternating rounds;
the ratio Python/C is the median of the per-round ratios, held against the target of 0.8.
Every transfer must end OK on both sides with all pages at the expected bit rate, and both
drivers must take the same line time (proof they did the same work), or the case is
reported as failed. Unpaced T.38 needs only a few simulated ticks, so its line
seconds are small: the ratio and the CPU milliseconds per transfer are what count there.

Run: ``.venv/bin/python bench/engine.py`` (``--quick`` for a short run, ``--json`` for
machine-readable output). Needs gcc and libspandsp2; libspandsp-dev is used when present.
This is a benchmark, not a test: nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont

from openfax.engine import (
    ALL_MODEMS,
    AudioSession,
    FaxSession,
    Modem,
    Role,
    SessionOptions,
    T38Session,
    run_pair,
)

BENCH_DIR = Path(__file__).resolve().parent
BUILD_DIR = BENCH_DIR / ".build"
C_SOURCE = BENCH_DIR / "c" / "engine_driver.c"
C_BINARY = BUILD_DIR / "engine_driver"
TARGET_RATIO = 0.8
PAGES = 3
PAGE_WIDTH = 1728
PAGE_LENGTH = 2200
FINE_DPI = (204, 196)

Transport = Literal["audio", "t38"]


@dataclass(frozen=True)
class Case:
    """One benchmark case: a transport and the T.30 capabilities both ends offer."""

    name: str
    transport: Transport
    ecm: bool
    modems: Modem
    bit_rate: int
    """The rate the transfer must negotiate, or the case is reported as failed."""

    @property
    def options(self) -> SessionOptions:
        return SessionOptions(ecm=self.ecm, modems=self.modems)


CASES = (
    Case("audio V.17 ECM", "audio", True, ALL_MODEMS, 14400),
    Case("audio V.17 no ECM", "audio", False, ALL_MODEMS, 14400),
    Case("audio V.29 ECM", "audio", True, Modem.V29, 9600),
    Case("T.38 V.17 ECM", "t38", True, ALL_MODEMS, 14400),
    Case("T.38 V.17 no ECM", "t38", False, ALL_MODEMS, 14400),
)


@dataclass
class Batch:
    """Some transfers of one case by one driver: their totals, or why one failed."""

    transfers: int = 0
    line_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cpu_seconds_min: float = math.inf
    """The cheapest single transfer: the least disturbed by other work on the machine."""
    line_seconds_per_transfer: float = 0.0
    error: str | None = None


@dataclass
class Measurement:
    """All rounds of one driver on one case."""

    transfers: int = 0
    line_seconds_per_transfer: float = 0.0
    rates: list[float] = field(default_factory=list)
    """Line seconds per CPU second, one per round."""
    cpu_ms_per_transfer: list[float] = field(default_factory=list)
    best_cpu_ms: float = math.inf
    error: str | None = None

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else math.nan

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu_ms_per_transfer) if self.cpu_ms_per_transfer else math.nan

    def add(self, batch: Batch) -> None:
        if batch.error is not None:
            self.error = self.error or batch.error
            return
        if self.transfers and batch.line_seconds_per_transfer != self.line_seconds_per_transfer:
            self.error = self.error or (
                f"line time changed between rounds ({self.line_seconds_per_transfer} s, "
                f"then {batch.line_seconds_per_transfer} s)"
            )
        self.transfers += batch.transfers
        self.line_seconds_per_transfer = batch.line_seconds_per_transfer
        self.rates.append(batch.line_seconds / batch.cpu_seconds)
        self.cpu_ms_per_transfer.append(1000 * batch.cpu_seconds / batch.transfers)
        self.best_cpu_ms = min(self.best_cpu_ms, 1000 * batch.cpu_seconds_min)


@dataclass
class Row:
    """The result of one case: both drivers side by side."""

    case: str
    python: Measurement
    c: Measurement

    @property
    def error(self) -> str | None:
        if self.python.error:
            return f"Python: {self.python.error}"
        if self.c.error:
            return f"C: {self.c.error}"
        if self.python.line_seconds_per_transfer != self.c.line_seconds_per_transfer:
            return (
                f"line time differs: Python {self.python.line_seconds_per_transfer} s, "
                f"C {self.c.line_seconds_per_transfer} s (not the same work)"
            )
        return None

    @property
    def ratios(self) -> list[float]:
        """Python/C per round: each pair ran back to back, so a busy machine hits both."""
        return [p / c for p, c in zip(self.python.rates, self.c.rates, strict=False)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios) if self.ratios else math.nan

    @property
    def best_ratio(self) -> float:
        """Python/C from each side's cheapest transfer."""
        return self.c.best_cpu_ms / self.python.best_cpu_ms

    def as_dict(self) -> dict[str, Any]:
        ok = self.error is None
        return {
            "case": self.case,
            "ok": ok,
            "error": self.error,
            "line_seconds_per_transfer": self.python.line_seconds_per_transfer,
            "python": {
                **asdict(self.python),
                "rate": self.python.rate,
                "cpu_ms": self.python.cpu_ms,
            },
            "c": {**asdict(self.c), "rate": self.c.rate, "cpu_ms": self.c.cpu_ms},
            "ratio": self.ratio if ok else None,
            "ratios_per_round": self.ratios,
            "best_ratio": self.best_ratio if ok else None,
            "meets_target": self.ratio >= TARGET_RATIO if ok else None,
        }


# --- the document and the C driver ------------------------------------------------------


def make_document(path: Path, pages: int = PAGES) -> None:
    """Write a multi-page 1728-pixel-wide fine-resolution G4 TIFF of text and line art."""
    font = ImageFont.load_default()
    images = []
    for number in range(1, pages + 1):
        image = Image.new("1", (PAGE_WIDTH, PAGE_LENGTH), 1)
        draw = ImageDraw.Draw(image)
        draw.rectangle((60, 60, PAGE_WIDTH - 60, PAGE_LENGTH - 60), outline=0, width=3)
        for line in range(60):
            text = f"Page {number} line {line + 1}: the quick brown fox jumps over the lazy dog"
            draw.text(
                (100, 80 + 34 * line), f"{text} {line * 7919 % 100000:05d}", fill=0, font=font
            )
        for i in range(20):
            draw.line((100 + 70 * i, 200, 1600 - 30 * i, 2100), fill=0, width=2)
        for i in range(8):
            x = 1000 + 40 * i
            draw.ellipse((x, 300 + 90 * i, x + 400, 500 + 90 * i), outline=0, width=2)
        images.append(image)
    images[0].save(
        path, save_all=True, append_images=images[1:], compression="group4", dpi=FINE_DPI
    )


def build_driver() -> str:
    """Compile the C driver (always, so it matches its source); return the command used.

    Uses spandsp's own headers when libspandsp-dev is installed, else the declarations in
    bench/c/spandsp_min.h against libspandsp.so.2 from libspandsp2.
    """
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RuntimeError("gcc is not installed (apt-get install gcc libc6-dev)")
    BUILD_DIR.mkdir(exist_ok=True)
    common = [gcc, "-O2", "-Wall", "-Wextra", "-o", str(C_BINARY), str(C_SOURCE)]
    attempts = [
        [*common, "-lspandsp"],
        [*common, "-DOPENFAX_OWN_DECLS", "-l:libspandsp.so.2"],
    ]
    errors = []
    for command in attempts:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            if done.stderr.strip():
                print(done.stderr, file=sys.stderr)
            return " ".join(command)
        errors.append(f"$ {' '.join(command)}\n{done.stderr.strip()}")
    raise RuntimeError("cannot compile the C driver:\n" + "\n".join(errors))


# --- running transfers -------------------------------------------------------------------


class _CountingHandler(logging.Handler):
    """Takes spandsp's warnings (as a server's handler would) without printing them."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _pair(case: Case, send: Path, receive: Path) -> tuple[FaxSession, FaxSession]:
    options = case.options
    if case.transport == "audio":
        return (
            AudioSession(Role.CALL, options, send_file=send),
            AudioSession(Role.ANSWER, options, receive_file=receive),
        )
    return (
        T38Session(Role.CALL, options, send_file=send, paced=False),
        T38Session(Role.ANSWER, options, receive_file=receive, paced=False),
    )


def _check(case: Case, a: FaxSession, b: FaxSession, finished: bool) -> str | None:
    """Why a Python transfer is not a complete, good one (None when it is)."""
    if not finished or a.result is None or b.result is None:
        return "transfer did not finish"
    if not (a.result.ok and b.result.ok):
        return f"ended {a.result.code.name} (caller), {b.result.code.name} (answerer)"
    if a.result.pages != PAGES or b.result.pages != PAGES:
        return f"{a.result.pages} pages sent, {b.result.pages} received of {PAGES}"
    stats = a.result.statistics
    if stats.bit_rate != case.bit_rate or stats.ecm != case.ecm:
        return f"negotiated {stats.bit_rate} bit/s ECM {stats.ecm}"
    return None


def python_batch(case: Case, send: Path, receive: Path, transfers: int) -> Batch:
    """Run ``transfers`` Python transfers, timing each whole one (set-up, run, close)."""
    batch = Batch()
    for _ in range(transfers):
        start = time.process_time()
        a, b = _pair(case, send, receive)
        result = run_pair(a, b)
        a.close()
        b.close()
        cpu_seconds = time.process_time() - start
        batch.cpu_seconds += cpu_seconds
        batch.cpu_seconds_min = min(batch.cpu_seconds_min, cpu_seconds)
        error = _check(case, a, b, result.finished)
        if error is not None:
            batch.error = error
            return batch
        batch.transfers += 1
        batch.line_seconds += result.line_seconds
        batch.line_seconds_per_transfer = result.line_seconds
    return batch


def c_batch(case: Case, send: Path, receive: Path, transfers: int) -> Batch:
    """Run ``transfers`` C transfers (after one untimed warm-up) in one driver process."""
    command = [
        str(C_BINARY),
        "--transport", case.transport,
        "--send", str(send),
        "--receive", str(receive),
        "--modems", str(int(case.modems)),
        "--ecm", str(int(case.ecm)),
        "--pages", str(PAGES),
        "--repeat", str(transfers),
        "--warmup", "1",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return Batch(error=f"driver exited {done.returncode}: {done.stderr.strip()}")
    if not report["ok"]:
        return Batch(error=f"driver reported a failed transfer: {report.get('first_failure')}")
    if report["bit_rate"] != case.bit_rate or report["ecm"] != case.ecm:
        return Batch(error=f"negotiated {report['bit_rate']} bit/s ECM {report['ecm']}")
    if report["line_seconds_min"] != report["line_seconds_max"]:
        return Batch(error="line time varied between transfers")
    return Batch(
        transfers=transfers,
        line_seconds=report["line_seconds"],
        cpu_seconds=report["cpu_seconds"],
        cpu_seconds_min=report["cpu_seconds_min"],
        line_seconds_per_transfer=report["line_seconds_min"],
    )


def measure(case: Case, send: Path, build: Path, seconds: float, rounds: int) -> Row:
    """Calibrate on one Python transfer, then alternate Python and C rounds of equal size."""
    row = Row(case.name, Measurement(), Measurement())
    probe = python_batch(case, send, build / "rx-python.tif", 1)
    if probe.error is not None:
        row.python.error = probe.error
        return row
    per_round = max(1, math.ceil(seconds / rounds / max(probe.cpu_seconds, 1e-6)))
    for _ in range(rounds):
        row.python.add(python_batch(case, send, build / "rx-python.tif", per_round))
        row.c.add(c_batch(case, send, build / "rx-c.tif", per_round))
        if row.error is not None:
            break
    return row


# --- output ------------------------------------------------------------------------------


def print_table(rows: list[Row], compile_command: str, seconds: float, rounds: int) -> None:
    header = (
        f"{'case':<18} {'line s':>7} {'n':>4} {'Py line-s/CPU-s':>15} {'C line-s/CPU-s':>14} "
        f"{'Py ms':>7} {'C ms':>7} {'Py/C':>5} {'best':>5}  target {TARGET_RATIO}"
    )
    print(f"OpenFax engine benchmark: {PAGES}-page fine TIFF, caller to answerer, back to back")
    print(f"~{seconds:g} CPU s per driver per case in {rounds} alternating round(s)")
    print(f"C driver: {compile_command}")
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        if row.error is not None:
            print(f"{row.case:<18} FAILED: {row.error}")
            continue
        py, c = row.python, row.c
        verdict = "met" if row.ratio >= TARGET_RATIO else "MISSED"
        print(
            f"{row.case:<18} {py.line_seconds_per_transfer:>7.2f} {py.transfers:>4} "
            f"{py.rate:>15.1f} {c.rate:>14.1f} {py.cpu_ms:>7.1f} {c.cpu_ms:>7.1f} "
            f"{row.ratio:>5.2f} {row.best_ratio:>5.2f}  {verdict}"
        )
    print()
    print("line s: simulated line seconds per transfer (unpaced T.38 needs only a few ticks);")
    print("n: timed transfers per driver; rates and ms (CPU per transfer): medians of rounds;")
    print("Py/C: median of the per-round ratios (judged against the target); best: the two")
    print("cheapest single transfers compared, the least disturbed by other load.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (~0.3 s per side)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--seconds", type=float, default=None, help="CPU seconds per driver per case (default 3)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5)")
    parser.add_argument("--case", action="append", help="run only cases containing this text")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (0.3 if args.quick else 3.0)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    cases = [c for c in CASES if not args.case or any(t in c.name for t in args.case)]

    spandsp_log = logging.getLogger("openfax.engine.spandsp")
    spandsp_log.propagate = False
    spandsp_log.addHandler(_CountingHandler())

    BUILD_DIR.mkdir(exist_ok=True)
    compile_command = build_driver()
    send = BUILD_DIR / "bench-document.tif"
    make_document(send)
    rows = [measure(case, send, BUILD_DIR, seconds, rounds) for case in cases]

    if args.json:
        report = {
            "pages": PAGES,
            "target_ratio": TARGET_RATIO,
            "seconds_per_side": seconds,
            "rounds": rounds,
            "compile_command": compile_command,
            "python": sys.version.split()[0],
            "cases": [row.as_dict() for row in rows],
        }
        print(json.dumps(report, indent=2))
    else:
        print_table(rows, compile_command, seconds, rounds)
    return 1 if any(row.error is not None for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
