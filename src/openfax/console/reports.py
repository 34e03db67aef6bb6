"""The transmission report of a sent fax, as fax machines print one: when, to which number,
the remote station's identity (CSI), pages, the result of each call, and the first page
reduced, on one page of PDF.

Drawn on the documents' canvas (``openfax.documents.canvas``, the faces cover pages use) at
204 dpi, the first page pasted from the console's page image, and written as a one-page PDF
by Pillow. Made on request, not kept: it is a few tens of KB and a fraction of a second.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image, ImageDraw

from openfax.console.page_images import PageImages, Width
from openfax.console.strings import text
from openfax.documents.canvas import DRAWING_DPI, Canvas, points
from openfax.documents.fonts import FontStyle, load_font
from openfax.documents.pages import PageSize
from openfax.model.records import CallAttemptInfo, MessageInfo
from openfax.service import FaxService

MARGIN = points(48)
FIRST_PAGE_SCALE = 0.45
"""The first page's width on the report, as a share of the sheet's."""


async def transmission_report(
    service: FaxService, images: PageImages, message: MessageInfo
) -> bytes:
    """The PDF of the sent fax ``message``'s transmission report."""
    attempts = await service.outgoing_queue.get_call_attempts(message.id)
    first_page = await images.image(message, 1, Width.PAGE) if message.pages else None
    return await asyncio.to_thread(_draw, message, attempts, first_page)


def _draw(message: MessageInfo, attempts: list[CallAttemptInfo], first_page: Path | None) -> bytes:
    canvas = Canvas.for_page(PageSize.A4)
    title = load_font(FontStyle.SANS_BOLD, points(16))
    label = load_font(FontStyle.SANS_BOLD, points(10))
    body = load_font(FontStyle.SANS, points(10))
    y = MARGIN
    canvas.text(MARGIN, y, text("report.title"), title)
    y += points(28)
    started = message.transmission_start
    ended = message.transmission_end
    rows = [
        ("report.fax", f"{message.id:016x}"),
        ("report.number", message.recipient.fax_number if message.recipient else ""),
        ("report.remote", message.csid or "-"),
        (
            "report.start",
            "" if started is None else started.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        ),
        (
            "report.duration",
            ""
            if started is None or ended is None
            else f"{(ended - started).total_seconds():.0f} s",
        ),
        ("report.pages", str(message.pages)),
        ("report.result", text("report.partial" if message.partial else "report.ok")),
        ("report.sender", message.owner or ""),
    ]
    for key, value in rows:
        canvas.text(MARGIN, y, text(key), label)
        canvas.text(MARGIN + points(130), y, value, body)
        y += points(15)
    y += points(8)
    canvas.text(MARGIN, y, text("report.calls"), label)
    y += points(15)
    for attempt in attempts:
        result = attempt.result_name or attempt.failure_cause or "-"
        line = text(
            "report.call",
            attempt=attempt.attempt,
            time=attempt.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            result=result,
            pages=attempt.pages_confirmed,
        )
        canvas.text(MARGIN + points(12), y, line, body)
        y += points(15)
    y += points(12)
    canvas.rule(MARGIN, canvas.image.width - MARGIN, y, 2)
    y += points(12)
    if first_page is not None:
        with Image.open(first_page) as page:
            width = round(canvas.image.width * FIRST_PAGE_SCALE)
            height = round(page.height * width / page.width)
            room = canvas.image.height - MARGIN - y
            if height > room:
                width, height = round(width * room / height), room
            reduced = page.convert("L").resize((width, height), Image.Resampling.LANCZOS)
        canvas.image.paste(reduced, (MARGIN, y))
        ImageDraw.Draw(canvas.image).rectangle((MARGIN, y, MARGIN + width, y + height), outline=0)
    out = io.BytesIO()
    canvas.image.save(out, format="PDF", resolution=DRAWING_DPI)
    return out.getvalue()
