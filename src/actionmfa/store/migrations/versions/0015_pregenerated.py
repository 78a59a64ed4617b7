"""Pregenerated wallets (issue 13.1): the wallets waiting for their identity's first sign-in, and the
custody mark of an attached wallet whose stand-in share the operator still holds.

Revision ID: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waas_wallets") as batch:
        batch.add_column(sa.Column("custody", sa.String(16), nullable=True))
    op.create_table(
        "waas_pregenerated",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("identity_type", sa.String(16), nullable=False),
        sa.Column("identifier", sa.String(320), nullable=False),
        sa.Column("chain", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(66), nullable=False),
        sa.Column("server_share", sa.Text, nullable=True),
        sa.Column("standin_share", sa.Text, nullable=True),
        sa.Column("key_ceremony_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ux_waas_pregenerated_identity", "waas_pregenerated",
                    ["environment_id", "identity_type", "identifier", "chain"], unique=True)
    op.create_index("ix_waas_pregenerated_user", "waas_pregenerated", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_waas_pregenerated_user", table_name="waas_pregenerated")
    op.drop_index("ux_waas_pregenerated_identity", table_name="waas_pregenerated")
    op.drop_table("waas_pregenerated")
    with op.batch_alter_table("waas_wallets") as batch:
        batch.drop_column("custody")
