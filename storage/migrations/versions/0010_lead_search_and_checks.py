"""Work lists: lead_name_words (accent-free name search by index), leads.nik_tail_hash and leads.nik_checks

`lead_name_words` holds each folded word of a lead's name (filled here for existing leads, then
kept by the model's mapper events). `nik_tail_hash` (a keyed hash of the NIK's last 4 digits) and
`nik_checks` (what the NIK contradicts) need the secret key and the NIK in clear: for leads saved
before this revision they stay NULL until handlers/lead_quality.backfill fills them (the leads
list runs it; a partial index finds those rows).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _name_words(name: str) -> list[str]:  # storage/search.py's rule, frozen at this revision
    plain = "".join(c for c in unicodedata.normalize("NFKD", name or "") if not unicodedata.combining(c))
    return sorted({w[:40] for w in re.sub(r"[^a-z0-9]+", " ", plain.lower()).split()})


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nik_tail_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("nik_checks", sa.String(length=80), nullable=True))
        batch_op.create_index("ix_leads_nik_tail_hash", ["nik_tail_hash"], unique=False)
    op.create_index(
        "ix_leads_unchecked",
        "leads",
        ["id"],
        unique=False,
        sqlite_where=sa.text("nik_checks IS NULL"),
        postgresql_where=sa.text("nik_checks IS NULL"),
    )
    words = op.create_table(
        "lead_name_words",
        sa.Column("word", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("word", "lead_id"),
    )
    op.create_index("ix_lead_name_words_lead", "lead_name_words", ["lead_id"], unique=False)
    bind = op.get_bind()
    rows = [
        {"word": word, "lead_id": lead_id}
        for lead_id, name in bind.execute(sa.text("SELECT id, full_name FROM leads"))
        for word in _name_words(name)
    ]
    if rows:
        op.bulk_insert(words, rows)


def downgrade() -> None:
    op.drop_index("ix_lead_name_words_lead", table_name="lead_name_words")
    op.drop_table("lead_name_words")
    op.drop_index("ix_leads_unchecked", table_name="leads")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_nik_tail_hash")
        batch_op.drop_column("nik_checks")
        batch_op.drop_column("nik_tail_hash")
