"""Composing a job's pages for a call: its cover page and the submission's shared body, with
the header line drawn at send time, as a fax machine does.

The header line carries the TSID the call really uses (the device's with
``outgoing.use_device_tsid``), the date and time of sending and "page x of y" of the whole
fax. A resend keeps the pages the receiver already confirmed as the earlier call sent them
and composes the others anew; the composed document (every page) is kept in the spool as the
job's ``document_path``, and becomes the archived message when the job completes. Pages are
read, composed and written one at a time. The functions block on disk I/O and coding: the
service runs them on a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path

from openfax.documents import (
    FaxPage,
    count_fax_pages,
    draw_header_line,
    format_header_line,
    iter_fax_tiff,
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
) -> Iterator[FaxPage]:
    """Every page of the job's fax as a call made at ``when`` sends it, each read (and its
    header drawn) when it is asked for, so a long fax is never held whole.

    Pages confirmed by an earlier call are those that call composed; the others are the
    cover page and the body with the header line (``tsid``, ``when``, page x of the whole
    fax) when the job was submitted with branding.
    """
    first = job.pages_confirmed + 1
    sources = [spool.path(path) for path in (job.cover_path, body_path) if path]
    if not sources and job.document_path:
        # Queued before migration 0003: the job's own document is complete, header included.
        sources = [spool.path(job.document_path)]
    counts = [count_fax_pages(source) for source in sources]
    total = sum(counts)
    fresh_from = 1
    if first > 1 and job.document_path:
        yield from islice(iter_fax_tiff(spool.path(job.document_path)), first - 1)
        fresh_from = first
    before = 0  # the pages of the sources before this one
    for source, count in zip(sources, counts, strict=True):
        start = max(1, fresh_from - before)
        for number, page in enumerate(iter_fax_tiff(source, start=start), start=before + start):
            if job.header_at_send and number >= first:
                page = draw_header_line(page, format_header_line(tsid, when, number, total))
            yield page
        before += count


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
    is a scratch folder that must outlive the call. Pages are composed and written one at a
    time: the call's memory does not grow with its page count."""
    composed = work / "composed.tif"
    write_fax_tiff(compose_pages(spool, job, body_path, tsid=tsid, when=when), composed)
    first = job.pages_confirmed + 1
    remaining = work / "remaining.tif"
    if first > 1:
        write_fax_tiff(iter_fax_tiff(composed, start=first), remaining)
    relative = spool.store_file(composed, suffix=".tif")
    send = remaining if first > 1 else spool.path(relative)
    return ComposedCall(relative, composed.stat().st_size, send)
