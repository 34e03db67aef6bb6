"""The "store in folder" inbound routing method: a received fax written into a folder.

The file is named after the message id and written under a temporary name, then renamed,
so a program watching the folder never sees half a fax, and a retry after a crash simply
writes it again. The folder is the administrator's: a missing one is made 0700, and the file
is 0640 when the folder lets its group read, else 0600 (:func:`handed_over_mode`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from openfax.errors import RoutingError
from openfax.file_modes import FOLDER_MODE, handed_over_mode
from openfax.model import format_id
from openfax.routing.fax import RoutedFax
from openfax.routing.settings import Checker

STORE_IN_FOLDER = "{92041a90-9af2-11d0-abf7-00c04fd91a4e}"
"""The Microsoft routing extension GUID of "store in folder" (faxroute.h), kept for scripts."""


@dataclass(frozen=True)
class FolderSettings:
    """Where a device stores received faxes, and as what."""

    folder: str
    format: Literal["tiff", "pdf"] = "tiff"

    def to_json(self) -> dict[str, Any]:
        return {"folder": self.folder, "format": self.format}


def check(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """The method's configuration, checked: ``folder`` (absolute) and ``format``."""
    given = Checker("store in folder", configuration)
    folder = given.text("folder", required=True)
    if not Path(folder).is_absolute():
        given.fail("folder", f"must be an absolute path, not {folder!r}")
    fmt = given.choice("format", ("tiff", "pdf"), "tiff")
    return given.done({"folder": folder, "format": fmt})


def route(fax: RoutedFax, configuration: Mapping[str, Any]) -> None:
    """Write the fax into the configured folder (blocks: runs in a worker thread)."""
    settings = FolderSettings(configuration["folder"], configuration.get("format", "tiff"))
    try:
        # The PDF is the archive's, made once (with the text layer when the text was read).
        source = fax.pdf_file() if settings.format == "pdf" else fax.tiff
        store_in_folder(source, fax.message_id, settings)
    except OSError as exc:
        raise RoutingError(f"cannot write into {settings.folder}: {exc}") from exc


def store_in_folder(source: Path, message_id: int, settings: FolderSettings) -> Path:
    """Copy the received fax ``source`` (its TIFF, or its PDF when the folder takes PDFs)
    into the folder; returns the file written. Blocks on disk I/O: call it from a worker
    thread."""
    folder = Path(settings.folder)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    suffix = ".pdf" if settings.format == "pdf" else ".tif"
    target = folder / f"{format_id(message_id)}{suffix}"
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".openfax-", suffix=suffix)
    os.fchmod(fd, handed_over_mode(folder))
    os.close(fd)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
