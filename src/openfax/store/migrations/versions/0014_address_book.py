"""Address books: contacts and groups of contacts per account and one shared book.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_book_contacts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("fax_number", sa.String(length=100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_book_contacts")),
        sa.UniqueConstraint(
            "owner_id", "name", name=op.f("uq_address_book_contacts_owner_id_name")
        ),
    )
    op.create_table(
        "address_book_groups",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_book_groups")),
        sa.UniqueConstraint("owner_id", "name", name=op.f("uq_address_book_groups_owner_id_name")),
    )
    op.create_table(
        "address_book_members",
        sa.Column("group_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("contact_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["address_book_groups.id"],
            name=op.f("fk_address_book_members_group_id_address_book_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["address_book_contacts.id"],
            name=op.f("fk_address_book_members_contact_id_address_book_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "contact_id", name=op.f("pk_address_book_members")),
    )
    op.create_index(
        op.f("ix_address_book_members_contact_id"),
        "address_book_members",
        ["contact_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_address_book_members_contact_id"), table_name="address_book_members")
    op.drop_table("address_book_members")
    op.drop_table("address_book_groups")
    op.drop_table("address_book_contacts")
