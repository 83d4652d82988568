"""Two-way handover: callback_requests.phone_e164, alerted_at, replied_at; handover_messages; outbox.kind wider

A request for a person now has a history (the worker's words, a person's replies, the closing
note), the phone the worker gave for it, and when the coordinator was alerted. Outbox kinds
`handover_alert` and `handover_reply` need more than 12 characters.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_e164", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "handover_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["callback_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handover_messages_request", "handover_messages", ["request_id", "id"], unique=False)
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not enforce a VARCHAR's length
        op.alter_column("outbox", "kind", type_=sa.String(length=20), existing_type=sa.String(length=12))


def downgrade() -> None:
    op.drop_index("ix_handover_messages_request", table_name="handover_messages")
    op.drop_table("handover_messages")
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.drop_column("replied_at")
        batch_op.drop_column("alerted_at")
        batch_op.drop_column("phone_e164")
