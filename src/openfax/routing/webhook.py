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
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from openfax.errors import RoutingError
from openfax.masking import masked_url
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


def sign(pieces: Iterable[bytes], secret: str) -> str:
    """The ``X-OpenFax-Signature`` of a body given in pieces: ``sha256=`` and the hex
    HMAC-SHA256."""
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    for piece in pieces:
        mac.update(piece)
    return "sha256=" + mac.hexdigest()


def payload(fax: RoutedFax, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a webhook receives: the event, the fax's metadata, and a link to the PDF
    (with ``attach = "pdf"``, the PDF itself is added by `_Body`)."""
    body: dict[str, Any] = {"event": EVENT, **fax.metadata()}
    if configuration.get("attach") != "pdf":
        base = configuration.get("link_base") or ""
        path = f"/v1/incoming-messages/{format_id(fax.message_id)}/pdf"
        body["pdf_url"] = base.rstrip("/") + path if base else fax.pdf_url
    return body


_PDF_CHUNK = 3 * 64 * 1024
"""Bytes of the PDF coded to base64 at a time (a multiple of 3, so the pieces join up)."""


@dataclass(frozen=True)
class _Body:
    """A webhook's JSON body in pieces. An attached PDF is read and coded to base64 a piece
    at a time, when the body is signed and when it is sent: a long fax costs a few hundred
    kilobytes, not its PDF several times over (bytes, base64, JSON)."""

    head: bytes
    pdf: Path | None = None
    tail: bytes = b""

    @classmethod
    def of(cls, data: dict[str, Any], pdf: Path | None) -> _Body:
        """``data`` as JSON, with ``pdf`` as ``{"pdf": {"content_type", "base64"}}`` last."""
        text = json.dumps(data).encode()
        if pdf is None:
            return cls(text)
        head = text[:-1] + b', "pdf": {"content_type": "application/pdf", "base64": "'
        return cls(head, pdf, b'"}}')

    def length(self) -> int:
        """The body's length in bytes, for its Content-Length."""
        coded = 0 if self.pdf is None else 4 * -(-self.pdf.stat().st_size // 3)
        return len(self.head) + coded + len(self.tail)

    def pieces(self) -> Iterator[bytes]:
        """The body, a piece at a time."""
        yield self.head
        if self.pdf is not None:
            with self.pdf.open("rb") as file:
                while chunk := file.read(_PDF_CHUNK):
                    yield base64.b64encode(chunk)
        yield self.tail

    async def stream(self) -> AsyncIterator[bytes]:
        """The pieces, each read on a worker thread."""
        pieces = self.pieces()
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            yield piece


async def route(fax: RoutedFax, configuration: Mapping[str, Any]) -> None:
    """POST the fax to the configured URL."""
    url = configuration["url"]
    data = payload(fax, configuration)
    if configuration.get("attach") == "pdf":
        body = _Body.of(data, await asyncio.to_thread(fax.pdf_file))
    else:
        body = _Body.of(data, None)
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(await asyncio.to_thread(body.length)),
        "User-Agent": "OpenFax",
        "X-OpenFax-Event": EVENT,
        "X-OpenFax-Event-Id": format_id(fax.event_id),
        "X-OpenFax-Delivery-Attempt": str(fax.attempt),
    }
    if configuration.get("secret"):
        signature = await asyncio.to_thread(sign, body.pieces(), configuration["secret"])
        headers["X-OpenFax-Signature"] = signature
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(url, content=body.stream(), headers=headers)
    except httpx.HTTPError as exc:
        raise RoutingError(f"POST {masked_url(url)} failed: {exc!r}") from exc
    if response.is_success:
        return
    status = response.status_code
    raise RoutingError(
        f"POST {masked_url(url)} answered {status} {response.reason_phrase}",
        retryable=status >= 500 or status in RETRYABLE_STATUSES,
    )
