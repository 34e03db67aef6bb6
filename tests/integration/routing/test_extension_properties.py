"""Extension properties reach the plug-in that owns them: a routing extension installed as a
real distribution (an entry point found by ``importlib.metadata``) is told in the daemon
when its method's GUID's property is set, server-wide or for a line, and again at the next
start; the values are read back through the client."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openfax.errors import ConfigError
from openfax.providers.loopback import LOOPBACK_GUID
from tests.daemon import running
from tests.integration.routing.conftest import ROUTING

NOTIFIED = "{5d4c3b2a-1908-4f7e-8d6c-5b4a39281706}"

MODULE = '''
import json
import os


def route(fax, configuration):
    """Routes nothing: the method is here for its extension property."""


def on_extension_property(guid, device_id, data):
    with open(os.environ["ACME_NOTICES"], "a") as notices:
        notices.write(json.dumps([guid, device_id, data.decode()]) + "\\n")
'''


def install_distribution(site: Path) -> None:
    """``acme-notified`` 2.0: one entry point in ``openfax.routing_methods``."""
    (site / "acme_notified.py").write_text(MODULE)
    info = site / "acme_notified-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-notified\nVersion: 2.0\n")
    (info / "entry_points.txt").write_text("[openfax.routing_methods]\nnotified = acme_notified\n")


def test_the_owner_of_a_guid_is_told_of_its_property(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_distribution(site)
    notices = tmp_path / "notices.jsonl"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("ACME_NOTICES", str(notices))
    with running(tmp_path / "openfaxd", incoming=ROUTING) as daemon:
        with daemon.connected() as server:
            server.register_inbound_routing_extension(
                "notified", "Notified", "notified", [f"Nothing;Routes nothing;route;{NOTIFIED}"]
            )
        daemon.stop()
        daemon.start()
        with daemon.connected() as server:
            server.set_extension_property(NOTIFIED, b"server-wide")
            line = server.get_devices()["loopback line 1002"]
            line.set_extension_property(NOTIFIED.strip("{}"), b"for 1002")
            assert server.get_extension_property(NOTIFIED) == b"server-wide"
            assert line.get_extension_property(NOTIFIED) == b"for 1002"
            assert (
                server.get_devices()["loopback line 1001"].get_extension_property(NOTIFIED) == b""
            )
            told = [json.loads(notice) for notice in notices.read_text().splitlines()]
            assert told == [[NOTIFIED, 0, "server-wide"], [NOTIFIED, line.id, "for 1002"]]

            with pytest.raises(ConfigError, match="9999"):
                server.set_extension_property(LOOPBACK_GUID, b'{"9999": {"busy": true}}')
            server.set_extension_property(LOOPBACK_GUID, b'{"1002": {"busy": true}}')
        notices.unlink()
        daemon.stop()
        daemon.start()
        told = sorted(json.loads(notice) for notice in notices.read_text().splitlines())
        assert told == sorted([[NOTIFIED, 0, "server-wide"], [NOTIFIED, line.id, "for 1002"]])
