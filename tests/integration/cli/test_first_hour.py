"""What a newcomer meets in the first hour with ``openfax``, run as a user runs it against a
real daemon: why a fax failed or waits, tables that fit 80 columns (``--wide`` for all),
events by name, a watch that outlives a daemon restart, and errors that say it once and
name the user's file."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from openfax.cli import accounts, administration, fax, outbound, receipts, routing
from openfax.model import ReceiveMode
from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import OPENFAX, SAMPLES
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("first_hour")

SECONDS = 60.0
"""How long a test waits for a job's state or a line of output."""


def openfax(
    daemon: Daemon, *args: str | Path, columns: int = 80, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENFAX_")}
    environ |= {"OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": str(columns), **env}
    return subprocess.run(
        [str(OPENFAX), *map(str, args)], capture_output=True, text=True, env=environ, timeout=120
    )


def sent_job(daemon: Daemon, *args: str | Path) -> str:
    done = openfax(daemon, "send", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0]


def wait_for_job(daemon: Daemon, job_id: str, status: str, *, cause: str = "") -> dict[str, Any]:
    """The job's JSON, as the API gives it, once its status is ``status`` (its last call's
    extended status ``cause``, if given)."""
    seen: list[dict[str, Any]] = []

    def reached() -> dict[str, Any] | None:
        seen.append(server.folders.outgoing_queue.get_job(job_id).to_dict())
        job = seen[-1]
        done = job["status_name"] == status and cause in ("", job["extended_status_name"])
        return job if done else None

    with daemon.connected() as server:
        return wait_until(reached, lambda: f"job {job_id} is {status} {cause}: {seen[-1]}", SECONDS)


def in_words(job: dict[str, Any]) -> str:
    """What the API says of a job's last call: its extended status and the line's words."""
    return f"{job['extended_status_name'].replace('_', ' ').lower()}: {job['extended_status']}"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


@pytest.fixture(scope="module")
def jobs(daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A delivered fax (routed to a folder, its receipt refused by a port no mail server
    listens on), then, line 1002 answering no more, one waiting to retry (the next try after
    no answer is in 10 minutes) and one that failed (no retries left): their ids, and the
    last two as the API shows them."""
    folder = tmp_path_factory.mktemp("routed")
    for command in [
        ["routing", "config", "folder", f"folder={folder}", "format=pdf"],
        ["routing", "use", "loopback line 1002", "folder"],
        ["receipts", "set", "--allow", "mail", "--smtp-server", "127.0.0.1", "--smtp-port", "9"],
        ["receipts", "set", "--sender", "fax@example.com"],
    ]:
        done = openfax(daemon, *command)
        assert done.returncode == 0, done.stderr
    delivered = sent_job(
        daemon, SAMPLES / "chart.png", "--to", "1002", "--wait",
        "--receipt", "mail", "--receipt-address", "someone.with.a.long.address@example.com",
    )  # fmt: skip
    with daemon.connected() as server:
        (line,) = [d for d in server.get_devices() if d.number == "1002"]
        line.receive_mode = ReceiveMode.NO_ANSWER
        line.save()
    retrying = sent_job(daemon, SAMPLES / "chart.png", "--to", "1002")
    waiting = wait_for_job(daemon, retrying, "RETRYING", cause="NO_ANSWER")
    assert openfax(daemon, "config", "set", "retries=0").returncode == 0
    failed = sent_job(daemon, SAMPLES / "chart.png", "--to", "1002", "--subject", "Lost")
    given_up = wait_for_job(daemon, failed, "RETRIES_EXCEEDED")
    return {"delivered": delivered, "waiting": waiting, "given_up": given_up}


def test_jobs_and_sent_say_why_a_fax_failed_or_waits(daemon: Daemon, jobs: dict[str, Any]) -> None:
    waiting, given_up = jobs["waiting"], jobs["given_up"]
    assert waiting["extended_status"]
    assert given_up["extended_status"]
    rows = {row["id"]: row for row in json.loads(openfax(daemon, "jobs", "--json").stdout)}
    retrying, failed = rows[waiting["id"]], rows[given_up["id"]]
    assert retrying["reason"] == f"{in_words(waiting)}; next try {retrying['scheduled'][-8:]}"
    assert retrying["reason"].startswith("no answer: loopback line 1002 did not answer")
    assert failed["reason"] == in_words(given_up)

    table = openfax(daemon, "jobs")
    assert table.returncode == 0, table.stderr
    words = table.stdout.split()  # the reasons wrap
    assert "RETRYING" in words
    assert "RETRIES_EXCEEDED" in words
    assert set(f"{in_words(given_up)} next try".split()) <= set(words)

    sent = {row["id"]: row for row in json.loads(openfax(daemon, "sent", "--json").stdout)}
    assert sent[jobs["delivered"]]["status"] == "COMPLETED"
    assert sent[jobs["delivered"]]["reason"] == ""
    assert sent[given_up["id"]]["status"] == "RETRIES_EXCEEDED"
    assert sent[given_up["id"]]["reason"] == in_words(given_up)
    assert sent[given_up["id"]]["subject"] == "Lost"
    assert waiting["id"] not in sent, "a fax still to be tried is not among the sent"
    assert set(in_words(given_up).split()) <= set(openfax(daemon, "sent").stdout.split())


@pytest.mark.parametrize(
    ("command", "columns"),
    [
        (["jobs"], fax.JOB_COLUMNS),
        (["sent"], fax.SENT_COLUMNS),
        (["inbox"], fax.MESSAGE_COLUMNS),
        (["devices"], fax.DEVICE_COLUMNS),
        (["audit"], administration.AUDIT_COLUMNS),
        (["config", "get"], administration.PROPERTY_COLUMNS),
        (["providers", "list"], administration.PROVIDER_COLUMNS),
        (["accounts", "list"], accounts.ACCOUNT_COLUMNS),
        (["rights", "show", "--all"], accounts.GRANT_COLUMNS),
        (["routing", "methods"], routing.METHOD_COLUMNS),
        (["routing", "extensions"], routing.EXTENSION_COLUMNS),
        (["routing", "deliveries"], routing.DELIVERY_COLUMNS),
        (["receipts", "list"], receipts.RECEIPT_COLUMNS),
        (["outbound", "rules", "list"], outbound.RULE_COLUMNS),
        (["outbound", "groups", "list"], outbound.GROUP_COLUMNS),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, list) else "",
)
def test_tables_fit_80_columns(
    daemon: Daemon, jobs: dict[str, Any], command: list[str], columns: tuple[str, ...]
) -> None:
    done = openfax(daemon, *command)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 3, "a title, the header, its rule and a row at least"
    assert [line for line in lines if len(line) > 80] == []
    headers = [cell.strip() for cell in lines[1].split("┃")]
    assert set(headers) <= set(columns), f"a column squeezed below its name: {headers}"
    assert "…" not in done.stdout, "a cell was cut instead of wrapped"


@pytest.mark.parametrize(
    ("command", "narrow", "wide_only"),
    [
        ("jobs", ["id", "status", "recipient", "pages", "reason"], ["retries", "scheduled"]),
        ("sent", ["id", "when", "to", "status", "reason"], ["from", "retries"]),
    ],
)
def test_wide_shows_every_column(
    daemon: Daemon, jobs: dict[str, Any], command: str, narrow: list[str], wide_only: list[str]
) -> None:
    def headers(*args: str) -> list[str]:
        done = openfax(daemon, command, *args)
        assert done.returncode == 0, done.stderr
        header = done.stdout.splitlines()[1]
        return [cell.strip() for cell in header.split("┃")]

    fitted = headers()
    assert set(narrow) <= set(fitted)
    assert not set(wide_only) & set(fitted)
    assert set(narrow + wide_only) <= set(headers("--wide"))


def test_a_wide_terminal_shows_every_column(daemon: Daemon, jobs: dict[str, Any]) -> None:
    done = openfax(daemon, "jobs", columns=200)
    header = done.stdout.splitlines()[1]
    assert all(name in header for name in ("retries", "device", "scheduled", "reason"))


def test_get_last_and_an_id_no_fax_has(
    daemon: Daemon, jobs: dict[str, Any], tmp_path: Path
) -> None:
    saved = openfax(daemon, "get", "--last", "-o", tmp_path / "fax.pdf", "--json")
    assert saved.returncode == 0, saved.stderr
    inbox = json.loads(openfax(daemon, "inbox", "--json").stdout)
    assert json.loads(saved.stdout)["id"] == inbox[-1]["id"]
    assert (tmp_path / "fax.pdf").read_bytes().startswith(b"%PDF")

    for missing in ("ffffffffffffffff", "00000000000000ff", "0000000000000000"):
        done = openfax(daemon, "get", missing, "-o", tmp_path / "none.pdf")
        assert done.returncode == 1
        assert done.stderr == (
            f"Error: no such fax: no received or sent fax has the id {missing}\n"
        )
    cancelled = openfax(daemon, "cancel", "ffffffffffffffff")
    assert cancelled.stderr == (
        "Error: MessageNotFoundError: no incoming job with id ffffffffffffffff\n"
    )
    malformed = openfax(daemon, "get", "zzz", "-o", tmp_path / "none.pdf")
    assert "not a fax id (16 hex digits): 'zzz'" in malformed.stderr
    both = openfax(daemon, "get", "--last", inbox[-1]["id"], "-o", tmp_path / "x.pdf")
    assert both.returncode == 2
    assert "MESSAGE_ID or --last" in both.stderr


def test_a_bad_document_is_named_once_as_the_user_named_it(daemon: Daemon, tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n not really")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(b"\x89PNG\r\n\x1a\nnothing more")
    unknown = tmp_path / "noise.bin"
    unknown.write_bytes(bytes(range(256)) * 8)
    for args, expected in [
        ([corrupt], f"{corrupt}: body 0: corrupt PDF"),
        (
            [SAMPLES / "letter.txt", truncated],
            f"{truncated}: body 1: unreadable or corrupt image (cannot identify image file)",
        ),
        ([unknown], f"{unknown}: body 0: unknown file type"),
    ]:
        for wait in ([], ["--wait"]):  # the quick path and the Click command
            done = openfax(daemon, "send", *args, "--to", "1002", *wait)
            assert done.returncode == 1
            assert done.stderr.startswith(f"Error: BodyError: {expected}"), done.stderr
            assert done.stderr.count("body ") == 1
            assert "openfax-upload" not in done.stderr
    rendered = openfax(daemon, "render", truncated, "-o", tmp_path / "x.tif")
    assert rendered.stderr.count(str(truncated)) == 1, rendered.stderr
    cover = openfax(daemon, "send", SAMPLES / "letter.txt", "--to", "1002", "--cover", "nosuch")
    assert cover.stderr == (
        "Error: DocumentError: server cover page 'nosuch': no such cover page template\n"
    )


def test_a_wrong_password_is_told_apart_from_none(daemon: Daemon) -> None:
    remote = {"OPENFAX_SERVER": daemon.address}
    none = openfax(daemon, "jobs", **remote)
    assert none.returncode == 1
    assert "no credentials given: set OPENFAX_USER and OPENFAX_PASSWORD, or OPENFAX_TOKEN" in (
        none.stderr
    )
    password = "correct horse 1"
    added = subprocess.run(
        [str(OPENFAX), "accounts", "add", "alice", "--password"],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        env={**os.environ, "OPENFAX_SOCKET": str(daemon.socket)},
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    for command in (["jobs"], ["devices"], ["watch"]):
        wrong = openfax(daemon, *command, OPENFAX_USER="alice", OPENFAX_PASSWORD="wrong", **remote)
        assert wrong.stderr == "Error: AccessDeniedError: wrong user name or password\n"
    token = openfax(daemon, "devices", OPENFAX_TOKEN="not-a-token", **remote)
    assert "the API token is not valid" in token.stderr
    right = openfax(daemon, "jobs", OPENFAX_USER="alice", OPENFAX_PASSWORD=password, **remote)
    assert right.returncode == 0, right.stderr


class Watcher:
    """``openfax watch`` running, its stdout and stderr lines read as they come."""

    def __init__(self, daemon: Daemon, *args: str, **env: str) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENFAX_")}
        self.process = subprocess.Popen(
            [str(OPENFAX), "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**environ, "OPENFAX_SOCKET": str(daemon.socket), **env},
            # Ctrl-C as in a terminal: a test run started in the background by a shell
            # without job control ignores SIGINT, and so would openfax watch (it hung).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put((name, line.rstrip("\n")))

    def wait_for(self, found: Callable[[str, str], bool], what: str) -> str:
        """The first line (from now on) that ``found(stream, line)`` accepts."""
        deadline = time.monotonic() + SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                stream, line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append((stream, line))
            if found(stream, line):
                return line
        raise AssertionError(f"openfax watch printed no {what} in {SECONDS} s: {self.seen}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


def test_watch_names_events_and_statuses_and_outlives_a_restart(tmp_path: Path) -> None:
    with running(tmp_path / "openfaxd") as daemon:
        watcher = Watcher(daemon)
        try:
            watcher.wait_for(lambda stream, line: stream == "err" and "watching" in line, "start")
            job = sent_job(daemon, SAMPLES / "chart.png", "--to", "1002")
            added = watcher.wait_for(lambda _, line: job in line, "event of the job")
            assert re.fullmatch(rf"\S+ \S+  OnOutgoingJobAdded  job_id={job} .*", added)
            changed = watcher.wait_for(
                lambda _, line: "OnOutgoingJobChanged" in line and job in line, "job change"
            )
            assert "job_type=SEND" in changed
            assert "status=INPROGRESS" in changed
            assert not re.search(r"(status|job_type)=\d", changed), changed
            assert "available_operations" not in changed

            daemon.stop()
            watcher.wait_for(
                lambda stream, line: stream == "err" and "reconnecting" in line, "loss"
            )
            daemon.start()
            watcher.wait_for(
                lambda stream, line: stream == "err" and "reconnected" in line, "return"
            )
            after = sent_job(daemon, SAMPLES / "chart.png", "--to", "1002")
            watcher.wait_for(
                lambda stream, line: (
                    stream == "out" and f"OnOutgoingJobAdded  job_id={after}" in line
                ),
                "event after the restart",
            )
        finally:
            status = watcher.stop()
    assert status == 0
    assert not [line for stream, line in watcher.seen if "Traceback" in line]


def test_watch_ends_with_the_servers_word_when_it_refuses_to_go_on(daemon: Daemon) -> None:
    assert openfax(daemon, "accounts", "add", "bob").returncode == 0
    token = openfax(daemon, "accounts", "token", "bob").stdout.strip()
    assert openfax(daemon, "rights", "grant", "bob", "QUERY_CONFIG").returncode == 0
    watcher = Watcher(daemon, OPENFAX_SERVER=daemon.address, OPENFAX_TOKEN=token)
    watcher.wait_for(lambda stream, line: stream == "err" and "watching" in line, "start")
    assert openfax(daemon, "accounts", "remove", "bob").returncode == 0
    watcher.wait_for(lambda _, line: "reconnecting" in line and "'bob' was removed" in line, "loss")
    refused = watcher.wait_for(lambda stream, _: stream == "err", "refusal")
    assert refused == "Error: AccessDeniedError: the API token is not valid (unknown or revoked)"
    assert watcher.process.wait(timeout=SECONDS) == 1
