"""The archives (FAXCOMEX ``FaxIncomingArchive`` and ``FaxOutgoingArchive``): the faxes
received and sent, read a page at a time, their files as TIFF-F or PDF, and changing or
deleting one. Reads of a fax or its file are audited as the caller's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openfax.documents.ocr import FaxText
from openfax.errors import InvalidOperationError, MessageNotFoundError
from openfax.model import DEFAULT_PREFETCH_SIZE
from openfax.model.paging import MessageCursor, MessagePage
from openfax.model.records import MessageInfo
from openfax.routing import write_pdf
from openfax.service.audit import SERVICE_ACTOR, AuditAction, message_type, record, record_read
from openfax.service.context import ServiceContext
from openfax.service.housekeeping import cache_paths, pdf_cache_path
from openfax.service.views import message_info, message_removed
from openfax.store import Direction, MessageText
from openfax.store import queries as q

CHANGEABLE_MESSAGE_FIELDS = {
    Direction.OUT: frozenset({"read"}),
    Direction.IN: frozenset(
        {"read", "subject", "sender_name", "sender_fax_number", "has_cover_page"}
    ),
}
"""What ``save_message`` changes of a message of each archive (FAXCOMEX's writable
properties of FaxOutgoingMessage2 and FaxIncomingMessage2; ``Recipients`` is ReAssign's)."""


class Archives:
    """The incoming and the outgoing archive: the running service's ``archives``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def get_incoming_messages(
        self,
        after: MessageCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> MessagePage[MessageInfo]:
        """One page of the incoming archive (or of the faxes assigned to ``owner``), oldest
        first; pass ``next_cursor`` for more."""
        return await self.get_messages(Direction.IN, after, limit, owner=owner)

    async def get_outgoing_messages(
        self,
        after: MessageCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
    ) -> MessagePage[MessageInfo]:
        """One page of the outgoing archive (or of ``owner``'s faxes in it), oldest first;
        pass ``next_cursor`` for more."""
        return await self.get_messages(Direction.OUT, after, limit, owner=owner)

    async def get_messages(
        self,
        direction: Direction,
        after: MessageCursor | None = None,
        limit: int = DEFAULT_PREFETCH_SIZE,
        *,
        owner: int | None = None,
        words: Sequence[str] = (),
        newest_first: bool = False,
        party: str = "",
        archived_from: datetime | None = None,
        archived_before: datetime | None = None,
    ) -> MessagePage[MessageInfo]:
        """One page of an archive, all of it or ``owner``'s messages, oldest first
        (``newest_first``: newest first); with ``words``, those whose text (OCR) holds them
        all; with ``party``, those whose caller or number holds it; with ``archived_from`` /
        ``archived_before``, those archived in that span (what the console's search asks)."""
        async with self._ctx.db.read() as conn:
            page = await q.list_messages(
                conn,
                direction,
                owner=owner,
                words=words,
                after=after,
                limit=limit,
                newest_first=newest_first,
                party=party,
                archived_from=archived_from,
                archived_before=archived_before,
            )
        return MessagePage([message_info(message) for message in page.messages], page.next_cursor)

    async def size(self, direction: Direction, *, owner: int | None = None) -> int:
        """FAXCOMEX ``SizeLow/High`` of an archive: bytes of its faxes, or of ``owner``'s."""
        async with self._ctx.db.read() as conn:
            return (await q.archive_sizes(conn, owner)).get(direction, 0)

    async def get_message(
        self, direction: Direction, message_id: int, actor: str | None = None
    ) -> MessageInfo:
        """An archived fax; MessageNotFoundError if there is none. Audited as viewed by
        ``actor`` unless None (the service itself)."""
        async with self._ctx.db.read() as conn:
            message = await q.get_message(conn, direction, message_id)
        if actor is not None:
            kind = message_type(direction)
            await record_read(self._ctx, actor, AuditAction.VIEWED, kind, message_id)
        return message_info(message)

    async def owner_of(self, direction: Direction, fax_id: int) -> int | None:
        """The id of the account a fax belongs to, queued or archived (a job and the message
        it became share their id): an outgoing job's submitter, a received fax's assignee;
        None when it has none or is gone."""
        async with self._ctx.db.read() as conn:
            if direction is Direction.OUT:
                try:
                    job = await q.get_job(conn, fax_id)
                except MessageNotFoundError:
                    pass
                else:
                    return (await q.get_submission(conn, job.submission_id)).owner_id
            try:
                return (await q.get_message(conn, direction, fax_id)).owner_id
            except MessageNotFoundError:
                return None

    async def save_message(
        self,
        direction: Direction,
        message_id: int,
        changes: Mapping[str, Any],
        actor: str = SERVICE_ACTOR,
    ) -> MessageInfo:
        """FAXCOMEX ``FaxIncomingMessage2/FaxOutgoingMessage2.Save()``: set the fields a
        message lets change (``read``; on a received fax also what a routing assistant fills
        in: ``subject``, ``sender_name``, ``sender_fax_number``, ``has_cover_page``);
        InvalidOperationError names another. Audited as ``actor``'s change (the fields'
        names, not their text)."""
        allowed = CHANGEABLE_MESSAGE_FIELDS[direction]
        for name in changes:
            if name not in allowed:
                raise InvalidOperationError(
                    f"{name} of {message_type(direction).replace('_', ' ')}s cannot be "
                    f"changed (only {', '.join(sorted(allowed))})"
                )
        ctx = self._ctx
        async with ctx.db.transaction() as conn:
            message = await q.update_message(conn, direction, message_id, changes)
            if changes:
                kind, fields = message_type(direction), {"fields": sorted(changes)}
                now = ctx.clock.now()
                await record(conn, now, actor, AuditAction.CHANGED, kind, message_id, fields)
        return message_info(message)

    async def delete_message(
        self, direction: Direction, message_id: int, actor: str = SERVICE_ACTOR
    ) -> None:
        """FAXCOMEX ``Message.Delete()``: remove a fax from its archive, and its file."""
        ctx = self._ctx
        async with ctx.hub.transaction() as conn:
            message = await q.delete_message(conn, direction, message_id)
            await record(
                conn,
                ctx.clock.now(),
                actor,
                AuditAction.DELETED,
                message_type(direction),
                message_id,
            )
            await ctx.hub.emit(conn, message_removed(message))
            in_use = direction is Direction.OUT and message_id in {
                job.id for job in await q.list_jobs(conn, submission_id=message.submission_id)
            }
        if message.tiff_path and not in_use:
            await asyncio.to_thread(ctx.spool.delete, message.tiff_path)
        for cache in await asyncio.to_thread(cache_paths, ctx.spool, direction, message_id):
            with contextlib.suppress(OSError):
                await asyncio.to_thread(cache.unlink)

    async def tiff_path(
        self, direction: Direction, message_id: int, actor: str | None = None
    ) -> Path:
        """The archived fax's TIFF-F file (read it, do not change it); audited as downloaded
        by ``actor`` unless None."""
        async with self._ctx.db.read() as conn:
            message = await q.get_message(conn, direction, message_id)
        if message.tiff_path is None:
            raise MessageNotFoundError("message document", message_id)
        if actor is not None:
            await self._downloaded(actor, direction, message_id, "tiff")
        return self._ctx.spool.path(message.tiff_path)

    async def pdf_path(
        self, direction: Direction, message_id: int, actor: str | None = None
    ) -> Path:
        """The archived fax as a PDF, made on first use (with the text read of it as its
        text layer) and kept beside the spool; audited as downloaded by ``actor`` unless
        None."""
        tiff = await self.tiff_path(direction, message_id)
        pdf = self._pdf_cache(direction, message_id)
        if not pdf.exists():
            read = None
            if direction is Direction.IN:
                async with self._ctx.db.read() as conn:
                    read = await q.get_message_text(conn, message_id)
            texts = FaxText.from_json(read.pages).pages if read is not None else ()
            await asyncio.to_thread(write_pdf, tiff, pdf, texts)
        if actor is not None:
            await self._downloaded(actor, direction, message_id, "pdf")
        return pdf

    async def get_text(self, message_id: int, actor: str | None = None) -> MessageText | None:
        """What OCR read of a received fax, None until it is read; audited as viewed by
        ``actor`` unless None."""
        async with self._ctx.db.read() as conn:
            await q.get_message(conn, Direction.IN, message_id)
            read = await q.get_message_text(conn, message_id)
        if actor is not None:
            await record_read(
                self._ctx, actor, AuditAction.VIEWED, message_type(Direction.IN), message_id
            )
        return read

    async def _downloaded(
        self, actor: str, direction: Direction, message_id: int, file_format: str
    ) -> None:
        kind, details = message_type(direction), {"format": file_format}
        await record_read(self._ctx, actor, AuditAction.DOWNLOADED, kind, message_id, details)

    def _pdf_cache(self, direction: Direction, message_id: int) -> Path:
        return pdf_cache_path(self._ctx.spool, direction, message_id)
