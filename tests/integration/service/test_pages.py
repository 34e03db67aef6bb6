"""What the receiver gets, end to end through the service: the cover page (server and local
templates with the FAXCOMEX fields), the header line (TSID, "page x of N"), and the "store
in folder" routing to PDF."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from openfax.documents import (
    CoverPageFields,
    FaxPage,
    draw_header_line,
    format_header_line,
    read_fax_tiff,
    render_cover_page,
)
from openfax.documents.header_line import HEADER_HEIGHT_IN, HEADER_TOP_IN
from openfax.model import CoverPageType
from openfax.model.records import Recipient
from openfax.service import STORE_IN_FOLDER, FaxService, FolderSettings, ManualClock
from openfax.store import Direction

from .conftest import START, MakeConfig, archived, job_leaves_queue, request

pytestmark = pytest.mark.anyio

TSID = "+1 555 0100"
SUBJECT = "Quarterly figures"


def bits(page: FaxPage) -> np.ndarray:
    return np.unpackbits(page.rows, axis=1, count=page.width)


def header_band(page: FaxPage) -> slice:
    y_dpi = page.resolution.y_dpi
    top = round(HEADER_TOP_IN * y_dpi)
    return slice(top, top + round(HEADER_HEIGHT_IN * y_dpi))


def expected_header(page: FaxPage, when: datetime, number: int, count: int) -> np.ndarray:
    """The header band drawn on a blank page like ``page``."""
    blank = FaxPage.from_rows(np.zeros_like(page.rows), page.width, page.resolution)
    drawn = draw_header_line(blank, format_header_line(TSID, when, number, count))
    return bits(drawn)[header_band(page)]


@pytest.mark.parametrize("cover", [CoverPageType.SERVER, CoverPageType.LOCAL])
async def test_the_cover_page_and_header_lines_arrive_and_route_to_pdf(
    tmp_path: Path,
    clock: ManualClock,
    two_pages: Path,
    make_config: MakeConfig,
    cover: CoverPageType,
) -> None:
    template = tmp_path / "mine.txt"
    template.write_text("@font sans 14\nTo: {recipient_name}\n@space 40\nRe: {subject}\n")
    config = make_config(tmp_path / "data", outgoing={"branding": True, "tsid": TSID})
    async with FaxService(config, clock=clock) as service:
        receiver = (await service.devices.get_devices())[1].id
        folder = tmp_path / "inbox"
        await service.devices.set_store_in_folder(receiver, FolderSettings(str(folder), "pdf"))
        await service.devices.use_routing_method(receiver, STORE_IN_FOLDER, True)
        local = cover is CoverPageType.LOCAL
        fax = request(
            two_pages,
            "1002",
            subject=SUBJECT,
            note="Figures attached.",
            cover_page_type=cover,
            cover_page=str(template) if local else "",
        )
        (job_id,) = await service.outgoing_queue.submit(fax)
        await job_leaves_queue(service, job_id)

        (message,) = await archived(service)
        assert message.pages == 3, "one more page than the body: the cover"
        pages = read_fax_tiff(await service.archives.tiff_path(Direction.IN, message.id))

        when = START.astimezone(None)
        recipient = fax.recipients[0]
        fields = CoverPageFields(
            recipient=Recipient(name=recipient.name, fax_number=recipient.fax_number),
            subject=SUBJECT,
            note="Figures attached.",
            time_sent=when,
            page_count=3,
        )
        with_subject = bits(render_cover_page(fields, template=template if local else None))
        without = bits(
            render_cover_page(
                dataclasses.replace(fields, subject=""),
                template=template if local else None,
            )
        )
        subject_rows = np.flatnonzero((with_subject != without).any(axis=1))
        assert subject_rows.size, "the subject changes the cover page"
        got = bits(pages[0])
        assert got[subject_rows].any(), "the subject's area is not blank"
        assert np.array_equal(got[subject_rows], with_subject[subject_rows])

        for number, page in enumerate(pages, start=1):
            band = bits(page)[header_band(page)]
            expected = expected_header(page, when, number, 3)
            assert np.array_equal(band, expected), f"header line of page {number}"

        stored = folder / f"{message.id:016x}.pdf"
        assert stored.read_bytes().startswith(b"%PDF")
        assert (
            stored.read_bytes().count(b"/Type /Page") - stored.read_bytes().count(b"/Type /Pages")
            == 3
        )
