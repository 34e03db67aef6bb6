"""The text OCR read of received faxes, and the search on it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.records import MessageText, values
from openfax.store.schema import message_texts


async def put_message_text(conn: AsyncConnection, text: MessageText) -> None:
    """Store what was read of a fax, replacing what an earlier reading stored."""
    await conn.execute(delete(message_texts).where(message_texts.c.message_id == text.message_id))
    await conn.execute(insert(message_texts).values(values(text)))


async def get_message_text(conn: AsyncConnection, message_id: int) -> MessageText | None:
    """What was read of a fax; None when it has not been read (yet)."""
    query = select(message_texts).where(message_texts.c.message_id == message_id)
    row = (await conn.execute(query)).first()
    return None if row is None else MessageText(**row._mapping)


def text_holds(message_id: ColumnElement[int], words: Sequence[str]) -> ColumnElement[bool]:
    """A filter: the fax ``message_id`` names has text holding every one of ``words``
    (letter case aside, a word anywhere in a longer one too)."""
    return exists(
        select(message_texts.c.message_id).where(
            and_(
                message_texts.c.message_id == message_id,
                *(message_texts.c.text.icontains(word, autoescape=True) for word in words),
            )
        )
    )
