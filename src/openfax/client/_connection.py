"""One connection to openfaxd: HTTP over the local Unix socket or TCP with a bearer token,
WebSockets for events, and errors raised as the classes the service raised."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from openfax import errors
from openfax.errors import FaxError
from openfax.paths import SOCKET_NAME, default_data_dir


class ServerUnavailableError(FaxError, ConnectionError):
    """The fax server could not be reached (not running, wrong address, connection lost)."""


class NotConnectedError(FaxError):
    """The FaxServer is not connected: call ``connect()`` first."""


def local_socket() -> Path:
    """``$OPENFAX_SOCKET``, else the socket in the default data folder."""
    if os.environ.get("OPENFAX_SOCKET"):
        return Path(os.environ["OPENFAX_SOCKET"])
    return default_data_dir(os.environ) / SOCKET_NAME


def error_from(response: httpx.Response) -> FaxError:
    """The exception an error response stands for: its ``class`` from ``openfax.errors`` with
    the message, HRESULT and attributes it carried; FaxError for an unknown class."""
    try:
        body = response.json()["error"]
        name, hresult, message = body["class"], int(body["hresult"]), str(body["message"])
        details = dict(body.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return FaxError(f"HTTP {response.status_code}: {response.text[:200]}")
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, FaxError)):
        cls, details = FaxError, {}
    # The classes' constructors differ; the message and attributes are already made.
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    for key, value in details.items():
        setattr(exc, key, value)
    if hresult != cls.hresult:
        exc.hresult = hresult
    return exc


class Connection:
    """The transport of a connected FaxServer; ``target`` is ``""`` (local) or ``host:port``."""

    def __init__(self, target: str, token: str | None, timeout: float) -> None:
        headers = {}
        self.socket: Path | None = None
        if target:
            url = target if "://" in target else f"http://{target}"
            token = token or os.environ.get("OPENFAX_TOKEN")
            if token:
                headers["Authorization"] = f"Bearer {token}"
            transport = httpx.HTTPTransport()
        else:
            self.socket = local_socket()
            url = "http://openfaxd"
            transport = httpx.HTTPTransport(uds=str(self.socket))
        self.base_url = url.rstrip("/")
        self.headers = headers
        self.http = httpx.Client(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request to ``/v1{path}``; the response, or the error it stands for."""
        try:
            response = self.http.request(method, "/v1" + path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        if response.is_error:
            raise error_from(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs).json()

    def patch(self, path: str, changes: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=changes).json()

    def download(self, path: str, destination: str | Path) -> None:
        """Stream ``/v1{path}`` into the file ``destination``."""
        try:
            with self.http.stream("GET", "/v1" + path) as response:
                if response.is_error:
                    response.read()
                    raise error_from(response)
                with open(destination, "wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> ServerUnavailableError:
        """Say where the server was looked for, and, for the local one, how to start it."""
        if self.socket is None:
            return ServerUnavailableError(f"cannot reach the fax server at {self.base_url}: {exc}")
        return ServerUnavailableError(
            f"cannot reach the local fax server at {self.socket} ({exc}); is openfaxd running? "
            "`make run` or `openfaxd` starts it, and OPENFAX_SOCKET points at another socket"
        )

    def _events_uri(self, mask: int, after: int | None) -> str:
        query = urlencode({"mask": mask} | ({} if after is None else {"after": after}))
        base = "ws://openfaxd" if self.socket else self.base_url.replace("http", "ws", 1)
        return f"{base}/v1/events?{query}"

    @contextmanager
    def events_socket(self, mask: int, after: int | None) -> Iterator[Any]:
        """A synchronous WebSocket to the event stream (``websockets.sync``)."""
        from websockets.sync.client import connect, unix_connect

        uri = self._events_uri(mask, after)
        try:
            if self.socket:
                ws = unix_connect(str(self.socket), uri, open_timeout=10)
            else:
                ws = connect(uri, additional_headers=self.headers, open_timeout=10)
        except Exception as exc:  # websockets raises several unrelated types here
            raise _handshake_error(exc) from exc
        with ws:
            yield ws

    @asynccontextmanager
    async def async_events_socket(self, mask: int, after: int | None) -> AsyncIterator[Any]:
        """An asyncio WebSocket to the event stream (``websockets.asyncio``)."""
        from websockets.asyncio.client import connect, unix_connect

        uri = self._events_uri(mask, after)
        try:
            if self.socket:
                ws = await unix_connect(str(self.socket), uri, open_timeout=10)
            else:
                ws = await connect(uri, additional_headers=self.headers, open_timeout=10)
        except Exception as exc:  # websockets raises several unrelated types here
            raise _handshake_error(exc) from exc
        async with ws:
            yield ws


def _handshake_error(exc: Exception) -> FaxError:
    """A refused WebSocket handshake as the error its HTTP response carried."""
    from websockets.exceptions import InvalidStatus

    if isinstance(exc, InvalidStatus):
        response = exc.response
        return error_from(httpx.Response(response.status_code, content=bytes(response.body or b"")))
    return ServerUnavailableError(f"cannot reach the fax server's events: {exc}")
