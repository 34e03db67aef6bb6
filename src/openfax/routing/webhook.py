"""The webhook inbound routing method: an HTTP POST of the fax's metadata and either a link
to its PDF or the PDF itself, signed so the receiver can trust it.

The body is JSON. ``X-OpenFax-Event-Id`` is the same on every attempt for one fax, so a
receiver that answered too slowly can drop the repeat; ``X-OpenFax-Signature`` is
``sha256=<hex>``, the HMAC-SHA256 of the body with the shared secret. A 2xx answer
delivers; 408, 429, 5xx and network errors are retried on the service's backoff schedule;
other answers will not change and fail at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from openfax.errors import RoutingError
from openfax.masking import MASK
from openfax.model import format_id
from openfax.routing.fax import RoutedFax
from openfax.routing.settings import Checker

WEBHOOK = "{3c4f9a52-61e1-4d1e-8f3b-7a0c2e9d5b18}"
"""The GUID of OpenFax's webhook method."""

EVENT = "fax.received"
TIMEOUT_SECONDS = 30.0
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def check(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """``url`` (http or https, required), ``secret``, ``attach`` (``"link"`` or ``"pdf"``),
    ``link_base`` (where clients reach the API, for the link)."""
    given = Checker("webhook", configuration)
    url = given.text("url", required=True)
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        given.fail("url", f"must be an http:// or https:// URL, not {url!r}")
    values = {
        "url": url,
        "secret": given.text("secret"),
        "attach": given.choice("attach", ("link", "pdf"), "link"),
        "link_base": given.text("link_base"),
    }
    return given.done(values)


def sign(body: bytes, secret: str) -> str:
    """The ``X-OpenFax-Signature`` of a body: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def shown(url: str) -> str:
    """The URL as messages (the log, a delivery's error) show it: a password written in it
    (``https://user:password@host/``) masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    login, _, place = parts.netloc.rpartition("@")
    user = login.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{place}"))


def payload(fax: RoutedFax, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a webhook receives: the event, the fax's metadata, and a link or the PDF."""
    body: dict[str, Any] = {"event": EVENT, **fax.metadata()}
    if configuration.get("attach") == "pdf":
        encoded = base64.b64encode(fax.pdf_file().read_bytes()).decode("ascii")
        body["pdf"] = {"content_type": "application/pdf", "base64": encoded}
    else:
        base = configuration.get("link_base") or ""
        path = f"/v1/incoming-messages/{format_id(fax.message_id)}/pdf"
        body["pdf_url"] = base.rstrip("/") + path if base else fax.pdf_url
    return body


async def route(fax: RoutedFax, configuration: Mapping[str, Any]) -> None:
    """POST the fax to the configured URL."""
    url = configuration["url"]
    if configuration.get("attach") == "pdf":
        data = await asyncio.to_thread(payload, fax, configuration)
    else:
        data = payload(fax, configuration)
    body = json.dumps(data).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OpenFax",
        "X-OpenFax-Event": EVENT,
        "X-OpenFax-Event-Id": format_id(fax.event_id),
        "X-OpenFax-Delivery-Attempt": str(fax.attempt),
    }
    if configuration.get("secret"):
        headers["X-OpenFax-Signature"] = sign(body, configuration["secret"])
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise RoutingError(f"POST {shown(url)} failed: {exc!r}") from exc
    if response.is_success:
        return
    status = response.status_code
    raise RoutingError(
        f"POST {shown(url)} answered {status} {response.reason_phrase}",
        retryable=status >= 500 or status in RETRYABLE_STATUSES,
    )
