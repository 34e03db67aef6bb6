"""Submitting a document: the request (FAXCOMEX ``FaxDocument``), its checks, and rendering.

Rendering turns the bodies into fax pages once, then writes one TIFF-F per recipient into
the spool: that recipient's cover page (when asked), the body pages, and the header line
(when branding is on) with the TSID and "page x of y". It runs on a worker thread.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openfax.documents import (
    CoverPageFields,
    FaxPage,
    draw_header_line,
    format_header_line,
    render_cover_page,
    render_documents,
    write_fax_tiff,
)
from openfax.errors import BodyError, DocumentError, SubmissionError
from openfax.model import CoverPageType, Priority, ReceiptType, ScheduleType
from openfax.store import Spool

MAX_IDENT_LENGTH = 20


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """One recipient (FAXCOMEX ``FaxRecipient`` and its cover-page fields)."""

    fax_number: str
    name: str = ""
    company: str = ""
    street_address: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    country: str = ""
    title: str = ""
    department: str = ""
    office_location: str = ""
    home_phone: str = ""
    office_phone: str = ""


@dataclass(frozen=True, kw_only=True)
class Sender:
    """The sender (FAXCOMEX ``FaxSender``); ``tsid`` is the identity the fax machine sends."""

    name: str = ""
    fax_number: str = ""
    company: str = ""
    street_address: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    country: str = ""
    title: str = ""
    department: str = ""
    office_location: str = ""
    home_phone: str = ""
    office_phone: str = ""
    email: str = ""
    billing_code: str = ""
    tsid: str = ""


@dataclass(frozen=True, kw_only=True)
class SubmitRequest:
    """A document to fax to one or more recipients (FAXCOMEX ``FaxDocument``).

    ``bodies`` are files on the server (PDF, images, text); ``cover_page`` names a server
    cover page template (``CoverPageType.SERVER``, empty for the built-in one) or a template
    file (``LOCAL``). ``schedule_time`` is an aware datetime for ``SPECIFIC_TIME``. A
    repeated ``idempotency_key`` returns the jobs of the first submission and sends nothing.
    """

    bodies: Sequence[str | Path] = ()
    recipients: Sequence[Recipient]
    sender: Sender = field(default_factory=Sender)
    subject: str = ""
    note: str = ""
    document_name: str = ""
    cover_page_type: CoverPageType = CoverPageType.NONE
    cover_page: str = ""
    priority: Priority = Priority.NORMAL
    schedule_type: ScheduleType = ScheduleType.NOW
    schedule_time: datetime | None = None
    receipt_type: ReceiptType = ReceiptType.NONE
    receipt_address: str = ""
    attach_fax_to_receipt: bool = False
    group_broadcast_receipts: bool = False
    idempotency_key: str | None = None
    owner: str = ""

    def check(self) -> None:
        """Refuse a request that cannot be queued, saying why (SubmissionError)."""
        if not self.recipients:
            raise SubmissionError("a fax needs at least one recipient")
        for index, recipient in enumerate(self.recipients):
            if not recipient.fax_number.strip():
                raise SubmissionError(f"recipient {index} has no fax number")
        if not self.bodies and self.cover_page_type is CoverPageType.NONE:
            raise SubmissionError("a fax needs a body or a cover page")
        specific = self.schedule_type is ScheduleType.SPECIFIC_TIME
        if specific and (self.schedule_time is None or self.schedule_time.tzinfo is None):
            raise SubmissionError("a fax scheduled at a specific time needs an aware time")
        tsid = self.sender.tsid
        if len(tsid) > MAX_IDENT_LENGTH or not tsid.isascii():
            raise SubmissionError(f"the TSID {tsid!r} must be at most 20 ASCII characters")
        if self.idempotency_key is not None and not 0 < len(self.idempotency_key) <= 200:
            raise SubmissionError("an idempotency key has 1 to 200 characters")


@dataclass(frozen=True)
class RenderedJob:
    """One recipient's fax in the spool."""

    document_path: str
    pages: int
    size: int


@dataclass(frozen=True)
class Rendering:
    """What to render: the request, the TSID to brand with, the time for the header."""

    request: SubmitRequest
    tsid: str
    branding: bool
    when: datetime
    cover_pages_dir: Path


def render_jobs(rendering: Rendering, spool: Spool) -> list[RenderedJob]:
    """Render the bodies once and write each recipient's TIFF-F into the spool.

    A body that cannot be rendered raises BodyError with its index; nothing is left in the
    spool then.
    """
    request = rendering.request
    body_pages: list[FaxPage] = []
    for index, body in enumerate(request.bodies):
        try:
            body_pages += render_documents([Path(body)])
        except DocumentError as exc:
            raise BodyError(index, body, exc.reason) from None
    written: list[RenderedJob] = []
    try:
        with tempfile.TemporaryDirectory(prefix="openfax-render-") as work:
            for number, recipient in enumerate(request.recipients):
                pages = _cover(rendering, recipient, len(body_pages)) + body_pages
                if rendering.branding:
                    pages = [
                        draw_header_line(
                            page, format_header_line(rendering.tsid, rendering.when, n, len(pages))
                        )
                        for n, page in enumerate(pages, start=1)
                    ]
                tiff = Path(work) / f"{number}.tif"
                write_fax_tiff(pages, tiff)
                relative = spool.store_file(tiff, suffix=".tif")
                written.append(RenderedJob(relative, len(pages), tiff.stat().st_size))
    except BaseException:
        for job in written:
            spool.delete(job.document_path)
        raise
    return written


def _cover(rendering: Rendering, recipient: Recipient, body_pages: int) -> list[FaxPage]:
    request = rendering.request
    if request.cover_page_type is CoverPageType.NONE:
        return []
    template: Path | None = None
    if request.cover_page_type is CoverPageType.LOCAL:
        template = Path(request.cover_page)
    elif request.cover_page:
        name = Path(request.cover_page).name
        template = rendering.cover_pages_dir / (name if "." in name else f"{name}.txt")
    fields = CoverPageFields(
        **{f"recipient_{k}": v for k, v in fields_of(recipient).items()},
        **{f"sender_{k}": v for k, v in fields_of(request.sender).items()},
        subject=request.subject,
        note=request.note,
        time_sent=rendering.when,
        page_count=body_pages + 1,
    )
    return [render_cover_page(fields, template=template)]


def fields_of(record: Recipient | Sender) -> dict[str, str]:
    """A recipient's or sender's fields by name, as stored and shown on cover pages."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
