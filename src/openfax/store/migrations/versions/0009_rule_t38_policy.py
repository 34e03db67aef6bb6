"""The T.38 policy of an outbound routing rule (``off``, ``accept``, ``request``; NULL: the
trunk's own), an OpenFax extension of FAXCOMEX's rule.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbound_rules", sa.Column("t38_policy", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_rules") as batch:
        batch.drop_column("t38_policy")
