"""Submitting a document: the request (FAXCOMEX ``FaxDocument``), its checks, and rendering.

Rendering turns the bodies into fax pages once and writes them into the spool as one TIFF-F
that every recipient's job sends, plus a cover page per recipient when one is asked for.
No header line is drawn here: it carries the TSID used and the time of sending, so it is
drawn when a call's pages are composed (:mod:`openfax.service.composing`). It runs on a
worker thread, for ``deadlines.render_seconds`` at most (:func:`render_in_time`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from openfax.documents import (
    CoverPageFields,
    FaxPage,
    count_pages,
    iter_pages,
    render_cover_page,
    write_fax_tiff,
)
from openfax.documents.filetype import detect
from openfax.documents.office import OfficeConverter
from openfax.errors import (
    BodyError,
    ConfigError,
    DocumentError,
    NumberError,
    PageLimitError,
    SubmissionError,
)
from openfax.model import CONTROL, CoverPageType, Priority, ReceiptType, ScheduleType
from openfax.model.numbers import WHAT_A_NUMBER_IS, is_phone_number, is_sip_uri
from openfax.model.records import (
    MAX_ADDRESS_LENGTH,
    MAX_DOCUMENT_NAME_LENGTH,
    MAX_FIELD_LENGTH,
    MAX_IDENT_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_NUMBER_LENGTH,
    MAX_SUBJECT_LENGTH,
    Recipient,
    Sender,
    person_fields,
)
from openfax.service.cover_pages import SUFFIX, check_name, server_template
from openfax.store import Spool

MAX_SCHEDULE_DISTANCE = timedelta(days=366)
"""How far from now a ``schedule_time`` may lie, either way."""


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
    owner_id: int | None = None
    """The id of the submitting account (``owner`` is its name): who sees and manages the
    fax, and whose idempotency keys ``idempotency_key`` is one of. None: the service's own."""

    def check(self, now: datetime, *, dials: Callable[[str], bool] = lambda uri: False) -> None:
        """Refuse a request that cannot be queued, saying why and naming the field
        (SubmissionError; NumberError for a number that is none, or a SIP URI that no line
        ``dials``); ``now`` is the time of the submission."""
        if not self.recipients:
            raise SubmissionError("a fax needs at least one recipient")
        for index, recipient in enumerate(self.recipients):
            if not recipient.fax_number.strip():
                raise SubmissionError(f"recipient {index} has no fax number")
            if CONTROL.search(recipient.fax_number):
                raise SubmissionError(f"recipients.{index}.fax_number: has a control character")
            _check_fields(f"recipients.{index}", person_fields(recipient))
            _check_number(index, recipient, dials)
        _check_fields("sender", person_fields(self.sender))
        _check_text("subject", self.subject, MAX_SUBJECT_LENGTH)
        _check_text("note", self.note, MAX_NOTE_LENGTH)
        _check_text("document_name", self.document_name, MAX_DOCUMENT_NAME_LENGTH)
        _check_text("receipt_address", self.receipt_address, MAX_ADDRESS_LENGTH)
        if self.cover_page_type is CoverPageType.SERVER and self.cover_page:
            try:
                check_name(self.cover_page.removesuffix(SUFFIX))
            except ConfigError as exc:
                raise SubmissionError(f"cover_page: {exc.reason}") from None
        if not self.bodies and self.cover_page_type is CoverPageType.NONE:
            raise SubmissionError("a fax needs a body or a cover page")
        specific = self.schedule_type is ScheduleType.SPECIFIC_TIME
        if specific and (self.schedule_time is None or self.schedule_time.tzinfo is None):
            raise SubmissionError("a fax scheduled at a specific time needs an aware time")
        when = self.schedule_time
        if when is not None and when.tzinfo is not None and abs(when - now) > MAX_SCHEDULE_DISTANCE:
            raise SubmissionError(
                f"schedule_time: {when.isoformat()} is more than "
                f"{MAX_SCHEDULE_DISTANCE.days} days from now"
            )
        tsid = self.sender.tsid
        if len(tsid) > MAX_IDENT_LENGTH or not tsid.isascii():
            raise SubmissionError(f"the TSID {tsid!r} must be at most 20 ASCII characters")
        if self.idempotency_key is not None and not 0 < len(self.idempotency_key) <= 200:
            raise SubmissionError("an idempotency key has 1 to 200 characters")


