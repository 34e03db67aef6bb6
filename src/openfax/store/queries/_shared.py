"""What the query modules share: the backend's INSERT with ON CONFLICT, the check of a
change's columns, reading and changing one row, listing a delivery table, and the
compare-and-set UPDATE of the job tables."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.errors import MessageNotFoundError
from openfax.model import DeliveryStatus, JobStatus


def dialect_insert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with the backend's ON CONFLICT clauses (the two dialects spell them alike)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def check_columns(table: Table, changes: Mapping[str, Any], frozen: Collection[str]) -> None:
    """Refuse a change to an unknown or unchangeable column: a programming error, said early."""
    bad = sorted(set(changes) - set(table.c.keys()) | set(changes) & set(frozen))
    if bad:
        raise ValueError(f"cannot change {table.name} columns {bad}")


async def get_row(
    conn: AsyncConnection,
    table: Table,
    kind: str,
    row_id: int,
    *where: ColumnElement[bool],
    for_update: bool = False,
) -> RowMapping:
    """The row of ``table`` with that id (and ``where``); ``MessageNotFoundError`` naming
    ``kind`` if there is none. ``for_update`` locks it, as in ``get_job``."""
    query = select(table).where(table.c.id == row_id, *where)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise MessageNotFoundError(kind, row_id)
    return row._mapping


async def update_row(
    conn: AsyncConnection,
    table: Table,
    changes: Mapping[str, Any],
    frozen: Collection[str],
    *where: ColumnElement[bool],
) -> RowMapping | None:
    """Apply ``changes`` (checked against ``frozen``, as ``check_columns``) to the row
    ``where`` picks; the new row, or None if there is none."""
    check_columns(table, changes, frozen)
    statement = update(table).where(*where).values(dict(changes)).returning(*table.c)
    row = (await conn.execute(statement)).first()
    return None if row is None else row._mapping


async def list_deliveries(
    conn: AsyncConnection,
    query: Select[Any],
    table: Table,
    of_one: ColumnElement[bool] | None,
    in_order: Sequence[ColumnElement[Any]],
    status: DeliveryStatus | None,
) -> list[RowMapping]:
    """The rows ``query`` selects of a delivery table (receipts, routing deliveries): those
    ``of_one`` picks (one fax's) ``in_order``, else all, the most recently changed first;
    only those in ``status``, if given."""
    if of_one is not None:
        query = query.where(of_one).order_by(*in_order)
    else:
        query = query.order_by(table.c.updated_at.desc(), table.c.id)
    if status is not None:
        query = query.where(table.c.status == status)
    return [row._mapping for row in await conn.execute(query)]


async def count_unsettled(conn: AsyncConnection, table: Table) -> dict[DeliveryStatus, int]:
    """How many deliveries of ``table`` (receipts, routing deliveries) are pending and
    failed: a range of its ``(status, ...)`` index each, never the rows done."""
    unsettled = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    query = (
        select(table.c.status, func.count())
        .where(table.c.status.in_(unsettled))
        .group_by(table.c.status)
    )
    counts = dict.fromkeys(unsettled, 0)
    counts.update({DeliveryStatus(status): n for status, n in await conn.execute(query)})
    return counts


async def update_guarded(
    conn: AsyncConnection,
    table: Table,
    row_id: int,
    changes: Mapping[str, Any],
    expected_status: JobStatus | frozenset[JobStatus] | None,
    expected_version: int | None,
) -> RowMapping | None:
    """The compare-and-set UPDATE shared by both job tables; the new row, or None.
    ``expected_status`` is the status the row must have, or a set of them."""
    check_columns(table, changes, frozen={"id", "version", "submission_id"})
    statement = update(table).where(table.c.id == row_id)
    if isinstance(expected_status, frozenset):
        statement = statement.where(table.c.status.in_(expected_status))
    elif expected_status is not None:
        statement = statement.where(table.c.status == expected_status)
    if expected_version is not None:
        statement = statement.where(table.c.version == expected_version)
    statement = statement.values({**changes, "version": table.c.version + 1})
    row = (await conn.execute(statement.returning(*table.c))).first()
    return None if row is None else row._mapping
