"""Wallet reshare: threshold scheme, delegate public share, the server's share for the delegate pair
and the delegate's API key hash per wallet; delegation webhook secrets; delegated signing ceremonies
have no session.

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
        batch.add_column(sa.Column("delegate_share", sa.Text, nullable=True))
        batch.add_column(sa.Column("delegate_api_key_hash", sa.String(64), nullable=True))
    with op.batch_alter_table("waas_ceremonies") as batch:
        batch.alter_column("session_id", existing_type=sa.String(36), nullable=True)
    op.create_table(
        "waas_delegation_secrets",
        sa.Column("environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("waas_delegation_secrets")
    with op.batch_alter_table("waas_ceremonies") as batch:
        batch.alter_column("session_id", existing_type=sa.String(36), nullable=False)
    with op.batch_alter_table("waas_wallets") as batch:
        batch.drop_column("delegate_api_key_hash")
        batch.drop_column("delegate_share")
        batch.drop_column("delegated_at")
        batch.drop_column("delegate_public_share")
        batch.drop_column("threshold_scheme")
