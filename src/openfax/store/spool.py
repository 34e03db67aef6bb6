"""The document spool: a folder of fax documents that rows refer to by relative path.

A file appears under its final name only once its bytes are on disk (written to a temporary
name, fsynced, renamed, and the folder fsynced), so a row never points at a half-written
file, even after a crash. Paths from rows are checked to stay inside the spool. Its
folders are 0700 and its files 0600 whatever the umask: they are faxes. The methods block
on disk I/O: the service calls them from a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from openfax.errors import StoreError
from openfax.file_modes import FILE_MODE, FOLDER_MODE

_TEMPORARY = ".tmp"
_HEX = frozenset("0123456789abcdef")


class Spool:
    """The spool folder at ``root`` (created if missing); shared by nodes on one file system."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        self.temporary = self.root / _TEMPORARY
        """Where files are written before they are renamed, or kept while they are used
        (old ones are removed by the housekeeping as stale)."""
        self.temporary.mkdir(mode=FOLDER_MODE, exist_ok=True)
        self._lock = threading.Lock()
        self._holds = 0
        self._deferred: list[Path] = []

    def store_file(self, source: str | Path, *, suffix: str | None = None) -> str:
        """Copy ``source`` into the spool; returns its relative path (suffix kept by default)."""
        source = Path(source)
        suffix = source.suffix if suffix is None else suffix
        return self.write_file(lambda target: shutil.copyfile(source, target), suffix=suffix)

    def write_bytes(self, data: bytes, *, suffix: str = "") -> str:
        """Store ``data`` as a new spool file; returns its relative path."""
        return self.write_file(lambda target: target.write_bytes(data), suffix=suffix)

    def write_file(self, write: Callable[[Path], object], *, suffix: str = "") -> str:
        """Store a new spool file that ``write`` writes at the (temporary) path it is given,
        so a writer that wants a path needs no copy; returns its relative path."""
        if "/" in suffix or "\\" in suffix:
            raise StoreError(f"spool file suffix {suffix!r} contains a path separator")
        token = secrets.token_hex(16)
        # Two-character folders keep any one directory small with millions of faxes.
        relative = f"{token[:2]}/{token}{suffix}"
        final = self.root / relative
        temporary = self.temporary / f"{token}.part"
        try:
            write(temporary)
            os.chmod(temporary, FILE_MODE)
            _fsync(temporary)
            if not final.parent.is_dir():
                final.parent.mkdir(mode=FOLDER_MODE, exist_ok=True)
                _fsync(self.root)
            os.replace(temporary, final)
            _fsync(final.parent)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return relative

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
        """Remove a spool file (later, while deletions are held); a file already gone is not
        an error."""
        path = self.path(relative)
        with self._lock:
            if self._holds:
                self._deferred.append(path)
            else:
                path.unlink(missing_ok=True)

    @contextmanager
    def deletions_held(self) -> Iterator[None]:
        """While the block runs, the files :meth:`delete` is asked to remove stay, and go at
        its end: a backup's copy of the spool holds every file its database snapshot names,
        whatever the service finishes meanwhile. Only this process's deletions are held."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                if not self._holds:
                    for path in self._deferred:
                        path.unlink(missing_ok=True)
                    self._deferred.clear()

    def stale_files(self, changed_before: float) -> list[str]:
        """The relative paths of the files this spool wrote (finished or left half-written
        by a crash) last changed before ``changed_before`` (seconds since the epoch)."""
        found: list[str] = []
        for folder in sorted(self.root.iterdir()):
            name = folder.name
            ours = name == _TEMPORARY or (len(name) == 2 and all(c in _HEX for c in name))
            if not ours or not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_file() and entry.stat().st_mtime < changed_before:
                        found.append(f"{name}/{entry.name}")
        return found


def _fsync(path: Path) -> None:
    """Make a file's bytes, or a rename in a directory, durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
