"""The quick path of ``openfax send`` and ``openfax jobs`` (standard library only) against a
real daemon, and of ``openfax render``: the same output, files, errors and exit statuses as
the Click commands, and Click left to every command line the quick path does not take."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax.model import Priority
from tests.daemon import Daemon, running_paused
from tests.factories import make_pdf
from tests.integration.cli.test_cli import OPENFAX, SAMPLES

CLICK = [sys.executable, "-c", "from openfax.cli.commands import cli; cli(prog_name='openfax')"]
"""The Click application run directly, as ``openfax`` runs it when the quick path declines."""
SENT_LINE = re.compile(r"^[0-9a-f]{16}  (\d+)  PENDING$")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_paused(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def run(
    command: list[str], *args: str | Path, socket: Path | str, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "OPENFAX_TOKEN": "", "OPENFAX_SERVER": "", "COLUMNS": "200"}
    environ |= {"OPENFAX_SOCKET": str(socket), **env}
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, env=environ, timeout=120
    )


def both(
    *args: str | Path, socket: Path | str, **env: str
) -> list[subprocess.CompletedProcess[str]]:
    """The same command line through the quick path and through Click."""
    return [run(command, *args, socket=socket, **env) for command in ([str(OPENFAX)], CLICK)]


def test_send_prints_what_the_click_command_prints(daemon: Daemon) -> None:
    letter = SAMPLES / "letter.txt"
    for done in both("send", letter, "--to", "3001", "--to=3002", socket=daemon.socket):
        assert done.returncode == 0, done.stderr
        found = [SENT_LINE.match(line) for line in done.stdout.splitlines()]
        assert [match[1] if match else None for match in found] == ["3001", "3002"]
        assert done.stderr == ""

    quick, click = both(
        "send", letter, "--to", "3003", "--json", "--subject", "s", "--priority", "high",
        socket=daemon.socket,
    )  # fmt: skip
    rows = [json.loads(done.stdout) for done in (quick, click)]
    for (row,) in rows:
        assert row.pop("id")
        assert row.pop("scheduled")
    assert rows[0] == rows[1] == [
        {"status": "PENDING", "recipient": "3003", "pages": 2, "sent": 0, "retries": 0,
         "device": "", "reason": ""}
    ]  # fmt: skip


def test_send_queues_the_fax_as_asked(daemon: Daemon) -> None:
    done = run(
        [str(OPENFAX)], "send", SAMPLES / "letter.txt", "--to", "3010", "--subject", "Quick",
        "--note", "n", "--priority", "low", socket=daemon.socket,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.split()[0]
    with daemon.connected() as fax:
        job = fax.folders.outgoing_queue.get_job(job_id)
    assert (job.subject, job.priority, job.recipient.fax_number) == ("Quick", Priority.LOW, "3010")
    assert job.document_name == "letter.txt"
    assert job.pages == 2


def test_the_quick_path_imports_neither_click_nor_a_http_library(daemon: Daemon) -> None:
    program = (
        "import sys\n"
        "from openfax.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as end:\n"
        "    heavy = {m.split('.')[0] for m in sys.modules} & {'click', 'httpx', 'http', 'rich'}\n"
        "    print(end.code, sorted(heavy), file=sys.stderr)\n"
    )
    done = run(
        [sys.executable, "-c", program, "send", str(SAMPLES / "letter.txt"), "--to", "3020"],
        socket=daemon.socket,
    )
    assert done.stderr.strip() == "0 []"
    assert SENT_LINE.match(done.stdout.strip())


def test_jobs_lists_the_queue_as_the_click_command_does(daemon: Daemon) -> None:
    sent = run([str(OPENFAX)], "send", SAMPLES / "letter.txt", "--to", "3050", socket=daemon.socket)
    assert sent.returncode == 0, sent.stderr
    quick, click = both("jobs", "--json", socket=daemon.socket)
    assert quick.returncode == click.returncode == 0, quick.stderr + click.stderr
    listed = json.loads(quick.stdout)
    assert listed == json.loads(click.stdout)
    assert sent.stdout.split()[0] in [row["id"] for row in listed]
    table = run([str(OPENFAX)], "jobs", socket=daemon.socket)
    assert table.returncode == 0
    assert "Outgoing queue" in table.stdout


def test_failures_are_reported_as_click_reports_them(daemon: Daemon, tmp_path: Path) -> None:
    gone = tmp_path / "nobody.sock"
    quick, click = both("send", SAMPLES / "letter.txt", "--to", "3030", socket=gone)
    assert quick.returncode == click.returncode == 1
    assert quick.stderr == click.stderr
    unavailable = f"Error: ServerUnavailableError: cannot reach the local fax server at {gone}"
    assert quick.stderr.startswith(unavailable)

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    quick, click = both("send", broken, "--to", "3031", socket=daemon.socket)
    assert quick.returncode == click.returncode == 1
    assert quick.stderr == click.stderr
    assert quick.stderr.startswith("Error: BodyError: ")
    assert "broken.pdf" in quick.stderr


def test_a_remote_server_needs_its_token(daemon: Daemon) -> None:
    letter = SAMPLES / "letter.txt"
    remote = ("--server", daemon.address)
    done = run([str(OPENFAX)], "send", letter, "--to", "3040", *remote, socket="/nonexistent",
               OPENFAX_TOKEN=daemon.token)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SENT_LINE.match(done.stdout.strip())
    quick, click = both("send", letter, "--to", "3041", *remote, "--token", "wrong", socket="x")
    assert quick.returncode == click.returncode == 1
    assert quick.stderr == click.stderr
    assert quick.stderr.startswith("Error: AccessDeniedError: ")


def test_usage_errors_stay_with_click(daemon: Daemon, tmp_path: Path) -> None:
    letter = str(SAMPLES / "letter.txt")
    for args, message in [
        (["send", str(tmp_path / "missing.pdf"), "--to", "1"], "does not exist"),
        (["send", letter, "--to", "1", "--priority", "urgent"], "'urgent' is not one of"),
        (["send", letter], "give a recipient: --to NUMBER or --to-group NAME"),
        (["send", letter, "--to", "1", "--fax"], "No such option '--fax'"),
        (["jobs", "extra"], "unexpected extra argument"),
    ]:
        done = run([str(OPENFAX)], *args, socket=daemon.socket)
        assert done.returncode == 2, args
        assert message in done.stderr, (args, done.stderr)


def test_job_operations_print_the_new_status_as_a_line_or_json(daemon: Daemon) -> None:
    sent = run([str(OPENFAX)], "send", SAMPLES / "letter.txt", "--to", "3060", socket=daemon.socket)
    job_id = sent.stdout.split()[0]
    paused = run([str(OPENFAX)], "pause", job_id, "--json", socket=daemon.socket)
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout) == {"id": job_id, "status": "PENDING|PAUSED"}
    cancelled = run([str(OPENFAX)], "cancel", job_id, socket=daemon.socket)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.split() == [job_id, "CANCELED"]


def test_render_writes_and_prints_what_the_click_command_does(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "bars.pdf", 5)
    for extra in [[], ["--json", "--page-size=letter"], ["--workers", "1", "--compression", "mh"]]:
        runs = []
        for command in ([str(OPENFAX)], CLICK):
            out = tmp_path / f"fax-{len(runs)}.tif"
            done = run(command, "render", pdf, SAMPLES / "letter.txt", "-o", out, *extra,
                       socket="unused")  # fmt: skip
            assert done.returncode == 0, done.stderr
            runs.append((done.stdout.replace(str(out), "OUT"), done.stderr, out.read_bytes()))
        assert runs[0] == runs[1], extra
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    quick, click = both("render", broken, "-o", tmp_path / "x.tif", socket="unused")
    assert quick.returncode == click.returncode == 1
    assert quick.stderr == click.stderr == f"Error: {broken}: corrupt PDF\n"
    assert not (tmp_path / "x.tif").exists()


def test_render_imports_neither_click_nor_the_service(tmp_path: Path) -> None:
    """What ``openfax render`` does not use costs its start-up nothing: neither Click nor
    the job records (pydantic), the store (SQLAlchemy), a HTTP client or a C parser."""
    program = (
        "import sys\n"
        "from openfax.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as end:\n"
        "    unused = {'click', 'pydantic', 'sqlalchemy', 'httpx', 'http', 'rich', 'pycparser'}\n"
        "    heavy = {m.split('.')[0] for m in sys.modules} & unused\n"
        "    print(end.code, sorted(heavy), file=sys.stderr)\n"
    )
    out = tmp_path / "fax.tif"
    pdf = make_pdf(tmp_path / "bars.pdf", 5)
    done = run([sys.executable, "-c", program, "render", pdf, "-o", out], socket="unused")
    assert done.stderr.strip() == "0 []"
    assert done.stdout == f"{out}: 5 pages, fine, MR\n"
