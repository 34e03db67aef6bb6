"""The virtual modem pair as programs meet it: two ports, AT commands, calls between them.

Each test scripts both programs (the DTEs) itself over the ptys: a call rings the other
modem with the caller's number, connects on ATA, and a hang-up, a closed port, a busy modem
or one left ringing end it as on a phone line. ``openfax virtual-modems`` is run as a user
runs it, a process stopped by a signal. The line runs at ``FAST`` x real time where only
scripted DTEs are on it (they do not mind), at real time under the command.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from openfax.virtual_modem import ModemPair
from openfax.virtual_modem.pty_line import MAX_PENDING
from tests.dte import dte_port, open_dte, read_until
from tests.waiting import until, wait_until

OPENFAX = Path(sys.executable).with_name("openfax")
FAST = 4.0
SAY = 20.0
"""Seconds a scripted DTE waits for an answer (a CONNECT takes a few line seconds)."""


async def command(fd: int, line: bytes, wanted: bytes = b"OK") -> bytes:
    """Send one AT command line and read until ``wanted``."""
    os.write(fd, line + b"\r")
    return await read_until(fd, wanted, SAY)


async def call_and_answer(a: int, b: int) -> bytes:
    """A dials B, B answers: both hear CONNECT. Returns what B saw before answering."""
    await command(b, b"AT+FCLASS=1")
    await command(b, b"AT+VCID=1")
    await command(a, b"AT+FCLASS=1")
    os.write(a, b"ATD5551234\r")
    rang = await read_until(b, b"RING", SAY)
    await command(b, b"ATA", b"CONNECT")
    await read_until(a, b"CONNECT", SAY)
    return rang


async def hang_up_receiving(fd: int) -> None:
    """Hang up a modem waiting for frames: any character aborts the wait, then ATH."""
    os.write(fd, b"\r")
    await read_until(fd, b"OK", SAY)
    await command(fd, b"ATH")


def test_a_call_rings_with_caller_id_connects_and_a_hang_up_gives_no_carrier(
    tmp_path: Path,
) -> None:
    async def scenario() -> ModemPair:
        async with ModemPair(tmp_path / "a", tmp_path / "b", speed=FAST) as pair:
            with dte_port(tmp_path / "a") as a, dte_port(tmp_path / "b") as b:
                rang = await call_and_answer(a, b)
                assert b"\r\nNMBR=1001\r\n" in rang
                assert rang.index(b"NMBR=1001") < rang.index(b"RING")
                await hang_up_receiving(a)
                await read_until(b, b"NO CARRIER", SAY)
                # The line is free again: B calls A this time.
                await command(a, b"AT+VCID=1")
                os.write(b, b"ATD1001\r")
                assert b"NMBR=1002" in await read_until(a, b"RING", SAY)
            return pair

    pair = asyncio.run(scenario())
    first, second = pair.calls
    assert (first.caller, first.callee, first.dialled) == ("A", "B", "5551234")
    assert first.answered
    assert first.rings == 1
    assert first.ended == "hang-up by A"
    assert (second.caller, second.callee, second.dialled) == ("B", "A", "1001")
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()


def test_a_program_closing_its_port_in_a_call_hangs_up_and_can_come_back(
    tmp_path: Path,
) -> None:
    async def scenario() -> ModemPair:
        async with ModemPair(tmp_path / "a", tmp_path / "b", speed=FAST) as pair:
            with dte_port(tmp_path / "a") as a:
                b = open_dte(tmp_path / "b")
                try:
                    await call_and_answer(a, b)
                finally:
                    os.close(b)
                await read_until(a, b"NO CARRIER", SAY)
                with dte_port(tmp_path / "b") as b:
                    await command(b, b"AT")
                    os.write(a, b"ATD1002\r")
                    await read_until(b, b"RING", SAY)
            await until(lambda: pair.idle, "the call to end with A's port closed", SAY)
            return pair

    pair = asyncio.run(scenario())
    assert pair.calls[0].ended == "closed by B"
    assert pair.calls[1].ended == "closed by A", "A closed its port while B was ringing"


def test_a_dropped_line_gives_both_programs_no_carrier(tmp_path: Path) -> None:
    async def scenario() -> ModemPair:
        async with ModemPair(tmp_path / "a", tmp_path / "b", speed=FAST) as pair:
            with dte_port(tmp_path / "a") as a, dte_port(tmp_path / "b") as b:
                await call_and_answer(a, b)
                pair.drop_call()
                await read_until(a, b"NO CARRIER", SAY)
                await read_until(b, b"NO CARRIER", SAY)
                os.write(a, b"ATD1002\r")
                await read_until(b, b"RING", SAY)
            return pair

    pair = asyncio.run(scenario())
    assert pair.calls[0].ended == "line dropped"
    assert len(pair.calls) == 2, "the line is free again"


def test_a_modem_off_hook_is_busy_and_one_left_ringing_gives_no_answer(tmp_path: Path) -> None:
    async def scenario() -> ModemPair:
        pair = ModemPair(
            tmp_path / "a", tmp_path / "b", speed=FAST, ring_interval=1.0, answer_timeout=3.5
        )
        async with pair:
            with dte_port(tmp_path / "a") as a, dte_port(tmp_path / "b") as b:
                await command(b, b"ATH1")
                await command(a, b"ATD1002", b"BUSY")
                await command(b, b"ATH0")
                said = await command(a, b"ATD1002", b"NO ANSWER")
                assert b"CONNECT" not in said
                heard = os.read(b, 4096)
            assert heard.count(b"RING") >= 3, heard
            return pair

    pair = asyncio.run(scenario())
    assert [call.ended for call in pair.calls] == ["no answer"]
    assert not pair.calls[0].answered


async def write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to a non-blocking port, waiting for room whenever the kernel is full."""
    loop = asyncio.get_running_loop()
    room = asyncio.Event()
    view = memoryview(data)
    loop.add_writer(fd, room.set)
    try:
        while view:
            room.clear()
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                await asyncio.wait_for(room.wait(), SAY)
    finally:
        loop.remove_writer(fd)


