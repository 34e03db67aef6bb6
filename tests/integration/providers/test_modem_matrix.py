"""The interop matrix of the modem provider, at real time through a virtual modem pair: an
OpenFax modem line against a second OpenFax modem line, efax and HylaFAX, in both
directions, at V.17, V.29 and V.27ter, with ECM on and off, MH, MR and MMR, fine and
standard. Every combination is one page, pixel-identical (below the sender's header band for
what efax and HylaFAX send), and the settings the call used are those asked for.

The line under test is held to the combination by its :class:`SessionOptions` (the modems,
ECM and compressions it offers): sending, it chooses among what the far end offers;
receiving, its DIS offers no more, so the far end has to use them. Against a second OpenFax
line the other line offers everything, so ``sends`` proves the caller's choice and
``receives`` the answerer's limits. efax and HylaFAX are held by their own options too:
efax's capabilities (``-c vr,br,...``), sendfax's ``-B`` (bit rate), ``-E`` (no ECM),
``-1``/``-2``/``-3`` (MH, MR, MMR) and ``-l``/``-m`` (resolution). The page's own resolution
chooses fine or standard.

efax does only MH without ECM ("Does not support 2-D coding, ECM, or BFT", efax(1), BUGS):
its part of the matrix is the three modulations at both resolutions, each way.

MMR is defined only with ECM (T.30), so the matrix has five codings: MH and MR without ECM,
MH, MR and MMR with it. It is 3 x 5 x 2 = 30 combinations a direction, 22 to 78 s each
(measured): it runs only with ``OPENFAX_STRESS=1``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from bench.hylafax import MODEM_IDLE, HylaFax, Transfer, missing_programs

from openfax.documents import pages
from openfax.documents.tiff import write_fax_tiff
from openfax.engine import SessionOptions
from openfax.engine.params import Compression, Modem, Resolution
from openfax.providers import CallCause, CallOutcome, IncomingCall, ReceiveSetup
from openfax.providers.base import SendRequest
from openfax.providers.modem.provider import ModemLine, ModemProvider
from openfax.virtual_modem import ModemPair
from tests.fax_images import read_pages, sample_page
from tests.integration.engine.test_efax import efax, efax_exit_code, ink
from tests.integration.providers.test_modem import line_config, ready
from tests.unit.providers.test_loopback import Service
from tests.waiting import until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("OPENFAX_STRESS") != "1",
        reason="the interop matrix takes about 80 minutes: OPENFAX_STRESS=1",
    ),
]

CALL_SECONDS = 240.0
"""One page at V.27ter 4800 bit/s takes about 45 s of line time: room for a busy machine."""
BIT_RATES = {Modem.V17: 14400, Modem.V29: 9600, Modem.V27TER: 4800}
"""The rate each modulation runs at when nothing fails: its highest."""
Y_DPI = {Resolution.FINE: 196, Resolution.STANDARD: 98}
CODINGS = (
    (False, Compression.MH),
    (False, Compression.MR),
    (True, Compression.MH),
    (True, Compression.MR),
    (True, Compression.MMR),
)


@dataclass(frozen=True)
class Combination:
    """One cell of the matrix: what the call must use."""

    modem: Modem
    ecm: bool
    compression: Compression
    resolution: Resolution

    def __str__(self) -> str:
        ecm = "ecm" if self.ecm else "noecm"
        return f"{self.modem.name}-{ecm}-{self.compression.name}-{self.resolution.name.lower()}"

    @property
    def options(self) -> SessionOptions:
        """The line under test held to this combination."""
        return SessionOptions(
            ident="OPENFAX",
            ecm=self.ecm,
            modems=self.modem,
            compressions=self.compression,
            resolutions=self.resolution,
        )

    @property
    def y_dpi(self) -> int:
        return Y_DPI[self.resolution]

    def page(self, number: int) -> pages.FaxPage:
        return pages.FaxPage(sample_page(number, self.y_dpi), pages.Resolution(self.y_dpi))

    def check(self, outcome: CallOutcome, log: str = "") -> None:
        """The call went through with this combination's settings (``log``: the far end's,
        for a failure's message)."""
        assert outcome.cause is CallCause.NONE, (outcome, log)
        assert outcome.pages == 1, (outcome, log)
        negotiated = outcome.negotiated
        assert negotiated is not None, (outcome, log)
        used = (
            negotiated.modem,
            negotiated.bit_rate,
            negotiated.ecm,
            negotiated.compression,
            negotiated.resolution,
        )
        assert used == (
            self.modem,
            BIT_RATES[self.modem],
            self.ecm,
            self.compression,
            self.resolution,
        ), (negotiated, log)


