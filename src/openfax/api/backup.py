"""``GET /v1/backup``: a consistent backup of the store and the spool, made by the running
node and streamed as it is written (``openfax.store.backup``), for an administrator
(far2MANAGE_CONFIG).

The snapshot of the database is made before the answer starts, so a failure there (no
``pg_dump``, the store unreachable) is an error answer; the tar then flows through a pipe
from a worker thread, its memory bounded by the pipe and the stream's buffer. A client that
goes away ends the writer (the pipe breaks) and releases the spool's deletions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from openfax.api.rights import ManageConfig
from openfax.service import FaxService
from openfax.store.backup import CHUNK, BackupWriter

_logger = logging.getLogger(__name__)


def backup_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(tags=["operations"])
    writing: set[asyncio.Task[None]] = set()

    @api.get("/backup", response_class=StreamingResponse)
    async def get_backup(who: ManageConfig) -> StreamingResponse:
        """A backup file (a tar: the database's snapshot, the spool's files, a manifest)."""
        writer, revision = await service.start_backup()
        read_fd, write_fd = os.pipe()
        task = asyncio.create_task(asyncio.to_thread(_write, writer, revision, write_fd))
        writing.add(task)
        task.add_done_callback(writing.discard)
        name = f"openfax-{service.config.node_id}.tar"
        return StreamingResponse(
            _chunks(read_fd),
            media_type="application/x-tar",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return api


def _write(writer: BackupWriter, revision: str | None, fd: int) -> None:
    """In a worker thread: the tar into the pipe ``fd``; always closes both."""
    try:
        with open(fd, "wb", buffering=CHUNK) as out:
            manifest = writer.write(out, revision)
        _logger.info("backup written: %d spool files", manifest.spool_files)
    except BrokenPipeError:
        _logger.warning("backup abandoned: the client went away")
    except Exception:
        _logger.exception("backup failed while it was being sent")
    finally:
        writer.close()


async def _chunks(fd: int) -> AsyncIterator[bytes]:
    """What the writer puts into the pipe ``fd``, read without blocking the event loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CHUNK, loop=loop)
    # The transport owns the pipe's end from here, and closes it.
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe
    )
    try:
        while chunk := await reader.read(CHUNK):
            yield chunk
    finally:
        with contextlib.suppress(Exception):
            transport.close()
