"""Accounts get an immutable id, and what an account owns refers to it, not to its name: a
new account with a removed one's name starts empty. An idempotency key is its owner's.

Existing submissions and messages take the id of the account of their owner's name; those
whose owner has no account (removed, or a Unix user who never connected since accounts
were kept) are left to nobody: holders of the "all" rights still see them, and no later
account of that name inherits them.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MAX_ID = 2**63 - 1


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("accounts", sa.Column("id", sa.BigInteger(), nullable=True))
    names = list(conn.scalars(sa.text("SELECT name FROM accounts")))
    for name in names:
        conn.execute(
            sa.text("UPDATE accounts SET id = :id WHERE name = :name"),
            {"id": secrets.randbelow(MAX_ID) + 1, "name": name},
        )
    with _keeping("account_tokens"), op.batch_alter_table("accounts") as batch:
        batch.alter_column("id", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint(op.f("uq_accounts_id"), ["id"])

    for table in ("submissions", "messages"):
        op.add_column(table, sa.Column("owner_id", sa.BigInteger(), nullable=True))
        conn.execute(
            sa.text(
                f"UPDATE {table} SET owner_id = "
                f"(SELECT accounts.id FROM accounts WHERE accounts.name = {table}.owner)"
            )
        )
    op.drop_index(op.f("ix_submissions_owner"), table_name="submissions")
    with _keeping("outgoing_jobs"), op.batch_alter_table("submissions") as batch:
        batch.drop_constraint(op.f("uq_submissions_idempotency_key"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_submissions_owner_id_idempotency_key"), ["owner_id", "idempotency_key"]
        )
    op.create_index(op.f("ix_submissions_owner_id"), "submissions", ["owner_id"])
    op.drop_index(op.f("ix_messages_direction_owner_archived_at_id"), table_name="messages")
    op.create_index(
        op.f("ix_messages_direction_owner_id_archived_at_id"),
        "messages",
        ["direction", "owner_id", "archived_at", "id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_direction_owner_id_archived_at_id"), table_name="messages")
    op.create_index(
        op.f("ix_messages_direction_owner_archived_at_id"),
        "messages",
        ["direction", "owner", "archived_at", "id"],
    )
    # Keys were unique across accounts before: a key another account used first is dropped.
    op.execute(
        "UPDATE submissions SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND "
        "EXISTS (SELECT 1 FROM submissions AS first WHERE first.idempotency_key = "
        "submissions.idempotency_key AND (first.submitted_at < submissions.submitted_at OR "
        "(first.submitted_at = submissions.submitted_at AND first.id < submissions.id)))"
    )
    op.drop_index(op.f("ix_submissions_owner_id"), table_name="submissions")
    with _keeping("outgoing_jobs"), op.batch_alter_table("submissions") as batch:
        batch.drop_constraint(op.f("uq_submissions_owner_id_idempotency_key"), type_="unique")
        batch.create_unique_constraint(op.f("uq_submissions_idempotency_key"), ["idempotency_key"])
        batch.drop_column("owner_id")
    op.create_index(op.f("ix_submissions_owner"), "submissions", ["owner"])
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("owner_id")
    with _keeping("account_tokens"), op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("uq_accounts_id"), type_="unique")
        batch.drop_column("id")


@contextmanager
def _keeping(child: str) -> Iterator[None]:
    """Keep the rows of ``child`` across a batch operation on the table it references. On
    SQLite the batch copies that table and drops the old one, and the drop empties the
    tables that reference it with ON DELETE CASCADE (foreign keys are on and cannot be
    switched off inside the migration's transaction): the rows are copied aside and put
    back once the new table is in place. PostgreSQL alters the table in place."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        yield
        return
    run: Callable[[str], object] = lambda sql: conn.execute(sa.text(sql))  # noqa: E731
    run(f"CREATE TEMP TABLE kept_{child} AS SELECT * FROM {child}")
    yield
    run(f"DELETE FROM {child}")
    run(f"INSERT INTO {child} SELECT * FROM kept_{child}")
    run(f"DROP TABLE kept_{child}")
