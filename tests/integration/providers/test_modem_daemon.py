"""A modem line in a real ``openfaxd``: configured by ``[[modem.lines]]``, listed by
``openfax devices`` with the modem's probe and its own TSID/CSID and rings, a fax sent on it
to a busy number failing as busy, shown out of service with the reason when its port
vanishes, and back when it returns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openfax.model import ProviderStatus
from tests.daemon import running
from tests.integration.cli.test_accounts_commands import openfax
from tests.integration.cli.test_cli import SAMPLES
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
            wide = openfax(daemon, "devices", "--wide").stdout
            assert "hardware" in wide
            assert "spandsp / www.soft-switch.org" in wide
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
            row = wait_until(lambda: modem_row("unregistered"), "the modem line unavailable", 60)
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
