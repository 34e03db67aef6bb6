"""The incoming and outgoing archives of messages, read a page at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import MessageNotFoundError
from openfax.model import DEFAULT_PREFETCH_SIZE
from openfax.model.paging import MessageCursor, MessagePage
from openfax.store.queries._shared import get_row, update_row
from openfax.store.queries.message_texts import text_holds
from openfax.store.records import Direction, Message, values
from openfax.store.schema import call_attempts, messages, outgoing_jobs

_MESSAGE_KIND = {Direction.IN: "incoming message", Direction.OUT: "outgoing message"}


async def archive_message(conn: AsyncConnection, message: Message) -> None:
    """Add a sent or received fax to its archive."""
    await conn.execute(insert(messages).values(values(message)))


async def get_message(conn: AsyncConnection, direction: Direction, message_id: int) -> Message:
    """The archived message with that id; ``MessageNotFoundError`` if there is none."""
    kind, in_archive = _MESSAGE_KIND[direction], messages.c.direction == direction
    return Message(**await get_row(conn, messages, kind, message_id, in_archive))


async def list_messages(
    conn: AsyncConnection,
    direction: Direction,
    *,
    owner: int | None = None,
    words: Sequence[str] = (),
    after: MessageCursor | None = None,
    limit: int = DEFAULT_PREFETCH_SIZE,
    newest_first: bool = False,
    party: str = "",
    archived_from: datetime | None = None,
    archived_before: datetime | None = None,
) -> MessagePage[Message]:
    """One page of an archive (or of the account ``owner``'s messages in it, by its id),
    oldest first (``newest_first``: newest first), starting after ``after`` (keyset
    pagination); with ``words``, only the faxes whose text (OCR) holds them all; with
    ``party``, those whose caller id, TSID, sender's name or number, or recipient's
    number holds it (letter case aside); with ``archived_from`` / ``archived_before``,
    those archived in that span.

    Pages stay correct while messages are added or deleted, and each costs an index range
    scan however deep into the archive it is.
    """
    order = (messages.c.archived_at, messages.c.id)
    query = (
        select(messages)
        .where(messages.c.direction == direction)
        .order_by(*(column.desc() for column in order) if newest_first else order)
        .limit(limit + 1)
    )
    if owner is not None:
        query = query.where(messages.c.owner_id == owner)
    if words:
        query = query.where(text_holds(messages.c.id, words))
    if party:
        wanted = party.lower()
        columns = (
            messages.c.caller_id,
            messages.c.tsid,
            messages.c.sender_name,
            messages.c.sender_fax_number,
            messages.c.recipient_number,
        )
        query = query.where(
            or_(*(func.lower(column).contains(wanted, autoescape=True) for column in columns))
        )
    if archived_from is not None:
        query = query.where(messages.c.archived_at >= archived_from)
    if archived_before is not None:
        query = query.where(messages.c.archived_at < archived_before)
    if after is not None:
        if newest_first:
            query = query.where(
                or_(
                    messages.c.archived_at < after.archived_at,
                    (messages.c.archived_at == after.archived_at) & (messages.c.id < after.id),
                )
            )
        else:
            query = query.where(
                or_(
                    messages.c.archived_at > after.archived_at,
                    (messages.c.archived_at == after.archived_at) & (messages.c.id > after.id),
                )
            )
    page = [Message(**row._mapping) for row in await conn.execute(query)]
    if len(page) <= limit:
        return MessagePage(page, None)
    last = page[limit - 1]
    return MessagePage(page[:limit], MessageCursor(last.archived_at, last.id))


async def expired_messages(
    conn: AsyncConnection, direction: Direction, *, archived_before: datetime, limit: int = 1000
) -> list[Message]:
    """The oldest messages of an archive archived before ``archived_before``, at most
    ``limit`` of them (the age limit deletes them in batches)."""
    rows = await conn.execute(
        select(messages)
        .where(messages.c.direction == direction, messages.c.archived_at < archived_before)
        .order_by(messages.c.archived_at, messages.c.id)
        .limit(limit)
    )
    return [Message(**row._mapping) for row in rows]


async def archive_size(conn: AsyncConnection) -> int:
    """Bytes of every archived fax, both archives (FAXCOMEX ``ArchiveSizeLow/High``)."""
    return sum((await archive_sizes(conn)).values())


async def archive_sizes(conn: AsyncConnection, owner_id: int | None = None) -> dict[Direction, int]:
    """Bytes of the archived faxes of each archive (FAXCOMEX ``SizeLow/High`` of an
    archive), of one account's when ``owner_id`` is given; an empty archive is missing."""
    query = select(messages.c.direction, func.sum(messages.c.size)).group_by(messages.c.direction)
    if owner_id is not None:
        query = query.where(messages.c.owner_id == owner_id)
    rows = await conn.execute(query)
    return {Direction(row[0]): int(row[1] or 0) for row in rows}


async def update_message(
    conn: AsyncConnection, direction: Direction, message_id: int, changes: Mapping[str, Any]
) -> Message:
    """Change an archived message (read flag, reassignment); ``MessageNotFoundError`` if gone."""
    picked = (messages.c.id == message_id, messages.c.direction == direction)
    row = await update_row(conn, messages, changes, {"id", "direction"}, *picked)
    if row is None:
        raise MessageNotFoundError(_MESSAGE_KIND[direction], message_id)
    return Message(**row)


async def delete_message(conn: AsyncConnection, direction: Direction, message_id: int) -> Message:
    """Remove a message from its archive and return it (so its TIFF can leave the spool).

    An outgoing message's call attempts go too, unless its job is still in the queue.
    """
    if direction is Direction.OUT:
        queued = select(outgoing_jobs.c.id).where(outgoing_jobs.c.id == message_id)
        await conn.execute(
            delete(call_attempts).where(
                call_attempts.c.job_id == message_id, call_attempts.c.job_id.not_in(queued)
            )
        )
    row = (
        await conn.execute(
            delete(messages)
            .where(messages.c.id == message_id, messages.c.direction == direction)
            .returning(*messages.c)
        )
    ).first()
    if row is None:
        raise MessageNotFoundError(_MESSAGE_KIND[direction], message_id)
    return Message(**row._mapping)
