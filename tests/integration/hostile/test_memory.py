"""Finding 1 of the hardening review: a long fax took the daemon down at every start.

Composition, sending, receiving and archiving now go a page at a time, so a call's memory does
not grow with its page count; a submission longer than ``outgoing.max_pages`` is refused before
it is rendered; and a job whose calls killed the daemon twice in a row is set aside instead of
killing it at every start. Each is replayed against a real, memory-limited openfaxd.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from openfax.client import FaxDocument, FaxServer, ServerEvents
from openfax.documents import count_pages
from openfax.errors import PageLimitError
from openfax.model import CoverPageType, JobStatus
from tests.daemon import Daemon, running
from tests.integration.hostile.conftest import LIMIT_BYTES
from tests.waiting import wait_until

MB = 1024 * 1024
WAIT = 120.0
"""Seconds a fax of a few hundred pages may take to go out on a loaded machine."""

STRESS = os.environ.get("OPENFAX_STRESS") == "1"


def long_pdf(path: Path, pages: int) -> Path:
    """A PDF of ``pages`` A4 pages of Helvetica text, each numbered, written by hand (a
    2,000-page one takes a moment). A page has a dozen lines: a page of the loopback line
    takes a few line seconds, so a call (at most 1,800) carries a few hundred."""
    line = b"(Clause %d.%d: the parties agree that this line is long enough to fill a row.) Tj"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")  # 3
    kids = []
    for number in range(1, pages + 1):
        rows = b" T* ".join(line % (number, row) for row in range(1, 13))
        content = b"BT /F1 10 Tf 12 TL 54 780 Td %s ET" % rows
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(out)
    return path


def send_and_wait(server: FaxServer, body: Path, timeout: float) -> str:
    """Send ``body`` from line 1 to line 2 and wait until the job is COMPLETED; its id."""
    fax = FaxDocument(body=body, subject="long")
    fax.recipients.add("1002")
    (job_id,) = fax.connected_submit(server)
    job = server.folders.outgoing_queue.get_job(job_id)
    job.wait(timeout=timeout)
    assert job.status is JobStatus.COMPLETED, (job.status, job.extended_status)
    return job_id


def peak_sending(tmp_path: Path, pages: int, timeout: float) -> tuple[int, float]:
    """The peak RSS of a fresh daemon that sent (and received) a fax of ``pages`` pages,
    and the seconds from submission to completion."""
    body = long_pdf(tmp_path / f"pages{pages}.pdf", pages)
    settings: dict[str, dict[str, Any]] = {
        "outgoing": {"max_pages": pages},
        # A call that reached the loopback's 1,800 line seconds resumes at once.
        "outgoing.causes.line_dropped": {"delay_minutes": 0.01},
        "deadlines": {"render_seconds": timeout},
    }
    with (
        running(tmp_path / f"daemon{pages}", memory_limit=LIMIT_BYTES, **settings) as daemon,
        FaxServer() as server,
    ):
        # The submission is answered once its pages are rendered: minutes for 2,000.
        server.connect(daemon.address, token=daemon.token, timeout=timeout)
        started = time.monotonic()
        send_and_wait(server, body, timeout)
        took = time.monotonic() - started
        return daemon.peak_rss(), took


def test_the_memory_of_a_fax_does_not_grow_with_its_pages(tmp_path: Path) -> None:
    """Before, every composed page was held at call time (4.7 MB each): 200 pages took
    about 1 GB more than 20, and 80 would take 280 MB more. Now the peak of 80 pages is that
    of 20, give or take (the 2,000-page test below, with OPENFAX_STRESS=1, goes further)."""
    small, small_took = peak_sending(tmp_path, 20, WAIT)
    large, large_took = peak_sending(tmp_path, 80, WAIT * 2)
    print(
        f"peak RSS: 20 pages {small / MB:.0f} MB ({small_took:.0f} s), "
        f"80 pages {large / MB:.0f} MB ({large_took:.0f} s)"
    )
    assert large < small + 60 * MB, (small / MB, large / MB)


@pytest.mark.skipif(not STRESS, reason="a 2,000-page fax takes minutes: OPENFAX_STRESS=1")
@pytest.mark.timeout(3900)  # peak_sending's own 3,600 s, then the daemon's stop
def test_a_2000_page_fax_goes_out_under_400_mb(tmp_path: Path) -> None:
    peak, took = peak_sending(tmp_path, 2000, 3600.0)
    print(f"2,000 pages: peak RSS {peak / MB:.0f} MB, {took:.0f} s from submission to completion")
    assert peak < 400 * MB


def spool_files(daemon: Daemon) -> list[Path]:
    return [p for p in (daemon.data_dir / "spool").rglob("*") if p.is_file()]


def test_a_16_mb_text_is_refused_at_once_naming_the_limit_and_its_pages(
    daemon: Daemon, tmp_path: Path
) -> None:
    """The 16 MB text of the review became 5,765 pages and 23.9 GB; now it is refused with
    the documented error body, from its layout alone, and nothing stays in the spool."""
    text = tmp_path / "long.txt"
    line = b"A line of a long text, some forty-odd characters\n"
    text.write_bytes(line * (16 * MB // len(line)))
    pages = count_pages(text)
    assert pages > 5000
    document = {"recipients": [{"fax_number": "1002"}]}
    before = daemon.peak_rss()
    started = time.monotonic()
    with text.open("rb") as upload:
        answer = httpx.post(
            f"http://{daemon.address}/v1/submissions",
            headers={"Authorization": f"Bearer {daemon.token}"},
            data={"document": json.dumps(document)},
            files={"bodies": ("long.txt", upload, "text/plain")},
            timeout=WAIT,
        )
    print(
        f"16 MB text refused in {time.monotonic() - started:.1f} s: peak RSS "
        f"{before / MB:.0f} MB before, {daemon.peak_rss() / MB:.0f} MB after"
    )
    assert answer.status_code == 413, answer.text
    error = answer.json()["error"]
    assert error["class"] == "PageLimitError"
    assert error["details"] == {"pages": pages, "limit": 1000}
    assert f"{pages:,} pages" in error["message"]
    assert "1,000" in error["message"]
    assert spool_files(daemon) == []
    assert daemon.peak_rss() < before + 200 * MB
    with daemon.connected() as server:
        assert len(server.folders.outgoing_queue.get_jobs()) == 0


def test_the_client_raises_page_limit_error_for_a_fax_one_page_too_long(
    tmp_path: Path,
) -> None:
    body = long_pdf(tmp_path / "ten.pdf", 10)
    with (
        running(tmp_path / "data", memory_limit=LIMIT_BYTES, outgoing={"max_pages": 10}) as d,
        d.connected() as server,
    ):
        fax = FaxDocument(
            body=body, cover_page_type=CoverPageType.SERVER
        )  # a server cover page: 11 pages
        fax.recipients.add("1002")
        with pytest.raises(PageLimitError) as refused:
            fax.connected_submit(server)
        assert (refused.value.pages, refused.value.limit) == (11, 10)
        assert spool_files(d) == []
        fax.cover_page_type = CoverPageType.NONE  # without the cover page it fits
        (job_id,) = fax.connected_submit(server)
        job = server.folders.outgoing_queue.get_job(job_id)
        job.wait(timeout=WAIT)
        assert job.status is JobStatus.COMPLETED


def kill_in_call(daemon: Daemon, job_id: str) -> None:
    """Start the daemon, wait until the job is in a call, and kill -9 the daemon."""
    daemon.start()
    with daemon.connected() as server:
        job = server.folders.outgoing_queue.get_job(job_id)

        def in_call() -> bool:
            job.refresh()
            return bool(job.status & JobStatus.INPROGRESS)

        wait_until(in_call, f"job {job_id} is in a call", WAIT)
    daemon.kill()


def test_a_job_that_killed_the_daemon_twice_is_set_aside(tmp_path: Path) -> None:
    """The review's crash loop: a job whose calls the daemon died in came back at every
    start and killed it again. Two deaths in a call in a row set it aside: FAILED, with the
    reason, an audit entry and an event."""
    body = long_pdf(tmp_path / "body.pdf", 6)
    # Paced lines: a call lasts long enough to be killed in.
    daemon = Daemon(tmp_path / "data", memory_limit=LIMIT_BYTES, loopback={"pace": 1.0})
    daemon.start()
    with daemon.connected() as server:
        server.folders.outgoing_queue.paused = True
        server.folders.outgoing_queue.save()
        fax = FaxDocument(body=body, subject="poison")
        fax.recipients.add("1002")
        (job_id,) = fax.connected_submit(server)
        last_audit = max((e.seq for e in server.get_audit(limit=1000)), default=0)
        server.folders.outgoing_queue.paused = False
        server.folders.outgoing_queue.save()
        job = server.folders.outgoing_queue.get_job(job_id)

        def in_call() -> bool:
            job.refresh()
            return bool(job.status & JobStatus.INPROGRESS)

        wait_until(in_call, "the job is in its first call", WAIT)
    daemon.kill()
    kill_in_call(daemon, job_id)  # the second death in a call in a row

    daemon.start()  # the third start sets the job aside instead of calling again
    try:
        with daemon.connected() as server:
            job = server.folders.outgoing_queue.get_job(job_id)
            assert job.status is JobStatus.FAILED, job.status
            assert "set aside" in job.extended_status
            assert "2 calls" in job.extended_status
            assert job.pages_confirmed < 6
            (entry,) = [e for e in server.get_audit(after=last_audit) if e.action == "set_aside"]
            assert (entry.actor, entry.object_id) == ("openfaxd", job_id)
            assert entry.details["interrupted_calls"] == 2
            with server.iter_events(
                ServerEvents.OUT_QUEUE, after=0, deadline=time.monotonic() + WAIT
            ) as events:
                for event in events:
                    if event.job_id == job_id and event.status is JobStatus.FAILED:
                        break
    finally:
        daemon.stop()
