"""A fax program's side of a (virtual) modem's port, scripted by a test: open the port, write
AT commands, read what the modem says until an expected answer has come."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def open_dte(path: Path) -> int:
    """Open the modem's port the way a fax program does, non-blocking."""
    return os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)


@contextmanager
def dte_port(path: Path) -> Iterator[int]:
    """The modem's port, open for the ``with`` block: one fax program's turn on it."""
    fd = open_dte(path)
    try:
        yield fd
    finally:
        os.close(fd)


async def read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    """Read what the modem says until ``wanted`` has appeared, within ``seconds``: each read
    when the port is readable. A time-out fails naming what was wanted and what came."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    seen = b""
    try:
        async with asyncio.timeout(seconds):
            while wanted not in seen:
                await readable.wait()
                readable.clear()
                with suppress(BlockingIOError):
                    seen += os.read(fd, 1024)
    except TimeoutError as exc:
        message = f"waited {seconds:g} s for {wanted!r}; the modem said {seen!r}"
        raise AssertionError(message) from exc
    finally:
        loop.remove_reader(fd)
    return seen
