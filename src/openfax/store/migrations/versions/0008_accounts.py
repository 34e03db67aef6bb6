"""Fax accounts: password hashes and granted rights, API tokens per account, rights of Unix
groups.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("rights", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_accounts")),
    )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_name", sa.String(length=256), nullable=False),
        sa.Column("token_hash", sa.String(length=100), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_name"],
            ["accounts.name"],
            name=op.f("fk_account_tokens_account_name_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_account_tokens_account_name"), "account_tokens", ["account_name"], unique=False
    )
    op.create_table(
        "group_grants",
        sa.Column("group_name", sa.String(length=256), nullable=False),
        sa.Column("rights", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_name", name=op.f("pk_group_grants")),
    )


def downgrade() -> None:
    op.drop_table("group_grants")
    op.drop_index(op.f("ix_account_tokens_account_name"), table_name="account_tokens")
    op.drop_table("account_tokens")
    op.drop_table("accounts")
