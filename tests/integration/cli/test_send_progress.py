"""``openfax send --wait`` shows the page going out: bytes of the current page and
the negotiated speed, so a one-page fax does not sit at 0/1 until it is done; nothing when
stderr is not a terminal. Against a real daemon whose loopback lines run at twice real
time, so that a page takes seconds, as on a real line."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from collections.abc import Iterator

import pytest

from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import OPENFAX, SAMPLES
from tests.integration.cli.test_fax_commands import openfax

PAGE_BYTES = re.compile(rb"page 1/1\s+(\d+\.\d)/(\d+\.\d) kB\s+14400 bit/s")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd"), loopback={"pace": 2.0}) as started:
        yield started


def test_the_page_fills_up_with_its_bytes_and_speed_on_a_terminal(daemon: Daemon) -> None:
    screen, terminal = pty.openpty()
    env = {**os.environ, "OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": "120"}
    env.pop("OPENFAX_TOKEN", None)
    command = [str(OPENFAX), "send", str(SAMPLES / "chart.png"), "--to", "1002", "--wait"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal, env=env) as sender:
        os.close(terminal)
        drawn = bytearray()
        while chunk := _read(screen):
            drawn += chunk
        assert sender.wait(timeout=120) == 0, drawn.decode(errors="replace")
        assert sender.stdout is not None
        assert b"COMPLETED" in sender.stdout.read()
    os.close(screen)
    shown = {(float(sent), float(size)) for sent, size in PAGE_BYTES.findall(bytes(drawn))}
    within = {sent for sent, size in shown if 0 < sent < size}
    assert len(within) >= 2, f"the page never filled up: {shown}"
    assert b"1/1 pages" in drawn


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(daemon: Daemon) -> None:
    sent = openfax(daemon, "send", SAMPLES / "chart.png", "--to", "1002", "--wait", "--json")
    assert sent.returncode == 0
    assert sent.stderr == ""
    (job,) = json.loads(sent.stdout)
    assert job["status"] == "COMPLETED"


def _read(fd: int) -> bytes:
    """What the program drew next; empty once it has closed the terminal."""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the other end is closed
        return b""
