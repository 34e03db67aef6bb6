"""Opening the store: an async engine on SQLite or PostgreSQL, migrated to the latest schema.

SQLite (the default, one node) runs in WAL mode with foreign keys on and a busy timeout; its
write transactions start with ``BEGIN IMMEDIATE`` so that two writers queue for the lock
instead of failing half-way; its files are its user's only (0600). PostgreSQL (several
nodes) is chosen by URL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from openfax.errors import StoreError
from openfax.file_modes import FILE_MODE, FOLDER_MODE

BUSY_TIMEOUT_SECONDS = 10.0
"""How long a SQLite connection waits for another one's write lock before giving up, unless
``open_database`` is told otherwise."""

MIGRATION_LOCK = 0x0F4F_0001
"""PostgreSQL advisory lock key that serialises migrations when several nodes start at once."""

_WRITE = "openfax_write"


class Database:
    """An open store: hands out connections inside a read or a write transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed when the block ends without error.

        On SQLite the transaction takes the write lock at its start (``BEGIN IMMEDIATE``).
        """
        async with self.engine.connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction for reading: one consistent view, no write lock."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def database_url(target: str | Path) -> URL:
    """The async SQLAlchemy URL for a file path or a URL, with the driver OpenFax uses."""
    if isinstance(target, Path) or "://" not in target:
        return URL.create("sqlite+aiosqlite", database=str(Path(target).resolve()))
    url = make_url(target)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"unsupported database URL {url.render_as_string()!r}: use sqlite or postgresql"
    )


async def open_database(
    target: str | Path, *, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS
) -> Database:
    """Open the store at ``target`` (a SQLite file path or a database URL) and migrate it;
    on SQLite a write waits at most ``busy_timeout_seconds`` for another's write lock.

    Every node runs the migrations at start; they are idempotent and serialised, so the first
    node to start upgrades the schema and the others find it done.
    """
    url = database_url(target)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        _create_private(Path(url.database))
    # Every use of a connection ends its transaction (``transaction``/``read``), so the
    # pool's rollback on return would only cost one more round trip to the driver's thread.
    engine = create_async_engine(url, pool_reset_on_return=None)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, round(busy_timeout_seconds * 1000))
    database = Database(engine)
    try:
        async with database.transaction() as conn:
            await conn.run_sync(_upgrade_to_head)
    except StoreError:
        await database.close()
        raise
    except (SQLAlchemyError, OSError) as exc:
        await database.close()
        where = url.render_as_string(hide_password=True)
        raise StoreError(f"cannot open the database {where}: {exc}") from exc
    return database


def _create_private(path: Path) -> None:
    """Make a SQLite file that does not exist yet, and its folder, its user's only (0600,
    0700), whatever the umask: SQLite gives the ``-wal`` and ``-shm`` files the database
    file's mode, so they are private too."""
    path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """Pragmas on every new connection, and our own BEGIN instead of the driver's."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions itself: the "begin" hook below does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _migrations() -> Config:
    config = Config()
    config.set_main_option("script_location", "openfax.store:migrations")
    return config


def head_revision() -> str | None:
    """The newest migration this version of OpenFax knows (the schema it expects)."""
    return ScriptDirectory.from_config(_migrations()).get_current_head()


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this version's migrations (else the schema is newer
    than this version of OpenFax)."""
    try:
        ScriptDirectory.from_config(_migrations()).get_revision(revision)
    except CommandError:
        return False
    return True


async def schema_revision(conn: AsyncConnection) -> str | None:
    """The migration the database on ``conn`` was last brought to (None: none ran)."""

    def current(sync: Connection) -> str | None:
        return MigrationContext.configure(sync).get_current_revision()

    return await conn.run_sync(current)


async def stored_revision(target: str | Path, timeout: float) -> str | None:
    """The migration of the database at ``target`` (None: none ran, an empty database),
    read within ``timeout`` seconds without migrating or creating anything (``openfax
    doctor`` and ``openfax restore`` look before openfaxd does)."""
    engine = create_async_engine(database_url(target))
    try:
        async with asyncio.timeout(timeout), engine.connect() as conn:
            return await schema_revision(conn)
    finally:
        await engine.dispose()


class NewerSchemaError(StoreError):
    """The database was migrated by a newer version of OpenFax than this one: this version
    would misread what it does not know, so it does not start (a rolling upgrade upgrades
    every node, never the database past a node still running)."""

    def __init__(self, revision: str, head: str | None) -> None:
        self.revision = revision
        self.head = head
        super().__init__(
            f"the database's schema is at migration {revision}, newer than this version of "
            f"OpenFax knows (its newest is {head}): upgrade OpenFax on this machine to the "
            "version the other nodes run"
        )


def _upgrade_to_head(conn: Connection) -> None:
    """Run Alembic's ``upgrade head`` on ``conn``, inside the caller's transaction;
    NewerSchemaError if the schema is newer than this version knows (Alembic would fail with
    "Can't locate revision")."""
    if conn.dialect.name == "postgresql":
        # Held to the end of the transaction: a newer node migrating at this moment is
        # waited for, and its revision seen.
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is not None and not known_revision(revision):
        raise NewerSchemaError(revision, head_revision())
    upgrade(conn, "head")


def upgrade(conn: Connection, revision: str) -> None:
    """Migrate the database on ``conn`` to ``revision`` (``"head"``, or a number for tests
    of a later migration), inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    config = _migrations()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)
