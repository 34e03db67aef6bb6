"""``openfax doctor`` on a real install: all ok beside a healthy running daemon; each fault
of a broken one named with its fix, and the exit status 1."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openfax.store.database import head_revision
from tests.conftest import PostgreSQLServer
from tests.daemon import Daemon, running
from tests.integration.cli.test_fax_commands import openfax
from tests.integration.providers.test_sip_network import SippRegistrar
from tests.integration.telephony.test_sipp import SIPP
from tests.waiting import wait_until


def doctor(daemon: Daemon, *args: str | Path) -> tuple[int, dict[str, dict[str, Any]]]:
    """``openfax doctor --json`` on the daemon's install: its exit status and its findings
    by check."""
    done = openfax(
        daemon, "doctor", "--config", daemon.config, "--data-dir", daemon.data_dir, "--json", *args
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, {finding["check"]: finding for finding in json.loads(done.stdout)}


def test_a_healthy_running_install_is_all_ok(tmp_path: Path) -> None:
    with running(tmp_path / "data") as daemon:
        status, findings = doctor(daemon)
        table = openfax(
            daemon, "doctor", "--config", daemon.config, "--data-dir", tmp_path / "data"
        )
    assert status == 0
    assert {f["level"] for f in findings.values()} == {"ok"}, findings
    for check in ("spandsp", "libtiff", "fonts", "configuration", "data dir", "database"):
        assert check in findings
    assert "libspandsp.so" in findings["spandsp"]["found"]
    assert "Version 4." in findings["libtiff"]["found"]
    assert "migrated to" in findings["database"]["found"]
    assert "ready" in findings["openfaxd"]["found"]
    assert findings["provider loopback"]["found"] == "2 lines in service"
    # The table: one line per check, its level first.
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert len(lines) == len(findings)
    assert all(line.startswith("ok ") for line in lines)


def test_a_running_daemon_names_a_modem_port_it_cannot_open(tmp_path: Path) -> None:
    missing = tmp_path / "ttyMISSING"
    with running(tmp_path / "data", modem={"lines": [{"device": str(missing)}]}) as daemon:
        status, findings = doctor(daemon)
    assert status == 1
    line = findings["line modem ttyMISSING"]
    assert line["level"] == "fault"
    assert f"cannot open {missing}" in line["found"]
    assert "dialout" in line["fix"]


def test_a_broken_stopped_install_names_each_fault_and_its_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(data) as daemon:
        pass  # a database made and migrated, then the daemon stopped
    with sqlite3.connect(data / "openfax.db") as database:
        database.execute("UPDATE alembic_version SET version_num = '0999'")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        missing = tmp_path / "ttyMISSING"
        broken = Daemon(
            data,
            api={"socket": str(daemon.socket), "listen": f"127.0.0.1:{port}"},
            modem={"lines": [{"device": str(missing)}]},
        )
        data.chmod(0o755)
        status, findings = doctor(broken)
    assert status == 1
    assert findings["openfaxd"]["level"] == "warning"  # not running
    faults = {check: f for check, f in findings.items() if f["level"] == "fault"}
    assert set(faults) == {
        "data dir",
        "database",
        f"port 127.0.0.1:{port}/tcp",
        "line modem ttyMISSING",
    }
    assert f"{data} (0755)" in faults["data dir"]["found"]
    assert (
        faults["data dir"]["fix"]
        == f"chmod -R go-rwx {data} (openfaxd also makes them private when it starts)"
    )
    assert "0999, newer than this version" in faults["database"]["found"]
    assert (
        "taken by another program ([api] listen)" in faults[f"port 127.0.0.1:{port}/tcp"]["found"]
    )
    assert "[api] listen" in faults[f"port 127.0.0.1:{port}/tcp"]["fix"]
    assert "No such file or directory" in faults["line modem ttyMISSING"]["found"]
    for fault in faults.values():
        assert fault["fix"]


def test_a_configuration_with_an_unknown_key_is_a_fault_naming_it(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path / "data")
    daemon.config.write_text(daemon.config.read_text() + "[archive]\nkeep_forever = true\n")
    status, findings = doctor(daemon)
    assert status == 1
    config = findings["configuration"]
    assert config["level"] == "fault"
    assert "archive.keep_forever: unknown key" in config["found"]
    assert f"correct archive.keep_forever in {daemon.config}" in config["fix"]
    # What needs no configuration is still checked.
    assert findings["spandsp"]["level"] == "ok"


def test_a_postgresql_store_is_checked_reachable_and_migrated(
    tmp_path: Path, postgresql: PostgreSQLServer, postgresql_url: str
) -> None:
    stopped = Daemon(tmp_path / "a", database=postgresql_url)
    for path in (stopped.data_dir, stopped.config):  # as openfaxd makes them
        path.chmod(path.stat().st_mode & 0o700)
    status, findings = doctor(stopped)
    assert status == 0, findings
    database = findings["database"]
    assert database["level"] == "ok"
    assert f"migrated to {head_revision()}" in database["found"]
    assert findings["pg_dump"]["level"] == "ok"
    gone = postgresql_url.replace(str(postgresql.base), str(tmp_path / "no-server"))
    status, findings = doctor(Daemon(tmp_path / "b", database=gone))
    assert status == 1
    assert findings["database"]["level"] == "fault"
    assert "cannot be reached" in findings["database"]["found"]
    assert "PostgreSQL runs" in findings["database"]["fix"]


@pytest.mark.skipif(SIPP is None, reason="SIPp is not installed (Debian package sip-tester)")
def test_a_running_daemon_names_a_trunk_not_registered(tmp_path: Path) -> None:
    """A trunk whose registrar refuses the password is a fault naming the 401 and the
    trunk's settings; one whose registrar has not answered yet, a warning."""
    registrar = SippRegistrar(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        common = {"local_address": "127.0.0.1", "host": "127.0.0.1", "register": True}
        trunks = [
            {**common, "name": "quiet", "port": silent.getsockname()[1], "local_port": 0},
            {**common, "name": "carrier", "port": registrar.port, "local_port": 0}
            | {"username": "fax", "password": "wrong"},
        ]
        try:
            with running(tmp_path / "d", loopback={"lines": 0}, sip={"trunks": trunks}) as daemon:

                def refused() -> tuple[int, dict[str, dict[str, Any]]] | None:
                    status, findings = doctor(daemon)
                    faults = [f for f in findings.values() if "401" in f["found"]]
                    return (status, findings) if faults else None

                status, findings = wait_until(refused, "the refused registration", 30, poll=0.5)
        finally:
            registrar.stop()
    assert status == 1
    lines = [f for check, f in findings.items() if check.startswith("line ")]
    (fault,) = [f for f in lines if f["level"] == "fault"]
    assert "the credentials were refused" in fault["found"]
    assert "[[sip.trunks]]" in fault["fix"]
    (waiting,) = [f for f in lines if f["level"] == "warning"]
    assert "still registering" in waiting["found"]
    assert findings["openfaxd"]["level"] == "fault"  # /readyz: the provider is not in service
    assert "trunk carrier" in findings["openfaxd"]["found"]
