"""Wallet key ceremony: the ceremony whose shares are current, so a device that lost an answer can
tell which of its written-ahead shares the server committed (issue 9.6).

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.add_column(sa.Column("key_ceremony_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.drop_column("key_ceremony_id")
