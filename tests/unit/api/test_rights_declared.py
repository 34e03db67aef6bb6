"""Every route of the API declares the access right it needs: the application refuses to be
built with one that does not, and this walk over its routes names any that slipped by."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute

from openfax.api.app import create_app
from openfax.api.rights import Authenticated, declared, undeclared_routes, walk_routes
from openfax.api.tokens import TokenFile
from openfax.model import AccessRights2
from openfax.service import FaxService
from openfax.service.config_file import load_config


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    config = load_config(None, data_dir=tmp_path)
    built = create_app(FaxService(config), TokenFile(tmp_path / "tokens")).app
    assert isinstance(built, FastAPI)
    return built


def api_routes(app: FastAPI) -> dict[str, APIRoute | APIWebSocketRoute]:
    """``METHOD path`` -> route, for every route of the application."""
    found: dict[str, APIRoute | APIWebSocketRoute] = {}
    for path, route, _ in walk_routes(app.routes, "", inherited=False):
        if isinstance(route, APIRoute | APIWebSocketRoute):
            for method in getattr(route, "methods", None) or {"WEBSOCKET"}:
                found[f"{method} {path}"] = route
    return found


def test_every_route_declares_a_right(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) > 40
    assert undeclared_routes(app) == []
    for name, route in routes.items():
        assert list(declared(route.dependant)), name


@pytest.mark.parametrize(
    ("route", "right"),
    [
        ("PATCH /v1/devices/{device_id}", AccessRights2.MANAGE_CONFIG),
        ("GET /v1/backup", AccessRights2.MANAGE_CONFIG),
        ("POST /v1/devices/{device_id}/answer", AccessRights2.MANAGE_CONFIG),
        ("PATCH /v1/outgoing-queue", AccessRights2.MANAGE_CONFIG),
        ("GET /v1/devices", AccessRights2.QUERY_CONFIG),
        ("POST /v1/incoming-jobs/{job_id}/cancel", AccessRights2.MANAGE_RECEIVE_FOLDER),
    ],
)
def test_configuration_routes_need_their_right(
    app: FastAPI, route: str, right: AccessRights2
) -> None:
    (needs,) = declared(api_routes(app)[route].dependant)
    assert needs.any_of == (right,)


def test_a_route_without_a_right_is_named() -> None:
    app = FastAPI()

    @app.get("/declared")
    async def fine(who: Authenticated) -> None:
        return None

    @app.get("/forgotten")
    async def forgotten() -> None:
        return None

    @app.websocket("/forgotten-socket")
    async def socket() -> None:
        return None

    assert undeclared_routes(app) == ["GET /forgotten", "WEBSOCKET /forgotten-socket"]