def _check_number(index: int, recipient: Recipient, dials: Callable[[str], bool]) -> None:
    """NumberError unless recipient ``index``'s number is a telephone number, or a SIP URI
    that a line ``dials``."""
    reason = number_problem(recipient.fax_number, dials)
    if reason is not None:
        raise NumberError(index, recipient.fax_number, reason, recipient.name)


def number_problem(number: str, dials: Callable[[str], bool]) -> str | None:
    """Why ``number`` is no fax number this server could dial (it follows the number in a
    message), or None when it is one: a telephone number, or a SIP URI that a line
    ``dials``. The one rule for submissions and the address book."""
    if is_phone_number(number) or (is_sip_uri(number) and dials(number)):
        return None
    if is_sip_uri(number):
        return "is a SIP URI, and no line of this server dials one"
    return f"is not a fax number: {WHAT_A_NUMBER_IS}; or a SIP URI for a SIP line"


def _check_fields(prefix: str, fields: dict[str, str]) -> None:
    """The cover-page fields of a recipient or the sender (``prefix``), each checked."""
    for name, value in fields.items():
        most = MAX_NUMBER_LENGTH if name == "fax_number" else MAX_FIELD_LENGTH
        _check_text(f"{prefix}.{name}", value, most)


def _check_text(name: str, value: str, most: int) -> None:
    """SubmissionError naming the field ``name`` if ``value`` is longer than ``most``
    characters or holds a NUL (which PostgreSQL cannot store)."""
    if len(value) > most:
        raise SubmissionError(f"{name}: has {len(value):,} characters, at most {most:,}")
    if "\x00" in value:
        raise SubmissionError(f"{name}: has a NUL character")


@dataclass(frozen=True)
class RenderedPart:
    """A document written into the spool for a submission."""

    path: str
    pages: int
    size: int


@dataclass(frozen=True)
class RenderedSubmission:
    """The body every job sends (None without bodies) and each recipient's cover page
    (None when no cover page was asked for), in recipient order."""

    body: RenderedPart | None
    covers: list[RenderedPart | None]

    @property
    def paths(self) -> list[str]:
        """Every spool file written, to delete if the submission is not queued."""
        parts = [self.body, *self.covers]
        return [part.path for part in parts if part is not None]

    def pages(self, recipient_index: int) -> int:
        """The pages a recipient's fax has: cover page and body."""
        parts = (self.body, self.covers[recipient_index])
        return sum(part.pages for part in parts if part is not None)

    def size(self, recipient_index: int) -> int:
        """The bytes a recipient's fax takes before its header lines are drawn."""
        parts = (self.body, self.covers[recipient_index])
        return sum(part.size for part in parts if part is not None)


@dataclass(frozen=True)
class Rendering:
    """What to render: the request, the time for the cover pages, the server's templates,
    the most pages one fax may have (``outgoing.max_pages``) and the Office converter."""

    request: SubmitRequest
    when: datetime
    cover_pages_dir: Path
    max_pages: int
    office: OfficeConverter | None = None
    """What makes Office documents PDF (None: they are refused)."""


async def render_in_time(rendering: Rendering, spool: Spool, seconds: float) -> RenderedSubmission:
    """`render_submission` on a worker thread, allowed `seconds`.

    When they run out the worker is told to stop: it stops at its next page and removes
    every file it wrote, and once it has, SubmissionError says that nothing was queued. A
    caller cancelled meanwhile (its client gone, the service stopping) stops it the same way.
    """
    stop = threading.Event()
    # Not a task group's: a thread cannot be cancelled, and it may outlive a cancelled caller.
    worker = asyncio.ensure_future(asyncio.to_thread(render_submission, rendering, spool, stop))
    try:
        async with asyncio.timeout(seconds):
            return await asyncio.shield(worker)
    except TimeoutError:
        stop.set()
        await asyncio.wait({worker})
        await asyncio.to_thread(_discard, spool, worker)
        raise SubmissionError(
            f"rendering the document took longer than the {seconds:g} s allowed "
            "(deadlines.render_seconds); nothing was queued"
        ) from None
    except asyncio.CancelledError:
        stop.set()
        worker.add_done_callback(partial(_discard, spool))
        raise


def _discard(spool: Spool, worker: asyncio.Future[RenderedSubmission]) -> None:
    """Remove the files of a render that finished after all (one that stopped or failed
    removed its own)."""
    if not worker.cancelled() and worker.exception() is None:
        for path in worker.result().paths:
            spool.delete(path)


