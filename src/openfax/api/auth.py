"""Who is calling: the peer's Unix user on the local socket, a token's holder over TCP.

The server marks each connection on the Unix socket with its peer's credentials, read with
``SO_PEERCRED`` when the connection is made (see ``openfax.api.server``); a request cannot
forge that mark. Every other request needs ``Authorization: Bearer <token>``. The check is
an ASGI middleware in front of the whole application, so it covers every route, the
WebSocket and the OpenAPI document alike: it fails closed. Which rights each route needs
is ``openfax.api.rights``'s business.
"""

from __future__ import annotations

import os
import pwd
import socket
import struct
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from openfax.api.errors import unauthorized
from openfax.api.tokens import TokenFile
from openfax.model import ALL_RIGHTS, DEFAULT_RIGHTS, AccessRights2

PEER = "openfax.peer"
"""The scope extension that carries a local connection's :class:`Caller`."""


@dataclass(frozen=True)
class Caller:
    """Whom a request acts for: a Unix user (``local``) or the holder of a token, with the
    access rights it holds. ``name`` is its account's name: the owner of what it submits,
    and the actor an audit trail names."""

    name: str
    local: bool
    rights: AccessRights2
    uid: int | None = None

    def holds(self, right: AccessRights2) -> bool:
        """Whether the caller holds every bit of ``right``."""
        return right in self.rights


def peer_caller(sock: socket.socket) -> Caller:
    """The Unix user at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return Caller(name=name, local=True, rights=_local_rights(uid), uid=uid)


def _local_rights(uid: int) -> AccessRights2:
    """Root and the user running the service administer it; other users hold an account's
    default rights."""
    return ALL_RIGHTS if uid in (0, os.getuid()) else DEFAULT_RIGHTS


class Authentication:
    """ASGI middleware: lets a request through with its :class:`Caller`, or answers 401."""

    def __init__(self, app: ASGIApp, tokens: TokenFile) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found = (scope.get("extensions") or {}).get(PEER) or self._bearer(scope)
        if found is None:
            await _refuse(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = found
        await self.app(scope, receive, send)

    def _bearer(self, scope: Scope) -> Caller | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    holder = self.tokens.holder(token.strip())
                    if holder is None:
                        return None
                    return Caller(name=holder, local=False, rights=ALL_RIGHTS)
        return None


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    response = unauthorized()
    if scope["type"] == "http":
        await response(scope, receive, send)
        return
    # A WebSocket handshake is refused with a plain HTTP 401 where the server can send one.
    if "websocket.http.response" in (scope.get("extensions") or {}):
        headers: list[Any] = list(response.raw_headers)
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": bytes(response.body)})
    else:
        await send({"type": "websocket.close", "code": 1008})
