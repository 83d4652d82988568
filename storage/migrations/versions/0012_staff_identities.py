"""staff_identities: a staff member's chat identities in one table, one row per channel (issue 15)

Were two columns, staff.telegram_id and staff.whatsapp_phone: a new channel needed a new column.
Now a row (staff_id, channel, external_id) in the stored form the channel's SPEC.staff_identity
gives (a Telegram user id "123456789", a WhatsApp number "+6281..."). One chat user is one staff
member (channel, external_id), and a staff member has one identity per channel (staff_id, channel).
The rows are copied from the two columns, which are then dropped; the downgrade copies back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 16:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The channel each old column named a staff member on, with its length there.
COLUMNS = (("telegram", "telegram_id", 40), ("whatsapp", "whatsapp_phone", 20))


def upgrade() -> None:
    op.create_table(
        "staff_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "external_id", name="uq_staff_identities_channel_external"),
        sa.UniqueConstraint("staff_id", "channel", name="uq_staff_identities_staff_channel"),
    )
    for channel, column, _ in COLUMNS:
        op.execute(
            sa.text(
                f"INSERT INTO staff_identities (staff_id, channel, external_id)"
                f" SELECT id, :channel, {column} FROM staff WHERE {column} IS NOT NULL ORDER BY id"
            ).bindparams(channel=channel)
        )
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_column("whatsapp_phone")
        batch_op.drop_column("telegram_id")


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        for _, column, length in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.String(length=length), nullable=True))
            batch_op.create_unique_constraint(f"uq_staff_{column}", [column])
    for channel, column, _ in COLUMNS:
        # Only the two channels the columns held; an identity on a later channel has no column.
        op.execute(
            sa.text(
                f"UPDATE staff SET {column} = (SELECT external_id FROM staff_identities"
                f" WHERE staff_identities.staff_id = staff.id AND staff_identities.channel = :channel)"
            ).bindparams(channel=channel)
        )
    op.drop_table("staff_identities")
