"""efax faxes efax through ``openfax virtual-modems``: the pair as a user without a modem
meets it, one real program on each port, at real time.

The receiving efax waits with auto-answer on the first ring (``-w -iS0=1``, as efax(1)
sets up a modem that answers by itself); the sending one dials B's number. The page
arrives pixel-identical below efax's header line.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

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


def test_efax_sends_a_page_through_the_pair_to_efax_receiving(tmp_path: Path) -> None:
    page = sample_page(1)
    sent = efax_tiff(page, tmp_path / "page.tif")
    prefix = tmp_path / "received"
    rx_log, tx_log = tmp_path / "efax-rx.log", tmp_path / "efax-tx.log"

    async def call() -> tuple[int, int, ModemPair]:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            receive = ("-d", str(pair.paths[1]), "-l", "222", "-w", "-iS0=1", "-r", str(prefix))
            async with efax(rx_log, *receive) as receiver:
                await until(
                    lambda: b"waiting for activity" in rx_log.read_bytes(),
                    lambda: f"the receiving efax to be ready:\n{rx_log.read_text()}",
                    30,
                    poll=0.1,
                )
                send = ("-d", str(pair.paths[0]), "-l", "111", "-t", "1002", str(sent))
                async with efax(tx_log, *send) as sender:
                    async with asyncio.timeout(CALL_TIMEOUT):
                        sender_code = await sender.wait()
                        receiver_code = await efax_exit_code(receiver)
            return sender_code, receiver_code, pair

    sender_code, receiver_code, pair = asyncio.run(call())
    assert sender_code == 0, tx_log.read_text()
    assert receiver_code == 0, rx_log.read_text()
    (made,) = pair.calls
    assert made.caller == "A"
    assert made.dialled == "1002"
    assert made.answered
    files = sorted(tmp_path.glob("received.*"))
    assert [f.suffix for f in files] == [".001"], rx_log.read_text()
    (got,) = read_pages(files[0])
    want = ink(page)
    assert got.shape == (want.shape[0] + EFAX_BLANK_ROWS, want.shape[1])
    assert np.array_equal(got[EFAX_HEADER_ROWS:], want[EFAX_HEADER_ROWS - EFAX_BLANK_ROWS :])
    assert got[:EFAX_HEADER_ROWS].any(), "efax's header line should be there"
