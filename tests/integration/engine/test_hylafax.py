"""HylaFAX, a whole fax server, through the T.31 virtual modem to OpenFax sessions, at real time.

A private HylaFAX 6.0.7 (``bench/hylafax``: faxq and hfaxd on a temporary spool, faxgetty on
the virtual modem's pty) sends with its real chain, ``sendfax`` to hfaxd to faxq, which has
faxgetty hand the port to faxsend, and receives with faxgetty answering the ring. faxgetty
closes the port for faxsend, which opens it some tens of milliseconds later: the modem has
to stay up through that. Each direction is one A4 page at 196 lpi and
takes about 30 s, most of it HylaFAX's own set-up and scheduling (measured: faxgetty ready
after 4.4 s, faxsend dialling 7 s after sendfax, the page's call 20 s).

HylaFAX's daemons run only with a real uid of root (they switch to uucp themselves).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from bench.hylafax import MODEM_IDLE, HylaFax, Transfer, missing_programs

from openfax.documents.pages import Compression, FaxPage, Resolution
from openfax.documents.tiff import write_fax_tiff
from openfax.engine import AudioSession, Role, SessionOptions
from openfax.virtual_modem import CallReport, ModemBridge, PtyLine
from tests.fax_images import read_pages, sample_page
from tests.waiting import until

NEEDS_HYLAFAX = [
    pytest.mark.skipif(
        bool(missing_programs()),
        reason=f"HylaFAX is not installed ({', '.join(missing_programs())} missing: Debian "
        "packages hylafax-server and hylafax-client)",
    ),
    pytest.mark.skipif(
        os.geteuid() != 0, reason="HylaFAX's daemons run only with a real uid of root"
    ),
]
"""What a test of a private HylaFAX needs: its programs, and root."""

pytestmark = [pytest.mark.slow, *NEEDS_HYLAFAX]

CALL_TIMEOUT = 90.0
HYLAFAX_TIMEOUT = 30.0
NUMBER = "5551234"
SENDFAX_OPTIONS = ("-m", "-s", "a4", "-T", "1", "-t", "1")
"""Fine resolution on A4, and one dial and one try: a failed call fails the test at once."""
TAG_LINE_ROWS = 33
"""The rows at the top of each page HylaFAX sends that its tag line replaces: at 196 lpi the
font's height (etc/lutRS18.pcf: ascent 23 + descent 6) and 2 blank rows above and below."""


async def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Until ``condition()`` (run in a thread: it may run HylaFAX's clients) holds; fail
    after ``seconds``, saying ``what`` was awaited."""
    await until(lambda: asyncio.to_thread(condition), what, seconds, poll=0.1)


def one_transfer(hylafax: HylaFax) -> Transfer:
    (transfer,) = hylafax.transfers()
    return transfer


def session_logs(hylafax: HylaFax) -> str:
    """faxsend's and faxgetty's trace of each call, for a failure's message."""
    return "\n".join(path.read_text() for path in sorted((hylafax.spool / "log").glob("c*")))


def test_hylafax_sends_a_page_to_an_answering_session(tmp_path: Path) -> None:
    page = sample_page(1)
    document = tmp_path / "page.tif"
    write_fax_tiff([FaxPage(page, Resolution.FINE)], document, compression=Compression.MH)
    received = tmp_path / "received.tif"
    session = AudioSession(Role.ANSWER, SessionOptions(ident="222"), receive_file=received)

    async def call(hylafax: HylaFax) -> CallReport:
        with PtyLine() as line:
            bridge = ModemBridge(line, session)
            run = asyncio.create_task(bridge.run(timeout=CALL_TIMEOUT))
            modem = await asyncio.to_thread(hylafax.add_modem, line.device)
            await wait_for(
                lambda: hylafax.modem_status(modem) == MODEM_IDLE,
                HYLAFAX_TIMEOUT,
                "faxgetty to set the modem up",
            )
            queued = await asyncio.to_thread(hylafax.sendfax, document, [NUMBER], SENDFAX_OPTIONS)
            assert queued == 1
            report = await run
            await wait_for(lambda: bool(hylafax.transfers()), HYLAFAX_TIMEOUT, "faxsend's record")
            return report

    with HylaFax() as hylafax:
        report = asyncio.run(call(hylafax))
        sent = one_transfer(hylafax)
        logs = session_logs(hylafax)
    assert (sent.kind, sent.number, sent.station, sent.pages) == ("SEND", NUMBER, "222", 1)
    assert sent.reason == "", logs
    assert report.dialled == NUMBER
    assert report.result is not None, logs
    assert report.result.ok, logs
    assert report.result.pages == 1
    (got,) = read_pages(received)
    want = np.asarray(page.convert("L")) < 128
    assert got.shape == want.shape
    assert np.array_equal(got[TAG_LINE_ROWS:], want[TAG_LINE_ROWS:])
    assert got[:TAG_LINE_ROWS].any(), "HylaFAX's tag line should be there"


def test_a_calling_session_sends_a_page_to_hylafax_answering(tmp_path: Path) -> None:
    page = sample_page(2)
    document = tmp_path / "page.tif"
    write_fax_tiff([FaxPage(page, Resolution.FINE)], document)
    session = AudioSession(Role.CALL, SessionOptions(ident="111"), send_file=document)

    async def call(hylafax: HylaFax) -> CallReport:
        with PtyLine() as line:
            bridge = ModemBridge(line, session)
            run = asyncio.create_task(bridge.run(timeout=CALL_TIMEOUT))
            await asyncio.to_thread(hylafax.add_modem, line.device)
            report = await run
            await wait_for(lambda: bool(hylafax.transfers()), HYLAFAX_TIMEOUT, "faxgetty's record")
            return report

    with HylaFax() as hylafax:
        report = asyncio.run(call(hylafax))
        received = one_transfer(hylafax)
        logs = session_logs(hylafax)
        assert (received.kind, received.station, received.pages) == ("RECV", "111", 1)
        assert received.reason == "", logs
        (got,) = read_pages(hylafax.spool / received.file)
    assert report.rings >= 1
    assert report.result is not None, logs
    assert report.result.ok, logs
    assert report.result.pages == 1
    assert np.array_equal(got, np.asarray(page.convert("L")) < 128)
