"""The server's cover pages: named templates kept in ``data_dir/coverpages`` (one
``<name>.txt`` each), which a submission picks with ``CoverPageType.SERVER`` and its name.

A template is checked when it is added, by drawing it with sample fields, so a broken one is
refused then (DocumentError naming the line) rather than when a fax uses it. Files are
written under a temporary name and renamed, so a submission never reads half a template.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from openfax.documents import CoverPageFields, render_cover_page
from openfax.documents.cover_page import MAX_TEMPLATE_BYTES
from openfax.errors import ConfigError, DocumentError, NotSupportedError

SUFFIX = ".txt"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}")
"""A cover page's name: a plain file name (no folder, not hidden), at most 100 characters."""


@dataclass(frozen=True)
class CoverPageInfo:
    """One server cover page: its name (what a submission gives), size and last change."""

    name: str
    size: int
    modified: datetime


def folder(data_dir: Path) -> Path:
    """Where the server's cover pages are kept."""
    return data_dir / "coverpages"


def template_path(cover_pages: Path, name: str) -> Path:
    """The file of the cover page ``name`` (which may carry its ``.txt``) in the folder
    ``cover_pages``; any folder part of ``name`` is ignored."""
    name = Path(name).name
    return cover_pages / (name if name.endswith(SUFFIX) else name + SUFFIX)


def check_name(name: str) -> str:
    """``name`` without its ``.txt``; ConfigError if it is not a plain file name."""
    if not NAME.fullmatch(name) or name.endswith("."):
        raise ConfigError(
            "cover page",
            "name",
            f"{name!r} must be 1 to 100 letters, digits, spaces, '_', '-' or '.', "
            "starting with a letter or digit",
        )
    return name.removesuffix(SUFFIX)


def list_cover_pages(data_dir: Path) -> list[CoverPageInfo]:
    """The server's cover pages, by name."""
    found = []
    for path in sorted(folder(data_dir).glob("*" + SUFFIX)):
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        found.append(CoverPageInfo(path.name.removesuffix(SUFFIX), stat.st_size, modified))
    return found


def add_cover_page(data_dir: Path, name: str, content: bytes) -> CoverPageInfo:
    """Check the template ``content`` and keep it as ``name`` (replacing one of that name).

    ConfigError for a bad name; DocumentError for a template that is not UTF-8 text, is too
    large, or does not draw."""
    name = check_name(name)
    target = template_path(folder(data_dir), name)
    if len(content) > MAX_TEMPLATE_BYTES:
        raise DocumentError(name, f"a cover page template has at most {MAX_TEMPLATE_BYTES} bytes")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".upload-", suffix=SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        try:
            render_cover_page(CoverPageFields(), template=temporary)
        except DocumentError as exc:
            raise DocumentError(name, exc.reason) from None
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    stat = target.stat()
    return CoverPageInfo(name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


def remove_cover_page(data_dir: Path, name: str) -> None:
    """Remove the cover page ``name``; NotSupportedError if the server has none so named.
    Faxes already submitted with it keep their rendered cover page."""
    name = check_name(name)
    try:
        template_path(folder(data_dir), name).unlink()
    except FileNotFoundError:
        raise NotSupportedError(f"the server has no cover page {name!r}") from None
