"""webhook_inbox.chat: whose message a kept webhook body is, so one chat's messages are handled in order

Several `bpu-bot run` processes share the inbox. A worker's second message may land on another
process than their first; that process waits while an earlier row of the same chat is still in
the inbox (being handled elsewhere), so answers go out in the order the messages came.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_inbox") as batch_op:
        batch_op.add_column(sa.Column("chat", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_webhook_inbox_chat", ["channel", "chat", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_inbox") as batch_op:
        batch_op.drop_index("ix_webhook_inbox_chat")
        batch_op.drop_column("chat")