MATRIX = [
    Combination(modem, ecm, compression, resolution)
    for modem in (Modem.V17, Modem.V29, Modem.V27TER)
    for ecm, compression in CODINGS
    for resolution in (Resolution.FINE, Resolution.STANDARD)
]
EFAX_MATRIX = [c for c in MATRIX if not c.ecm and c.compression is Compression.MH]
DIRECTIONS = ("sends", "receives")
"""What the OpenFax line under test does."""


class Receiving(Service):
    """The service of the line under test: it receives with ``options``."""

    def __init__(self, folder: Path, options: SessionOptions) -> None:
        super().__init__(folder)
        self.options = options

    async def receive_setup(self, call: IncomingCall) -> ReceiveSetup:
        return ReceiveSetup(self.folder / f"received-{call.call_id}.tif", self.options)


@asynccontextmanager
async def modem_line(path: Path, service: Service) -> AsyncIterator[ModemLine]:
    """A one-line provider on the modem at ``path``, its line ready."""
    provider = ModemProvider([line_config(path, rings_before_answer=1)])
    provider.set_listener(service)
    async with provider:
        line = provider.devices[0]
        await ready(line)
        yield line


async def send(
    line: ModemLine, number: str, document: Path, options: SessionOptions
) -> CallOutcome:
    return await asyncio.wait_for(line.dial(number, SendRequest(document, options)), CALL_SECONDS)


async def received(service: Service) -> CallOutcome:
    (outcome,) = await until(service.received, "the fax received", CALL_SECONDS)
    return outcome


def assert_identical(got: np.ndarray, want: np.ndarray, top: int = 0) -> None:
    """The same page; with ``top``, below the sender's header band of ``top`` rows (which
    must have ink)."""
    assert got.shape == want.shape
    assert np.array_equal(got[top:], want[top:])
    if top:
        assert got[:top].any(), "the sender's header line should be there"


def document(folder: Path, combination: Combination, number: int) -> Path:
    """A one-page TIFF-F of sample page ``number`` at the combination's resolution, MH."""
    path = folder / f"page-{number}.tif"
    write_fax_tiff([combination.page(number)], path, compression=pages.Compression.MH)
    return path


# --- a second OpenFax modem line -----------------------------------------------------------


@pytest.mark.parametrize("combination", MATRIX, ids=str)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_openfax_line(tmp_path: Path, direction: str, combination: Combination) -> None:
    sent = document(tmp_path, combination, 1)
    for end in ("a", "b"):
        (tmp_path / end).mkdir()
    # Line A is the one under test; line B offers everything.
    if direction == "sends":
        caller_options, callee_options = combination.options, SessionOptions(ident="OTHER")
    else:
        caller_options, callee_options = SessionOptions(ident="OTHER"), combination.options
    callee = Receiving(tmp_path / "b", callee_options)

    async def call() -> tuple[CallOutcome, CallOutcome]:
        async with (
            ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair,
            modem_line(pair.paths[0], Service(tmp_path / "a")) as calling,
            modem_line(pair.paths[1], callee),
        ):
            outcome = await send(calling, pair.numbers["B"], sent, caller_options)
            return outcome, await received(callee)

    sending, receiving = asyncio.run(call())
    combination.check(sending if direction == "sends" else receiving)
    assert receiving.path is not None
    (got,) = read_pages(receiving.path)
    assert_identical(got, ink(sample_page(1, combination.y_dpi)))


# --- efax ------------------------------------------------------------------------------------

EFAX_BIT_RATE = {Modem.V17: 5, Modem.V29: 3, Modem.V27TER: 1}
"""efax's ``br`` capability for each modulation's rate (efax(1), CAPABILITIES)."""
EFAX_HEADER = {Resolution.FINE: (20, 24), Resolution.STANDARD: (6, 12)}
"""The blank rows efax adds above each page it sends and the rows its header line covers
(from the top of what it sends), at each resolution."""


