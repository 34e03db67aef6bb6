"""The virtual modem's pty and bridge, driven by a scripted DTE in the test process.

The DTE here is the test itself holding the pty's slave side: it proves ringing, the
errors for a DTE that never answers or goes away, and the deadline, in a second or two of
wall time (the line runs at many times real time, which a scripted DTE tolerates).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from openfax.engine import AudioSession, Role
from openfax.errors import ModemError
from openfax.virtual_modem import ModemBridge, PtyLine

FAST = 20.0


def open_dte(path: Path) -> int:
    """Open the modem's port the way a fax program does, non-blocking."""
    return os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)


async def read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    """Read what the modem says until ``wanted`` has appeared, within ``seconds``."""
    seen = b""
    async with asyncio.timeout(seconds):
        while wanted not in seen:
            try:
                seen += os.read(fd, 1024)
            except BlockingIOError:
                await asyncio.sleep(0.005)
    return seen


def test_pty_line_links_its_device_and_removes_the_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyFAX0"
    with PtyLine(link) as line:
        assert link.resolve() == line.device.resolve()
        assert line.path == link
    assert not link.exists()
    assert line.closed


def test_pty_line_knows_whether_a_dte_has_the_port_open(tmp_path: Path) -> None:
    with PtyLine(tmp_path / "ttyFAX0") as line:
        line.write(b"lost\r\n")
        assert line.read(100) == b""
        assert not line.dte_attached
        fd = open_dte(line.path)
        try:
            os.write(fd, b"AT\r")
            assert line.read(100) == b"AT\r"
            assert line.dte_attached
            line.write(b"OK\r\n")
            assert os.read(fd, 100) == b"OK\r\n", "nothing written while detached is kept"
        finally:
            os.close(fd)
        assert line.read(100) == b""
        assert not line.dte_attached


def test_a_dte_that_never_answers_hears_rings_then_the_call_fails(
    tmp_path: Path, make_tiff: Callable[..., Path]
) -> None:
    session = AudioSession(Role.CALL, send_file=make_tiff(pages=1))

    async def scenario() -> bytes:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            fd = open_dte(line.path)
            try:
                bridge = ModemBridge(line, session, speed=FAST, max_rings=3)
                run = asyncio.create_task(bridge.run(timeout=10))
                os.write(fd, b"AT+FCLASS=1\r")
                heard = await read_until(fd, b"RING", 5)
                with pytest.raises(ModemError, match="did not answer after 3 rings"):
                    await run
                return heard + os.read(fd, 4096)
            finally:
                os.close(fd)

    heard = asyncio.run(scenario())
    assert heard.count(b"\r\nRING\r\n") == 3
    assert session.result is not None and not session.result.ok, "the session was closed"


def test_a_dte_closing_the_port_mid_call_ends_it_with_an_error(tmp_path: Path) -> None:
    session = AudioSession(Role.ANSWER, receive_file=tmp_path / "received.tif")

    async def scenario() -> None:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            bridge = ModemBridge(line, session, speed=FAST)
            run = asyncio.create_task(bridge.run(timeout=10))
            fd = open_dte(line.path)
            try:
                os.write(fd, b"AT+FCLASS=1\rATD5551234\r")
                await read_until(fd, b"CONNECT", 5)
            finally:
                os.close(fd)
            with pytest.raises(ModemError, match=r"closed .* with the call up"):
                await run

    asyncio.run(scenario())
    assert session.result is not None and not session.result.ok


def test_the_bridge_gives_up_at_its_deadline_and_frees_the_session(tmp_path: Path) -> None:
    session = AudioSession(Role.ANSWER, receive_file=tmp_path / "received.tif")

    async def scenario() -> None:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            bridge = ModemBridge(line, session, speed=FAST)
            with pytest.raises(ModemError, match=r"did not finish within 0\.3 s"):
                await bridge.run(timeout=0.3)
            assert bridge.modem.closed

    asyncio.run(scenario())
    assert session.done
