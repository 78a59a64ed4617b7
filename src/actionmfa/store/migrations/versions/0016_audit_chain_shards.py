"""Audit chain shards (issue 15.3): each environment's log is K chains, each with its own head, so
writers of different users do not queue on one head row (domain/audit_chain.py).

``audit_log.chain_shard`` (default 0, a constant: PostgreSQL adds it without rewriting the table)
and ``audit_chain_heads.shard`` (primary key ``(chain, shard)``). Every existing row and head is
shard 0, and shard 0 is sealed exactly as the one chain per environment was: the chains written
before this migration keep verifying, nothing is rewritten. The unique position is now per shard.

Downgrade refuses while any row or head is in a shard above 0: the older code would read those
rows as its one chain and report them altered (they are sealed under another chain label).

Revision ID: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("chain_shard", sa.SmallInteger, nullable=False, server_default="0"))
    op.drop_index("ux_audit_log_env_seq", table_name="audit_log")
    op.create_index("ux_audit_log_env_seq", "audit_log", ["environment_id", "chain_shard", "chain_seq"], unique=True)
    with op.batch_alter_table("audit_chain_heads", recreate="auto") as batch:
        batch.add_column(sa.Column("shard", sa.SmallInteger, nullable=False, server_default="0"))
        batch.drop_constraint("pk_audit_chain_heads", type_="primary")
        batch.create_primary_key("pk_audit_chain_heads", ["chain", "shard"])


def downgrade() -> None:
    conn = op.get_bind()
    sharded = conn.execute(sa.text(
        "SELECT (SELECT count(*) FROM audit_log WHERE chain_shard <> 0)"
        " + (SELECT count(*) FROM audit_chain_heads WHERE shard <> 0)"
    )).scalar_one()
    if sharded:
        raise RuntimeError(
            f"cannot downgrade below 0016: {sharded} audit row(s)/head(s) are in chain shards above 0, which "
            "the older code cannot verify (it would report them altered); keep this revision"
        )
    with op.batch_alter_table("audit_chain_heads", recreate="auto") as batch:
        batch.drop_constraint("pk_audit_chain_heads", type_="primary")
        batch.create_primary_key("pk_audit_chain_heads", ["chain"])
        batch.drop_column("shard")
    op.drop_index("ux_audit_log_env_seq", table_name="audit_log")
    op.create_index("ux_audit_log_env_seq", "audit_log", ["environment_id", "chain_seq"], unique=True)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("chain_shard")
