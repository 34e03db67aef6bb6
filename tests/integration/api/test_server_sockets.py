"""What the API's listening sockets do to each connection they accept."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from openfax.api.server import _prepare_connection, serving
from openfax.errors import FaxError
from openfax.service.config_file import load_config
from openfax.service.service import FaxService


class _Recorder(asyncio.Protocol):
    app: Any = None

    def __init__(self, seen: asyncio.Future[int]) -> None:
        self.seen = seen

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _prepare_connection(self, transport)
        sock = transport.get_extra_info("socket")
        self.seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        transport.close()


def test_tcp_connections_send_without_nagle_delay() -> None:
    """asyncio leaves Nagle's algorithm on for sockets from ``socket.create_server``; then a
    kept-alive client waits about 40 ms for every response after the first."""

    async def accept_one() -> int:
        loop = asyncio.get_running_loop()
        seen: asyncio.Future[int] = loop.create_future()
        listener = socket.create_server(("127.0.0.1", 0))
        server = await loop.create_server(lambda: _Recorder(seen), sock=listener)
        async with server:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, 10)
            writer.close()
            return value

    assert asyncio.run(accept_one()) == 1


def test_an_error_in_the_served_block_comes_out_as_itself(tmp_path: Path) -> None:
    """The listeners run in a TaskGroup, which wraps what the block raises in an
    ExceptionGroup; ``serving`` hands the one error on as itself, so openfaxd reports a
    FaxError raised while it serves (announcing its shutdown) as it reports one at start."""

    config = tmp_path / "openfaxd.toml"
    config.write_text('[api]\nlisten = "127.0.0.1:0"\n')
    service = FaxService(load_config(config, data_dir=tmp_path / "data"))

    async def serve_and_fail() -> None:
        async with service, serving(service) as api:
            assert api.socket.exists()
            raise FaxError("raised while serving")

    with pytest.raises(FaxError, match="raised while serving"):
        asyncio.run(asyncio.wait_for(serve_and_fail(), 60))
    assert not service.config.api.socket.exists(), "the socket is removed all the same"
