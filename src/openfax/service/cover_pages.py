"""The server's cover pages: named templates kept in ``data_dir/coverpages`` (one
``<name>.txt`` each), which a submission picks with ``CoverPageType.SERVER`` and its name.
Every server has ``generic`` (the name Windows scripts use), the package's default
template, until a cover page so named is added in its place.

A template is checked when it is added, by drawing it with sample fields, so a broken one is
refused then (DocumentError naming the line) rather than when a fax uses it. Files are
written under a temporary name and renamed, so a submission never reads half a template.

Each template added is also kept in the store (the setting ``cover_page.<name>``), so that
every node of a cluster has it: a node writes into its folder a cover page added on another
node when it hears of it (:meth:`CoverPages.take_up`), removes one removed there, and at its
start writes those it lacks (:meth:`CoverPages.take_up_all`).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from openfax.documents import CoverPageFields, render_cover_page
from openfax.documents.cover_page import DEFAULT_TEMPLATE, MAX_TEMPLATE_BYTES
from openfax.errors import ConfigError, DocumentError, NotSupportedError
from openfax.model.events import ConfigChanged
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record
from openfax.service.context import ServiceContext
from openfax.store import queries as q

SUFFIX = ".txt"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}")
"""A cover page's name: a plain file name (no folder, not hidden), at most 100 characters."""
STORE_PREFIX = "cover_page."
"""The settings key of a cover page's template is this and its name."""
BUILT_IN = "generic"
"""The server cover page every server has: the package's default template."""


class CoverPages:
    """The running service's ``cover_pages``: listing, adding and removing them, each
    change audited and announced as a CONFIG event."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def get_cover_pages(self) -> list[CoverPageInfo]:
        """The server's cover pages (``CoverPageType.SERVER`` with one's name), by name."""
        return await asyncio.to_thread(_list, self._ctx.config.data_dir)

    async def add_cover_page(
        self, name: str, content: bytes, actor: str = SERVICE_ACTOR
    ) -> CoverPageInfo:
        """Check a cover page template and keep it as ``name`` (replacing one so named);
        ConfigError for a bad name, DocumentError for a template that does not draw."""
        info = await asyncio.to_thread(_add, self._ctx.config.data_dir, name, content)
        # _add drew the template: it is UTF-8 text.
        await self._changed(info.name, "added", actor, content.decode())
        return info

    async def remove_cover_page(self, name: str, actor: str = SERVICE_ACTOR) -> None:
        """Remove a server cover page; faxes already submitted keep theirs."""
        name = check_name(name)
        await asyncio.to_thread(_remove, self._ctx.config.data_dir, name)
        await self._changed(name, "removed", actor, None)

    async def take_up(self, name: str, change: str) -> None:
        """Do here what another node did to the cover page ``name``: write its template as
        kept in the store (``added``) or remove it (``removed``)."""
        cover_pages = folder(self._ctx.config.data_dir)
        if change == "removed":
            await asyncio.to_thread(template_path(cover_pages, name).unlink, missing_ok=True)
            return
        async with self._ctx.db.read() as conn:
            template = await q.get_setting(conn, STORE_PREFIX + name)
        if template is not None:
            await asyncio.to_thread(_write, cover_pages, name, template.encode())

    async def take_up_all(self) -> None:
        """Write into this node's folder every template kept in the store that it lacks or
        holds otherwise (added on another node while this one was not running)."""
        async with self._ctx.db.read() as conn:
            stored = await q.get_settings(conn)
        cover_pages = folder(self._ctx.config.data_dir)
        for key, template in stored.items():
            if key.startswith(STORE_PREFIX):
                await asyncio.to_thread(
                    _write, cover_pages, key.removeprefix(STORE_PREFIX), template.encode()
                )

    async def _changed(self, name: str, change: str, actor: str, template: str | None) -> None:
        ctx = self._ctx
        async with ctx.hub.transaction() as conn:
            details = {"change": change}
            now = ctx.clock.now()
            if template is None:
                await q.delete_setting(conn, STORE_PREFIX + name)
            else:
                await q.set_setting(conn, STORE_PREFIX + name, template, now=now)
            await record(conn, now, actor, AuditAction.CONFIG_CHANGED, "cover_page", name, details)
            await ctx.hub.emit(conn, ConfigChanged(cover_page=name, change=change))


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


def server_template(cover_pages: Path, name: str) -> Path | None:
    """The template of the server cover page ``name`` in the folder ``cover_pages``; None
    for the built-in ``generic`` while no cover page so named replaces it (the package's
    default template is drawn then)."""
    path = template_path(cover_pages, name)
    if _is_built_in(path.name.removesuffix(SUFFIX)) and not path.exists():
        return None
    return path


def _is_built_in(name: str) -> bool:
    return name.lower() == BUILT_IN


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


def _list(data_dir: Path) -> list[CoverPageInfo]:
    """The server's cover pages, by name; ``generic`` among them."""
    found = []
    for path in folder(data_dir).glob("*" + SUFFIX):
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        found.append(CoverPageInfo(path.name.removesuffix(SUFFIX), stat.st_size, modified))
    if not any(_is_built_in(page.name) for page in found):
        default = resources.files("openfax.documents") / "templates" / DEFAULT_TEMPLATE
        with resources.as_file(default) as path:
            stat = path.stat()
        found.append(
            CoverPageInfo(BUILT_IN, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))
        )
    return sorted(found, key=lambda page: page.name)


def _add(data_dir: Path, name: str, content: bytes) -> CoverPageInfo:
    """Check the template ``content`` and keep it as ``name`` (replacing one of that name).

    ConfigError for a bad name; DocumentError for a template that is not UTF-8 text, is too
    large, or does not draw."""
    name = check_name(name)
    target = template_path(folder(data_dir), name)
    if len(content) > MAX_TEMPLATE_BYTES:
        raise DocumentError(name, f"a cover page template has at most {MAX_TEMPLATE_BYTES} bytes")
    _replace(target, content, lambda temporary: _check(name, temporary))
    stat = target.stat()
    return CoverPageInfo(name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


def _check(name: str, temporary: Path) -> None:
    """DocumentError naming the cover page if its template does not draw."""
    try:
        render_cover_page(CoverPageFields(), template=temporary)
    except DocumentError as exc:
        raise DocumentError(name, exc.reason) from None


def _write(cover_pages: Path, name: str, content: bytes) -> None:
    """Write a template checked on another node as the cover page ``name`` in the folder
    ``cover_pages``, unless the file already holds it."""
    target = template_path(cover_pages, name)
    try:
        if target.read_bytes() == content:
            return
    except FileNotFoundError:
        pass
    _replace(target, content, lambda _: None)


def _replace(target: Path, content: bytes, check: Callable[[Path], None]) -> None:
    """Write ``content`` under a temporary name beside ``target``, ``check`` it there, and
    rename it ``target``: a submission never reads half a template."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".upload-", suffix=SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        check(Path(temporary))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove(data_dir: Path, name: str) -> None:
    """Remove the cover page ``name``; NotSupportedError if the server has none so named.
    Faxes already submitted with it keep their rendered cover page."""
    name = check_name(name)
    try:
        template_path(folder(data_dir), name).unlink()
    except FileNotFoundError:
        if _is_built_in(name):
            raise NotSupportedError(
                f"the cover page {BUILT_IN!r} is built in: it cannot be removed (one added "
                "under its name replaces it)"
            ) from None
        raise NotSupportedError(f"the server has no cover page {name!r}") from None
