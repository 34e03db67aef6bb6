"""The "store in folder" inbound routing method: a received fax written into a folder.

The file is named after the message id and written under a temporary name, then renamed,
so a program watching the folder never sees half a fax, and a retry after a crash simply
writes it again.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from openfax.documents import fax_tiff_to_pdf
from openfax.model import format_id

STORE_IN_FOLDER = "{92041a90-9af2-11d0-abf7-00c04fd91a4e}"
"""The Microsoft routing extension GUID of "store in folder" (faxroute.h), kept for scripts."""


@dataclass(frozen=True)
class FolderSettings:
    """Where a device stores received faxes, and as what."""

    folder: str
    format: Literal["tiff", "pdf"] = "tiff"

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "format": self.format}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FolderSettings:
        fmt = value.get("format", "tiff")
        if fmt not in ("tiff", "pdf"):
            raise ValueError(f"unknown format {fmt!r} for store in folder")
        return cls(str(value["folder"]), fmt)


def setting_key(device_id: int) -> str:
    """The settings key that holds a device's folder."""
    return f"routing.store_in_folder.{device_id}"


def store_in_folder(tiff: Path, message_id: int, settings: FolderSettings) -> Path:
    """Write the received fax ``tiff`` into the folder; returns the file written.

    Blocks on disk I/O (and PDF coding): call it from a worker thread.
    """
    folder = Path(settings.folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".pdf" if settings.format == "pdf" else ".tif"
    target = folder / f"{format_id(message_id)}{suffix}"
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".openfax-", suffix=suffix)
    os.close(fd)
    try:
        if settings.format == "pdf":
            fax_tiff_to_pdf(tiff, temporary)
        else:
            Path(temporary).write_bytes(tiff.read_bytes())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
