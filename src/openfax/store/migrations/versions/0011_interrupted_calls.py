"""The calls of an outgoing job cut off by the death of their node, in a row
(``outgoing_jobs.interrupted_calls``): a job whose calls killed the service twice is set
aside instead of being tried again.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy: see 0002 on SQLite's cascades).
    op.add_column(
        "outgoing_jobs",
        sa.Column("interrupted_calls", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("outgoing_jobs") as batch:
        batch.drop_column("interrupted_calls")
