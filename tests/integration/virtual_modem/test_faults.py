"""The fault-injecting modem over real ptys: a scripted program on its port, one of a
virtual modem pair's ports behind it, and a second scripted program on the pair's other
port where a call needs one. Each fault is turned on by the test and seen by the program
as a real modem's would be."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from openfax.virtual_modem import FaultyModem, ModemPair
from tests.dte import dte_port, read_until
from tests.integration.virtual_modem.test_pair import FAST, SAY, command
from tests.waiting import until

DLE_ETX = b"\x10\x03"
FRAME = bytes([0xFF, 0x13, 0x80, 0x00, 0xEE, 0xF8, 0x80, 0x80, 0x91, 0x80, 0x80, 0x80, 0x18])
"""A DIS frame (address, final control, FCF and its bits), sent by the answering program."""


@asynccontextmanager
async def faulty_pair(tmp_path: Path) -> AsyncIterator[tuple[FaultyModem, ModemPair]]:
    """A pair, and a faulty modem at ``tmp_path/"ttyACM0"`` in front of its port A."""
    async with (
        ModemPair(tmp_path / "a", tmp_path / "b", speed=FAST) as pair,
        FaultyModem(pair.paths[0], tmp_path / "ttyACM0") as faulty,
    ):
        yield faulty, pair


async def frame_from_b(a: int, b: int, until: bytes) -> bytes:
    """A (behind the faulty modem) dials B, B answers and sends one final HDLC frame: what
    A's program receives, up to ``until``."""
    await command(a, b"AT+FCLASS=1")
    await command(b, b"AT+FCLASS=1")
    os.write(a, b"ATD1002\r")
    await read_until(b, b"RING", SAY)
    await command(b, b"ATA", b"CONNECT")
    await read_until(a, b"CONNECT", SAY)
    os.write(b, FRAME + DLE_ETX)
    await read_until(b, b"OK", SAY)
    return await read_until(a, until, SAY)


def test_an_error_to_a_command_then_the_modem_answers_it_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with faulty_pair(tmp_path) as (faulty, _):
            with dte_port(faulty.link) as a:
                await command(a, b"ATE0")
                faulty.faults.error_on(b"ATI3", times=1)
                assert await command(a, b"ATI3", b"ERROR") == b"\r\nERROR\r\n"
                assert b"soft-switch.org" in await command(a, b"ATI3")

    asyncio.run(scenario())


def test_echo_slowness_silence_and_an_unsolicited_ring(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with faulty_pair(tmp_path) as (faulty, _):
            with dte_port(faulty.link) as a:
                await command(a, b"ATE0")
                faulty.faults.echo()
                assert await command(a, b"AT") == b"AT\r\r\nOK\r\n"
                faulty.faults.echo(False)
                faulty.faults.slow(0.3)
                assert await command(a, b"AT") == b"\r\nOK\r\n"
                faulty.faults.slow(0)
                await command(a, b"AT+FCLASS=1")
                faulty.faults.stop_answering()
                os.write(a, b"AT+FCLASS=0\r")
                await until(lambda: faulty.faults.ignored >= 12, "the command ignored", SAY)
                faulty.faults.resume()
                said = await command(a, b"AT+FCLASS?")
                assert said.split() == [b"1", b"OK"], "the command ignored did not reach it"
                faulty.unsolicited(b"RING", within=0.5)
                assert await read_until(a, b"RING", SAY) == b"\r\nRING\r\n"

    asyncio.run(scenario())


def test_a_lost_dle_etx_and_no_carrier_mid_frame(tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, bytes]:
        async with faulty_pair(tmp_path) as (faulty, pair):
            with dte_port(faulty.link) as a, dte_port(pair.paths[1]) as b:
                await command(a, b"ATE0")
                await command(b, b"ATE0")
                faulty.faults.drop_dle_etx()
                lost = await frame_from_b(a, b, b"OK\r\n")
                await command(a, b"ATH")
                await until(lambda: pair.idle, "the first call to end", SAY)
                faulty.faults.no_carrier_mid_data(after=4)
                cut = await frame_from_b(a, b, b"NO CARRIER\r\n")
                after = await command(a, b"AT")
            return lost, cut + after

    lost, cut = asyncio.run(scenario())
    assert DLE_ETX not in lost
    assert lost.startswith(FRAME[:4])
    assert lost.endswith(b"\r\nOK\r\n")
    assert cut == FRAME[:4] + DLE_ETX + b"\r\nNO CARRIER\r\n\r\nOK\r\n", (
        "the modem's own end of the frame and its result code are swallowed"
    )


def test_a_modem_that_disappears_fails_the_program_and_comes_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with faulty_pair(tmp_path) as (faulty, _):
            with dte_port(faulty.link) as a:
                await command(a, b"AT+FCLASS=1")
                faulty.disappear()
                assert not faulty.link.exists()
                assert os.read(a, 100) == b"", "end of file"
                with pytest.raises(OSError, match="Input/output error") as raised:
                    os.write(a, b"AT\r")
                assert raised.value.errno == errno.EIO
            faulty.reappear()
            await until(faulty.link.exists, "the modem's link back", SAY)
            with dte_port(faulty.link) as a:
                said = await command(a, b"AT+FCLASS?")
                assert said.split()[-2:] == [b"1", b"OK"], "the modem behind kept its class"

    asyncio.run(scenario())
