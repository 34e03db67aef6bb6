"""The HTTP API fuzzed from its own OpenAPI document (schemathesis) against a real openfaxd over
TCP: whatever a client sends to any route, the answer is never a 5xx, every refusal has the
one error shape, and the daemon keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.daemon import Daemon, running

pytestmark = pytest.mark.xdist_group("fuzz")

EXAMPLES = 12
"""Cases per route, valid and invalid ones mixed: enough to reach each route's refusals, few
enough that the 60-odd routes take under a minute on two cores (a one-off run with 150 found
nothing more)."""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    # The monitoring paths open to the local socket only: every route needs a token on TCP.
    with running(tmp_path_factory.mktemp("openfaxd"), api={"metrics_from": ["unix"]}) as started:
        yield started


@pytest.fixture(scope="module")
def auth(daemon: Daemon) -> dict[str, str]:
    return {"Authorization": f"Bearer {daemon.token}"}


def test_no_request_makes_the_server_fail(daemon: Daemon, auth: dict[str, str]) -> None:
    """Every route of the document, each with ``EXAMPLES`` generated requests; the failures
    of all routes are reported together."""
    base_url = f"http://{daemon.address}"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=auth)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        cases = st.one_of([operation.as_strategy(mode) for mode in GenerationMode])

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def answers_without_failing(case: Any) -> None:
            response = case.call(base_url=base_url, headers=auth, timeout=30)
            assert response.status_code < 500, (case.formatted_path, response.text[:300])
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["class"], response.text
                assert error["hresult"] >= 0x80000000, response.text

        try:
            answers_without_failing()
        except AssertionError as exc:
            failures.append(f"{operation.label}: {exc}")
    assert operations > 40
    assert not failures, "\n".join(failures)


UNAUTHENTICATED_EXAMPLES = 3
"""Cases per route without valid credentials: the refusal comes before the route is chosen
by its parameters, so a few show it."""


@pytest.mark.parametrize(
    "credentials",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic bm9ib2R5"}],
    ids=["none", "unknown token", "malformed basic"],
)
def test_without_credentials_every_route_answers_401_and_nothing_more(
    daemon: Daemon, auth: dict[str, str], credentials: dict[str, str]
) -> None:
    """No route is public: whatever is asked, a client without valid credentials gets 401
    with the error shape and the schemes to use, and never a route's data or its own
    validation errors (which would tell what a route takes)."""
    base_url = f"http://{daemon.address}"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=auth)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        @settings(
            max_examples=UNAUTHENTICATED_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def refused_unread(case: Any) -> None:
            case.headers = {**(case.headers or {}), **credentials}
            response = case.call(base_url=base_url, timeout=30)
            assert response.status_code == 401, (case.formatted_path, response.text[:300])
            error = response.json()["error"]
            assert error["class"] == "AccessDeniedError", response.text
            assert "Bearer" in response.headers["www-authenticate"][0]

        try:
            refused_unread()
        except AssertionError as exc:
            failures.append(f"{operation.label}: {exc}")
    for path in ("/openapi.json", "/docs", "/redoc", "/v1/no-such-route"):
        answer = httpx.get(f"{base_url}{path}", headers=credentials, timeout=30)
        if answer.status_code != 401:
            failures.append(f"GET {path}: {answer.status_code}")
    assert not failures, "\n".join(failures)


def test_the_daemon_still_serves_after_the_fuzzing(daemon: Daemon, auth: dict[str, str]) -> None:
    assert daemon.process is not None
    assert daemon.process.poll() is None
    answer = httpx.get(f"http://{daemon.address}/v1/server", headers=auth, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["server_name"]


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        (
            "PATCH",
            "/v1/devices/1",
            {"send_enabled": None},
            "send_enabled: Value error, cannot be null",
        ),
        (
            "PATCH",
            "/v1/devices/1",
            {"description": None},
            "description: Value error, cannot be null",
        ),
        ("GET", "/v1/devices/9223372036854775808", None, "less than or equal to 2147483647"),
        ("PATCH", "/v1/devices/99999999999", {"tsid": "x"}, "less than or equal to 2147483647"),
    ],
)
def test_what_the_fuzzing_found_is_refused_clearly(
    daemon: Daemon,
    auth: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    problem: str,
) -> None:
    answer = httpx.request(
        method, f"http://{daemon.address}{path}", json=body, headers=auth, timeout=30
    )
    assert answer.status_code == 400
    assert problem in answer.json()["error"]["message"]
