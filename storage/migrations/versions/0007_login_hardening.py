"""login_failures.address (throttle by client as well as by name); staff_session_epochs (logout ends every session)

An outsider's wrong guesses now slow that outsider, not the account they guess at; and a
copied session cookie stops working when its account logs out, is deactivated or changes
its password.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=False, server_default=""))
        batch_op.create_index("ix_login_failures_address_at", ["address", "at"], unique=False)
    op.create_table(
        "staff_session_epochs",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id"),
    )


def downgrade() -> None:
    op.drop_table("staff_session_epochs")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_address_at")
        batch_op.drop_column("address")
