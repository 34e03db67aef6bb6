"""Authentication: no remote call succeeds without a valid token, on any route; the local
socket acts as the peer's Unix user; one error shape with fitting statuses."""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from openfax.client import FaxDocument, FaxServer
from openfax.errors import AccessDeniedError
from tests.daemon import TOKEN_HOLDER, Daemon, running
from tests.factories import make_pdf

SOME_ID = "0123456789abcdef"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    # The monitoring paths open to the local socket only: every route needs a token on TCP.
    settings = {"outgoing": {"branding": False}, "api": {"metrics_from": ["unix"]}}
    with running(tmp_path_factory.mktemp("openfaxd"), **settings) as started:
        yield started


@pytest.fixture(scope="module")
def local(daemon: Daemon) -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(base_url="http://openfaxd", transport=transport) as client:
        yield client


def routes(local: httpx.Client) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document, ids filled in, plus the document itself."""
    document = local.get("/openapi.json").json()
    found = [("GET", "/openapi.json"), ("GET", "/docs")]
    for path, operations in document["paths"].items():
        concrete = re.sub(r"\{device_id\}", "1", path)
        concrete = re.sub(r"\{[a-z_]+\}", SOME_ID, concrete)
        found += [(method.upper(), concrete) for method in operations]
    return found


def test_every_route_refuses_a_remote_call_without_a_valid_token(
    daemon: Daemon, local: httpx.Client
) -> None:
    table = routes(local)
    assert len(table) > 25
    remote = httpx.Client(base_url=f"http://{daemon.address}")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        for method, path in table:
            response = remote.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            error = response.json()["error"]
            assert error["class"] == "AccessDeniedError"
            assert error["hresult"] == 0x80070005
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://{daemon.address}/v1/events", additional_headers=headers)
        assert refused.value.response.status_code == 401


def test_a_token_lets_a_remote_client_in(daemon: Daemon) -> None:
    with FaxServer() as server:
        with pytest.raises(AccessDeniedError):
            server.connect(daemon.address)
        server.connect(daemon.address, token=daemon.token)
        assert len(server.get_devices()) == 2
        answer = httpx.get(
            f"http://{daemon.address}/openapi.json",
            headers={"Authorization": f"Bearer {daemon.token}"},
        )
        assert answer.status_code == 200


def test_submissions_belong_to_the_unix_user_or_the_token_holder(
    daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = make_pdf(tmp_path / "one.pdf", 1)
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    with FaxServer() as server:
        server.connect()
        queue = server.folders.outgoing_queue
        queue.paused = True
        queue.save()
        fax = FaxDocument(body=body)
        fax.recipients.add("1002")
        (local_job,) = fax.connected_submit(server)
        assert queue.get_job(local_job).owner == pwd.getpwuid(os.getuid()).pw_name
        with daemon.connected() as remote:
            (remote_job,) = fax.connected_submit(remote)
        assert queue.get_job(remote_job).owner == TOKEN_HOLDER
        for job_id in (local_job, remote_job):
            queue.get_job(job_id).cancel()
        queue.paused = False
        queue.save()


@pytest.mark.parametrize(
    ("method", "path", "status", "error_class"),
    [
        ("GET", f"/v1/outgoing-jobs/{SOME_ID}", 404, "MessageNotFoundError"),
        ("GET", "/v1/outgoing-jobs/not-an-id", 400, "InvalidIdError"),
        ("GET", "/v1/incoming-messages/0000000000000000", 400, "InvalidIdError"),
        ("GET", "/v1/incoming-messages?after=garbage", 400, "InvalidIdError"),
        ("GET", "/v1/outgoing-messages?limit=0", 400, "FaxError"),
        ("DELETE", f"/v1/incoming-messages/{SOME_ID}", 404, "MessageNotFoundError"),
        ("GET", "/v1/devices/999", 404, "MessageNotFoundError"),
        ("GET", "/v1/events", 404, "FaxError"),
        ("POST", "/v1/submissions", 400, "FaxError"),
    ],
)
def test_errors_have_one_shape_and_a_fitting_status(
    local: httpx.Client, method: str, path: str, status: int, error_class: str
) -> None:
    response = local.request(method, path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["class"] == error_class
    assert error["message"]
    assert error["hresult"] > 0


def test_a_bad_submission_is_a_client_error(local: httpx.Client) -> None:
    for document in ("{", '{"recipients": []}', '{"recipients": [{"fax_number": 1}]}'):
        response = local.post("/v1/submissions", data={"document": document})
        assert response.status_code == 400, document
        assert response.json()["error"]["class"] == "SubmissionError"
    response = local.patch("/v1/devices/1", json={"tsid": "x" * 21})
    assert response.status_code == 400
    response = local.patch("/v1/outgoing-queue", json={"blocked": "maybe"})
    assert response.status_code == 400


def test_a_blocked_queue_answers_503(local: httpx.Client, tmp_path: Path) -> None:
    assert local.patch("/v1/outgoing-queue", json={"blocked": True}).json()["blocked"]
    try:
        body = make_pdf(tmp_path / "one.pdf", 1)
        response = local.post(
            "/v1/submissions",
            data={"document": '{"recipients": [{"fax_number": "1002"}]}'},
            files=[("bodies", ("one.pdf", body.read_bytes()))],
        )
        assert response.status_code == 503
        assert response.json()["error"]["class"] == "QueueBlockedError"
    finally:
        local.patch("/v1/outgoing-queue", json={"blocked": False})
