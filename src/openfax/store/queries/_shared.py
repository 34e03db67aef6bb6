"""What the query modules share: the backend's INSERT with ON CONFLICT, the check of a
change's columns, and the compare-and-set UPDATE of the job tables."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import RowMapping, Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.model import JobStatus


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
