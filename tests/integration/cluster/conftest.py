"""Two real openfaxd nodes on one PostgreSQL database and one spool folder: ``node-a``, with
no line of its own (a node for clients), and ``node-b``, with loopback lines 2001 and 2002
paced at ten times real time (a call lasts long enough to be cancelled in its middle)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PostgreSQLServer
from tests.daemon import Daemon, running
from tests.factories import make_pdf

LEASE = {"lease_seconds": 6}
"""Every node's lease (and heartbeat: a node is seen lapsed a lease after its last beat)."""


@dataclass(frozen=True)
class Cluster:
    a: Daemon
    b: Daemon
    database: str
    spool: Path


@pytest.fixture(scope="module")
def cluster_database(postgresql: PostgreSQLServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the module's nodes."""
    with postgresql.database("cluster") as url:
        yield url


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, cluster_database: str) -> Iterator[Cluster]:
    spool = tmp_path_factory.mktemp("spool")
    with (
        node(tmp_path_factory, "node-a", cluster_database, spool, lines=0) as a,
        node(tmp_path_factory, "node-b", cluster_database, spool, lines=2, base="200") as b,
    ):
        yield Cluster(a, b, cluster_database, spool)


@contextmanager
def node(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    database: str,
    spool: Path,
    *,
    lines: int,
    base: str = "100",
) -> Iterator[Daemon]:
    """A node of the cluster on ``database`` and ``spool`` with ``lines`` loopback lines
    numbered from ``base`` (paced at ten times real time)."""
    loopback = {"lines": lines, "base_number": base, "pace": 10.0}
    with running(
        tmp_path_factory.mktemp(name),
        node_id=name,
        database=database,
        spool_dir=spool,
        loopback=loopback,
        deadlines=LEASE,
    ) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def one_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("docs") / "one.pdf", 1)


@pytest.fixture(scope="module")
def long_fax(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough that its call (minutes at ten times real time) is cut off in its middle."""
    return make_pdf(tmp_path_factory.mktemp("docs") / "long.pdf", 40)
