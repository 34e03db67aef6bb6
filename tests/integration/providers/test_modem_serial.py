"""SerialPort on a real pty: raw mode, speed and flow control set by termios, bytes both
ways through the event loop (more than the port takes at once: told when it drained), DTR
dropped, and a port that vanishes reported, not raised."""

from __future__ import annotations

import asyncio
import termios
from pathlib import Path

import pytest

from openfax.errors import ModemError
from openfax.providers.modem.serial import SerialPort
from openfax.virtual_modem import PtyLine
from tests.waiting import until


def test_bytes_both_ways_and_the_port_vanishing(tmp_path: Path) -> None:
    async def main() -> None:
        with PtyLine(tmp_path / "port") as pty:
            received = bytearray()
            lost: list[str] = []
            drains: list[int] = []
            port = SerialPort.open(
                pty.path,
                speed=57600,
                flow_control="xonxoff",
                on_data=received.extend,
                on_lost=lost.append,
                on_drained=lambda: drains.append(port.pending),
            )
            try:
                iflag, oflag, cflag, lflag, ispeed, ospeed, _ = termios.tcgetattr(port.fileno())
                assert lflag & (termios.ECHO | termios.ICANON) == 0
                assert cflag & termios.CLOCAL
                assert oflag & termios.OPOST == 0
                assert iflag & termios.IXON
                assert ispeed == ospeed == termios.B57600
                big = b"AT\r" + bytes(range(256)) * 64  # more than a pty buffers at once
                port.write(big)
                got = bytearray()

                def drained() -> bool:
                    got.extend(pty.read(65536))
                    return len(got) >= len(big)

                await until(drained, "the bytes written", 30, poll=0.001)
                assert bytes(got) == big
                await until(lambda: drains, "the port drained", 30)
                assert drains == [0]  # once, when what had to wait had gone
                pty.write(b"\r\nOK\r\n")
                await until(lambda: bytes(received) == b"\r\nOK\r\n", "the answer", 30)
                await port.drop_dtr(0.01)  # a pty has no DTR: speed 0, then restored
                assert termios.tcgetattr(port.fileno())[5] == termios.B57600
                assert not lost
                pty.close()
                await until(lambda: lost, "the port reported gone", 30)
                assert str(tmp_path / "port") in lost[0]
                assert port.closed
                port.write(b"ATZ\r")  # no error once gone
            finally:
                port.close()

    asyncio.run(main())


def test_ports_that_cannot_be_opened(tmp_path: Path) -> None:
    async def main() -> None:
        with pytest.raises(ModemError, match=r"cannot open .*missing: No such file"):
            SerialPort.open(
                tmp_path / "missing",
                speed=115200,
                flow_control="rtscts",
                on_data=print,
                on_lost=print,
            )
        plain = tmp_path / "file"
        plain.write_text("not a tty")
        with pytest.raises(ModemError, match=r"cannot set up .*file"):
            SerialPort.open(plain, speed=115200, flow_control="none", on_data=print, on_lost=print)

    asyncio.run(main())
