"""Console benchmark: the server side of opening the inbox with 10,000 received faxes.

A FaxService on a temporary data folder (SQLite, the default store) gets 10,000 received
faxes written straight into its incoming archive (each with a one-page TIFF of its own in
the spool), and an account that signs in with a password. The console's ASGI application
is then asked, in process (httpx's ASGI transport: no socket, so what is timed is the
server's work), for:

* the inbox's first page (``GET /console/inbox``: 25 faxes, newest first, drawn);
* a page deep in the archive (the ``after`` cursor of the 200th page);
* a search by caller (``party=``), which scans the archive's index range;
* the 25 thumbnails of the first page, first rendered (PDF made, PDFium, PNG written) and
  then from the cache.

Each figure is the median and the slowest of the runs. The issue's target is the first
page under 300 ms with thumbnails cached. Run: ``.venv/bin/python bench/console.py``
(``--faxes N`` for another archive size, ``--runs N``). This is a benchmark, not a test:
nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from openfax.console.app import console_app
from openfax.documents import FaxPage, Resolution, write_fax_tiff
from openfax.model import new_id
from openfax.service import FaxService
from openfax.service.config_file import load_config
from openfax.store import Direction, Message, queries

ACCOUNT, PASSWORD = "bench", "bench-password-1234"


async def fill(service: FaxService, faxes: int, spool: Path) -> None:
    """``faxes`` received faxes in the incoming archive, a minute apart, every tenth from
    the caller searched for; one TIFF page shared by all (the spool's relative path)."""
    image = Image.new("1", (1728, 2200), 1)
    ImageDraw.Draw(image).rectangle((200, 200, 1500, 700), fill=0)
    tiff = spool / "bench" / "page.tif"
    tiff.parent.mkdir(parents=True, exist_ok=True)
    write_fax_tiff([FaxPage(image, Resolution.FINE)], tiff)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with service.ctx.db.transaction() as conn:
        for number in range(faxes):
            await queries.archive_message(
                conn,
                Message(
                    id=new_id(),
                    direction=Direction.IN,
                    pages=1,
                    caller_id="+1 555 0199" if number % 10 == 0 else f"+1 555 {number:07d}",
                    routing_information="1002",
                    tiff_path="bench/page.tif",
                    archived_at=start + timedelta(minutes=number),
                    transmission_end=start + timedelta(minutes=number),
                ),
            )


async def timings(action: Callable[[], Awaitable[httpx.Response]], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = await action()
        seconds.append(time.perf_counter() - began)
        assert answer.status_code == 200, answer.text[:300]
    return seconds


def show(what: str, seconds: list[float]) -> None:
    median, slowest = statistics.median(seconds) * 1000, max(seconds) * 1000
    print(f"{what:<48} {median:8.1f} ms median {slowest:8.1f} ms slowest")


async def main(faxes: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="openfax-bench-console-") as folder:
        config = load_config(
            data_dir=Path(folder), environ={}, overrides={"ocr": {"enabled": False}}
        )
        async with FaxService(config) as service:
            await service.accounts.add_account(ACCOUNT, PASSWORD)
            began = time.perf_counter()
            await fill(service, faxes, service.ctx.spool.root)
            print(f"{faxes:,} received faxes archived in {time.perf_counter() - began:.1f} s")
            app = console_app(service)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as web:
                token = (await web.get("/console/sign-in")).cookies["openfax_sign_in"]
                signed = await web.post(
                    "/console/sign-in",
                    data={"account": ACCOUNT, "password": PASSWORD},
                    headers={"X-CSRF-Token": token},
                )
                assert signed.status_code == 204, signed.text
                first = await web.get("/console/inbox")
                thumbnails = re.findall(
                    r'src="(/console/inbox/[0-9a-f]+/pages/1\.png[^"]*)"', first.text
                )
                assert len(thumbnails) == 25, len(thumbnails)
                began = time.perf_counter()
                for src in thumbnails:
                    assert (await web.get(src)).status_code == 200
                rendered = time.perf_counter() - began
                what = "25 thumbnails rendered (PDF, PDFium, PNG)"
                print(f"{what:<48} {rendered * 1000:8.1f} ms all")

                async def thumbnails_cached() -> httpx.Response:
                    for src in thumbnails[:-1]:
                        await web.get(src)
                    return await web.get(thumbnails[-1])

                show(
                    f"inbox, first page (25 of {faxes:,})",
                    await timings(lambda: web.get("/console/inbox"), runs),
                )
                after = None
                for _ in range(min(200, faxes // 25 - 1)):
                    page = await web.get(
                        "/console/inbox", params={} if after is None else {"after": after}
                    )
                    found = re.search(r"after=([A-Za-z0-9_=-]+)", page.text)
                    assert found is not None
                    after = found[1]
                show(
                    "inbox, page 200 (by its cursor)",
                    await timings(lambda: web.get("/console/inbox", params={"after": after}), runs),
                )
                show(
                    "inbox, search by caller",
                    await timings(
                        lambda: web.get("/console/inbox", params={"party": "0199"}), runs
                    ),
                )
                show("25 thumbnails from the cache", await timings(thumbnails_cached, runs))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faxes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.faxes, arguments.runs))
