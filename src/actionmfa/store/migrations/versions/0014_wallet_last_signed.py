"""Wallet last signature time: when the wallet last produced a valid signature (the user's or the
delegate's), for the operator's view of a user's wallets (issue 13.5).

Revision ID: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.add_column(sa.Column("last_signed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.drop_column("last_signed_at")
