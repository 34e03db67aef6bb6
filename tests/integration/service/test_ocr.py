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
