"""Losing a node: three real ``openfaxd`` nodes on one PostgreSQL; one is killed with
SIGKILL in the middle of a fax, and the survivors finish its work. Every fax is delivered
whole; a page is received twice at most where a call was cut off between the far end
receiving it and the sender hearing it confirmed (the lost-confirmation page)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import PostgreSQLServer
from tests.daemon import Daemon
from tests.factories import make_pdf
from tests.waiting import wait_until

from .cluster import NODES, WAIT_SECONDS, Cluster, check_delivered, cluster

KILL_CYCLES = int(os.environ.get("OPENFAX_KILL_CYCLES", "50"))


@pytest.fixture
def three_pages(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "three.pdf", 3)


def test_a_node_killed_mid_fax_has_its_sending_and_its_reception_finished_by_the_others(
    tmp_path: Path, postgresql_url: str, three_pages: Path
) -> None:
    # A page in about three seconds: the confirmation the store holds when the node dies is
    # not behind the receiver by more than the page in flight, however loaded the machine.
    with cluster(tmp_path, postgresql_url, loopback={"pace": 3.0}) as nodes:
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


def logged(node: Daemon) -> list[str]:
    """The node's log lines that begin a message (its tracebacks left out)."""
    return [line for line in node.log if line[:2] == "20"]


@pytest.mark.skipif(
    os.environ.get("OPENFAX_STRESS") != "1",
    reason="known defect, open in issue 15: after PostgreSQL stops, the node's heartbeat and "
    "its calls' lease keeper each log their first failure and then nothing more, and the call "
    "is not hung up (5 of 9 runs at load 3 or more); runs with OPENFAX_STRESS=1",
)
def test_a_node_that_loses_the_database_hangs_up_and_rejoins_when_it_returns(
    tmp_path: Path, postgresql: PostgreSQLServer, postgresql_url: str
) -> None:
    """PostgreSQL stops in the middle of a fax (five pages at twice real time): half a lease
    after its heartbeat or its lease ended the node hangs up the call, and once the server
    is back writes both ends and sends the rest of the fax by itself."""
    five_pages = make_pdf(tmp_path / "five.pdf", 5)
    with cluster(tmp_path, postgresql_url, NODES[:1], loopback={"pace": 2.0}) as nodes:
        (node,) = nodes.running()
        job_id, tag = nodes.submit(five_pages, node)
        nodes.caller_at(job_id, pages_confirmed=1)
        postgresql.halt()
        try:
            # Its reception (its heartbeat ended) or its sending (its lease): whichever of the
            # two rules comes first ends the call at both ends.
            said = ("receptions hung up", "could not be renewed in time, hanging up")
            wait_until(
                lambda: any(s in "".join(node.log) for s in said),
                lambda: (
                    "a hang-up; the node said:\n" + "".join(x for x in node.log if x[:2] == "20")
                ),
                90,
            )
        finally:
            postgresql.resume()
        delivery = nodes.delivered(job_id, tag)
        check_delivered(delivery, 5)
        assert delivery.received[0][1], f"the reception hung up is partial: {delivery}"
        assert node.process is not None
        assert node.process.poll() is None, "the node ran through the outage"


@pytest.mark.skipif(
    os.environ.get("OPENFAX_STRESS") != "1",
    reason=f"{KILL_CYCLES} kill cycles take a quarter of an hour or more: OPENFAX_STRESS=1",
)
def test_nodes_killed_again_and_again_lose_no_fax(
    tmp_path: Path, postgresql_url: str, three_pages: Path
) -> None:
    """Each cycle sends two faxes through two nodes and kills the node calling for the first
    while it dials, after page 1 or after page 2; every other cycle the dead node starts
    again at once (its own recovery and the others' take-over meet), else once the others
    delivered its faxes. Prints the counts and the times from each death to the fax being
    dialled again."""
    with cluster(tmp_path, postgresql_url) as nodes:
        sent: list[tuple[int, str]] = []
        redial_seconds: list[float] = []
        for cycle in range(KILL_CYCLES):
            running = nodes.running()
            first, second = (running[(cycle + k) % len(running)] for k in (0, 1))
            target = nodes.submit(three_pages, first)
            sent += [target, nodes.submit(three_pages, second)]
            dead = nodes.caller_at(target[0], pages_confirmed=cycle % 3)
            dead.kill()
            killed_at = time.monotonic()
            attempts = nodes.job(target[0]).attempts
            if cycle % 2:
                dead.start()
            redial_seconds.append(_redialled(nodes, target[0], attempts, killed_at))
            for job_id, tag in sent[-2:]:
                nodes.delivered(job_id, tag)
            if dead.process is not None and dead.process.poll() is not None:
                dead.start()
        deliveries = [nodes.delivered(job_id, tag) for job_id, tag in sent]
        beyond = sum(check_delivered(delivery, 3, beyond=True) for delivery in deliveries)
        cut_off = sum(len(d.received) - 1 for d in deliveries)
        twice = sum(sum(p for p, _, _ in d.received) - 3 for d in deliveries)
        redial_seconds.sort()
        print(
            f"\n{KILL_CYCLES} kills, {len(sent)} faxes delivered whole, {cut_off} receptions "
            f"cut off, {twice} pages received twice ({beyond} beyond the lost-confirmation "
            "page of each cut-off call); dialled again "
            f"{redial_seconds[0]:.1f} s (min), {redial_seconds[len(redial_seconds) // 2]:.1f} s "
            f"(median), {redial_seconds[-1]:.1f} s (max) after the kill"
        )


def _redialled(nodes: Cluster, job_id: int, attempts: int, killed_at: float) -> float:
    """Seconds from ``killed_at`` to a call after the job's ``attempts`` th (or to the job
    being sent: a restarted node may have finished it between two looks)."""

    def dialled() -> bool:
        job = nodes.job(job_id)
        return job is None or job.attempts > attempts

    wait_until(dialled, f"job {job_id:016x} dialled again", WAIT_SECONDS, poll=0.02)
    return time.monotonic() - killed_at
