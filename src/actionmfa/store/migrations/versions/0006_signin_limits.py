"""Sign-in limits apart from the MFA lockout: counted events of the unauthenticated sign-in routes
(codes sent, wrong codes, failed external sign-ins) per address and client (issue 11.1).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_signin_attempts_env_email", "signin_attempts", ["environment_id", "email", "at"])
    op.create_index("ix_signin_attempts_env_client", "signin_attempts", ["environment_id", "client", "at"])
    op.create_index("ix_signin_attempts_at", "signin_attempts", ["at"])


def downgrade() -> None:
    op.drop_table("signin_attempts")
