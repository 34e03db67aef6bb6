"""efax faxes efax through a virtual modem pair: the pair as a user without a modem meets
it, one real program on each port, at real time.

The receiving efax waits with auto-answer on the first ring (``-w -iS0=1``, as efax(1)
sets up a modem that answers by itself); the sending one dials the other modem's number.
The page arrives pixel-identical below efax's header line. With ``OPENFAX_STRESS=1`` one
pair carries six such calls in turn, both ways.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openfax.virtual_modem import ModemPair
from tests.fax_images import read_pages, sample_page
from tests.integration.engine.test_efax import (
    EFAX_BLANK_ROWS,
    EFAX_HEADER_ROWS,
    efax,
    efax_exit_code,
    efax_tiff,
    ink,
)
from tests.waiting import until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("efax") is None or shutil.which("efix") is None,
        reason="efax is not installed (Debian package efax provides efax and efix)",
    ),
]

CALL_TIMEOUT = 90.0
STRESS_CALLS = 6


def prepared(page: Image.Image, work: Path) -> Path:
    """``page`` as efax sends it, in a new directory ``work`` for one call."""
    work.mkdir()
    return efax_tiff(page, work / "page.tif")


async def efax_call(pair: ModemPair, sender: int, sent: Path) -> None:
    """efax on port ``sender`` (0 for A, 1 for B) faxes ``sent`` to efax on the other,
    which writes ``received.001`` beside it; both must succeed."""
    work = sent.parent
    rx_log, tx_log = work / "efax-rx.log", work / "efax-tx.log"
    receiving = pair.paths[1 - sender]
    number = pair.numbers["AB"[1 - sender]]
    receive = ("-d", str(receiving), "-l", "222", "-w", "-iS0=1", "-r", str(work / "received"))
    async with efax(rx_log, *receive) as receiver:
        await until(
            lambda: b"waiting for activity" in rx_log.read_bytes(),
            lambda: f"the receiving efax to be ready:\n{rx_log.read_text()}",
            30,
            poll=0.1,
        )
        send = ("-d", str(pair.paths[sender]), "-l", "111", "-t", number, str(sent))
        async with efax(tx_log, *send) as transmitter, asyncio.timeout(CALL_TIMEOUT):
            assert await transmitter.wait() == 0, tx_log.read_text()
            assert await efax_exit_code(receiver) == 0, rx_log.read_text()


def assert_received(page: Image.Image, work: Path) -> None:
    """The page efax received in ``work`` is ``page``, pixel for pixel below the header."""
    files = sorted(work.glob("received.*"))
    assert [f.suffix for f in files] == [".001"], (work / "efax-rx.log").read_text()
    (got,) = read_pages(files[0])
    want = ink(page)
    assert got.shape == (want.shape[0] + EFAX_BLANK_ROWS, want.shape[1])
    assert np.array_equal(got[EFAX_HEADER_ROWS:], want[EFAX_HEADER_ROWS - EFAX_BLANK_ROWS :])
    assert got[:EFAX_HEADER_ROWS].any(), "efax's header line should be there"


def test_efax_sends_a_page_through_the_pair_to_efax_receiving(tmp_path: Path) -> None:
    page = sample_page(1)
    sent = prepared(page, tmp_path / "call")

    async def call() -> ModemPair:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            await efax_call(pair, 0, sent)
            return pair

    pair = asyncio.run(call())
    assert_received(page, tmp_path / "call")
    (made,) = pair.calls
    assert made.caller == "A"
    assert made.dialled == "1002"
    assert made.answered


@pytest.mark.skipif(
    os.environ.get("OPENFAX_STRESS") != "1", reason="six calls at real time: OPENFAX_STRESS=1"
)
def test_one_pair_carries_call_after_call_both_ways(tmp_path: Path) -> None:
    pages = [sample_page(number + 1) for number in range(STRESS_CALLS)]
    sent = [prepared(page, tmp_path / f"call{n}") for n, page in enumerate(pages)]

    async def calls() -> ModemPair:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            for number, document in enumerate(sent):
                await efax_call(pair, number % 2, document)
            return pair

    pair = asyncio.run(calls())
    for number, page in enumerate(pages):
        assert_received(page, tmp_path / f"call{number}")
    assert [call.caller for call in pair.calls] == ["A", "B"] * (STRESS_CALLS // 2)
    assert all(call.answered for call in pair.calls)
