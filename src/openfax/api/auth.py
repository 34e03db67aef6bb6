"""Who is calling: the account of the peer's Unix user on the local socket, or of the
password or token given over TCP.

The server marks each connection on the Unix socket with its peer's credentials, read with
``SO_PEERCRED`` when the connection is made (see ``openfax.api.server``); a request cannot
forge that mark. Every other request needs ``Authorization: Basic`` (an account's name and
password) or ``Authorization: Bearer <token>`` (an account's API token, or one of the
administrator's tokens file), but for the monitoring paths (``/metrics``, ``/healthz``,
``/readyz``) from a client address or the local socket that ``[api] metrics_from`` allows,
which need no account at all. The check is an ASGI middleware in front of the whole
application, so it covers every route, the WebSocket and the OpenAPI document alike: it
fails closed. The accounts and their rights are ``openfax.service.accounts``'s; which
rights each route needs is ``openfax.api.rights``'s.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
import struct
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from openfax.api.errors import fax_error_response, unauthorized
from openfax.api.tokens import TokenFile
from openfax.errors import FaxError
from openfax.model import AccessRights2
from openfax.service import FaxService
from openfax.service.accounts import Principal, token_hash, unix_user_name
from openfax.service.config_file import metrics_networks

PEER = "openfax.peer"
"""The scope extension that carries a local connection's :class:`Peer`."""
MONITORING_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
"""What ``[api] metrics_from`` opens to its addresses without an account."""


@dataclass(frozen=True)
class Peer:
    """The Unix user at the other end of a local connection."""

    name: str
    uid: int


@dataclass(frozen=True)
class Caller:
    """Whom a request acts for, with the access rights it holds. ``name`` is its account's
    name: the actor an audit trail names; ``account_id`` its account's id: the owner of what
    it submits; ``local`` says it came over the Unix socket (``uid`` is then its Unix
    user's); ``token`` is the stored hash of the account's API token it signed in with, if
    it did (an open event stream ends when that token is revoked)."""

    name: str
    local: bool
    rights: AccessRights2
    account_id: int
    uid: int | None = None
    token: str | None = None

    def holds(self, right: AccessRights2) -> bool:
        """Whether the caller holds every bit of ``right``."""
        return right in self.rights


MONITOR = Caller("(metrics_from)", local=False, rights=AccessRights2.QUERY_CONFIG, account_id=0)
"""Who reads the monitoring paths from an address ``metrics_from`` allows: no account, and
only what those paths need."""


def peer_of(sock: socket.socket) -> Peer:
    """The Unix user at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return Peer(name=unix_user_name(uid), uid=uid)


class Authentication:
    """ASGI middleware: lets a request through with its :class:`Caller`, or answers 401
    (no valid credentials) or 403 (a Unix user without an account, when accounts are not
    made on connection)."""

    def __init__(self, app: ASGIApp, service: FaxService, tokens: TokenFile) -> None:
        self.app = app
        self.service = service
        self.tokens = tokens
        self.monitor_locally, self.monitor_networks = metrics_networks(
            service.config.api.metrics_from
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] in MONITORING_PATHS and self._monitor(scope):
            scope.setdefault("state", {})["caller"] = MONITOR
            await self.app(scope, receive, send)
            return
        try:
            found = await self._caller(scope)
        except FaxError as exc:  # a Unix user refused, a holder's name that cannot be one
            await _refuse(scope, receive, send, fax_error_response(exc))
            return
        if found is None:
            await _refuse(scope, receive, send, unauthorized(_refusal(scope)))
            return
        scope.setdefault("state", {})["caller"] = found
        await self.app(scope, receive, send)

    def _monitor(self, scope: Scope) -> bool:
        """Whether ``metrics_from`` allows the request's client (the local socket, or its
        address) to read the monitoring paths without an account."""
        if (scope.get("extensions") or {}).get(PEER) is not None:
            return self.monitor_locally
        client = scope.get("client")
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.monitor_networks)

    async def _caller(self, scope: Scope) -> Caller | None:
        accounts = self.service.accounts
        peer: Peer | None = (scope.get("extensions") or {}).get(PEER)
        if peer is not None:
            principal = await accounts.sign_in_local(peer.name, peer.uid)
            return Caller(principal.name, True, principal.rights, principal.id, peer.uid)
        scheme, credentials = _authorization(scope)
        found: Principal | None = None
        if scheme == "bearer":
            found = await accounts.sign_in_token(credentials)
            if found is not None:
                token = token_hash(credentials)
                return Caller(found.name, False, found.rights, found.id, token=token)
            holder = self.tokens.holder(credentials)
            found = None if holder is None else await accounts.sign_in_holder(holder)
        elif scheme == "basic":
            try:
                name, _, password = (
                    base64.b64decode(credentials, validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return None
            if name and password:
                client = scope.get("client")
                address = None if client is None else str(client[0])
                found = await accounts.sign_in_password(name, password, address)
        return None if found is None else Caller(found.name, False, found.rights, found.id)


def _authorization(scope: Scope) -> tuple[str, str]:
    """The scheme (lower case) and credentials of the Authorization header, or ``("", "")``."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if credentials.strip():
                return scheme.lower(), credentials.strip()
    return "", ""


def _refusal(scope: Scope) -> str:
    """Why a remote request was not let in, by the credentials it gave: none, an account's
    name and password that do not match (which of the two is not said), or a token."""
    scheme, _ = _authorization(scope)
    if scheme == "basic":
        return "wrong user name or password"
    if scheme == "bearer":
        return "the API token is not valid (unknown or revoked)"
    required = "an account's name and password (Basic) or an API token (Bearer) is required"
    if scheme:
        return f"the {scheme!r} authorization scheme is not known here: {required}"
    return f"no credentials given: {required}"


async def _refuse(scope: Scope, receive: Receive, send: Send, response: JSONResponse) -> None:
    if scope["type"] == "http":
        await response(scope, receive, send)
        return
    # A WebSocket handshake is refused with a plain HTTP answer where the server can send one.
    if "websocket.http.response" in (scope.get("extensions") or {}):
        headers: list[Any] = list(response.raw_headers)
        start = {"type": "websocket.http.response.start", "status": response.status_code}
        await send({**start, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": bytes(response.body)})
    else:
        await send({"type": "websocket.close", "code": 1008})
