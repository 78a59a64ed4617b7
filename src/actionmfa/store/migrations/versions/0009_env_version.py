"""Environment version: a counter bumped with every change of an environment's settings or signing
keys, read with every session check, so that each worker's in-process cache of parsed settings and
signing keys knows at once when another worker changed them (issue 15).

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.drop_column("version")
