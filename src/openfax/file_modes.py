"""Private by default: what OpenFax keeps on disk (the database, the spool of faxes, the
tokens file, the settings with their secrets) can be read and written by the service's own
user only, files 0600 and folders 0700.

``openfaxd`` sets the umask :data:`PRIVATE_UMASK` when it starts, so everything it creates
is private, and :func:`make_private` tightens what an older version left wider. The places
that create the service's files also give the modes themselves (the spool, the SQLite file),
so the service embedded in another program without that umask is private too. Where the
service hands files to other people on purpose, the modes are chosen there and documented
(``docs/design/security.md``): the Unix socket is 0660 for a group of local users, and a
file written into a folder an administrator chose for others (:func:`handed_over_mode`)
may be read by that folder's group.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PRIVATE_UMASK = 0o077
"""The umask of ``openfaxd``: nothing it creates is open to its group or to others."""
FILE_MODE = 0o600
"""The mode of a file the service keeps."""
FOLDER_MODE = 0o700
"""The mode of a folder the service keeps."""
_OPEN = 0o077
"""The permission bits of the group and of others: none is set on a private path."""


def handed_over_mode(folder: Path) -> int:
    """The mode of a file the service writes into a folder an administrator chose for others
    to read (store-in-folder routing, the activity logs): 0640 when the folder lets its
    group read, so the folder's group and mode decide who reads, else 0600; never others."""
    return FILE_MODE | (folder.stat().st_mode & stat.S_IRGRP)


@dataclass
class Tightened:
    """What :func:`make_private` changed, and what it could not (first error kept)."""

    files: int = 0
    folders: int = 0
    failed: int = 0
    first_error: str = ""
    roots: list[Path] = field(default_factory=list)


def make_private(roots: Iterable[Path]) -> Tightened:
    """Take the group's and others' permissions off every folder and regular file in and
    under ``roots`` (0755 becomes 0700, 0644 becomes 0600). Symbolic links are neither
    followed nor changed, so the walk stays in the trees; other kinds of file (a socket) are
    left as they are. A root that does not exist is skipped."""
    done = Tightened()
    for root in _distinct(roots):
        done.roots.append(root)
        for path in _tree(root):
            _tighten(path, done)
    return done


def open_to_others(roots: Iterable[Path], limit: int) -> list[Path]:
    """The first ``limit`` folders and regular files in and under ``roots`` that their group
    or other users may use (what :func:`make_private` would tighten), changing nothing: what
    ``openfax doctor`` reports."""
    found: list[Path] = []
    for root in _distinct(roots):
        for path in _tree(root):
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and mode & _OPEN:
                found.append(path)
                if len(found) == limit:
                    return found
    return found


def _distinct(roots: Iterable[Path]) -> list[Path]:
    """``roots`` without those in or under one listed before them (walked once)."""
    kept: list[Path] = []
    for root in roots:
        if not any(root.is_relative_to(other) for other in kept):
            kept.append(root)
    return kept


def _tree(root: Path) -> Iterator[Path]:
    """``root`` and, when it is a folder (not a link to one), every path under it."""
    yield root
    if root.is_dir() and not root.is_symlink():
        for folder, folders, files in os.walk(root):
            for name in (*folders, *files):
                yield Path(folder, name)


def _tighten(path: Path, done: Tightened) -> None:
    try:
        mode = path.lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) or not mode & _OPEN:
            return
        os.chmod(path, stat.S_IMODE(mode) & ~_OPEN)
    except FileNotFoundError:
        return
    except OSError as exc:
        done.failed += 1
        done.first_error = done.first_error or f"{path}: {exc.strerror or exc}"
        return
    if stat.S_ISDIR(mode):
        done.folders += 1
    else:
        done.files += 1
