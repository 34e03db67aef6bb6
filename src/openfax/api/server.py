"""Serving the API from inside ``openfaxd``: on the event loop of the service, one uvicorn
server on the local Unix socket and, if configured, another on a TCP address (over TLS
when ``[api] tls_certificate`` and ``tls_key`` are set).

Connections on the Unix socket are marked with their peer's credentials (``SO_PEERCRED``)
by the protocol classes below, the one place where the socket itself is at hand; the
authentication middleware trusts that mark and nothing a request says.

Each listener has its own server and :class:`ConnectionGuard`. On both, a connection must
send a request's headers within ``header_timeout_seconds`` and a body that stalls for
``idle_timeout_seconds`` closes it. On TCP the guard also caps the connections open, in
all and per client address, and closes one more at once, so that half-open connections
from the network cannot take the file descriptors and the event loop the Unix socket's
clients need. Its log lines about misbehaving clients are rate-limited
(``openfax.logfilter``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import resource
import socket
import ssl
import time
from asyncio.sslproto import SSLProtocol
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from openfax.api.app import create_app
from openfax.api.auth import PEER, Peer, peer_of
from openfax.api.tokens import TokenFile
from openfax.errors import ConfigError
from openfax.logfilter import limit_rate
from openfax.service import FaxService
from openfax.service.config_file import ApiConfig, listen_address
from openfax.tls import server_context

SOCKET_MODE = 0o660
GRACE_SECONDS = 3.0
"""How long requests in flight may take to finish when the service stops."""
HANDSHAKE_SECONDS = 10
"""How long a TLS client may take over its handshake (asyncio's default is 60 s)."""
TLS_READ_BUFFER = 32 * 1024
"""Bytes read at a time from a TLS connection (asyncio's default is 256 KiB)."""
SPARE_FILES = 1024
"""File descriptors kept free beside the TCP connections (database, spool, SIP, the Unix
socket's clients): the file limit is raised to make room, or the connection cap lowered."""
ROOM_AFTER_SECONDS = 1.0
"""How long a connection may wait for a request's headers before one more connection, at a
cap, may close it to take its place. A new connection is spared that long, or a flood of
them would close each other (and a well-behaved client's) before any sent a request."""
CLIENT_LOGGERS = ("asyncio", "uvicorn.error", __name__)
"""The loggers that speak of what clients do, rate-limited."""

_logger = logging.getLogger(__name__)


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
    local = _bind_unix(config.socket)
    remote = None
    try:
        if config.listen:
            address = listen_address(config.listen)
            assert address is not None, "checked when the configuration was read"
            remote = socket.create_server(address, family=_family(address[0]))
    except OSError as exc:
        local.close()
        config.socket.unlink(missing_ok=True)
        raise ConfigError(service.config.source, "api.listen", str(exc)) from None
    limit_rate(*CLIENT_LOGGERS)
    # Imported here: the console is built on openfax.api, whose package imports this module.
    from openfax.console.app import with_console

    app = with_console(create_app(service, TokenFile(config.tokens_file)), service)
    servers = [(_server(app, config, ConnectionGuard(config), None), local)]
    if remote is not None:
        cap = _room_for(config.max_connections)
        guard = ConnectionGuard(config, total=cap, per_client=config.max_connections_per_client)
        servers.append((_server(app, config, guard, tls), remote))
    # ``serve()`` would take SIGTERM and SIGINT over; they belong to openfaxd, which stops
    # the servers by setting ``should_exit``.
    # The listeners run as one group: one that fails stops the other, and the service with
    # them (the error cancels the body of ``serving`` and is raised from it).
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(server._serve([sock]), name="api") for server, sock in servers
            ]
            try:
                for (server, _), task in zip(servers, tasks, strict=True):
                    while not server.started:
                        if task.done():
                            raise RuntimeError("the API server stopped while starting")
                        await asyncio.sleep(0.01)
                tcp = None if remote is None else remote.getsockname()[:2]
                yield ApiAddresses(config.socket, tcp, tls is not None)
            finally:
                for server, _ in servers:
                    server.should_exit = True
    except BaseExceptionGroup as group:
        # The group wraps what the block or a listener raised; one error goes on as itself,
        # so openfaxd reports a FaxError from the block as it reports one from the start.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        with suppress(FileNotFoundError):
            config.socket.unlink()


