"""The delegate's ring-Pedersen parameters, registered by the developer (issue 9.3): the server
proves each delegate pair set-up (Πfac, Πlog*) against them.

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waas_delegate_rings",
        sa.Column("environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("waas_delegate_rings")
