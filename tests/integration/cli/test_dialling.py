"""Issue 12, a newcomer's first hour, as a user meets it with the ``openfax`` command on a
real daemon with two loopback lines (as ``make run`` starts it): faxes to a line's own
number go out on the other line at their first call, and a number no line could dial is
refused at submission, by the command line and the API alike, naming the recipient."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import SAMPLES
from tests.integration.cli.test_fax_commands import openfax


def api(daemon: Daemon) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://{daemon.address}",
        headers={"Authorization": f"Bearer {daemon.token}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def test_eight_faxes_to_1002_all_arrive_at_their_first_call(daemon: Daemon) -> None:
    """Line 1002 was dialling itself: eight faxes wasted eight calls on BUSY."""
    to = [arg for _ in range(8) for arg in ("--to", "1002")]
    sent = openfax(daemon, "send", SAMPLES / "chart.png", *to, "--wait", "--json")
    assert sent.returncode == 0, sent.stderr
    jobs = json.loads(sent.stdout)
    assert [job["status"] for job in jobs] == ["COMPLETED"] * 8
    with api(daemon) as client:
        for job in jobs:
            attempts = client.get(f"/v1/outgoing-jobs/{job['id']}/attempts").json()
            assert [a["failure_cause"] for a in attempts] == [None], attempts


@pytest.mark.parametrize(
    ("number", "says"),
    [
        ("10O2abc", "is not a fax number: a fax number has digits"),
        ("hello", "is not a fax number"),
        ("+", "is not a fax number"),
        ("sip:fax@example.com", "is a SIP URI, and no line of this server dials one"),
    ],
)
def test_a_number_no_line_could_dial_is_refused_at_once(
    daemon: Daemon, number: str, says: str
) -> None:
    before = json.loads(openfax(daemon, "jobs", "--json").stdout)
    done = openfax(daemon, "send", SAMPLES / "letter.txt", "--to", "1002", "--to", number)
    assert done.returncode == 1
    assert "NumberError" in done.stderr, done.stderr
    assert says in done.stderr, done.stderr
    assert f"recipients.1.fax_number: {number!r}" in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(openfax(daemon, "jobs", "--json").stdout) == before, "nothing queued"


def test_the_api_refuses_a_bad_number_with_400_naming_the_recipient(daemon: Daemon) -> None:
    document = {"recipients": [{"fax_number": "1002"}, {"fax_number": "fax me", "name": "Bob"}]}
    with api(daemon) as client:
        answer = client.post(
            "/v1/submissions",
            data={"document": json.dumps(document)},
            files=[("bodies", ("letter.txt", (SAMPLES / "letter.txt").read_bytes()))],
        )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["class"] == "NumberError"
    assert error["hresult"] == 0x80070057
    assert error["message"].startswith(
        "recipients.1.fax_number (Bob): 'fax me' is not a fax number: a fax number has digits"
    )
    assert error["details"] == {"index": 1, "number": "fax me"}


def test_a_number_written_for_the_eye_is_taken(daemon: Daemon) -> None:
    """Separators and a pause are part of how numbers are written: the fax is sent."""
    sent = openfax(daemon, "send", SAMPLES / "chart.png", "--to", "(10) 0-2,", "--wait", "--json")
    assert sent.returncode == 0, sent.stderr
    (job,) = json.loads(sent.stdout)
    assert job["status"] == "COMPLETED"
