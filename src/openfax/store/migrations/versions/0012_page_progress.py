"""How far an outgoing job's call is into its current page (``outgoing_jobs.page_bytes_sent``
of ``page_bytes``) and at what speed (``bit_rate``), so that a client shows progress within
a page and the negotiated speed.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = ("bit_rate", "page_bytes", "page_bytes_sent")


def upgrade() -> None:
    # Added in place (no batch copy: see 0002 on SQLite's cascades).
    for name in COLUMNS:
        op.add_column(
            "outgoing_jobs", sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("outgoing_jobs") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
