"""Shared body documents: a submission's bodies are rendered once into one spool document
(``submissions.body_path``) that all its jobs send; a job keeps only its own cover page
(``outgoing_jobs.cover_path``), and its ``document_path`` holds the pages as composed for a
call, with the header line drawn at send time.

Jobs queued before this revision keep their whole document in ``document_path``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch copy: see 0002 on SQLite's cascades).
    op.add_column("outgoing_jobs", sa.Column("cover_path", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outgoing_jobs") as batch:
        batch.drop_column("cover_path")
