"""Device providers as plug-ins: a small distribution installed into a folder on the
daemon's ``sys.path`` (entry points in ``openfax.providers``), registered through the
client, loaded by the real ``importlib.metadata`` at the next start; the one that loads
brings a line that really sends and receives, the others show their status and error."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvents
from openfax.errors import ConfigError, InvalidOperationError, NotSupportedError
from openfax.model import ProviderStatus
from tests.daemon import running
from tests.factories import make_pdf

MODULE = """
from openfax.providers import LoopbackProvider

NOT_A_FACTORY = 3


def create():
    return LoopbackProvider(2, base_number="200", name="acme", pace=None)


def impostor():
    return LoopbackProvider(1, base_number="300", name="loopback", pace=None)


def unlicensed():
    raise RuntimeError("no licence for ACME lines")
"""


def install_distribution(site: Path) -> None:
    """``acme-lines`` 3.1: four entry points, one of which makes a working provider."""
    (site / "acme_lines.py").write_text(MODULE)
    info = site / "acme_lines-3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-lines\nVersion: 3.1\n")
    (info / "entry_points.txt").write_text(
        "[openfax.providers]\n"
        "acme = acme_lines:create\n"
        "impostor = acme_lines:impostor\n"
        "unlicensed = acme_lines:unlicensed\n"
        "constant = acme_lines:NOT_A_FACTORY\n"
    )


def test_registered_providers_load_at_the_next_start_with_their_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_distribution(site)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    with running(tmp_path / "openfaxd") as daemon:
        with daemon.connected() as server:
            for name in ("acme", "impostor", "unlicensed", "constant", "absent"):
                server.register_device_provider(name, f"{name} lines", name, "ACME TSP")
            with pytest.raises(InvalidOperationError, match="already registered"):
                server.register_device_provider("acme", "", "acme")
            with pytest.raises(ConfigError, match="cannot be registered"):
                server.register_device_provider("loopback", "", "acme")
            with pytest.raises(ConfigError, match="FSPI_API_VERSION_1"):
                server.register_device_provider("v2", "", "acme", fspi_version=0x20000)
            assert [p.unique_name for p in server.get_device_providers()] == ["loopback"]

        daemon.stop()
        daemon.start()
        with daemon.connected() as server:
            providers = server.get_device_providers()
            assert [p.unique_name for p in providers] == [
                "loopback", "acme", "impostor", "unlicensed", "constant", "absent"
            ]  # fmt: skip
            assert len(providers["loopback"].device_ids) == 2
            acme = providers["acme"]
            assert (acme.status, acme.version, acme.tapi_provider_name) == (
                ProviderStatus.SUCCESS, "3.1", "ACME TSP"
            )  # fmt: skip
            assert providers["impostor"].status is ProviderStatus.BAD_GUID
            assert "already named 'loopback'" in providers["impostor"].init_error_message
            assert providers["unlicensed"].status is ProviderStatus.CANT_INIT
            assert "no licence" in providers["unlicensed"].init_error_message
            assert providers["constant"].status is ProviderStatus.CANT_LINK
            assert providers["absent"].status is ProviderStatus.CANT_LOAD
            assert "no entry point 'absent'" in providers["absent"].init_error_message

            line_id = acme.device_ids[0]
            lines = [d for d in server.get_devices() if d.id in acme.device_ids]
            assert [(d.device_name, d.number) for d in lines] == [
                ("acme line 2001", "2001"), ("acme line 2002", "2002")
            ]  # fmt: skip
            for device in server.get_devices():
                if device.id not in acme.device_ids:
                    device.send_enabled = False  # the loopback lines cannot reach ACME's
                    device.save()
            message_id = fax_to(server, "2002", make_pdf(tmp_path / "one.pdf", 1))
            assert server.folders.incoming_archive.get_message(message_id).device_name == (
                "acme line 2002"
            )
            for name in ("acme", "impostor", "unlicensed", "constant", "absent"):
                server.unregister_device_provider(name)
            with pytest.raises(NotSupportedError):
                server.unregister_device_provider("acme")

        daemon.stop()
        daemon.start()
        with daemon.connected() as server:
            assert [p.unique_name for p in server.get_device_providers()] == ["loopback"]
            line = next(d for d in server.get_devices() if d.id == line_id)
            assert line.powered_off, "the line is known but out of service"


def fax_to(server: FaxServer, number: str, body: Path) -> str:
    """Send ``body`` to ``number``; the id of the fax that arrived there."""
    deadline = time.monotonic() + 60
    with server.iter_events(ServerEvents.IN_ARCHIVE, deadline=deadline) as events:
        document = FaxDocument(body=body)
        document.recipients.add(number)
        document.connected_submit(server)
        for event in events:
            if event.name == "OnIncomingMessageAdded" and event.message_id:
                return event.message_id
    raise AssertionError("unreachable: the event stream ends only by TimeoutError")
