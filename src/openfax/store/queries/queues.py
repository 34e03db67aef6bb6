"""The two job queues read a page at a time, and counted by status."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select, tuple_, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

from openfax.model import JobStatus
from openfax.model.paging import QueueCursor, QueueKey, QueuePage
from openfax.store.records import Direction
from openfax.store.schema import incoming_jobs, outgoing_jobs

R = TypeVar("R")


async def count_queue_by_status(
    conn: AsyncConnection, direction: Direction
) -> dict[JobStatus, int]:
    """How many jobs of the incoming or the outgoing queue are in each status (modifier bits
    included), counted by the database rather than by reading every job."""
    table = incoming_jobs if direction is Direction.IN else outgoing_jobs
    query = select(table.c.status, func.count()).group_by(table.c.status)
    return {JobStatus(status): count for status, count in await conn.execute(query)}


async def queue_page(
    conn: AsyncConnection,
    at: Any,
    record: Callable[..., R],
    after: QueueCursor | None,
    limit: int,
    *,
    where: ColumnElement[bool] | None = None,
    columns: Sequence[ColumnElement[Any]] | None = None,
) -> QueuePage[R]:
    """One page of a queue snapshot, ordered by ``(at, id)`` (keyset pagination on the
    queue's index), of the jobs ``where`` selects (all when None), each made by ``record``
    from every column of the table by name or, given ``columns`` (``at`` and the id among
    them), from their values in order (no dict a row: a listing reads thousands).

    The first page (``after`` None) fixes the snapshot: its last job (``until``) and its
    size. Every page holds the jobs after the cursor up to ``until`` as they are when the
    page is read, so none shows twice and none still queued is skipped; jobs queued after the
    snapshot are not in it, and jobs that left the queue before their page was read are not
    shown. Each page costs an index range scan however deep into the queue it is.
    """
    table = at.table
    key = tuple_(at, table.c.id)
    selected = [] if where is None else [where]
    shown = list(table.c if columns is None else columns)
    # Each row ends with its key, its time as the driver gives it: only the last row's is
    # converted (a cursor), not one a row.
    raw_key = (type_coerce(at, NullType()), table.c.id)
    query = select(*shown, *raw_key).where(*selected).order_by(at, table.c.id).limit(limit + 1)
    if after is None:
        # The snapshot's size and last job come with the first page, in the same statement.
        newest = (
            select(at, table.c.id).where(*selected).order_by(at.desc(), table.c.id.desc()).limit(1)
        )
        query = query.add_columns(
            select(func.count()).select_from(table).where(*selected).scalar_subquery(),
            newest.with_only_columns(at).scalar_subquery(),
            newest.with_only_columns(table.c.id).scalar_subquery(),
        )
    else:
        query = query.where(_up_to(key, after.until), key > (after.after.at, after.after.id))
    rows = (await conn.execute(query)).all()
    if not rows:
        return QueuePage([], 0 if after is None else after.count, None)
    width = len(shown)
    if after is None:
        total, newest_at, newest_id = rows[0][width + len(raw_key) :]
        until = QueueKey(newest_at, newest_id)
    else:
        total, until = after.count, after.until
    if columns is None:
        names = [column.key for column in shown]
        jobs = [record(**dict(zip(names, row, strict=False))) for row in rows[:limit]]
    else:
        jobs = [record(*row[:width]) for row in rows[:limit]]
    if len(rows) <= limit:
        return QueuePage(jobs, total, None)
    last_at, last_id = rows[limit - 1][width : width + len(raw_key)]
    convert = at.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
    place = QueueKey(last_at if convert is None else convert(last_at), last_id)
    return QueuePage(jobs, total, QueueCursor(place, until, total))


def _up_to(key: Any, until: QueueKey) -> ColumnElement[bool]:
    return key <= (until.at, until.id)  # type: ignore[no-any-return]
