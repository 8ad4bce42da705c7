"""drop ix_inbound_messages_reporter_id: ix_inbound_reporter_received (reporter_id, received_at) serves its lookups

Every inbound message inserted a row into both indexes; the composite one answers every query by reporter alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_inbound_messages_reporter_id", table_name="inbound_messages")


def downgrade() -> None:
    op.create_index("ix_inbound_messages_reporter_id", "inbound_messages", ["reporter_id"], unique=False)
