"""The document spool: a folder of fax documents that rows refer to by relative path.

A file appears under its final name only once its bytes are on disk (written to a temporary
name, fsynced, renamed, and the folder fsynced), so a row never points at a half-written
file, even after a crash. Paths from rows are checked to stay inside the spool. The methods
block on disk I/O: the service calls them from a worker thread.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from openfax.errors import StoreError

_TEMPORARY = ".tmp"


class Spool:
    """The spool folder at ``root`` (created if missing); shared by nodes on one file system."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        (self.root / _TEMPORARY).mkdir(parents=True, exist_ok=True)

    def store_file(self, source: str | Path, *, suffix: str | None = None) -> str:
        """Copy ``source`` into the spool; returns its relative path (suffix kept by default)."""
        source = Path(source)
        with source.open("rb") as reader:
            return self._write(
                lambda out: shutil.copyfileobj(reader, out, 1 << 20),
                source.suffix if suffix is None else suffix,
            )

    def write_bytes(self, data: bytes, *, suffix: str = "") -> str:
        """Store ``data`` as a new spool file; returns its relative path."""
        return self._write(lambda out: out.write(data), suffix)

    def path(self, relative: str) -> Path:
        """The absolute path of a spool file named by a row; refuses names leaving the spool."""
        name = PurePosixPath(relative)
        if not relative or name.is_absolute() or ".." in name.parts or "\\" in relative:
            raise StoreError(f"spool path {relative!r} is not a relative path inside the spool")
        resolved = (self.root / name).resolve()
        if not resolved.is_relative_to(self.root):
            raise StoreError(f"spool path {relative!r} leads outside the spool {self.root}")
        return resolved

    def delete(self, relative: str) -> None:
        """Remove a spool file; a file already gone is not an error."""
        self.path(relative).unlink(missing_ok=True)

    def _write(self, fill: Callable[[BinaryIO], object], suffix: str) -> str:
        if "/" in suffix or "\\" in suffix:
            raise StoreError(f"spool file suffix {suffix!r} contains a path separator")
        token = secrets.token_hex(16)
        # Two-character folders keep any one directory small with millions of faxes.
        relative = f"{token[:2]}/{token}{suffix}"
        final = self.root / relative
        temporary = self.root / _TEMPORARY / f"{token}.part"
        try:
            with temporary.open("xb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            if not final.parent.is_dir():
                final.parent.mkdir(exist_ok=True)
                _fsync_directory(self.root)
            os.replace(temporary, final)
            _fsync_directory(final.parent)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return relative


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
