"""The first schema: submissions, outgoing and incoming jobs, call attempts, archive, devices,
settings and the event log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("node_id", sa.String(length=200), nullable=True),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tsid", sa.Text(), nullable=False),
        sa.Column("csid", sa.Text(), nullable=False),
        sa.Column("rings_before_answer", sa.Integer(), nullable=False),
        sa.Column("receive_mode", sa.Integer(), nullable=False),
        sa.Column("send_enabled", sa.Boolean(), nullable=False),
        sa.Column("routing_methods", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("provider", "name", name=op.f("uq_devices_provider_name")),
    )
    op.create_table(
        "events",
        sa.Column("seq", SEQUENCE_NUMBER, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_created_at"), "events", ["created_at"], unique=False)
    op.create_table(
        "incoming_jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=200), nullable=True),
        sa.Column("job_type", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("extended_status", sa.Integer(), nullable=False),
        sa.Column("extended_status_text", sa.Text(), nullable=False),
        sa.Column("failure_cause", sa.Text(), nullable=True),
        sa.Column("caller_id", sa.Text(), nullable=False),
        sa.Column("routing_information", sa.Text(), nullable=False),
        sa.Column("csid", sa.Text(), nullable=False),
        sa.Column("tsid", sa.Text(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("current_page", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("receive_path", sa.Text(), nullable=True),
        sa.Column("routing_state", JSON_DOCUMENT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_jobs")),
    )
    op.create_index(
        op.f("ix_incoming_jobs_started_at_id"), "incoming_jobs", ["started_at", "id"], unique=False
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=True),
        sa.Column("submission_id", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("document_name", sa.Text(), nullable=False),
        sa.Column("sender", JSON_DOCUMENT, nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("sender_fax_number", sa.Text(), nullable=False),
        sa.Column("recipient_number", sa.Text(), nullable=False),
        sa.Column("recipient_name", sa.Text(), nullable=False),
        sa.Column("recipient", JSON_DOCUMENT, nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("was_reassigned", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("receipt_type", sa.Integer(), nullable=True),
        sa.Column("receipt_address", sa.Text(), nullable=False),
        sa.Column("has_cover_page", sa.Boolean(), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("device_name", sa.Text(), nullable=False),
        sa.Column("csid", sa.Text(), nullable=False),
        sa.Column("tsid", sa.Text(), nullable=False),
        sa.Column("caller_id", sa.Text(), nullable=False),
        sa.Column("routing_information", sa.Text(), nullable=False),
        sa.Column("original_scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transmission_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transmission_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("tiff_path", sa.Text(), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(
        op.f("ix_messages_direction_archived_at_id"),
        "messages",
        ["direction", "archived_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_messages_direction_owner_archived_at_id"),
        "messages",
        ["direction", "owner", "archived_at", "id"],
        unique=False,
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", JSON_DOCUMENT, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("document_name", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("sender", JSON_DOCUMENT, nullable=False),
        sa.Column("cover_page_type", sa.Integer(), nullable=False),
        sa.Column("cover_page", sa.Text(), nullable=False),
        sa.Column("receipt_type", sa.Integer(), nullable=False),
        sa.Column("receipt_address", sa.Text(), nullable=False),
        sa.Column("attach_fax_to_receipt", sa.Boolean(), nullable=False),
        sa.Column("group_broadcast_receipts", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("schedule_type", sa.Integer(), nullable=False),
        sa.Column("schedule_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("body_path", sa.Text(), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_submissions_idempotency_key")),
    )
    op.create_index(op.f("ix_submissions_owner"), "submissions", ["owner"], unique=False)
    op.create_table(
        "outgoing_jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_index", sa.Integer(), nullable=False),
        sa.Column("recipient_number", sa.Text(), nullable=False),
        sa.Column("recipient_name", sa.Text(), nullable=False),
        sa.Column("recipient", JSON_DOCUMENT, nullable=False),
        sa.Column("document_path", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("extended_status", sa.Integer(), nullable=False),
        sa.Column("extended_status_text", sa.Text(), nullable=False),
        sa.Column("failure_cause", sa.Text(), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("total_pages", sa.Integer(), nullable=False),
        sa.Column("pages_confirmed", sa.Integer(), nullable=False),
        sa.Column("current_page", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("csid", sa.Text(), nullable=False),
        sa.Column("tsid", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("original_scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kill_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("node_id", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_outgoing_jobs_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_jobs")),
    )
    op.create_index(
        "ix_outgoing_jobs_claim",
        "outgoing_jobs",
        [sa.literal_column("priority DESC"), "scheduled_at", "id"],
        unique=False,
        postgresql_where=sa.text("status IN (1, 64, 33, 96)"),
        sqlite_where=sa.text("status IN (1, 64, 33, 96)"),
    )
    op.create_index(
        op.f("ix_outgoing_jobs_created_at_id"), "outgoing_jobs", ["created_at", "id"], unique=False
    )
    op.create_index(
        op.f("ix_outgoing_jobs_status_lease_until"),
        "outgoing_jobs",
        ["status", "lease_until"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outgoing_jobs_submission_id"), "outgoing_jobs", ["submission_id"], unique=False
    )
    op.create_table(
        "call_attempts",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_code", sa.Integer(), nullable=True),
        sa.Column("result_name", sa.Text(), nullable=True),
        sa.Column("failure_cause", sa.Text(), nullable=True),
        sa.Column("pages_confirmed", sa.Integer(), nullable=False),
        sa.Column("transcript", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["outgoing_jobs.id"],
            name=op.f("fk_call_attempts_job_id_outgoing_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "attempt", name=op.f("pk_call_attempts")),
    )


def downgrade() -> None:
    op.drop_table("call_attempts")
    op.drop_table("outgoing_jobs")
    op.drop_table("submissions")
    op.drop_table("settings")
    op.drop_table("messages")
    op.drop_table("incoming_jobs")
    op.drop_table("events")
    op.drop_table("devices")
