"""Fixtures shared by the test packages: a private PostgreSQL server for the session, a
self-signed certificate for the test SMTP servers' STARTTLS, and a FaxServer connected to
the test package's ``daemon``.

PostgreSQL is a private server started for the test session (per xdist worker): ``initdb``
into a temporary folder and ``pg_ctl start`` listening only on a Unix socket there (as the
``postgres`` user when the tests run as root, since PostgreSQL refuses to run as root). The
schema is migrated once into a template database; each test gets a copy of it, which takes
milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from openfax.client import FaxServer
from openfax.store import open_database
from tests.daemon import Daemon
from tests.dnsserver import DnsServer, dns_server
from tests.peers import self_signed_certificate

# Fixtures both halves of the suite (tests/unit, tests/integration) use; pytest reads
# pytest_plugins only in this top-level conftest.
pytest_plugins = ["pytester", "tests.fixtures.documents", "tests.fixtures.engine"]

TEMPLATE = "openfax_template"


def _postgresql_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder, found without naming a version."""
    found = sorted(
        (Path(pg_ctl) for pg_ctl in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda pg_ctl: int(pg_ctl.parents[1].name) if pg_ctl.parents[1].name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under "
            "/usr/lib/postgresql/*/bin: `make test` installs them (Debian package postgresql)"
        )
    return found[-1].parent


class PostgreSQLServer:
    """A throw-away PostgreSQL cluster reachable through a Unix socket in its own folder."""

    def __init__(self) -> None:
        self.bin = _postgresql_bin()
        # Under /tmp, not pytest's tmp_path: the postgres user must be able to reach it.
        self.base = Path(tempfile.mkdtemp(prefix="openfax-pg-"))
        self.data = self.base / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def run(self, tool: str, *args: str) -> None:
        command = [*self.as_owner, str(self.bin / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.base / "server.log"
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}\n{server_log}")

    def start(self) -> None:
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "openfax",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.resume()

    def resume(self) -> None:
        """Start the server made by ``start`` (again, after ``halt``)."""
        options = (
            f"-c listen_addresses='' -k {self.base} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.base / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def halt(self) -> None:
        """Stop the server at once, every connection cut, until ``resume``."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        """Restart the server at once, as a primary's failover does: every connection is cut
        (``halt``: no checkpoint, the clients are not waited for)."""
        self.halt()
        self.resume()

    def stop(self) -> None:
        try:
            self.halt()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://openfax@/{database}?host={self.base}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.base), user="openfax", dbname="postgres", autocommit=True
        )

    @contextlib.contextmanager
    def database(self, prefix: str) -> Iterator[str]:
        """The URL of a fresh, migrated database (a copy of the template), dropped after."""
        name = f"{prefix}_{uuid.uuid4().hex}"
        with self.admin() as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        yield self.url(name)
        with self.admin() as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests that share a module's or a package's fixture (most often a daemon) in one
    xdist group, so that ``--dist loadgroup`` runs them in one worker and starts the fixture
    once; every other test is handed to whichever worker is free."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        fixturedefs = item._fixtureinfo.name2fixturedefs.values()  # type: ignore[attr-defined]
        scopes = {defs[-1].scope for defs in fixturedefs if defs}
        module = item.nodeid.split("::")[0]
        if "package" in scopes:
            item.add_marker(pytest.mark.xdist_group(module.rpartition("/")[0]))
        elif scopes & {"module", "class"}:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """asyncio only, the daemon's loop: anyio's plugin would otherwise run every test once per
    backend installed (trio comes into the environment with selenium)."""
    return "asyncio"


@pytest.fixture(scope="session")
def postgresql() -> Iterator[PostgreSQLServer]:
    """The session's private PostgreSQL server, with a migrated template database."""
    server = PostgreSQLServer()
    try:
        server.start()
        with server.admin() as admin:
            admin.execute(f"CREATE DATABASE {TEMPLATE}")

        async def migrate() -> None:
            database = await open_database(server.url(TEMPLATE))
            await database.close()

        asyncio.run(migrate())
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgresql_url(postgresql: PostgreSQLServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    with postgresql.database("test") as url:
        yield url


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key, for a test SMTP server's STARTTLS (a daemon
    started with ``trust=certificate[0]`` trusts it)."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(daemon: Daemon) -> Iterator[FaxServer]:
    """A FaxServer connected to the test module's ``daemon`` over TCP with its token."""
    with daemon.connected() as fax:
        yield fax


@pytest.fixture
def nameserver() -> Iterator[DnsServer]:
    """A real DNS server on 127.0.0.1 answering the records a test gives it."""
    with dns_server() as server:
        yield server
