"""What an administrator's monitoring reads of a real openfaxd: ``/metrics`` moving with a
fax on the loopback lines, ``/healthz`` and ``/readyz`` (503 with the reason when the
store is gone or its schema is not this version's), who may read them without an account
(``[api] metrics_from``), and the JSON log lines (``[log] format = "json"``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url

from openfax.client import FaxDocument, FaxServer
from openfax.model import JobStatus
from openfax.providers.loopback import LOOPBACK_GUID
from tests.conftest import PostgreSQLServer
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.waiting import wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon with the default ``metrics_from`` (the loopback and the local socket) that
    logs JSON."""
    with running(tmp_path_factory.mktemp("openfaxd"), log={"format": "json"}) as started:
        yield started


def scrape(client: httpx.Client) -> Samples:
    """Every sample of ``/metrics``, by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def local_client(daemon: Daemon) -> httpx.Client:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    return httpx.Client(base_url="http://openfaxd", transport=transport, timeout=60)


def send_one_page(daemon: Daemon, tmp_path: Path) -> str:
    """A one-page fax from line 1 to line 2, once COMPLETED; its job id."""
    with FaxServer() as server:
        server.connect(daemon.address, token=daemon.token)
        fax = FaxDocument(body=make_pdf(tmp_path / "one.pdf", 1))
        fax.recipients.add("1002")
        (job_id,) = fax.connected_submit(server)
        job = server.folders.outgoing_queue.get_job(job_id)
        job.wait(timeout=60)
        assert job.status is JobStatus.COMPLETED, (job.status, job.extended_status)
    return job_id


def test_metrics_move_with_a_fax_on_the_loopback_lines(daemon: Daemon, tmp_path: Path) -> None:
    remote = httpx.Client(base_url=f"http://{daemon.address}", timeout=60)  # no credentials
    before = scrape(remote)
    assert value(before, "openfax_info", version=value_of_version(before), node="api-test") == 1
    for state in ("pending", "inprogress", "retrying", "completed"):
        assert ("openfax_jobs", frozenset({("queue", "outgoing"), ("state", state)})) in before
    lines = {
        dict(labels)["line"]
        for name, labels in before
        if name == "openfax_calls_in_progress" and dict(labels)["provider"] == "loopback"
    }
    assert len(lines) == 2, before
    send_one_page(daemon, tmp_path)

    def moved() -> Samples | None:
        after = scrape(remote)
        received = value(after, "openfax_pages_received_total")
        done = value(after, "openfax_fax_duration_seconds_count", direction="incoming")
        if received > value(before, "openfax_pages_received_total") and done:
            return after
        return None

    after = wait_until(moved, "the reception counted in /metrics")
    sent = "openfax_pages_sent_total"
    assert value(after, sent) == value(before, sent) + 1
    assert value(after, "openfax_pages_received_total") == (
        value(before, "openfax_pages_received_total") + 1
    )
    setups = "openfax_call_setup_seconds_count"
    assert value(after, setups) == value(before, setups) + 1
    assert value(after, "openfax_call_setup_seconds_bucket", le="+Inf") == value(after, setups)
    duration = "openfax_fax_duration_seconds_count"
    assert value(after, duration, direction="outgoing") == (
        value(before, duration, direction="outgoing") + 1
    )
    assert value(after, "openfax_jobs", queue="outgoing", state="inprogress") == 0
    assert value(after, "openfax_event_loop_lag_seconds_count") > 0
    assert value(after, "openfax_database_latency_seconds") > 0
    assert value(after, "process_resident_memory_bytes") > 0
    for state in ("pending", "failed"):
        assert ("openfax_receipts", frozenset({("state", state)})) in after
        assert ("openfax_routing_deliveries", frozenset({("state", state)})) in after


def value_of_version(samples: Samples) -> str:
    (version,) = (dict(labels)["version"] for name, labels in samples if name == "openfax_info")
    return version


def test_a_job_state_gauge_counts_the_queue(daemon: Daemon, tmp_path: Path) -> None:
    remote = httpx.Client(base_url=f"http://{daemon.address}", timeout=60)
    with FaxServer() as server:
        server.connect(daemon.address, token=daemon.token)
        queue = server.folders.outgoing_queue
        queue.paused = True
        queue.save()
        try:
            fax = FaxDocument(body=make_pdf(tmp_path / "one.pdf", 1))
            fax.recipients.add("1002")
            fax.recipients.add("1002")
            jobs = fax.connected_submit(server)
            samples = scrape(remote)
            assert value(samples, "openfax_jobs", queue="outgoing", state="pending") == 2
            for job_id in jobs:
                queue.get_job(job_id).cancel()
        finally:
            queue.paused = False
            queue.save()


def test_a_failed_call_is_counted_by_its_cause(daemon: Daemon, tmp_path: Path) -> None:
    remote = httpx.Client(base_url=f"http://{daemon.address}", timeout=60)
    failures = "openfax_failures_total"
    before = value(scrape(remote), failures, direction="outgoing", cause="busy")
    with FaxServer() as server:
        server.connect(daemon.address, token=daemon.token)
        server.set_extension_property(LOOPBACK_GUID, b'{"1002": {"busy": true}}')
        try:
            fax = FaxDocument(body=make_pdf(tmp_path / "one.pdf", 1))
            fax.recipients.add("1002")
            (job_id,) = fax.connected_submit(server)
            wait_until(
                lambda: (
                    value(scrape(remote), failures, direction="outgoing", cause="busy") > before
                ),
                "a busy call counted among the failures",
            )
            server.folders.outgoing_queue.get_job(job_id).cancel()
        finally:
            server.set_extension_property(LOOPBACK_GUID, b"{}")


def test_health_and_readiness_of_a_healthy_daemon(daemon: Daemon) -> None:
    with local_client(daemon) as local:
        assert local.get("/healthz").json() == {"status": "alive"}
        assert local.get("/readyz").json() == {"status": "ready"}
    remote = httpx.get(f"http://{daemon.address}/readyz", timeout=60)
    assert remote.status_code == 200, remote.text


def test_not_ready_while_the_schema_is_older_than_this_version(daemon: Daemon) -> None:
    database = daemon.data_dir / "openfax.db"
    with sqlite3.connect(database) as store:
        (head,) = store.execute("SELECT version_num FROM alembic_version").fetchone()
    older = f"{int(head) - 1:04d}"
    _set_revision(database, older)
    try:
        with local_client(daemon) as local:
            answer = local.get("/readyz")
            assert answer.status_code == 503, answer.text
            error = answer.json()["error"]
            assert error["class"] == "NotReadyError"
            assert f"migration {older}" in error["details"]["reason"], error
            assert f"needs {head}" in error["details"]["reason"], error
            assert local.get("/healthz").status_code == 200
    finally:
        _set_revision(database, head)
    with local_client(daemon) as local:
        assert local.get("/readyz").status_code == 200


def _set_revision(database: Path, revision: str) -> None:
    with sqlite3.connect(database, timeout=30) as store:
        store.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_not_ready_once_the_database_file_is_gone(tmp_path: Path) -> None:
    with running(tmp_path / "gone") as gone, local_client(gone) as local:
        database = gone.data_dir / "openfax.db"
        assert local.get("/readyz").status_code == 200
        database.rename(tmp_path / "moved.db")
        answer = local.get("/readyz")
        assert answer.status_code == 503, answer.text
        reason = answer.json()["error"]["details"]["reason"]
        assert f"the database file {database} is gone" in reason


def test_json_log_lines_carry_the_job_and_the_node(daemon: Daemon, tmp_path: Path) -> None:
    job_id = send_one_page(daemon, tmp_path)

    def lines_of_job() -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in list(daemon.log) if line.startswith("{")]
        return [line for line in parsed if line.get("job") == job_id.lower()]

    found = wait_until(lines_of_job, "a JSON log line naming the job")
    assert all(line["node"] == "api-test" for line in found)
    assert {"time", "level", "logger", "message"} <= set(found[0])
    assert any(job_id.lower() in line["message"] for line in found), found
    for line in list(daemon.log):
        json.loads(line)  # every line of the log is one JSON object


def test_metrics_from_refuses_other_addresses_and_the_store_gone_is_not_ready(
    tmp_path: Path, postgresql: PostgreSQLServer, postgresql_url: str
) -> None:
    """On PostgreSQL with only the local socket allowed: TCP needs an account holding
    far2QUERY_CONFIG; cutting the database off makes ``/readyz`` say so, over the socket."""
    name = make_url(postgresql_url).database
    with running(tmp_path / "pg", database=postgresql_url, api={"metrics_from": ["unix"]}) as pg:
        base = f"http://{pg.address}"
        for path in ("/metrics", "/healthz", "/readyz"):
            refused = httpx.get(base + path, timeout=60)
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json()["error"]["class"] == "AccessDeniedError"
        token = {"Authorization": f"Bearer {pg.token}"}
        assert httpx.get(base + "/readyz", headers=token, timeout=60).status_code == 200
        assert "openfax_jobs" in httpx.get(base + "/metrics", headers=token, timeout=60).text
        with local_client(pg) as local:
            assert local.get("/readyz").status_code == 200
            assert value(scrape(local), "openfax_database_up") == 1
            with postgresql.admin() as admin:
                admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
            try:
                answer = local.get("/readyz")
                assert answer.status_code == 503, answer.text
                assert "the store cannot be reached" in answer.json()["error"]["details"]["reason"]
                assert local.get("/healthz").status_code == 200
                cut_off = scrape(local)
                assert value(cut_off, "openfax_database_up") == 0
                assert not [name for name, _ in cut_off if name == "openfax_jobs"]
                assert ("openfax_pages_sent_total", frozenset()) in cut_off
            finally:
                with postgresql.admin() as admin:
                    admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
            wait_until(
                lambda: local.get("/readyz").status_code == 200, "ready again once it returns"
            )
