"""Composing a job's pages for a call: its cover page and the submission's shared body, with
the header line drawn at send time, as a fax machine does.

The header line carries the TSID the call really uses (the device's with
``outgoing.use_device_tsid``), the date and time of sending and "page x of y" of the whole
fax. A resend keeps the pages the receiver already confirmed as the earlier call sent them
and composes the others anew; the composed document (every page) is kept in the spool as the
job's ``document_path``, and becomes the archived message when the job completes. The
functions block on disk I/O and coding: the service runs them on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openfax.documents import (
    FaxPage,
    draw_header_line,
    format_header_line,
    read_fax_tiff,
    write_fax_tiff,
)
from openfax.store import Device, OutgoingJob, Spool


@dataclass(frozen=True)
class ComposedCall:
    """A call's document: every page in the spool, and the file the call sends (its pages
    from the first unconfirmed one on)."""

    document_path: str
    size: int
    send_path: Path


def sending_tsid(job: OutgoingJob, device: Device | None, use_device_tsid: bool) -> str:
    """The TSID a call for ``job`` on ``device`` sends: the device's when the configuration
    says so or the job has none, else the job's (the sender's or the server's)."""
    if device is not None and (use_device_tsid or not job.tsid):
        return device.tsid
    return job.tsid


def compose_pages(
    spool: Spool, job: OutgoingJob, body_path: str | None, *, tsid: str, when: datetime
) -> list[FaxPage]:
    """Every page of the job's fax as a call made at ``when`` sends it.

    Pages confirmed by an earlier call are those that call composed; the others are the
    cover page and the body with the header line (``tsid``, ``when``, page x of the whole
    fax) when the job was submitted with branding.
    """
    first = job.pages_confirmed + 1
    sources = [path for path in (job.cover_path, body_path) if path]
    if not sources and job.document_path:
        # Queued before migration 0003: the job's own document is complete, header included.
        sources = [job.document_path]
    fresh = [page for path in sources for page in read_fax_tiff(spool.path(path))]
    kept = fresh[: first - 1]
    if first > 1 and job.document_path:
        kept = read_fax_tiff(spool.path(job.document_path))[: first - 1]
    rest = fresh[first - 1 :]
    if job.header_at_send:
        total = len(fresh)
        rest = [
            draw_header_line(page, format_header_line(tsid, when, number, total))
            for number, page in enumerate(rest, start=first)
        ]
    return kept + rest


def compose_for_call(
    spool: Spool,
    job: OutgoingJob,
    body_path: str | None,
    *,
    tsid: str,
    when: datetime,
    work: Path,
) -> ComposedCall:
    """Compose the job's pages for a call at ``when`` into a new spool document; ``work``
    is a scratch folder that must outlive the call."""
    pages = compose_pages(spool, job, body_path, tsid=tsid, when=when)
    composed = work / "composed.tif"
    write_fax_tiff(pages, composed)
    first = job.pages_confirmed + 1
    remaining = work / "remaining.tif"
    if first > 1:
        write_fax_tiff(pages[first - 1 :], remaining)
    relative = spool.store_file(composed, suffix=".tif")
    send = remaining if first > 1 else spool.path(relative)
    return ComposedCall(relative, composed.stat().st_size, send)
