"""Every failure as one JSON shape, ``{"error": {"class", "hresult", "message", "details"}}``,
with the HTTP status that fits, so the client can raise the class the service raised."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from openfax.errors import (
    E_ACCESSDENIED,
    E_FAIL,
    E_INVALIDARG,
    AccessDeniedError,
    AccountError,
    AccountNotFoundError,
    AddressBookError,
    BadGroupConfigurationError,
    ConfigError,
    ContactNotFoundError,
    DocumentError,
    FaxError,
    GroupInUseError,
    GroupNotFoundError,
    InvalidIdError,
    InvalidOperationError,
    MessageNotFoundError,
    NotReadyError,
    NotSupportedError,
    PageLimitError,
    QueueBlockedError,
    RecipientsLimitError,
    RequestTooLargeError,
    RuleNotFoundError,
    ServerBusyError,
    SignInThrottledError,
    SubmissionError,
)

_logger = logging.getLogger(__name__)

STATUS: dict[type[FaxError], int] = {
    MessageNotFoundError: 404,
    AccountNotFoundError: 404,
    AccountError: 400,
    InvalidOperationError: 409,
    AccessDeniedError: 403,
    SignInThrottledError: 429,
    QueueBlockedError: 503,
    ServerBusyError: 503,
    NotReadyError: 503,
    RequestTooLargeError: 413,
    DocumentError: 400,
    SubmissionError: 400,
    PageLimitError: 413,
    RecipientsLimitError: 400,
    InvalidIdError: 400,
    NotSupportedError: 400,
    ConfigError: 400,
    GroupNotFoundError: 404,
    RuleNotFoundError: 404,
    GroupInUseError: 409,
    BadGroupConfigurationError: 400,
    AddressBookError: 400,
    ContactNotFoundError: 404,
}
"""The HTTP status of each error class (a subclass takes its nearest listed base's);
any other FaxError is the server's fault: 500."""


def error_body(
    class_name: str, hresult: int, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "class": class_name,
            "hresult": hresult,
            "message": message,
            "details": details or {},
        }
    }


def fax_error_response(exc: FaxError) -> JSONResponse:
    """The response for a FaxError: its class name, HRESULT, message and plain attributes."""
    status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 500)
    if status == 500:
        _logger.error("request failed", exc_info=exc)
    details = {k: v for k, v in vars(exc).items() if isinstance(v, str | int | float | bool)}
    body = error_body(type(exc).__name__, exc.hresult, str(exc), details)
    # An error that says when to try again (a throttled sign-in, a busy server) says it in
    # the header clients and proxies read too.
    retry_after = getattr(exc, "retry_after", None)
    headers = None if retry_after is None else {"Retry-After": str(retry_after)}
    return JSONResponse(body, status_code=status, headers=headers)


def invalid_argument(message: str) -> JSONResponse:
    """A request the protocol cannot accept (wrong type, missing field): 400, E_INVALIDARG."""
    return JSONResponse(error_body("FaxError", E_INVALIDARG, message), status_code=400)


def unauthorized(message: str) -> JSONResponse:
    """The answer to a remote request without valid credentials; ``message`` says which
    (none given, a wrong password, an unknown token)."""
    body = error_body("AccessDeniedError", E_ACCESSDENIED, message)
    headers = {"WWW-Authenticate": 'Basic realm="OpenFax", Bearer'}
    return JSONResponse(body, status_code=401, headers=headers)


def problems(errors: Sequence[Any]) -> str:
    """Pydantic's validation errors in one line: ``where: what; ...`` (an unknown field of a
    record reads as one of a model)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {_EXTRA.get(e['type'], e['msg'])}" for e in errors
    )


_EXTRA = {"unexpected_keyword_argument": "Extra inputs are not permitted"}


def install(app: FastAPI) -> None:
    """Route every exception an endpoint can raise through the one error shape."""

    async def on_fax_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FaxError)
        return fax_error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError | WebSocketRequestValidationError)
        return invalid_argument(problems(exc.errors()))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        hresult = E_INVALIDARG if 400 <= exc.status_code < 500 else E_FAIL
        body = error_body("FaxError", hresult, str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(FaxError, on_fax_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    # A WebSocket's handshake is refused with the same body (as its HTTP answer).
    app.add_exception_handler(WebSocketRequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
