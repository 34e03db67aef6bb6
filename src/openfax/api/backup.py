"""``GET /v1/backup``: a consistent backup of the store and the spool, made by the running
node and streamed as it is written (``openfax.store.backup``), for an administrator
(far2MANAGE_CONFIG).

The snapshot of the database is made before the answer starts, so a failure there (no
``pg_dump``, the store unreachable) is an error answer; the tar then flows through a pipe
from a worker thread, its memory bounded by the pipe and the stream's buffer. A client that
goes away ends the writer (the pipe breaks) and releases the spool's deletions; so does
one that takes nothing for ``STALL_SECONDS`` (or whose answer never started to be read).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import select
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from openfax.api.rights import ManageConfig
from openfax.service import FaxService
from openfax.store.backup import CHUNK, BackupWriter

_logger = logging.getLogger(__name__)

STALL_SECONDS = 120.0
"""How long the writer waits for the client to take more before it gives the backup up
(releasing the spool's deletions it holds)."""


def backup_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(tags=["operations"])
    writing: set[asyncio.Task[None]] = set()

    @api.get("/backup", response_class=StreamingResponse)
    async def get_backup(who: ManageConfig) -> StreamingResponse:
        """A backup file (a tar: the database's snapshot, the spool's files, a manifest)."""
        writer, revision = await service.start_backup(who.name)
        read_fd, write_fd = os.pipe()
        # Not started, the generator still owns the file: collected, it closes the pipe.
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        task = asyncio.create_task(asyncio.to_thread(_write, writer, revision, write_fd))
        writing.add(task)
        task.add_done_callback(writing.discard)
        name = f"openfax-{service.config.node_id}.tar"
        return StreamingResponse(
            _chunks(pipe),
            media_type="application/x-tar",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return api


class _PipeOut(io.RawIOBase):
    """The pipe's writing end, given up with TimeoutError once the reader has taken nothing
    for ``STALL_SECONDS``."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._poll = select.poll()  # not select(): the daemon's descriptors pass 1024
        self._poll.register(fd, select.POLLOUT)

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: Any) -> int:
        if not self._poll.poll(STALL_SECONDS * 1000):
            raise TimeoutError(f"the client took nothing for {STALL_SECONDS:.0f} s")
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def _write(writer: BackupWriter, revision: str | None, fd: int) -> None:
    """In a worker thread: the tar into the pipe ``fd``; always closes both."""
    try:
        with io.BufferedWriter(_PipeOut(fd), CHUNK) as out:
            manifest = writer.write(out, revision)
        _logger.info("backup written: %d spool files", manifest.spool_files)
    except (BrokenPipeError, TimeoutError) as exc:
        _logger.warning("backup abandoned: the client went away (%s)", exc)
    except Exception:
        _logger.exception("backup failed while it was being sent")
    finally:
        writer.close()


async def _chunks(pipe: BinaryIO) -> AsyncIterator[bytes]:
    """What the writer puts into the pipe, read without blocking the event loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CHUNK, loop=loop)
    # The transport owns the pipe's end from here, and closes it.
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe
    )
    try:
        while chunk := await reader.read(CHUNK):
            yield chunk
    finally:
        with contextlib.suppress(Exception):
            transport.close()
