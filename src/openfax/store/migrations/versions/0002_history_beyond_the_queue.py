"""History beyond the queue: call attempts outlive their job (an archived message, which
takes the job's id, still shows its calls); a submission keeps its job ids (a repeated
idempotency key finds them after the jobs left the queue); a job can carry its header line
to be drawn at send time (the device's TSID); an index finds the next scheduled job.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
CLAIMABLE = "status IN (1, 64, 33, 96)"


def upgrade() -> None:
    # On SQLite a batch operation copies the table and drops the old one, and dropping a
    # table that others reference with ON DELETE CASCADE empties those (foreign keys are on
    # and cannot be switched off inside the migration's transaction). So only call_attempts,
    # which nothing references, is copied; the new columns are added in place.
    with op.batch_alter_table("call_attempts") as batch:
        batch.drop_constraint("fk_call_attempts_job_id_outgoing_jobs", type_="foreignkey")
    op.add_column(
        "submissions",
        sa.Column("job_ids", JSON_DOCUMENT, nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "outgoing_jobs",
        sa.Column("header_at_send", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _fill_job_ids()
    op.create_index(
        "ix_outgoing_jobs_due",
        "outgoing_jobs",
        ["scheduled_at"],
        unique=False,
        postgresql_where=sa.text(CLAIMABLE),
        sqlite_where=sa.text(CLAIMABLE),
    )


def _fill_job_ids() -> None:
    """Every existing submission's job ids in recipient order (as far as the queue has them)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT submission_id, id FROM outgoing_jobs ORDER BY recipient_index")
    )
    found: dict[int, list[int]] = {}
    for submission_id, job_id in rows:
        found.setdefault(submission_id, []).append(job_id)
    for (submission_id,) in conn.execute(sa.text("SELECT id FROM submissions")):
        conn.execute(
            sa.text("UPDATE submissions SET job_ids = :ids WHERE id = :id").bindparams(
                sa.bindparam("ids", type_=JSON_DOCUMENT)
            ),
            {"ids": found.get(submission_id, []), "id": submission_id},
        )


def downgrade() -> None:
    op.drop_index("ix_outgoing_jobs_due", table_name="outgoing_jobs")
    op.drop_column("outgoing_jobs", "header_at_send")
    op.drop_column("submissions", "job_ids")
    op.execute("DELETE FROM call_attempts WHERE job_id NOT IN (SELECT id FROM outgoing_jobs)")
    with op.batch_alter_table("call_attempts") as batch:
        batch.create_foreign_key(
            "fk_call_attempts_job_id_outgoing_jobs",
            "outgoing_jobs",
            ["job_id"],
            ["id"],
            ondelete="CASCADE",
        )
