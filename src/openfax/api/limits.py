"""What one request may make the server read and hold, enforced before and while its body
arrives (``[api]`` in the configuration, ``docs/design/api.md`` "Limits").

:class:`RequestLimits` is an ASGI middleware behind authentication and in front of the
routes. It finds the route a request goes to and, before reading a byte of its body:

* checks the route's declared rights (``openfax.api.rights``), so a caller who may not
  use the route gets its 403 without the server reading what it sends;
* refuses a body whose ``Content-Length`` passes the route's limit (413).

It then counts the body's bytes as they arrive and stops at the limit: the route's parsing
fails there, whatever it had spooled is dropped with it, and the client gets 413. Every
refusal sent before the body was read closes the connection (``Connection: close``), so
the rest of the body is never read either.

An upload (a request to a route that takes files) takes one of ``max_concurrent_uploads``
slots once its body has arrived, and holds it until it is answered: its parsing and
rendering, what costs memory and CPU, are capped. It waits at most
``upload_wait_seconds`` for one, then is answered 503 with ``Retry-After``. The slot is
not taken earlier so that a client sending slowly holds none: receiving costs a connection
(capped by ``openfax.api.server``) and a spooled file.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from fastapi import FastAPI, params
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openfax.api.errors import fax_error_response
from openfax.api.rights import Requires, declared, walk_routes
from openfax.errors import FaxError, RequestTooLargeError, ServerBusyError
from openfax.service.config_file import ApiConfig


@dataclass(frozen=True)
class LimitedRoute:
    """One route as the limits see it: where it is, what it needs, what it may be sent."""

    methods: frozenset[str]
    path: re.Pattern[str]
    rights: tuple[Requires, ...]
    upload: bool


class RequestLimits:
    """ASGI middleware: the limits of the module's docstring for every HTTP request to
    ``routes`` (:func:`limited_routes`)."""

    def __init__(self, app: ASGIApp, routes: list[LimitedRoute], config: ApiConfig) -> None:
        self.app = app
        self.routes = routes
        self.upload_bytes = config.max_upload_mb * 1024 * 1024
        self.json_bytes = config.max_json_kb * 1024
        self.wait_seconds = config.upload_wait_seconds
        self.uploads_max = config.max_concurrent_uploads
        self.uploads = asyncio.Semaphore(config.max_concurrent_uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        upload = route is not None and route.upload
        limit = self.upload_bytes if upload else self.json_bytes
        try:
            for requirement in () if route is None else route.rights:
                requirement(HTTPConnection(scope))
            length = _content_length(scope)
            if length is not None and length > limit:
                raise _too_large(limit, upload)
        except FaxError as exc:
            await _refuse(scope, receive, send, fax_error_response(exc))
            return
        exchange = _Exchange(self, limit, upload)
        try:
            await exchange.run(scope, receive, send)
        finally:
            if exchange.slot:
                self.uploads.release()

    async def take_slot(self) -> None:
        """One of the upload slots, or ServerBusyError after ``upload_wait_seconds``."""
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self.uploads.acquire()
        except TimeoutError:
            raise ServerBusyError(
                f"{self.uploads_max} uploads are being processed, the most this server takes "
                "at once (api.max_concurrent_uploads); try again shortly",
                retry_after=max(1, round(self.wait_seconds)),
            ) from None

    def _route(self, scope: Scope) -> LimitedRoute | None:
        path: str = scope["path"]
        method: str = scope["method"]
        for route in self.routes:
            if method in route.methods and route.path.match(path):
                return route
        return None


def limited_routes(app: FastAPI) -> list[LimitedRoute]:
    """Every API route of ``app`` with its full path, its declared rights and whether it
    takes files."""
    found = []
    for path, route, _inherited in walk_routes(app.routes, "", inherited=False):
        if isinstance(route, APIRoute):
            upload = any(
                isinstance(field.field_info, params.File) for field in route.dependant.body_params
            )
            found.append(
                LimitedRoute(
                    methods=frozenset(route.methods or ()),
                    path=compile_path(path)[0],
                    rights=tuple(declared(route.dependant)),
                    upload=upload,
                )
            )
    return found


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int, upload: bool) -> RequestTooLargeError:
    what, key = ("an upload", "api.max_upload_mb") if upload else ("a request", "api.max_json_kb")
    return RequestTooLargeError(f"{what} may have at most {limit:,} bytes here ({key})", limit)


class _Refused(Exception):
    """Raised into the route when its request is refused while it reads the body."""


class _Exchange:
    """One request run through the route with its body counted as it arrives. Past the
    limit, or with no upload slot free when an upload's body is complete, the route's read
    fails, what the route answers is dropped, and the refusal is sent instead."""

    def __init__(self, limits: RequestLimits, limit: int, upload: bool) -> None:
        self.limits = limits
        self.limit = limit
        self.upload = upload
        self.received = 0
        self.refusal: FaxError | None = None
        self.started = False
        self.slot = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.refusal = _too_large(self.limit, self.upload)
                    raise _Refused
                if self.upload and not message.get("more_body", False):
                    try:
                        await self.limits.take_slot()
                    except ServerBusyError as exc:
                        self.refusal = exc
                        raise _Refused from None
                    self.slot = True
            return message

        async def guarded(message: Message) -> None:
            if self.refusal is not None:
                return
            self.started = self.started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.limits.app(scope, counted, guarded)
        except Exception:
            if self.refusal is None:
                raise
        if self.refusal is not None and not self.started:
            await _refuse(scope, receive, send, fax_error_response(self.refusal))


async def _refuse(scope: Scope, receive: Receive, send: Send, response: JSONResponse) -> None:
    """Answer with ``response`` and close the connection: the body is left unread."""
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
