"""efax, a real Class 1 fax program, through the T.31 virtual modem to OpenFax sessions.

efax opens the modem at ``tmp_path/"ttyFAX0"`` (a symlink to the pty) and runs as an asyncio
subprocess beside the bridge, which paces the line at ``SPEED`` x real time: efax times its
commands by the wall clock and needs a paced line. Measured on an idle machine both
directions pass at 1x to 8x (efax merely warns "flow control did not work" above 1x, as it
sees data leave faster than 14400 bit/s). The sessions' T.30 timers run on line time, so
at N x a pause of efax's process (descheduled on a loaded machine) weighs N times as much:
at 4x a 1.5 s pause between pages expired T2 (RX_T2EXPFAX). 2x keeps a margin for a loaded
test run and takes about 20-25 s per fax of two A4 pages at V.17.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openfax.engine import AudioSession, Role, SessionOptions
from openfax.errors import ModemError
from openfax.virtual_modem import CallReport, ModemBridge, PtyLine
from tests.fax_images import read_pages, sample_page, write_tiff
from tests.waiting import until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("efax") is None or shutil.which("efix") is None,
        reason="efax is not installed (Debian package efax provides efax and efix)",
    ),
]

SPEED = 2.0
CALL_TIMEOUT = 120.0
EFAX_EXIT_TIMEOUT = 30.0
NUMBER = "5551234"

EFAX_BLANK_ROWS = 20
"""Blank rows efax adds above each page it sends at 196 lpi, room for its header line
("about 0.1 inch"; the header cannot be disabled, see efax(1), HEADERS)."""
EFAX_HEADER_ROWS = 24
"""The header text is efax's 8x16 font scaled to 12x24, drawn from the top: it runs 4 rows
into the page itself, so pages are compared below these first 24 rows."""


def ink(image: Image.Image) -> np.ndarray:
    """What a page means: True where there is ink, whatever its photometric interpretation."""
    return np.asarray(image.convert("L")) < 128


def efax_tiff(page: Image.Image, path: Path) -> Path:
    """One page as efax reads it: single-strip, MH-coded, min-is-white TIFF made by efix.

    efix keeps the PBM's pixels only when no output resolution is forced (``-r`` rescales
    from its assumed 195.6 lpi).
    """
    pbm = path.with_suffix(".pbm")
    page.save(pbm)
    subprocess.run(
        ["efix", "-v", "", "-i", "pbm", "-o", "tiffg3", "-n", str(path), str(pbm)], check=True
    )
    return path


@asynccontextmanager
async def efax(log: Path, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run efax with its log in ``log``; kill it if the test ends while it still runs."""
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            "efax", "-o1", "-v", "ewinc", *args, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def assert_paced(report: CallReport) -> None:
    """The line never ran faster than asked (efax's own timing depends on it); a loaded
    machine may make it slower."""
    assert report.line_seconds <= SPEED * report.wall_seconds * 1.05


async def efax_exit_code(process: asyncio.subprocess.Process) -> int:
    return await asyncio.wait_for(process.wait(), EFAX_EXIT_TIMEOUT)


def test_efax_sends_two_pages_to_an_answering_session(tmp_path: Path) -> None:
    pages = [sample_page(number) for number in (1, 2)]
    files = [efax_tiff(page, tmp_path / f"page{n}.tif") for n, page in enumerate(pages, 1)]
    received = tmp_path / "received.tif"
    session = AudioSession(Role.ANSWER, SessionOptions(ident="222"), receive_file=received)
    log = tmp_path / "efax.log"

    async def call() -> tuple[int, CallReport]:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            bridge = ModemBridge(line, session, speed=SPEED)
            args = ("-d", str(line.path), "-l", "111", "-t", NUMBER, *map(str, files))
            async with efax(log, *args) as process:
                report = await bridge.run(timeout=CALL_TIMEOUT)
                return await efax_exit_code(process), report

    code, report = asyncio.run(call())
    assert code == 0, log.read_text()
    assert report.dialled == NUMBER
    assert_paced(report)
    assert report.result is not None, log.read_text()
    assert report.result.ok, log.read_text()
    assert report.result.pages == 2
    got = read_pages(received)
    assert len(got) == 2
    for number, (page, sent) in enumerate(zip(got, pages, strict=True), 1):
        want = ink(sent)
        assert page.shape == (want.shape[0] + EFAX_BLANK_ROWS, want.shape[1]), number
        below_header = EFAX_HEADER_ROWS - EFAX_BLANK_ROWS
        assert np.array_equal(page[EFAX_HEADER_ROWS:], want[below_header:]), number
        assert page[:EFAX_HEADER_ROWS].any(), "efax's header line should be there"


def test_calling_session_sends_two_pages_to_efax_receiving(tmp_path: Path) -> None:
    pages = [sample_page(number) for number in (1, 2)]
    sent = write_tiff(tmp_path / "send.tif", pages)
    session = AudioSession(Role.CALL, SessionOptions(ident="111"), send_file=sent)
    log = tmp_path / "efax.log"
    prefix = tmp_path / "efax-received"

    async def call() -> tuple[int, CallReport]:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            bridge = ModemBridge(line, session, speed=SPEED)
            async with efax(log, "-d", str(line.path), "-l", "222", "-r", str(prefix)) as process:
                report = await bridge.run(timeout=CALL_TIMEOUT)
                return await efax_exit_code(process), report

    code, report = asyncio.run(call())
    assert code == 0, log.read_text()
    assert report.rings >= 1
    assert_paced(report)
    assert report.result is not None, log.read_text()
    assert report.result.ok, log.read_text()
    assert report.result.pages == 2
    # efax writes one G3 TIFF per page, named prefix.001, prefix.002...
    files = sorted(tmp_path.glob("efax-received.*"))
    assert [f.suffix for f in files] == [".001", ".002"]
    for page, path in zip(pages, files, strict=True):
        (got,) = read_pages(path)
        assert np.array_equal(got, ink(page)), path.name


def test_efax_dying_mid_page_ends_the_call_with_a_clear_error(tmp_path: Path) -> None:
    files = [efax_tiff(sample_page(number), tmp_path / f"page{number}.tif") for number in (1, 2)]
    session = AudioSession(Role.ANSWER, receive_file=tmp_path / "received.tif")
    log = tmp_path / "efax.log"

    async def call() -> None:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            bridge = ModemBridge(line, session, speed=SPEED)
            args = ("-d", str(line.path), "-t", NUMBER, *map(str, files))
            async with efax(log, *args) as process:
                run = asyncio.create_task(bridge.run(timeout=CALL_TIMEOUT))
                await until(
                    lambda: session.line_seconds >= 12.0 or run.done(),
                    "12 s of the call on the line",
                    CALL_TIMEOUT,
                    poll=0.05,
                )
                process.kill()
                with pytest.raises(ModemError, match=r"closed .* with the call up"):
                    await asyncio.wait_for(run, 5.0)

    asyncio.run(call())
    assert session.result is not None
    assert not session.result.ok
