"""An OpenFax modem line and efax on the two ports of a virtual modem pair, at real time: the
line sends to efax receiving, and efax sends to the line answering. Pages arrive pixel for
pixel (below efax's header line, for what efax sends)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

from openfax.engine import SessionOptions
from openfax.providers import CallCause
from openfax.providers.base import SendRequest
from openfax.providers.modem.provider import ModemProvider
from openfax.virtual_modem import ModemPair
from tests.fax_images import read_pages, sample_page, write_tiff
from tests.integration.engine.test_efax import (
    EFAX_BLANK_ROWS,
    EFAX_HEADER_ROWS,
    efax,
    efax_exit_code,
    efax_tiff,
    ink,
)
from tests.integration.providers.test_modem import line_config, ready
from tests.unit.providers.test_loopback import Service
from tests.waiting import until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("efax") is None or shutil.which("efix") is None,
        reason="efax is not installed (Debian package efax provides efax and efix)",
    ),
]

CALL_SECONDS = 120.0


def test_an_openfax_modem_line_sends_to_efax(tmp_path: Path) -> None:
    pages = [sample_page(number) for number in (1, 2)]
    sent = write_tiff(tmp_path / "send.tif", pages)
    log = tmp_path / "efax.log"

    async def call() -> CallCause:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            receive = ("-d", str(pair.paths[1]), "-l", "222", "-w", "-iS0=1")
            async with efax(log, *receive, "-r", str(tmp_path / "received")) as receiver:
                await until(
                    lambda: b"waiting for activity" in log.read_bytes(),
                    lambda: f"efax to be ready:\n{log.read_text()}",
                    30,
                    poll=0.1,
                )
                provider = ModemProvider([line_config(pair.paths[0])])
                provider.set_listener(Service(tmp_path))
                async with provider:
                    line = provider.devices[0]
                    await ready(line)
                    request = SendRequest(sent, SessionOptions(ident="111"))
                    dial = line.dial(pair.numbers["B"], request)
                    outcome = await asyncio.wait_for(dial, CALL_SECONDS)
                assert await efax_exit_code(receiver) == 0, log.read_text()
        assert outcome.pages == 2, outcome
        return outcome.cause

    assert asyncio.run(call()) is CallCause.NONE, log.read_text()
    files = sorted(tmp_path.glob("received.*"))
    assert [f.suffix for f in files] == [".001", ".002"], log.read_text()
    for page, path in zip(pages, files, strict=True):
        (got,) = read_pages(path)
        assert np.array_equal(got, ink(page)), path.name


def test_efax_sends_to_an_openfax_modem_line(tmp_path: Path) -> None:
    page = sample_page(1)
    sent = efax_tiff(page, tmp_path / "page.tif")
    log = tmp_path / "efax.log"
    service = Service(tmp_path)

    async def call() -> None:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            provider = ModemProvider([line_config(pair.paths[1], rings_before_answer=1)])
            provider.set_listener(service)
            async with provider:
                await ready(provider.devices[0])
                send = ("-d", str(pair.paths[0]), "-l", "111", "-t", pair.numbers["B"])
                async with efax(log, *send, str(sent)) as sender:
                    assert await asyncio.wait_for(sender.wait(), CALL_SECONDS) == 0, log.read_text()
                await until(service.received, "the fax received", CALL_SECONDS)

    asyncio.run(call())
    (outcome,) = service.received()
    assert outcome.cause is CallCause.NONE, outcome
    assert outcome.path is not None
    (got,) = read_pages(outcome.path)
    want = ink(page)
    assert got.shape == (want.shape[0] + EFAX_BLANK_ROWS, want.shape[1])
    assert np.array_equal(got[EFAX_HEADER_ROWS:], want[EFAX_HEADER_ROWS - EFAX_BLANK_ROWS :])
