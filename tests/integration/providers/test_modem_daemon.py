"""A modem line in a real ``openfaxd``: configured by ``[[modem.lines]]``, listed by
``openfax devices`` with the modem's probe and its own TSID/CSID and rings, a fax sent on it
to a busy number failing as busy, shown out of service with the reason when its port
vanishes, and back when it returns; and a user's faxes to and from efax through
``openfax virtual-modems``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from openfax.model import ProviderStatus
from tests.daemon import running
from tests.fax_images import sample_page
from tests.integration.cli.test_accounts_commands import openfax
from tests.integration.cli.test_cli import OPENFAX, SAMPLES
from tests.integration.engine.test_efax import efax_tiff
from tests.integration.providers.modem_peer import ScriptedModem
from tests.waiting import wait_until


def test_a_modem_line_in_the_daemon(tmp_path: Path) -> None:
    link = tmp_path / "modem"
    line = {
        "device": str(link),
        "name": "front desk",
        "number": "+4930123457",
        "ident": "ACME FRONT DESK",
        "rings_before_answer": 3,
        "command_timeout": 2,
        "reopen_seconds": 0.5,
        "quirks": {"silence_before_send": 9},
    }
    peers = [ScriptedModem(link)]
    try:
        with running(
            tmp_path / "data",
            modem={"lines": [line]},
            loopback={"lines": 0},
            outgoing={"retries": 0},
        ) as daemon:

            def modem_row(state: str) -> dict[str, Any] | None:
                rows = json.loads(openfax(daemon, "devices", "--json").stdout)
                row = next(row for row in rows if row["name"] == "front desk")
                return row if row["state"] == state else None

            row = wait_until(lambda: modem_row("idle"), "the modem line idle", 60)
            assert row["number"] == "+4930123457"
            assert (row["tsid"], row["csid"]) == ("ACME FRONT DESK", "ACME FRONT DESK")
            assert row["registration"] == "registered"
            assert "spandsp" in row["hardware"]
            assert "+FTM 24,48,72" in row["hardware"]
            assert "sends V.17 7200-14400, V.29 7200-9600, V.27ter 2400-4800" in row["hardware"]
            wide = openfax(daemon, "devices", "--wide").stdout
            assert "hardware" in wide
            assert "spandsp / www.soft-switch.org" in wide
            assert "receives V.17 7200-14400" in " ".join(wide.split())
            with daemon.connected() as server:
                device = next(d for d in server.get_devices() if d.device_name == "front desk")
                assert device.rings_before_answer == 3
                assert device.provider_unique_name == "modem"

            sent = openfax(
                daemon, "send", SAMPLES / "letter.txt", "--to", "555 1234", "--wait", "--json"
            )
            (job,) = json.loads(sent.stdout)
            assert job["status"] == "RETRIES_EXCEEDED", job
            assert "busy" in job["reason"], job
            assert peers[0].dialled == ["5551234"]

            peers[0].vanish()
            row = wait_until(lambda: modem_row("unavailable"), "the modem line unavailable", 60)
            assert str(link) in row["registration"]
            with daemon.connected() as server:
                provider = server.get_device_providers()["modem"]
                assert provider.status is ProviderStatus.CANT_INIT
                assert "front desk" in provider.init_error_message

            peers.append(ScriptedModem(link))
            wait_until(lambda: modem_row("idle"), "the modem line back", 60)
            log = "".join(daemon.log)
            assert "front desk out of service" in log
    finally:
        for peer in peers:
            peer.close()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("efax") is None, reason="efax is not installed (Debian efax)")
def test_faxes_through_the_virtual_modems_with_the_cli(tmp_path: Path) -> None:
    """As a user without a modem: ``openfax virtual-modems --pair``, openfaxd with a modem
    line on modem A and efax on modem B. ``openfax send --wait`` reaches efax, and a page
    from efax lands in ``openfax inbox``."""
    with virtual_modems(tmp_path) as (modem_a, modem_b):
        line = {"device": str(modem_a), "name": "modem A", "number": "1001", "ident": "OPENFAX"}
        with running(
            tmp_path / "data",
            modem={"lines": [line]},
            loopback={"lines": 0},
            outgoing={"retries": 0},
        ) as daemon:
            wait_until(
                lambda: '"idle"' in openfax(daemon, "devices", "--json").stdout,
                "the modem line idle",
                60,
            )
            log = tmp_path / "efax-rx.log"
            receive = ["-d", str(modem_b), "-w", "-iS0=1", "-r", str(tmp_path / "received")]
            with efax_running(log, *receive) as receiver:
                wait_until(lambda: b"waiting for activity" in log.read_bytes(), "efax ready", 30)
                sent = openfax(
                    daemon, "send", SAMPLES / "letter.txt", "--to", "1002", "--wait", "--json"
                )
                (job,) = json.loads(sent.stdout)
                assert job["status"] == "COMPLETED", (job, log.read_text())
                assert receiver.wait(timeout=60) == 0, log.read_text()
            pages = sorted(tmp_path.glob("received.*"))
            assert [p.suffix for p in pages] == [f".{n:03d}" for n in range(1, job["pages"] + 1)]

            page = efax_tiff(sample_page(1), tmp_path / "page.tif")
            log = tmp_path / "efax-tx.log"
            with efax_running(
                log, "-d", str(modem_b), "-l", "EFAX", "-t", "1001", str(page)
            ) as sender:
                assert sender.wait(timeout=120) == 0, log.read_text()

            def inbox() -> list[dict[str, Any]]:
                return list(json.loads(openfax(daemon, "inbox", "--json").stdout))

            (row,) = wait_until(inbox, "the fax from efax in the inbox", 60)
            assert row["pages"] == 1, row
            with daemon.connected() as server:
                message = server.folders.incoming_archive.get_message(row["id"])
                assert (message.tsid, message.caller_id) == ("EFAX", "1002")


@contextmanager
def virtual_modems(folder: Path) -> Iterator[tuple[Path, Path]]:
    """``openfax virtual-modems --pair`` as a user runs it, until the test ends."""
    a, b = folder / "ttyA", folder / "ttyB"
    process = subprocess.Popen(
        [str(OPENFAX), "virtual-modems", "--pair", str(a), str(b)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "modem B" in process.stdout.readline() + process.stdout.readline()
        yield a, b
    finally:
        process.terminate()
        process.communicate(timeout=30)


@contextmanager
def efax_running(log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """efax with its log in ``log``, killed if the test ends while it runs."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["efax", "-o1", "-v", "ewinc", *args], stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
