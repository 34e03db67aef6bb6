"""Access rights at the API's edge: every route names the right it needs, in one way.

A route takes its caller through one of the aliases below (``who: QueryConfig``); the
dependency behind it (:class:`Requires`) lets the request in only if the caller holds one
of the rights listed, else raises ``AccessDeniedError`` (403, E_ACCESSDENIED). A route that
hands out one account's faxes takes the weaker "any submit right" and narrows what it shows
with :func:`owner_filter` and :func:`check_owner` ("own versus all", as FAXCOMEX).

``create_app`` refuses to build an application with a route that declares no right
(:func:`undeclared_routes`), so a route cannot be forgotten: a new one must pick an alias
here, or ``Requires(...)`` with the rights it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from openfax.api.auth import Caller
from openfax.errors import AccessDeniedError
from openfax.model import SUBMIT_RIGHTS, AccessRights2

_R2 = AccessRights2

FRAMEWORK_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
"""FastAPI's own pages (the OpenAPI document and its viewers): any authenticated caller."""


class Requires:
    """The FastAPI dependency of a route: its caller, once it holds one of ``any_of``
    (every bit of one of them); no rights listed: any authenticated caller."""

    def __init__(self, *any_of: AccessRights2) -> None:
        self.any_of = any_of

    def __call__(self, connection: HTTPConnection) -> Caller:
        who: Caller = connection.scope["state"]["caller"]
        if self.any_of and not any(who.holds(right) for right in self.any_of):
            needed = " or ".join(_names(right) for right in self.any_of)
            raise AccessDeniedError(f"account {who.name!r} lacks the access right {needed}")
        return who

    def __repr__(self) -> str:
        return f"Requires({', '.join(_names(right) for right in self.any_of)})"


def _names(right: AccessRights2) -> str:
    return "+".join(f"far2{member.name}" for member in right)


Authenticated = Annotated[Caller, Depends(Requires())]
"""Any authenticated caller: server facts, the caller's own account and rights."""
Submitter = Annotated[Caller, Depends(Requires(*SUBMIT_RIGHTS))]
"""Submitting, and reading or changing the caller's own faxes."""
QueryJobs = Annotated[Caller, Depends(Requires(*SUBMIT_RIGHTS, _R2.QUERY_OUT_JOBS))]
"""Reading queued jobs: one's own with a submit right, everyone's with QUERY_OUT_JOBS."""
ManageJobs = Annotated[Caller, Depends(Requires(*SUBMIT_RIGHTS, _R2.MANAGE_OUT_JOBS))]
"""Changing queued jobs: one's own with a submit right, everyone's with MANAGE_OUT_JOBS."""
QueryArchives = Annotated[
    Caller,
    Depends(Requires(*SUBMIT_RIGHTS, _R2.QUERY_ARCHIVES, _R2.MANAGE_RECEIVE_FOLDER)),
]
"""Reading archived faxes: one's own (and public received ones), or all with QUERY_ARCHIVES."""
ManageArchives = Annotated[
    Caller,
    Depends(Requires(*SUBMIT_RIGHTS, _R2.MANAGE_ARCHIVES, _R2.MANAGE_RECEIVE_FOLDER)),
]
"""Deleting archived faxes: one's own, or all with MANAGE_ARCHIVES."""
QueryConfig = Annotated[Caller, Depends(Requires(_R2.QUERY_CONFIG))]
"""Reading the configuration: devices, routing, queues' switches."""
ManageConfig = Annotated[Caller, Depends(Requires(_R2.MANAGE_CONFIG))]
"""Changing the configuration, accounts and rights."""
ManageReceiveFolder = Annotated[Caller, Depends(Requires(_R2.MANAGE_RECEIVE_FOLDER))]
"""The server's receive folder: incoming jobs, reassigning received faxes."""
ALL_RECEIPTS = (_R2.QUERY_ARCHIVES, _R2.MANAGE_CONFIG)
"""Who sees every account's delivery receipts: holders of far2QUERY_ARCHIVES (who read
every fax, receipt addresses included) or far2MANAGE_CONFIG (who resend and cancel them)."""
QueryReceipts = Annotated[Caller, Depends(Requires(*SUBMIT_RIGHTS, *ALL_RECEIPTS))]
"""Reading delivery receipts: those of one's own faxes with a submit right, everyone's with
one of :data:`ALL_RECEIPTS`."""


def owner_filter(who: Caller, everyone: AccessRights2) -> int | None:
    """The id of the account whose faxes a listing shows: None (all) when the caller holds
    ``everyone``, else the caller's own."""
    return None if who.holds(everyone) else who.account_id


def check_owner(who: Caller, owner_id: int | None, everyone: AccessRights2, what: str) -> None:
    """Refuse (AccessDeniedError) a caller who neither owns ``what`` (its owner's account
    id is the caller's) nor holds ``everyone``."""
    if owner_id != who.account_id and not who.holds(everyone):
        raise AccessDeniedError(
            f"{what} belongs to another account; account {who.name!r} lacks far2"
            f"{'+far2'.join(m.name or '' for m in everyone)}"
        )


def declared(dependant: Dependant) -> Iterator[Requires]:
    """The rights a route's dependencies declare, however deep."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Requires):
            yield dependency.call
        yield from declared(dependency)


def undeclared_routes(app: FastAPI) -> list[str]:
    """``METHOD path`` of every route that declares no right (see the module's docstring)."""
    missing = []
    for path, route, inherited in walk_routes(app.routes, "", inherited=False):
        if isinstance(route, APIRoute | APIWebSocketRoute):
            if not inherited and not any(True for _ in declared(route.dependant)):
                methods = ",".join(sorted(getattr(route, "methods", None) or {"WEBSOCKET"}))
                missing.append(f"{methods} {path}")
        elif path not in FRAMEWORK_PATHS:
            missing.append(f"{type(route).__name__} {path}")
    return missing


def walk_routes(
    routes: Iterable[BaseRoute], prefix: str, *, inherited: bool
) -> Iterator[tuple[str, BaseRoute, bool]]:
    """Every route with its full path, and whether a router it was included with declares
    a right; included routers are walked, however FastAPI keeps them."""
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            context = route.include_context  # type: ignore[attr-defined]
            here = any(isinstance(d.dependency, Requires) for d in context.dependencies)
            yield from walk_routes(
                router.routes, prefix + context.prefix, inherited=inherited or here
            )
        else:
            yield prefix + getattr(route, "path", repr(route)), route, inherited
