"""PostgreSQL's notices of new events: a connection of its own that LISTENs to the channel
every event is NOTIFYed on at commit (:data:`openfax.store.queries.EVENTS_CHANNEL`), so a
node hears of the other nodes' events at once. A notice carries an event's number (or
nothing, for a batch); the event log stays what is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from openfax.errors import StoreError
from openfax.store.queries.events import EVENTS_CHANNEL


class EventNotices:
    """A LISTEN connection to the database at ``url``, named ``name`` in PostgreSQL's
    ``pg_stat_activity``: ``async with`` opens it; a lost connection raises
    :class:`StoreError` from whatever is using it."""

    def __init__(self, url: URL, name: str) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._name = name
        self._where = url.render_as_string(hide_password=True)
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def __aenter__(self) -> Self:
        try:
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, application_name=self._name
            )
            await self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(EVENTS_CHANNEL)))
        except psycopg.Error as exc:
            await self.__aexit__(None, None, None)
            raise StoreError(f"cannot listen to the events of {self._where}: {exc}") from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def heard(self, timeout: float) -> AsyncIterator[str]:
        """The payloads of the notices that arrive within ``timeout`` seconds, as they do."""
        assert self._conn is not None, "not opened"
        try:
            async for notice in self._conn.notifies(timeout=timeout):
                yield notice.payload
        except psycopg.Error as exc:
            raise self._lost(exc) from exc

    def _lost(self, exc: psycopg.Error) -> StoreError:
        return StoreError(f"the events' LISTEN connection to {self._where} failed: {exc}")

    async def newest_seq(self) -> int:
        """The number of the newest event, read on this connection (which proves it works)."""
        assert self._conn is not None, "not opened"
        try:
            cursor = await self._conn.execute("SELECT coalesce(max(seq), 0) FROM events")
            row = await cursor.fetchone()
        except psycopg.Error as exc:
            raise self._lost(exc) from exc
        return 0 if row is None else int(str(row[0]))
