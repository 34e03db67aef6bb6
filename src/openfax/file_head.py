"""The first bytes of a file handed to OpenFax, with a reason a person reads when it has none.

A document to render and a TIFF to send are both checked by their first bytes before any
work starts; each caller raises its own error (DocumentError, FaxFileError) with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def read_head(path: Path, size: int, kind: str, refuse: Callable[[Path, str], Exception]) -> bytes:
    """Up to ``size`` first bytes of ``path`` (empty for an empty file); ``refuse(path,
    reason)`` is raised when it is missing, a folder (not ``kind``) or unreadable."""
    try:
        with path.open("rb") as stream:
            return stream.read(size)
    except FileNotFoundError:
        raise refuse(path, "no such file") from None
    except IsADirectoryError:
        raise refuse(path, f"is a directory, not {kind}") from None
    except OSError as error:
        raise refuse(path, f"cannot be read: {error.strerror or error}") from None
