"""Environment version: a counter bumped with every change of an environment's settings or signing
keys, read with every session check, so that each worker's in-process cache of parsed settings and
signing keys knows at once when another worker changed them (issue 15).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.drop_column("version")
