"""outbox: rows a crash left `failed`/`interrupted` become `uncertain` (they may have arrived)

`failed` said they did not go out; the truth is that nobody knows. `uncertain` is what the
worker now records for them, and `bpu-bot broadcast resend-uncertain` is how staff send them
again knowingly. The reason `interrupted` stays, to say why they are uncertain.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:30:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE outbox SET state = 'uncertain' WHERE state = 'failed' AND reason = 'interrupted'")


def downgrade() -> None:
    # Before 0006 only a crash left a row undecided, and it was recorded as failed/interrupted.
    op.execute("UPDATE outbox SET state = 'failed', reason = COALESCE(reason, 'interrupted') WHERE state = 'uncertain'")
