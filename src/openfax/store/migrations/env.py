"""Alembic environment: migrations run on the connection ``open_database`` passes in."""

from __future__ import annotations

from alembic import context

from openfax.errors import StoreError
from openfax.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise StoreError("the store migrations run through openfax.store.open_database only")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
