"""Outbound routing: groups (ordered lists of device ids) and rules (country code and area
code to a device or a group); ``<All Devices>`` and the default rule are built into the service.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_groups",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "device_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbound_groups")),
    )
    op.create_table(
        "outbound_rules",
        sa.Column("country_code", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=200), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(group_name IS NULL) <> (device_id IS NULL)", name=op.f("ck_outbound_rules_target")
        ),
        sa.PrimaryKeyConstraint("country_code", "area_code", name=op.f("pk_outbound_rules")),
    )


def downgrade() -> None:
    op.drop_table("outbound_rules")
    op.drop_table("outbound_groups")
