"""Wallet reshare: threshold scheme and delegate public share per wallet; delegation webhook secrets.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.add_column(sa.Column("threshold_scheme", sa.String(16), nullable=False, server_default="TWO_OF_TWO"))
        batch.add_column(sa.Column("delegate_public_share", sa.String(66), nullable=True))
        batch.add_column(sa.Column("delegated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "waas_delegation_secrets",
        sa.Column("environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("waas_delegation_secrets")
    with op.batch_alter_table("waas_wallets") as batch:
        batch.drop_column("delegated_at")
        batch.drop_column("delegate_public_share")
        batch.drop_column("threshold_scheme")
