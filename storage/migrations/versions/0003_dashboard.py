"""staff dashboard: callback requests, login failures, coordinator targets, lead indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_LEAD_INDEXES = (
    ("ix_leads_created_id", ["created_at", "id"]),
    ("ix_leads_kabkota_created", ["kabkota_code", "created_at"]),
    ("ix_leads_kecamatan_created", ["kecamatan_code", "created_at"]),
    ("ix_leads_occupation_created", ["occupation", "created_at"]),
    ("ix_leads_campaign_created", ["campaign_code", "created_at"]),
    ("ix_leads_assigned_status", ["assigned_staff_id", "status"]),
    ("ix_leads_created_by", ["created_by_staff_id"]),
    ("ix_leads_name_id", ["full_name", "id"]),
)
_OTHER_INDEXES = (
    ("contacts", "ix_contacts_created", ["created_at"]),
    ("contacts", "ix_contacts_region", ["region_code"]),
    ("staff", "ix_staff_name", ["name"]),
    ("unanswered_messages", "ix_unanswered_handled_normalized", ["handled_at", "normalized"]),
)


def upgrade() -> None:
    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("kecamatan_code", sa.String(length=6), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["done_by_staff_id"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.create_index("ix_callback_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("ix_callback_kecamatan_status", ["kecamatan_code", "status"], unique=False)
        batch_op.create_index("ix_callback_contact", ["contact_id"], unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_name_at", ["name_key", "at"], unique=False)

    op.create_table(
        "coordinator_targets",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id"),
    )

    for name, columns in _LEAD_INDEXES:
        op.create_index(name, "leads", columns, unique=False)
    op.create_index(
        "ix_leads_phone", "leads", ["phone_e164"], unique=False, postgresql_ops={"phone_e164": "text_pattern_ops"}
    )
    for table, name, columns in _OTHER_INDEXES:
        op.create_index(name, table, columns, unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
        # Without it, name search still works, by a sequential scan.
        available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
        if available:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            op.execute("CREATE INDEX ix_leads_name_trgm ON leads USING gin (full_name gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_leads_name_trgm")
    for table, name, _ in reversed(_OTHER_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_leads_phone", table_name="leads")
    for name, _ in reversed(_LEAD_INDEXES):
        op.drop_index(name, table_name="leads")
    op.drop_table("coordinator_targets")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_name_at")
    op.drop_table("login_failures")
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_contact")
        batch_op.drop_index("ix_callback_kecamatan_status")
        batch_op.drop_index("ix_callback_status_created")
    op.drop_table("callback_requests")