def efax_document(folder: Path, combination: Combination, number: int) -> Path:
    """A page as efax reads it (made by efix, its own tool), at the combination's resolution."""
    path = folder / f"page-{number}.tif"
    pbm = path.with_suffix(".pbm")
    sample_page(number, combination.y_dpi).save(pbm)
    dpi = f"204x{combination.y_dpi}"
    command = ["efix", "-v", "", "-i", "pbm", "-o", "tiffg3", "-n", str(path)]
    subprocess.run([*command, "-R", dpi, "-r", dpi, str(pbm)], check=True)
    return path


@pytest.mark.skipif(
    shutil.which("efax") is None or shutil.which("efix") is None,
    reason="efax is not installed (Debian package efax provides efax and efix)",
)
@pytest.mark.parametrize("combination", EFAX_MATRIX, ids=str)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_efax(tmp_path: Path, direction: str, combination: Combination) -> None:
    log = tmp_path / "efax.log"
    caps = f"{1 if combination.resolution is Resolution.FINE else 0},"
    caps += f"{EFAX_BIT_RATE[combination.modem]},0,2,0,0,0,0"
    service = Receiving(tmp_path, combination.options)

    async def efax_receives() -> CallOutcome:
        async with ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair:
            receive = ("-d", str(pair.paths[1]), "-l", "EFAX", "-c", caps, "-w", "-iS0=1")
            async with efax(log, *receive, "-r", str(tmp_path / "received")) as receiver:
                await until(
                    lambda: b"waiting for activity" in log.read_bytes(),
                    lambda: f"efax to be ready:\n{log.read_text()}",
                    30,
                    poll=0.1,
                )
                async with modem_line(pair.paths[0], service) as line:
                    sent = document(tmp_path, combination, 1)
                    outcome = await send(line, pair.numbers["B"], sent, combination.options)
                assert await efax_exit_code(receiver) == 0, log.read_text()
        return outcome

    async def efax_sends() -> CallOutcome:
        sent = efax_document(tmp_path, combination, 2)
        async with (
            ModemPair(tmp_path / "ttyA", tmp_path / "ttyB") as pair,
            modem_line(pair.paths[1], service),
        ):
            send = ("-d", str(pair.paths[0]), "-l", "EFAX", "-c", caps, "-t", "1002")
            async with efax(log, *send, str(sent)) as sender:
                code = await asyncio.wait_for(sender.wait(), CALL_SECONDS)
                assert code == 0, log.read_text()
            return await received(service)

    if direction == "sends":
        combination.check(asyncio.run(efax_receives()), log.read_text())
        (file,) = sorted(tmp_path.glob("received.*"))
        (got,) = read_pages(file)
        assert_identical(got, ink(sample_page(1, combination.y_dpi)))
    else:
        outcome = asyncio.run(efax_sends())
        combination.check(outcome, log.read_text())
        assert outcome.path is not None
        (got,) = read_pages(outcome.path)
        blank, header = EFAX_HEADER[combination.resolution]
        want = ink(sample_page(2, combination.y_dpi))
        assert got.shape == (want.shape[0] + blank, want.shape[1])
        assert np.array_equal(got[header:], want[header - blank :])
        assert got[:header].any(), "efax's header line should be there"


# --- HylaFAX ---------------------------------------------------------------------------------

HYLAFAX_CODING = {Compression.MH: "-1", Compression.MR: "-2", Compression.MMR: "-3"}
TAG_LINE = {Resolution.FINE: 33, Resolution.STANDARD: 16}
"""The rows HylaFAX's tag line takes at the top of each page it sends (at 196 lpi the font's
height and 2 blank rows above and below; at 98 lpi about half as many)."""
HYLAFAX_LOST_ROWS = 1
"""The blank rows at the end of a page HylaFAX may send fewer than the document has: some
calls (MH at 98 lpi, MR at 196 lpi without ECM) end a row short, whoever receives (efax
receiving an MH page at 98 lpi from faxsend gets 1142 rows of 1143 too). The rows it sends
are the document's, in place."""


