"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:26:03.741876
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=160), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_version", sa.String(length=20), nullable=True),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("campaign_code", sa.String(length=64), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("timezone", sa.String(length=40), nullable=True),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "external_id", name="uq_contacts_channel_external"),
    )
    op.create_table(
        "inbound_updates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("platform_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "platform_id", name="uq_inbound_channel_platform"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("telegram_id", sa.String(length=40), nullable=True),
        sa.Column("whatsapp_phone", sa.String(length=20), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("telegram_id"),
        sa.UniqueConstraint("whatsapp_phone"),
    )
    op.create_table(
        "conversation_states",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("nik_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("nik_hash", sa.String(length=64), nullable=False),
        sa.Column("nik_masked", sa.String(length=16), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("kabkota_code", sa.String(length=4), nullable=False),
        sa.Column("kecamatan_code", sa.String(length=6), nullable=False),
        sa.Column("occupation", sa.String(length=40), nullable=False),
        sa.Column("is_transport", sa.Boolean(), nullable=False),
        sa.Column("declared_income", sa.BigInteger(), nullable=False),
        sa.Column("programmes", sa.Integer(), nullable=False),
        sa.Column("continue_via", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("campaign_code", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("assigned_staff_id", sa.Integer(), nullable=True),
        sa.Column("created_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assigned_staff_id"], ["staff.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_staff_id"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_contact", ["contact_id"], unique=False)
        batch_op.create_index("ix_leads_kabkota_status", ["kabkota_code", "status"], unique=False)
        batch_op.create_index("ix_leads_kecamatan_status", ["kecamatan_code", "status"], unique=False)
        batch_op.create_index("ix_leads_nik_hash", ["nik_hash"], unique=False)
        batch_op.create_index("ix_leads_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "message_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.create_index("ix_message_log_contact_at", ["contact_id", "created_at"], unique=False)

    op.create_table(
        "staff_areas",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id", "area_code"),
    )
    with op.batch_alter_table("staff_areas", schema=None) as batch_op:
        batch_op.create_index("ix_staff_areas_code", ["area_code"], unique=False)

    op.create_table(
        "unanswered_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalized", sa.String(length=500), nullable=False),
        sa.Column("intent_guess", sa.String(length=40), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unanswered_messages", schema=None) as batch_op:
        batch_op.create_index("ix_unanswered_normalized", ["normalized"], unique=False)

    op.create_table(
        "lead_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.create_index("ix_lead_events_lead", ["lead_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_events_lead")

    op.drop_table("lead_events")
    with op.batch_alter_table("unanswered_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_unanswered_normalized")

    op.drop_table("unanswered_messages")
    with op.batch_alter_table("staff_areas", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_areas_code")

    op.drop_table("staff_areas")
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.drop_index("ix_message_log_contact_at")

    op.drop_table("message_log")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_status_created")
        batch_op.drop_index("ix_leads_nik_hash")
        batch_op.drop_index("ix_leads_kecamatan_status")
        batch_op.drop_index("ix_leads_kabkota_status")
        batch_op.drop_index("ix_leads_contact")

    op.drop_table("leads")
    op.drop_table("conversation_states")
    op.drop_table("staff")
    op.drop_table("inbound_updates")
    op.drop_table("contacts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")

    op.drop_table("audit_log")