class _Config(uvicorn.Config):
    """uvicorn's configuration with the listener's guard, which the protocols read."""

    def __init__(self, app: Any, guard: ConnectionGuard, **options: Any) -> None:
        super().__init__(app, **options)
        self.guard = guard


def _server(
    app: Any, config: ApiConfig, guard: ConnectionGuard, tls: ssl.SSLContext | None
) -> uvicorn.Server:
    """The uvicorn server of one listener, with our protocols under ``guard``, speaking TLS
    with ``tls`` if given."""
    http = _HttpProtocol if tls is None else cast("type[asyncio.Protocol]", _tls_protocols(tls))
    return uvicorn.Server(
        _Config(
            app,
            guard,
            http=http,
            ws=_WebSocketProtocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            timeout_keep_alive=max(1, math.ceil(config.keep_alive_seconds)),
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
    300 KiB (82 KiB with this); a TLS record is at most 16 KiB and a little. The connection
    is counted by its listener's guard from the accept on, its handshake included."""

    max_size = TLS_READ_BUFFER

    _counted: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        http = self._app_protocol
        assert isinstance(http, _HttpProtocol)
        if not http.config.guard.admit(transport):
            cast("asyncio.Transport", transport).abort()
            return
        http.admitted = True
        self._counted = transport
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        http = self._app_protocol
        if self._counted is not None and isinstance(http, _HttpProtocol):
            http.config.guard.release(self._counted)
        super().connection_lost(exc)


def _room_for(connections: int) -> int:
    """The TCP connection cap the file limit allows: the soft limit is raised (up to the hard
    one) to hold ``connections`` and ``SPARE_FILES``; what does not fit lowers the cap (to
    half the files at least)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return connections
    cap = min(connections, max(soft // 2, soft - SPARE_FILES))
    if cap < connections:
        _logger.warning(
            "api.max_connections lowered from %d to %d: the file limit (RLIMIT_NOFILE) is %d",
            connections,
            cap,
            soft,
        )
    return cap


class ConnectionGuard:
    """One listener's limits on its connections: timeouts for all, and caps on how many are
    open (``total``, ``per_client`` address) when given."""

    def __init__(
        self, config: ApiConfig, *, total: int | None = None, per_client: int | None = None
    ) -> None:
        self.header_timeout = config.header_timeout_seconds
        self.idle_timeout = config.idle_timeout_seconds
        self.total = total
        self.per_client = per_client
        self.open: dict[asyncio.BaseTransport, str] = {}
        self.by_client: Counter[str] = Counter()

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        """Count a new connection in, or say it is one too many (it is then not counted).

        At a cap, a connection that has sent no request (half-open, or idle between
        requests) is closed to make room: at the client's own cap, its oldest that has
        waited ``ROOM_AFTER_SECONDS``; at the total cap, the oldest of the client holding
        the most connections if it holds more than this one's would, else the oldest of
        anyone's that has waited that long. So a client with a request to make gets in
        while slow ones, from however many addresses, hold the rest."""
        if self.total is None:
            return True
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) else ""
        if (
            self.per_client is not None
            and self.by_client[client] >= self.per_client
            and not self._close_waiting(client, ROOM_AFTER_SECONDS)
        ):
            _logger.warning(
                "connection from %s closed: it has %d open, the most one client may",
                client,
                self.per_client,
            )
            return False
        if len(self.open) >= self.total and not self._make_room(client):
            _logger.warning(
                "connection from %s closed: %d open, the most allowed", client, self.total
            )
            return False
        self.open[transport] = client
        self.by_client[client] += 1
        return True

    def _make_room(self, client: str) -> bool:
        hog, held = self.by_client.most_common(1)[0]
        if held > self.by_client[client] + 1 and self._close_waiting(hog, 0.0):
            return True
        return self._close_waiting(None, ROOM_AFTER_SECONDS)

    def _close_waiting(self, client: str | None, waited: float) -> bool:
        """Close the oldest connection (of ``client``, or of anyone) that has waited
        ``waited`` seconds or more for a request; whether there was one."""
        now = time.monotonic()
        for transport, owner in self.open.items():
            protocol = transport.get_protocol()
            if isinstance(protocol, SSLProtocol):  # TLS: the HTTP protocol is behind it
                protocol = protocol._app_protocol
            if (
                (client is None or owner == client)
                and isinstance(protocol, _HttpProtocol)
                and now - protocol.awaiting_since() >= waited
            ):
                _logger.warning("connection from %s closed to make room: it sent no request", owner)
                self.release(transport)
                cast("asyncio.Transport", transport).abort()
                return True
        return False

    def release(self, transport: asyncio.BaseTransport) -> None:
        """Count a closed connection out (once, whichever protocol saw it close)."""
        client = self.open.pop(transport, None)
        if client is not None:
            self.by_client[client] -= 1
            if not self.by_client[client]:
                del self.by_client[client]


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
    """uvicorn's HTTP/1.1 protocol under its listener's :class:`ConnectionGuard`: a request's
    headers are due ``header_timeout`` after the connection opened or the last response
    ended; a body that stalls ``idle_timeout`` closes the connection."""

    config: _Config

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admitted = False
        """Whether the guard has counted the connection (at the accept, when TLS is under
        this protocol)."""
        self._idle_since = self._last_data = time.monotonic()
        self._head_due: asyncio.TimerHandle | None = None
        self._idle_check: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.admitted and not self.config.guard.admit(transport):
            transport.abort()
            return
        _prepare_connection(self, transport)
        self._last_data = time.monotonic()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self.config.guard.release(self.transport)
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last_data = time.monotonic()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self._head_due is not None:
            self._head_due.cancel()
            self._head_due = None
        if self.conn.their_state is h11.SEND_BODY and self._idle_check is None:
            self._idle_check = self.loop.call_later(self.config.guard.idle_timeout, self._idle)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()

    def awaiting_since(self) -> float:
        """Since when (``time.monotonic()``) the connection has been open with no request
        begun (none yet, or none since the last response), its TLS handshake included;
        infinity while one is served."""
        if self.transport is None:  # TLS: still shaking hands
            return self._idle_since
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return math.inf
        return self._idle_since

    def _await_head(self) -> None:
        self._idle_since = time.monotonic()
        if self._head_due is not None:
            self._head_due.cancel()
        self._head_due = self.loop.call_later(self.config.guard.header_timeout, self._head_late)

    def _head_late(self) -> None:
        self._head_due = None
        if self._ours() and self.conn.their_state is h11.IDLE:
            _logger.warning(
                "connection from %s closed: no request headers within %g s",
                _client(self.client),
                self.config.guard.header_timeout,
            )
            self.transport.close()

    def _idle(self) -> None:
        """Close the connection if its request's body has stalled; look again later if it
        has not (or the server is not reading it now)."""
        self._idle_check = None
        if not self._ours() or self.conn.their_state is not h11.SEND_BODY:
            return
        now = time.monotonic()
        if self.flow.read_paused:  # the server is not reading: the client waits for it
            self._last_data = now
        quiet = now - self._last_data
        if quiet >= self.config.guard.idle_timeout:
            _logger.warning(
                "connection from %s closed: its request body stalled for %g s",
                _client(self.client),
                self.config.guard.idle_timeout,
            )
            self.transport.close()
            return
        self._idle_check = self.loop.call_later(self.config.guard.idle_timeout - quiet, self._idle)

    def _ours(self) -> bool:
        """Whether this protocol still serves the connection (not upgraded, not closing)."""
        return self.transport.get_protocol() is self and not self.transport.is_closing()

    def _cancel_timers(self) -> None:
        for timer in (self._head_due, self._idle_check):
            if timer is not None:
                timer.cancel()


class _WebSocketProtocol(WebSocketsSansIOProtocol):
    config: _Config

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        _prepare_connection(self, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.config.guard.release(self.transport)
        super().connection_lost(exc)


def _client(address: tuple[str, int] | None) -> str:
    return "the local socket" if address is None else address[0]
