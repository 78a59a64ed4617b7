"""Audit chain: each audit row sealed into its environment's keyed hash chain (chain_seq,
chain_prev, chain_hash) and one head row per chain.

Rows written before this migration are left unsealed (NULL): the migration cannot seal them, the
key is not in the database, and sealing them at the next start would vouch for rows nobody can
vouch for. ``actionmfa audit verify`` counts them as the chain's prehistory ("legacy rows"); an
unsealed row *after* the first sealed one is reported as inserted.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("chain_prev", sa.String(64), nullable=True))
        batch.add_column(sa.Column("chain_hash", sa.String(64), nullable=True))
    op.create_index("ux_audit_log_env_seq", "audit_log", ["environment_id", "chain_seq"], unique=True)
    op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.String(36), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_heads")
    op.drop_index("ux_audit_log_env_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("chain_hash")
        batch.drop_column("chain_prev")
        batch.drop_column("chain_seq")
