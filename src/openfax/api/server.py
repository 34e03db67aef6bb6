"""Serving the API from inside ``openfaxd``: uvicorn servers on the event loop of the
service, listening on the local Unix socket and, if configured, a TCP address (over TLS
when ``[api] tls_certificate`` and ``tls_key`` are set).

Connections on the Unix socket are marked with their peer's credentials (``SO_PEERCRED``)
by the protocol classes below, the one place where the socket itself is at hand; the
authentication middleware trusts that mark and nothing a request says.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from asyncio.sslproto import SSLProtocol
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from openfax.api.app import create_app
from openfax.api.auth import PEER, Peer, peer_of
from openfax.api.tokens import TokenFile
from openfax.errors import ConfigError
from openfax.service import FaxService
from openfax.service.config import listen_address
from openfax.tls import server_context

SOCKET_MODE = 0o660
GRACE_SECONDS = 3.0
"""How long requests in flight may take to finish when the service stops."""
HANDSHAKE_SECONDS = 10
"""How long a TLS client may take over its handshake (asyncio's default is 60 s)."""
TLS_READ_BUFFER = 32 * 1024
"""Bytes read at a time from a TLS connection (asyncio's default is 256 KiB)."""


@dataclass(frozen=True)
class ApiAddresses:
    """Where the API listens: the Unix socket and the TCP address (None when off), which
    speaks HTTPS when ``tls``."""

    socket: Path
    tcp: tuple[str, int] | None
    tls: bool = False

    def __str__(self) -> str:
        scheme = "https" if self.tls else "http"
        tcp = "" if self.tcp is None else f" and {scheme}://{self.tcp[0]}:{self.tcp[1]}"
        return f"unix:{self.socket}{tcp}"


@asynccontextmanager
async def serving(service: FaxService) -> AsyncIterator[ApiAddresses]:
    """Serve the API of the running ``service`` until the block ends: one uvicorn server on
    the Unix socket and one on the TCP address, whose connections alone speak TLS when
    configured (a uvicorn server makes the same protocols for every socket it serves)."""
    config = service.config.api
    tls = None
    if config.tls_certificate is not None and config.tls_key is not None:
        tls = server_context(service.config.source, config.tls_certificate, config.tls_key)
    sockets = [_bind_unix(config.socket)]
    try:
        if config.listen:
            address = listen_address(config.listen)
            assert address is not None, "checked when the configuration was read"
            sockets.append(socket.create_server(address, family=_family(address[0])))
    except OSError as exc:
        sockets[0].close()
        config.socket.unlink(missing_ok=True)
        raise ConfigError(service.config.source, "api.listen", str(exc)) from None
    app = create_app(service, TokenFile(config.tokens_file))
    servers = [_server(app, None)] + [_server(app, tls) for _ in sockets[1:]]
    # ``serve()`` would take SIGTERM and SIGINT over; they belong to openfaxd, which stops
    # the servers by setting ``should_exit``.
    tasks = [
        asyncio.create_task(server._serve([sock]), name="api")
        for server, sock in zip(servers, sockets, strict=True)
    ]
    try:
        while not all(server.started for server in servers):
            for task in tasks:
                if task.done():
                    task.result()
                    raise RuntimeError("the API server stopped while starting")
            await asyncio.sleep(0.01)
        tcp = sockets[1].getsockname()[:2] if len(sockets) > 1 else None
        yield ApiAddresses(config.socket, tcp, tls is not None)
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)
        with suppress(FileNotFoundError):
            config.socket.unlink()


def _server(app: Any, tls: ssl.SSLContext | None) -> uvicorn.Server:
    """A uvicorn server of ``app`` with our protocols, speaking TLS with ``tls`` if given."""
    http = _HttpProtocol if tls is None else cast("type[asyncio.Protocol]", _tls_protocols(tls))
    return uvicorn.Server(
        uvicorn.Config(
            app,
            http=http,
            ws=_WebSocketProtocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=int(GRACE_SECONDS),
        )
    )


def _tls_protocols(context: ssl.SSLContext) -> Callable[..., asyncio.BaseProtocol]:
    """uvicorn's protocol factory of the TLS listener (uvicorn calls it with the keywords of
    its protocols' constructors at each accept): our HTTP protocol behind asyncio's TLS layer,
    made here rather than by asyncio so that the handshake's time and buffer are ours."""

    def protocol(**uvicorn_arguments: Any) -> asyncio.BaseProtocol:
        return _TlsProtocol(
            asyncio.get_running_loop(),
            _HttpProtocol(**uvicorn_arguments),
            context,
            None,  # type: ignore[arg-type]  # no waiter: the accept does not wait for TLS
            server_side=True,
            ssl_handshake_timeout=HANDSHAKE_SECONDS,
        )

    return protocol


class _TlsProtocol(SSLProtocol):
    """asyncio's TLS layer of one connection with a smaller read buffer: asyncio's own holds
    256 KiB from the accept on, so that a client that connects and says nothing costs about
    300 KiB (82 KiB with this); a TLS record is at most 16 KiB and a little."""

    max_size = TLS_READ_BUFFER


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind_unix(path: Path) -> socket.socket:
    """A listening Unix socket at ``path`` (mode 0660); a stale one left by a killed daemon is
    replaced, a live one means another daemon runs there."""
    if path.exists():
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()
            else:
                raise ConfigError(str(path), "api.socket", "another openfaxd is listening there")
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    os.chmod(path, SOCKET_MODE)
    sock.listen(128)
    return sock


async def _with_peer(app: Any, who: Peer, scope: Any, receive: Any, send: Any) -> None:
    extensions = {**(scope.get("extensions") or {}), PEER: who}
    await app({**scope, "extensions": extensions}, receive, send)


def _prepare_connection(protocol: Any, transport: asyncio.BaseTransport) -> None:
    """Bind the connection's app to its peer's user when it came in on a Unix socket; turn
    off Nagle's algorithm on TCP, which asyncio leaves on for sockets made by
    ``socket.create_server`` (their ``proto`` is 0), so that every response after the first
    on a kept-alive connection would wait for the peer's delayed ACK (about 40 ms)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    if sock.family == socket.AF_UNIX:
        protocol.app = partial(_with_peer, protocol.app, peer_of(sock))
    else:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _HttpProtocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _prepare_connection(self, transport)


class _WebSocketProtocol(WebSocketsSansIOProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        _prepare_connection(self, transport)