def render_submission(
    rendering: Rendering, spool: Spool, stop: threading.Event | None = None
) -> RenderedSubmission:
    """Render the bodies once into one spool document, and each recipient's cover page.

    Office documents are made PDF first (their temporary PDFs are removed at the end). The
    pages are counted then, without rendering: a fax longer than ``max_pages`` raises
    PageLimitError before anything is rendered. Pages are then rendered and written one at a
    time. A body that cannot be rendered raises BodyError with its index; nothing is left in
    the spool then. Once `stop` is set, the next page raises TimeoutError, and nothing is
    left either.
    """
    with contextlib.ExitStack() as converted:
        bodies = [
            _as_pdf(index, body, rendering.office, converted)
            for index, body in enumerate(rendering.request.bodies)
        ]
        return _render(rendering, bodies, spool, stop)


def _render(
    rendering: Rendering,
    bodies: Sequence[str | Path],
    spool: Spool,
    stop: threading.Event | None,
) -> RenderedSubmission:
    """`render_submission` of `bodies` (none of them an Office document any more)."""
    request = rendering.request
    cover = request.cover_page_type is not CoverPageType.NONE
    pages = cover + sum(_count(index, body) for index, body in enumerate(bodies))
    if pages > rendering.max_pages:
        raise PageLimitError(pages, rendering.max_pages)
    written: list[str] = []

    def store(part: Iterable[FaxPage]) -> RenderedPart:
        counts: list[int] = []
        sizes: list[int] = []

        def write(target: Path) -> None:
            counts.append(write_fax_tiff(_until(stop, part), target))
            sizes.append(target.stat().st_size)

        written.append(spool.write_file(write, suffix=".tif"))
        return RenderedPart(written[-1], counts[0], sizes[0])

    try:
        shared = store(_body_pages(bodies)) if bodies else None
        body_pages = shared.pages if shared else 0
        covers = [
            store([_cover(rendering, recipient, body_pages)]) if cover else None
            for recipient in request.recipients
        ]
    except BaseException:
        for path in written:
            spool.delete(path)
        raise
    return RenderedSubmission(shared, covers)


def _as_pdf(
    index: int, body: str | Path, office: OfficeConverter | None, converted: contextlib.ExitStack
) -> str | Path:
    """The body itself, or the PDF LibreOffice made of it when it is an Office document
    (removed when `converted` closes)."""
    with _naming(index, body):
        path = Path(body)
        kind = detect(path)
        if not kind.office:
            return body
        if office is None:
            raise DocumentError(path, f"is an Office document ({kind.value}): not taken here")
        return converted.enter_context(office.pdf_of(path, kind))


def _count(index: int, body: str | Path) -> int:
    """The pages of one body, counted without rendering them."""
    with _naming(index, body):
        return count_pages(body)


def _body_pages(bodies: Sequence[str | Path]) -> Iterator[FaxPage]:
    """The pages of every body in turn, each rendered when it is asked for."""
    for index, body in enumerate(bodies):
        with _naming(index, body):
            yield from iter_pages([body])


@contextlib.contextmanager
def _naming(index: int, body: str | Path) -> Iterator[None]:
    """A DocumentError raised inside becomes the BodyError that names the body."""
    try:
        yield
    except DocumentError as exc:
        raise BodyError(index, body, exc.reason) from None


def _until(stop: threading.Event | None, pages: Iterable[FaxPage]) -> Iterator[FaxPage]:
    """`pages` until `stop` is set; then TimeoutError."""
    for page in pages:
        if stop is not None and stop.is_set():
            raise TimeoutError("rendering was stopped: its time ran out")
        yield page


def _cover(rendering: Rendering, recipient: Recipient, body_pages: int) -> FaxPage:
    request = rendering.request
    template: Path | None = None
    if request.cover_page_type is CoverPageType.LOCAL:
        template = Path(request.cover_page)
    elif request.cover_page:
        template = server_template(rendering.cover_pages_dir, request.cover_page)
    fields = CoverPageFields(
        recipient=recipient,
        sender=request.sender,
        subject=request.subject,
        note=request.note,
        time_sent=rendering.when,
        page_count=body_pages + 1,
    )
    try:
        return render_cover_page(fields, template=template)
    except DocumentError as exc:
        if request.cover_page_type is CoverPageType.LOCAL or not request.cover_page:
            raise
        # A server cover page is known to its user by its name, not by the server's file.
        raise DocumentError(f"server cover page {request.cover_page!r}", exc.reason) from None