def test_a_program_that_writes_and_never_reads_does_not_grow_the_modems_memory(
    tmp_path: Path,
) -> None:
    flood = b"AT\r" * 100_000
    """300 KB of commands: 900 KB of echoes and OKs for a program that does not read."""

    async def scenario() -> ModemPair:
        async with ModemPair(tmp_path / "a", tmp_path / "b", speed=FAST) as pair:
            line = pair.ports[0].line
            with dte_port(tmp_path / "a") as a:
                await write_all(a, flood)
                await until(lambda: line.dropped > 0, "output dropped for the program", SAY)
                assert line.pending <= MAX_PENDING
                # The program catches up with what was kept; the modem still answers.
                await command(a, b"ATI3", b"soft-switch.org")
            return pair

    pair = asyncio.run(scenario())
    assert pair.calls == []


def test_the_pair_serves_a_thread_without_an_event_loop(tmp_path: Path) -> None:
    async def dial(a: int, b: int) -> None:
        os.write(a, b"ATD1002\r")
        await read_until(b, b"RING", SAY)

    pair = ModemPair(tmp_path / "a", tmp_path / "b", speed=FAST)
    with pair.in_thread(), dte_port(pair.paths[0]) as a, dte_port(pair.paths[1]) as b:
        asyncio.run(dial(a, b))
    assert pair.calls[0].rings >= 1
    assert not (tmp_path / "a").exists()


@contextmanager
def virtual_modems(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """``openfax virtual-modems --pair`` running, once it has printed both paths."""
    process = subprocess.Popen(
        [str(OPENFAX), "virtual-modems", "--pair", str(tmp_path / "a"), str(tmp_path / "b")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert lines == [
            f"modem A: {tmp_path / 'a'} (number 1001)\n",
            f"modem B: {tmp_path / 'b'} (number 1002)\n",
        ], process.stderr.read() if process.stderr else lines
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_command_links_two_modems_until_a_signal_removes_them(
    tmp_path: Path, signum: signal.Signals
) -> None:
    with virtual_modems(tmp_path) as process:
        for name in ("a", "b"):
            assert (tmp_path / name).resolve().parent == Path("/dev/pts")
        process.send_signal(signum)
        wait_until(lambda: process.poll() is not None, "openfax virtual-modems to stop", 30)
        assert process.returncode == 0
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()


def test_the_command_connects_two_programs_and_hangs_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        with dte_port(tmp_path / "a") as a, dte_port(tmp_path / "b") as b:
            rang = await call_and_answer(a, b)
            assert b"NMBR=1001" in rang
            await hang_up_receiving(a)
            await read_until(b, b"NO CARRIER", SAY)

    with virtual_modems(tmp_path) as process:
        asyncio.run(scenario())
        process.terminate()
        wait_until(lambda: process.poll() is not None, "openfax virtual-modems to stop", 30)
        assert process.returncode == 0


def test_the_command_prints_its_modems_as_json(tmp_path: Path) -> None:
    paths = [str(tmp_path / "a"), str(tmp_path / "b")]
    with subprocess.Popen(
        [str(OPENFAX), "virtual-modems", "--pair", *paths, "--numbers", "11", "22", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        printed = json.loads(process.stdout.readline())
        process.terminate()
        assert process.wait(30) == 0
    assert printed == {
        "modems": [
            {"name": "A", "path": paths[0], "number": "11"},
            {"name": "B", "path": paths[1], "number": "22"},
        ],
        "speed": 1.0,
    }


def test_the_command_refuses_a_path_that_exists(tmp_path: Path) -> None:
    (tmp_path / "b").write_text("in the way")
    done = subprocess.run(
        [str(OPENFAX), "virtual-modems", "--pair", str(tmp_path / "a"), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"cannot create the modem's device link {tmp_path / 'b'}" in done.stderr
    assert not (tmp_path / "a").exists(), "the first link goes when the second fails"
