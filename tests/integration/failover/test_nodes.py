"""Losing a node: three real ``openfaxd`` nodes on one PostgreSQL; one is killed with
SIGKILL in the middle of a fax, and the survivors finish its work. Every fax is delivered
whole; a page is received twice at most where a call was cut off between the far end
receiving it and the sender hearing it confirmed (the lost-confirmation page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PostgreSQLServer
from tests.factories import make_pdf

from .cluster import check_delivered, cluster


@pytest.fixture
def three_pages(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "three.pdf", 3)


def test_a_node_killed_mid_fax_has_its_sending_and_its_reception_finished_by_the_others(
    tmp_path: Path, postgresql_url: str, three_pages: Path
) -> None:
    with cluster(tmp_path, postgresql_url) as nodes:
        job_id, tag = nodes.submit(three_pages)
        dead = nodes.caller_at(job_id, pages_confirmed=1)
        dead.kill()  # the loopback call's both ends were on it: its sending and its reception
        confirmed = nodes.job(job_id).pages_confirmed
        delivery = nodes.delivered(job_id, tag)
        assert delivery.sent_pages == 3
        (cut_off, *rest) = delivery.received
        pages, partial, device = cut_off
        # The dead node's reception, archived by a survivor from the shared spool: what
        # arrived before the kill, on the dead node's line.
        assert partial, delivery
        assert device == f"{dead.node_id} line 1002"
        assert confirmed <= pages <= confirmed + 1, delivery
        # A survivor dialled again from the first unconfirmed page, on its own line.
        assert [(p, partial) for p, partial, _ in rest] == [(3 - confirmed, False)], delivery
        assert rest[0][2] != device


def test_a_postgresql_restart_under_load_costs_no_fax(
    tmp_path: Path, postgresql: PostgreSQLServer, postgresql_url: str, three_pages: Path
) -> None:
    """The server restarts (every connection cut) while the nodes send and receive: each
    node's next use of the store reconnects, and every fax is delivered."""
    with cluster(tmp_path, postgresql_url) as nodes:
        sent = [nodes.submit(three_pages, via) for via in nodes.running()]
        nodes.caller_at(sent[0][0], pages_confirmed=1)
        postgresql.restart()
        # Each node takes work afterwards: a fax submitted through it.
        sent += [nodes.submit(three_pages, via) for via in nodes.running()]
        for job_id, tag in sent:
            check_delivered(nodes.delivered(job_id, tag), 3)
