"""The notices of other nodes' events (LISTEN/NOTIFY): a LISTEN connection lost is made
again and the listeners catch up from the log, missing nothing. Two services in this
process on one real PostgreSQL database; the connection is cut by PostgreSQL itself
(``pg_terminate_backend``), as a restart or a network cut would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openfax.model import ServerEvents
from openfax.service import FaxService
from openfax.store import queries as q
from tests.conftest import PostgreSQLServer
from tests.integration.service.conftest import service_config
from tests.waiting import until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def node(tmp_path: Path, name: str, database: str) -> FaxService:
    config = service_config(tmp_path / name, node_id=name, database=database, loopback={"lines": 0})
    return FaxService(config)


def cut_listen_connection(postgresql: PostgreSQLServer, node_id: str) -> int:
    """Terminate the node's LISTEN connection; how many connections were cut."""
    with postgresql.admin() as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (f"openfaxd {node_id} events",),
        ).fetchone()
    return int(str(cut[0])) if cut else 0


async def test_a_lost_listen_connection_is_made_again_and_nothing_is_missed(
    tmp_path: Path, postgresql: PostgreSQLServer, postgresql_url: str
) -> None:
    async with (
        node(tmp_path, "node-a", postgresql_url) as a,
        node(tmp_path, "node-b", postgresql_url) as b,
    ):
        heard: list[int] = []

        async def listen() -> None:
            async for event in b.listening.events(ServerEvents.QUEUE_STATE):
                heard.append(event.seq)

        listener = asyncio.create_task(listen())
        try:
            await a.options.set_queue_switches(outgoing_blocked=True)
            await until(lambda: len(heard) == 1, "node-b hears node-a's first change")
            await until(
                lambda: cut_listen_connection(postgresql, "node-b"), "node-b's LISTEN is cut"
            )
            # While node-b listens again, node-a goes on: none of it may be lost.
            for n in range(5):
                await a.options.set_queue_switches(outgoing_blocked=n % 2 == 1)
            await until(lambda: len(heard) == 6, "node-b hears every change after the cut")
            async with a.ctx.db.read() as conn:
                logged = await q.read_events(conn, after=0)
            assert heard == [e.seq for e in logged if e.type == "queues_status_changed"]
            await until(
                lambda: not b.options.get_queue_switches().outgoing_blocked,
                "node-b's own switch follows node-a's last change",
            )
            await until(
                lambda: cut_listen_connection(postgresql, "node-b"),
                "node-b listens again (a new connection to cut)",
            )
        finally:
            listener.cancel()
