"""A user's faxes between openfaxd's modem line and HylaFAX through ``openfax virtual-modems``,
at real time: openfaxd's ``[[modem.lines]]`` line on modem A, a private HylaFAX 6.0.7
(``bench/hylafax``) with faxgetty on modem B. ``openfax send --wait`` reaches faxgetty, and
HylaFAX's own chain (sendfax, hfaxd, faxq, faxsend) dials modem A: the page lands in
``openfax inbox`` with HylaFAX's TSID and the pair's caller id, and is routed to a folder.
Every page is pixel-identical (below HylaFAX's tag line, for what HylaFAX sends).

HylaFAX's daemons run only with a real uid of root (they switch to uucp themselves).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from bench.hylafax import MODEM_IDLE, HylaFax, Transfer

from openfax.documents import render_documents
from openfax.documents.pages import Compression, FaxPage, Resolution
from openfax.documents.tiff import write_fax_tiff
from openfax.routing import STORE_IN_FOLDER
from tests.daemon import Daemon, running
from tests.fax_images import read_pages, sample_page, write_tiff
from tests.integration.cli.test_accounts_commands import openfax
from tests.integration.engine.test_efax import ink
from tests.integration.engine.test_hylafax import NEEDS_HYLAFAX, TAG_LINE_ROWS, session_logs
from tests.integration.providers.test_modem_daemon import virtual_modems
from tests.integration.routing.conftest import settled, use_only
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, *NEEDS_HYLAFAX]

CALL_SECONDS = 120.0
LINE = "modem A"
HYLAFAX_TSI = "HylaFAX"
"""What faxsend sends as TSI: config.modem's ``LocalIdentifier``."""
SENDFAX_OPTIONS = ("-m", "-s", "a4", "-T", "1", "-t", "1")
"""Fine on A4, one dial and one try: a failed call fails the test at once."""


@dataclass
class Setup:
    daemon: Daemon
    hylafax: HylaFax
    numbers: dict[str, str]
    folder: Path
    """Where the line's faxes are routed (Store in a folder)."""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """The pair, openfaxd on modem A (1001) and HylaFAX on modem B (1002), both idle."""
    tmp_path = tmp_path_factory.mktemp("modem-hylafax")
    with virtual_modems(tmp_path) as (modem_a, modem_b), HylaFax() as hylafax:
        line = {"device": str(modem_a), "name": LINE, "number": "1001", "ident": "OPENFAX"}
        with running(
            tmp_path / "data",
            modem={"lines": [line]},
            loopback={"lines": 0},
            outgoing={"retries": 0},
        ) as daemon:
            modem = hylafax.add_modem(modem_b.resolve())
            wait_until(
                lambda: '"idle"' in openfax(daemon, "devices", "--json").stdout,
                "the modem line idle",
                60,
            )
            wait_until(lambda: hylafax.modem_status(modem) == MODEM_IDLE, "faxgetty ready", 30)
            folder = tmp_path / "routed"
            with daemon.connected() as server:
                method = server.inbound_routing.get_method(STORE_IN_FOLDER)
                method.set_configuration({"folder": str(folder)})
                use_only(server, LINE, STORE_IN_FOLDER)
            yield Setup(daemon, hylafax, {"A": "1001", "B": "1002"}, folder)


def transfers(hylafax: HylaFax, kind: str) -> list[Transfer]:
    return [t for t in hylafax.transfers() if t.kind == kind]


def test_openfax_sends_to_hylafax(setup: Setup, tmp_path: Path) -> None:
    document = write_tiff(tmp_path / "page.tif", [sample_page(1)])
    hylafax = setup.hylafax
    sent = openfax(
        setup.daemon, "send", str(document), "--to", setup.numbers["B"], "--wait", "--json"
    )
    (job,) = json.loads(sent.stdout)
    assert job["status"] == "COMPLETED", (job, session_logs(hylafax))
    assert job["pages"] == 1
    (received,) = wait_until(lambda: transfers(hylafax, "RECV"), "faxgetty's record", 30)
    assert (received.station, received.pages, received.reason) == ("OPENFAX", 1, ""), session_logs(
        hylafax
    )
    (got,) = read_pages(hylafax.spool / received.file)
    (want,) = [ink(page.image) for page in render_documents([document])]
    assert np.array_equal(got, want)


def test_hylafax_sends_to_openfax(setup: Setup, tmp_path: Path) -> None:
    page = sample_page(2)
    document = tmp_path / "page.tif"
    # A TIFF-F HylaFAX sends as it is (it renders Pillow's anew, as a PostScript page).
    write_fax_tiff([FaxPage(page, Resolution.FINE)], document, compression=Compression.MH)
    hylafax, daemon = setup.hylafax, setup.daemon
    assert hylafax.sendfax(document, [setup.numbers["A"]], SENDFAX_OPTIONS) == 1

    def inbox() -> list[dict[str, object]]:
        return list(json.loads(openfax(daemon, "inbox", "--json").stdout))

    (row,) = wait_until(inbox, lambda: f"the fax in the inbox\n{session_logs(hylafax)}", 120)
    (sent,) = wait_until(lambda: transfers(hylafax, "SEND"), "faxsend's record", 30)
    assert (sent.station, sent.pages, sent.reason) == ("OPENFAX", 1, ""), session_logs(hylafax)
    assert row["pages"] == 1, row
    with daemon.connected() as server:
        message = server.folders.incoming_archive.get_message(str(row["id"]))
        assert (message.tsid, message.caller_id) == (HYLAFAX_TSI, setup.numbers["B"])
        (delivery,) = settled(server, message.id)
    assert delivery.status == "done", delivery
    routed = setup.folder / f"{message.id}.tif"
    (got,) = read_pages(routed)
    want = ink(page)
    assert got.shape == want.shape
    assert np.array_equal(got[TAG_LINE_ROWS:], want[TAG_LINE_ROWS:])
    assert got[:TAG_LINE_ROWS].any(), "HylaFAX's tag line should be there"
