"""The virtual modem's pty and bridge, driven by a scripted DTE in the test process.

The DTE here is the test itself holding the pty's slave side: it proves ringing, the
errors for a DTE that never answers or goes away during a call, a port handed from one
program to another while no call is up, and the deadline, in a second or two of wall time
(the line runs at many times real time, which a scripted DTE tolerates).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest

from openfax.engine import AudioSession, Role
from openfax.errors import ModemError
from openfax.virtual_modem import ModemBridge, PtyLine
from openfax.virtual_modem.pty_line import MAX_PENDING
from tests.dte import dte_port, open_dte, read_until
from tests.waiting import until

FAST = 20.0
HANDOVER_GAP = 0.04
"""How long HylaFAX leaves the port closed when faxgetty hands it to faxsend."""


async def hand_over(line: PtyLine) -> None:
    """Between two programs' turns on the port: once the bridge has seen it closed, leave it
    closed as long as HylaFAX does."""
    await until(lambda: not line.dte_attached, "the bridge sees the port closed", 5, poll=0.001)
    await asyncio.sleep(HANDOVER_GAP)  # the closed port under test, not a wait


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


def test_pty_line_keeps_at_most_max_pending_bytes_for_a_dte_that_does_not_read(
    tmp_path: Path,
) -> None:
    with PtyLine(tmp_path / "ttyFAX0") as line, dte_port(line.path) as fd:
        line.read(100)
        line.write(bytes(100 * 1024))
        assert line.pending <= MAX_PENDING
        assert line.dropped == 100 * 1024 - MAX_PENDING
        kept = bytearray()
        for _ in range(1000):  # the DTE reads; each read makes room for more of what was kept
            with suppress(BlockingIOError):
                kept += os.read(fd, 65536)
            line.flush()
            if len(kept) >= MAX_PENDING and not line.pending:
                break
        assert len(kept) == MAX_PENDING, "what was kept arrives whole"


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
    assert session.result is not None, "the session was closed"
    assert not session.result.ok, "the session was closed"


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
    assert session.result is not None
    assert not session.result.ok


def test_a_port_closed_and_reopened_while_idle_keeps_the_modem(tmp_path: Path) -> None:
    session = AudioSession(Role.ANSWER, receive_file=tmp_path / "received.tif")

    async def scenario() -> bytes:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            bridge = ModemBridge(line, session, speed=FAST)
            run = asyncio.create_task(bridge.run(timeout=10))
            for _ in range(3):
                with dte_port(line.path) as fd:
                    os.write(fd, b"AT+FCLASS=1\r")
                    await read_until(fd, b"OK", 5)
                await hand_over(line)
                assert not run.done(), "the bridge should still serve the port"
            with dte_port(line.path) as fd:
                os.write(fd, b"AT+FCLASS?\r")
                said = await read_until(fd, b"OK", 5)
                os.write(fd, b"ATD5551234\r")
                await read_until(fd, b"CONNECT", 5)
            with pytest.raises(ModemError, match=r"closed .* with the call up"):
                await run
            return said

    said = asyncio.run(scenario())
    assert said.split()[-2:] == [b"1", b"OK"], "the modem kept its class through the hand-overs"
    assert session.result is not None, "closing in a call ends it"
    assert not session.result.ok, "closing in a call ends it"


def test_a_port_closed_and_reopened_while_ringing_rings_on_and_can_answer(
    tmp_path: Path, make_tiff: Callable[..., Path]
) -> None:
    session = AudioSession(Role.CALL, send_file=make_tiff(pages=1))

    async def scenario() -> None:
        with PtyLine(tmp_path / "ttyFAX0") as line:
            bridge = ModemBridge(line, session, speed=FAST, max_rings=5)
            run = asyncio.create_task(bridge.run(timeout=10))
            with dte_port(line.path) as fd:
                os.write(fd, b"AT+FCLASS=1\r")
                await read_until(fd, b"RING", 5)
            await hand_over(line)
            with dte_port(line.path) as fd:
                await read_until(fd, b"RING", 5)
                os.write(fd, b"ATA\r")
                await read_until(fd, b"CONNECT", 5)
            with pytest.raises(ModemError, match=r"closed .* with the call up"):
                await run

    asyncio.run(scenario())
    assert session.result is not None
    assert not session.result.ok


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
