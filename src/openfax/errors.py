"""The one exception hierarchy of OpenFax.

Each class carries the FAXCOMEX HRESULT where one exists, so that numbers in logs and on the
wire match the Windows documentation.
"""

from __future__ import annotations

from pathlib import Path

E_FAIL = 0x80004005
E_INVALIDARG = 0x80070057
E_ACCESSDENIED = 0x80070005
ERROR_FILE_NOT_FOUND = 0x80070002


class FaxError(Exception):
    """Base of every error OpenFax raises on purpose."""

    hresult: int = E_FAIL


class DocumentError(FaxError):
    """A document could not be read or turned into fax pages; names the file and the reason."""

    hresult = E_INVALIDARG

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{reason}")


class EngineError(FaxError):
    """The fax engine could not be set up or driven as asked."""


class SpandspUnavailableError(EngineError):
    """libspandsp could not be loaded; says which library was tried and how to install it."""


class FaxFileError(EngineError):
    """A TIFF handed to a fax session is missing, unreadable or not a fax image."""

    hresult = ERROR_FILE_NOT_FOUND

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModemError(EngineError):
    """The virtual Class 1 modem could not be created or driven."""
