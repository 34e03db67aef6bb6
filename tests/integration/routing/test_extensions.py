"""Third-party routing extensions: a small distribution installed into a folder on the
daemon's ``sys.path`` (a module and a ``.dist-info`` with ``entry_points.txt``), registered
through the client, loaded by the real ``importlib.metadata`` at the next start, with the
status and load error of the ones that do not load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openfax.errors import ConfigError, InvalidOperationError, NotSupportedError
from openfax.model import ProviderStatus
from tests.daemon import running
from tests.integration.routing.conftest import ROUTING, fax_to, settled, use_only

ARCHIVER = "{0b5c9d3e-1f2a-4b6c-8d7e-9f0a1b2c3d4e}"
BROKEN = "{7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9}"
UNLINKED = "{11111111-2222-4333-8444-555555555555}"

MODULE = '''
import json
from pathlib import Path

started = []


def initialize():
    started.append(True)


def check_copy_metadata(configuration):
    if "folder" not in configuration:
        raise ValueError("folder is required")
    return dict(configuration)


def copy_metadata(fax, configuration):
    """Write the fax's metadata and routing information where the configuration says."""
    target = Path(configuration["folder"]) / (fax.routing_information.called_number + ".json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({**fax.metadata(), "initialized": started == [True]}))
'''


def install_distribution(site: Path) -> None:
    """``acme-fax-routing`` 1.4: two entry points, one of which cannot be imported."""
    (site / "acme_routing.py").write_text(MODULE)
    (site / "acme_broken.py").write_text("raise ImportError('acme_broken needs libacme.so.3')\n")
    info = site / "acme_fax_routing-1.4.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-fax-routing\nVersion: 1.4\n")
    (info / "entry_points.txt").write_text(
        "[openfax.routing_methods]\nacme = acme_routing\nbroken = acme_broken\n"
    )


def test_registered_extensions_load_at_the_next_start_with_their_status(
    tmp_path: Path, one_page: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_distribution(site)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "out"
    with running(tmp_path / "openfaxd", incoming=ROUTING) as daemon:
        with daemon.connected() as server:
            server.register_inbound_routing_extension(
                "acme", "ACME routing", "acme", [f"Copy;Copy the metadata;copy_metadata;{ARCHIVER}"]
            )
            server.register_inbound_routing_extension(
                "broken", "Broken", "broken", [f"Broken;Never loads;route;{BROKEN}"]
            )
            server.register_inbound_routing_extension(
                "unlinked", "Unlinked", "acme", [f"Missing;No such function;nowhere;{UNLINKED}"]
            )
            server.register_inbound_routing_extension(
                "absent",
                "Absent",
                "not_installed",
                ["Gone;Gone;route;{22222222-3333-4444-8555-666666666666}"],
            )
            with pytest.raises(InvalidOperationError, match="already registered"):
                server.register_inbound_routing_extension(
                    "acme", "", "acme", ["A;A;a;{33333333-4444-4555-8666-777777777777}"]
                )
            with pytest.raises(ConfigError, match="already used"):
                server.register_inbound_routing_extension("copy", "", "acme", [f"A;A;a;{ARCHIVER}"])
            with pytest.raises(ConfigError, match="not a GUID"):
                server.register_inbound_routing_extension("bad", "", "acme", ["A;A;a;{nope}"])
            assert [e.unique_name for e in server.inbound_routing.get_extensions()] == ["openfax"]

        daemon.stop()
        daemon.start()
        with daemon.connected() as server:
            extensions = server.inbound_routing.get_extensions()
            assert [e.unique_name for e in extensions] == [
                "openfax", "acme", "broken", "unlinked", "absent"
            ]  # fmt: skip
            acme = extensions["acme"]
            assert (acme.status, acme.version, acme.methods) == (
                ProviderStatus.SUCCESS, "1.4", [ARCHIVER]
            )  # fmt: skip
            assert extensions["broken"].status is ProviderStatus.CANT_LOAD
            assert "needs libacme.so.3" in extensions["broken"].init_error_message
            assert extensions["unlinked"].status is ProviderStatus.CANT_LINK
            assert "nowhere" in extensions["unlinked"].init_error_message
            assert extensions["absent"].status is ProviderStatus.CANT_LOAD
            assert "no entry point 'not_installed'" in extensions["absent"].init_error_message

            method = server.inbound_routing.get_methods()[ARCHIVER]
            assert (method.name, method.function_name, method.extension_image_name) == (
                "Copy", "copy_metadata", "acme"
            )  # fmt: skip
            with pytest.raises(ConfigError, match="folder is required"):
                method.set_configuration({"elsewhere": 1})
            method.set_configuration({"folder": str(out)})
            server.inbound_routing.get_method(BROKEN).set_configuration({})
            use_only(server, "loopback line 1002", ARCHIVER, BROKEN)
            message_id = fax_to(server, "1002", one_page)
            copied, broken = settled(server, message_id)
            assert copied.status == "done"
            assert (broken.status, broken.attempts) == ("failed", 1)
            assert "did not load" in broken.last_error

            server.unregister_inbound_routing_extension("broken")
            with pytest.raises(NotSupportedError):
                server.unregister_inbound_routing_extension("broken")

        daemon.stop()
        daemon.start()
        with daemon.connected() as server:
            names = [e.unique_name for e in server.inbound_routing.get_extensions()]
            assert names == ["openfax", "acme", "unlinked", "absent"]
            # The line still names the unregistered method; it can be turned off.
            line = server.get_devices()["loopback line 1002"]
            assert BROKEN in line.used_routing_methods
            line.use_routing_method(BROKEN, False)
            assert line.used_routing_methods == [ARCHIVER]

    written = json.loads((out / "1002.json").read_text())
    assert written["message_id"] == message_id
    assert written["routing_information"]["caller_id"] == "1001"
    assert written["initialized"] is True
