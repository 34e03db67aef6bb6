"""A fax node in its own process, for the crash test: sends a 3-page fax from line 1 to
line 2 at 10x real time and says ``CONFIRMED`` once page 1 is confirmed.

Usage: ``python -m tests.integration.service.node_process DATA_DIR BODY [DATABASE_URL]``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from openfax.service import FaxService
from tests.waiting import until

from .conftest import request, service_config


async def page_confirmed(service: FaxService, job_id: int) -> bool:
    return (await service.outgoing_queue.get_job(job_id)).pages_confirmed >= 1


async def main(data_dir: Path, body: Path, database: str | None) -> None:
    overrides = {"database": database} if database else {}
    config = service_config(data_dir, loopback={"pace": 10.0}, **overrides)
    async with FaxService(config) as service:
        (job_id,) = await service.outgoing_queue.submit(request(body))
        await until(lambda: page_confirmed(service, job_id), "page 1 is confirmed")
        print("CONFIRMED", flush=True)
        await asyncio.sleep(60)  # in its call until the test kills this process


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), (sys.argv[3:] or [None])[0]))
