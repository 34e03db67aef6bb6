"""Without Tesseract the service archives and routes received faxes without their text, and
says why once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from openfax.service import STORE_IN_FOLDER, FaxService, FolderSettings, ManualClock
from openfax.store import queries as q

from .conftest import MakeConfig, archived, job_leaves_queue, request

pytestmark = pytest.mark.anyio


async def test_without_tesseract_faxes_are_archived_and_routed_and_the_log_says_why_once(
    tmp_path: Path,
    clock: ManualClock,
    two_pages: Path,
    make_config: MakeConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = str(tmp_path / "no-tesseract")
    config = make_config(tmp_path / "data", ocr={"enabled": True, "command": missing})
    caplog.set_level(logging.WARNING, logger="openfax.service.ocr")
    async with FaxService(config, clock=clock) as service:
        receiver = (await service.devices.get_devices())[1].id
        folder = tmp_path / "inbox"
        await service.devices.set_store_in_folder(receiver, FolderSettings(str(folder), "pdf"))
        await service.devices.use_routing_method(receiver, STORE_IN_FOLDER, True)
        for _ in range(2):
            (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1002"))
            await job_leaves_queue(service, job_id)
        messages = await archived(service, 2)
        async with service.ctx.db.read() as conn:
            texts = [await q.get_message_text(conn, message.id) for message in messages]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{message.id:016x}.pdf" for message in messages
    )
    assert texts == [None, None]
    warnings = [r.getMessage() for r in caplog.records if r.name == "openfax.service.ocr"]
    assert len(warnings) == 1
    assert f"the OCR command {missing!r} is not installed" in warnings[0]
    assert "apt-get install tesseract-ocr" in warnings[0]


async def test_a_language_tesseract_lacks_is_named_once_and_faxes_are_read_in_the_others(
    tmp_path: Path,
    clock: ManualClock,
    make_config: MakeConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = tmp_path / "note.txt"
    body.write_text("Referral form\n")
    config = make_config(tmp_path / "data", ocr={"enabled": True, "languages": ["eng", "chi_sim"]})
    caplog.set_level(logging.WARNING, logger="openfax.service.ocr")
    async with FaxService(config, clock=clock) as service:
        for _ in range(2):
            (job_id,) = await service.outgoing_queue.submit(request(body, "1002"))
            await job_leaves_queue(service, job_id)
        messages = await archived(service, 2)
        texts = [await service.archives.get_text(message.id) for message in messages]
    assert [(t.text, t.error) for t in texts if t is not None] == [("Referral form", "")] * 2
    named = [r.getMessage() for r in caplog.records if "chi_sim" in r.getMessage()]
    assert named == [
        "Tesseract has no data for chi_sim of ocr.languages: received faxes are read in eng "
        "only (Debian: apt-get install tesseract-ocr-chi-sim)"
    ]
