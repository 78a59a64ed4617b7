"""Solana wallets: ``waas_wallets.address`` widened to hold a base58 address (32–44 characters).

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.alter_column("address", existing_type=sa.String(42), type_=sa.String(64), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.alter_column("address", existing_type=sa.String(64), type_=sa.String(42), existing_nullable=False)