@dataclass
class HylaFaxPeer:
    hylafax: HylaFax
    modem: str
    pair: ModemPair

    def transfers(self, kind: str) -> list[Transfer]:
        return [t for t in self.hylafax.transfers() if t.kind == kind]

    def last_log(self) -> str:
        """The trace of HylaFAX's last call (faxsend's or faxgetty's)."""
        logs = sorted((self.hylafax.spool / "log").glob("c*"))
        return logs[-1].read_text() if logs else ""

    def idle(self) -> bool:
        return self.pair.idle and self.hylafax.modem_status(self.modem) == MODEM_IDLE


@pytest.fixture(scope="module")
def hylafax_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HylaFaxPeer]:
    """A pair in a thread of its own with HylaFAX's faxgetty on modem B, for every call."""
    if missing_programs():
        pytest.skip(f"HylaFAX is not installed ({', '.join(missing_programs())} missing)")
    if os.geteuid() != 0:
        pytest.skip("HylaFAX's daemons run only with a real uid of root")
    folder = tmp_path_factory.mktemp("matrix-hylafax")
    with ModemPair(folder / "ttyA", folder / "ttyB").in_thread() as pair, HylaFax() as hylafax:
        modem = hylafax.add_modem(pair.paths[1].resolve())
        yield HylaFaxPeer(hylafax, modem, pair)


@pytest.mark.parametrize("combination", MATRIX, ids=str)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_hylafax(
    tmp_path: Path, hylafax_peer: HylaFaxPeer, direction: str, combination: Combination
) -> None:
    peer, hylafax = hylafax_peer, hylafax_peer.hylafax
    service = Receiving(tmp_path, combination.options)

    async def wait_idle() -> None:
        await until(
            lambda: asyncio.to_thread(peer.idle), "faxgetty idle on a free line", 60, poll=0.2
        )

    async def hylafax_receives() -> CallOutcome:
        await wait_idle()
        records = len(peer.transfers("RECV"))
        async with modem_line(peer.pair.paths[0], service) as line:
            sent = document(tmp_path, combination, 1)
            outcome = await send(line, peer.pair.numbers["B"], sent, combination.options)
        await until(
            lambda: len(peer.transfers("RECV")) > records, "faxgetty's record", 30, poll=0.2
        )
        return outcome

    async def hylafax_sends() -> CallOutcome:
        await wait_idle()
        records = len(peer.transfers("SEND"))
        sent = document(tmp_path, combination, 2)
        options = [
            "-s", "a4", "-T", "1", "-t", "1",
            "-B", str(BIT_RATES[combination.modem]),
            "-m" if combination.resolution is Resolution.FINE else "-l",
            HYLAFAX_CODING[combination.compression],
        ]  # fmt: skip
        if not combination.ecm:
            options.append("-E")
        hylafax.forget_destinations()
        async with modem_line(peer.pair.paths[0], service):
            assert await asyncio.to_thread(hylafax.sendfax, sent, ["1001"], options) == 1
            outcome = await received(service)
        await until(lambda: len(peer.transfers("SEND")) > records, "faxsend's record", 30, poll=0.2)
        return outcome

    try:
        if direction == "sends":
            outcome = asyncio.run(hylafax_receives())
            logs = peer.last_log()
            combination.check(outcome, logs)
            record = peer.transfers("RECV")[-1]
            assert (record.pages, record.reason) == (1, ""), logs
            (got,) = read_pages(hylafax.spool / record.file)
            assert_identical(got, ink(sample_page(1, combination.y_dpi)))
        else:
            outcome = asyncio.run(hylafax_sends())
            logs = peer.last_log()
            combination.check(outcome, logs)
            record = peer.transfers("SEND")[-1]
            assert (record.pages, record.reason) == (1, ""), logs
            assert outcome.path is not None
            (got,) = read_pages(outcome.path)
            want = ink(sample_page(2, combination.y_dpi))
            lost = len(want) - len(got)
            assert 0 <= lost <= HYLAFAX_LOST_ROWS, (got.shape, want.shape)
            assert not want[len(got) :].any(), "only blank rows may be missing"
            assert_identical(got, want[: len(got)], TAG_LINE[combination.resolution])
    finally:
        # HylaFAX's trace of every call so far, kept beside the test's files.
        shutil.copytree(hylafax.spool / "log", tmp_path / "hylafax-log")
