"""What every inbound routing method is given: the received fax, its files and its routing
information (the number it was sent to, the caller, the line)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openfax.documents import fax_tiff_to_pdf
from openfax.documents.ocr import PageText
from openfax.model import format_id

_GUID = re.compile(
    r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?"
)

RouteFunction = Callable[["RoutedFax", Mapping[str, Any]], Awaitable[None] | None]
"""A routing method: called with the fax and the method's configuration for the line; it
returns (or its coroutine ends) when the fax is delivered and raises
:class:`~openfax.errors.RoutingError` when it is not. A plain function runs in a worker
thread, a coroutine function on the service's loop."""


def normalize_guid(value: str) -> str | None:
    """A GUID as ``{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`` in lower case (braces optional on
    the way in), or None if ``value`` is not one."""
    found = _GUID.fullmatch(value.strip())
    return None if found is None else "{" + found[1].lower() + "}"


@dataclass(frozen=True, kw_only=True)
class RoutingInformation:
    """FAXCOMEX ``RoutingInformation`` taken apart: who called which number on which line."""

    called_number: str
    """The number dialled (the DID of a trunk; a loopback line's own number)."""
    caller_id: str
    device_id: int
    device_name: str


@dataclass(frozen=True, kw_only=True)
class RoutedFax:
    """A received fax as a routing method sees it. The TIFF is the archived file itself:
    read it, never change it."""

    message_id: int
    event_id: int
    """The same on every attempt of one method for this fax (webhooks send it to deduplicate)."""
    attempt: int
    routing_information: RoutingInformation
    csid: str
    tsid: str
    pages: int
    partial: bool
    received_at: datetime
    tiff: Path
    pdf: Path
    """Where the PDF of the fax is kept; :meth:`pdf_file` makes it on first use."""
    pdf_url: str = ""
    """Where an API client downloads the PDF (empty when the API listens on no address)."""

    def pdf_file(self) -> Path:
        """The fax as a PDF, made from the TIFF once. Blocks: call from a worker thread."""
        if not self.pdf.exists():
            write_pdf(self.tiff, self.pdf)
        return self.pdf

    def metadata(self) -> dict[str, Any]:
        """The fax's description as JSON (what a webhook posts and an e-mail lists)."""
        return {
            "message_id": format_id(self.message_id),
            "event_id": format_id(self.event_id),
            "attempt": self.attempt,
            "routing_information": asdict(self.routing_information),
            "csid": self.csid,
            "tsid": self.tsid,
            "pages": self.pages,
            "partial": self.partial,
            "received_at": self.received_at.isoformat(),
        }


def write_pdf(tiff: Path, pdf: Path, texts: Sequence[PageText] = ()) -> None:
    """Write the PDF of a fax TIFF (with the text layers ``texts`` of its first pages) under
    a temporary name and rename it, so readers never see half a file."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=pdf.parent, suffix=".part")
    os.close(fd)
    try:
        fax_tiff_to_pdf(tiff, temporary, texts)
        os.replace(temporary, pdf)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
