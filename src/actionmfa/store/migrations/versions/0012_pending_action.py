"""Wallet pending action: the operator's delegation decision (approve / revoke) that the user's next
sign-in completes (issue 13.2).

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.add_column(sa.Column("pending_action", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.drop_column("pending_action")
