"""Print to fax end to end: ``openfax cups install`` sets up a private ``cupsd`` (its own
configuration, spool, state and socket under /tmp), a Unix user other than the daemon's
prints with ``lp``, and the fax arrives on the loopback line 1002 from that user's account."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from openfax.client import FaxServer
from openfax.documents import read_fax_tiff, render_documents
from openfax.gateways.cups.install import BACKEND_MODE, MARKER
from tests.cups import NEEDS_CUPS, WAIT, Cups, private_cupsd
from tests.daemon import Daemon
from tests.factories import make_pdf
from tests.waiting import wait_until

PRINTER = "nobody"
"""Who prints: a user of every Debian machine, not the daemon's (root) nor an administrator."""
OUTSIDER = "daemon"
"""A user of every Debian machine outside the group that reaches openfaxd's socket."""
pytestmark = NEEDS_CUPS


@contextmanager
def fax_daemon(data_dir: Path, *, start: bool = True) -> Iterator[Daemon]:
    """openfaxd, whose socket's folder lets the printing user's group in (as a packaged
    service's /run/openfax lets the group fax in: docs/design/security.md); started by the
    caller when not ``start``."""
    daemon = Daemon(data_dir)
    folder = daemon.socket.parent
    os.chown(folder, 0, pwd.getpwnam(PRINTER).pw_gid)
    folder.chmod(0o2750)  # set-group-id: the socket is that group's too
    try:
        if start:
            daemon.start()
        yield daemon
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with fax_daemon(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


@pytest.fixture(scope="module")
def cups(daemon: Daemon) -> Iterator[Cups]:
    """The private cupsd with the fax queue that ``openfax cups install`` adds."""
    with private_cupsd() as started:
        installed = started.openfax(
            *("cups", "install", "--backend-dir", str(started.backend_dir)),
            *("--socket", str(daemon.socket)),
        )
        assert installed.returncode == 0, installed.stderr + started.log()
        yield started


@pytest.fixture(scope="module")
def documents() -> Iterator[Path]:
    """A folder the printing user can read."""
    folder = Path(tempfile.mkdtemp(prefix="ofx-print-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def readable(path: Path) -> Path:
    path.chmod(0o644)
    return path


def printed(cups: Cups, *args: str) -> str:
    """``lp ARGS`` as the printing user; the CUPS job's id."""
    done = cups.run("lp", "-d", "fax", *args, user=PRINTER)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[3]  # "request id is fax-3 (1 file(s))"


def finished(cups: Cups, job: str, state: str = "completed") -> str:
    """What the CUPS job ``job`` said last, once it is in ``state``."""

    def reached() -> str | None:
        found, message = cups.jobs(job.rpartition("-")[0]).get(job, ("", ""))
        return message or "(no message)" if found == state else None

    return wait_until(reached, lambda: f"CUPS job {job} is {state}\n{cups.log()}", WAIT, poll=0.5)


def new_fax(server: FaxServer, known: set[str], tmp_path: Path) -> list[np.ndarray]:
    """The pages of the one fax that arrives besides those ``known``."""

    def arrived() -> list[str] | None:
        new = [m.id for m in server.folders.incoming_archive.get_messages() if m.id not in known]
        return new or None

    (message_id,) = wait_until(arrived, "the printed fax arrives on 1002", WAIT)
    tiff = tmp_path / "received.tif"
    server.folders.incoming_archive.get_message(message_id).copy_tiff(tiff)
    return [np.asarray(page.image) for page in read_fax_tiff(tiff)]


def archived(server: FaxServer) -> set[str]:
    return {m.id for m in server.folders.incoming_archive.get_messages()}


def test_install_writes_a_root_only_backend_and_a_fax_queue(cups: Cups, daemon: Daemon) -> None:
    backend = cups.backend_dir / "openfax"
    info = backend.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (0, BACKEND_MODE)
    assert MARKER in backend.read_text()
    devices = cups.run("lpstat", "-v").stdout
    assert f"device for fax: openfax:{daemon.socket}" in devices
    assert "fax accepting requests" in cups.run("lpstat", "-a").stdout


def test_a_printed_pdf_is_faxed_from_the_printing_users_account(
    cups: Cups, daemon: Daemon, documents: Path, tmp_path: Path
) -> None:
    letter = readable(make_pdf(documents / "letter.pdf", 2))
    with daemon.connected() as server:
        known = archived(server)
        job = printed(cups, "-o", "phone=1002", "-t", "Quarterly letter", str(letter))
        finished(cups, job)
        pages = new_fax(server, known, tmp_path)
    expected = [np.asarray(page.image) for page in render_documents([letter])]
    assert len(pages) == 2
    assert all(np.array_equal(a, b) for a, b in zip(pages, expected, strict=True))
    with daemon.connected() as server:  # the printing user's own fax account submitted it
        audit = server.get_audit(limit=1000)
    assert {entry.actor for entry in audit if entry.action == "submitted"} == {PRINTER}


def test_a_printed_text_goes_through_cups_filters_and_the_fax_number_option(
    cups: Cups, daemon: Daemon, documents: Path, tmp_path: Path
) -> None:
    note = documents / "note.txt"
    note.write_text("Please fax this note.\n" * 3)
    with daemon.connected() as server:
        known = archived(server)
        job = printed(cups, "-o", "fax-number=1002", str(readable(note)))
        finished(cups, job)
        assert len(new_fax(server, known, tmp_path)) == 1


def test_a_job_without_a_number_is_cancelled_saying_how_to_give_one(
    cups: Cups, documents: Path
) -> None:
    letter = readable(make_pdf(documents / "numberless.pdf", 1))
    job = printed(cups, str(letter))
    said = finished(cups, job, "canceled")
    assert said.startswith("no fax number: print with the number in the phone option")
    assert "fax accepting requests" in cups.run("lpstat", "-a").stdout  # the queue goes on


def test_a_user_cannot_print_as_another(cups: Cups, daemon: Daemon, documents: Path) -> None:
    letter = readable(make_pdf(documents / "spoof.pdf", 1))
    with daemon.connected() as server:
        before = len(server.folders.outgoing_queue.get_jobs())
        done = cups.run(
            "lp", "-U", "root", "-d", "fax", "-o", "phone=1002", str(letter), user=PRINTER
        )
        assert done.returncode != 0
        assert "Unauthorized" in done.stderr
        assert len(server.folders.outgoing_queue.get_jobs()) == before


def test_uninstall_removes_the_queue_and_then_the_backend(daemon: Daemon) -> None:
    with private_cupsd() as cups:
        refused = cups.openfax(
            *("cups", "install", "--policy", "everyone", "--backend-dir", str(cups.backend_dir)),
            *("--socket", str(daemon.socket)),
        )
        assert refused.returncode == 1
        assert 'lpadmin: Unknown printer-op-policy "everyone"' in refused.stderr
        for queue in ("fax", "fax2"):
            installed = cups.openfax(
                *("cups", "install", "--queue", queue, "--backend-dir", str(cups.backend_dir)),
                *("--socket", str(daemon.socket), "--json"),
            )
            assert installed.returncode == 0, installed.stderr
        backend = cups.backend_dir / "openfax"
        uri = f"openfax:{daemon.socket}"
        assert json.loads(installed.stdout) == {
            "queue": "fax2",
            "uri": uri,
            "backend": str(backend),
        }
        first = cups.openfax(
            "cups", "uninstall", "--queue", "fax2", "--backend-dir", str(cups.backend_dir)
        )
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == "removed queue fax2"
        assert backend.exists()  # fax still uses it
        last = cups.openfax("cups", "uninstall", "--backend-dir", str(cups.backend_dir))
        assert last.stdout.strip() == f"removed queue fax and backend {backend}"
        assert not backend.exists()
        assert "openfax:" not in cups.run("lpstat", "-v").stdout
        again = cups.openfax("cups", "uninstall", "--backend-dir", str(cups.backend_dir))
        assert again.returncode == 1
        assert "lpadmin -x fax failed" in again.stderr


def test_a_job_printed_while_openfaxd_is_down_waits_in_cups_and_is_faxed_later(
    cups: Cups, documents: Path, tmp_path: Path
) -> None:
    with fax_daemon(tmp_path / "openfaxd", start=False) as later:
        added = cups.openfax(
            *("cups", "install", "--queue", "down", "--backend-dir", str(cups.backend_dir)),
            *("--socket", str(later.socket)),
        )
        assert added.returncode == 0, added.stderr
        letter = readable(make_pdf(documents / "later.pdf", 1))
        done = cups.run("lp", "-d", "down", "-o", "phone=1002", str(letter), user=PRINTER)
        assert done.returncode == 0, done.stderr
        job = done.stdout.split()[3]
        said = finished(cups, job, "pending-held")  # CUPS tries it again in 5 minutes
        assert said.startswith(f"cannot reach the local fax server at {later.socket}")
        later.start()
        released = cups.run("lp", "-i", job, "-H", "resume")  # now, not in 5 minutes
        assert released.returncode == 0, released.stderr
        finished(cups, job)
        with later.connected() as server:
            assert len(new_fax(server, set(), tmp_path)) == 1


def test_a_number_openfaxd_refuses_cancels_the_job_with_its_reason(
    cups: Cups, documents: Path
) -> None:
    letter = readable(make_pdf(documents / "misdialled.pdf", 1))
    job = printed(cups, "-o", "phone=call-me", str(letter))
    said = finished(cups, job, "canceled")
    assert said.startswith("openfaxd refused the fax: "), said
    assert "call-me" in said


def test_ipptools_fax_job_test_faxes_to_its_tel_destination(
    cups: Cups, daemon: Daemon, documents: Path
) -> None:
    """IPP FaxOut through the queue: Create-Job with destination-uris (a tel: URI and an ipp:
    one, which is no fax), then Send-Document, as ipptool's own fax-job.test sends them."""
    letter = readable(make_pdf(documents / "faxout.pdf", 1))
    socket = quote(str(cups.root / "cups.sock"), safe="")
    test = ("ipptool", "-tv", "-f", str(letter), f"ipp://{socket}/printers/fax", "fax-job.test")
    done = cups.run(*test, user=PRINTER)
    assert done.returncode == 0, done.stdout
    job_id = re.search(r"job-id \(integer\) = (\d+)", done.stdout)
    assert job_id, done.stdout
    finished(cups, f"fax-{job_id[1]}")
    with daemon.connected() as server:
        queued = [
            job
            for job in server.folders.outgoing_queue.get_jobs()
            if job.recipient.fax_number == "4055551212"
        ]
        assert [job.owner for job in queued] == [PRINTER]
        queued[0].cancel()  # no loopback line answers 4055551212


def test_a_user_openfaxd_does_not_let_in_has_the_job_cancelled_saying_so(
    cups: Cups, daemon: Daemon, documents: Path
) -> None:
    letter = readable(make_pdf(documents / "outsider.pdf", 1))
    done = cups.run("lp", "-d", "fax", "-o", "phone=1002", str(letter), user=OUTSIDER)
    assert done.returncode == 0, done.stderr
    said = finished(cups, done.stdout.split()[3], "canceled")
    assert said.startswith(f"'{OUTSIDER}' may not connect to openfaxd's socket {daemon.socket}")
