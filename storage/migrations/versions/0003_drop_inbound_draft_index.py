"""drop ix_inbound_messages_draft_id: a draft's messages are found through the reporter's (reporter_id, received_at)

A message's draft is written when it is answered, so every message changed that index twice (the row went in
without a draft, then got one): about one page of the 6.3 that SQLite's log receives for a message joining a draft.
The draft's messages are read once, when it becomes a case, and are among its reporter's recent messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_inbound_messages_draft_id", table_name="inbound_messages")


def downgrade() -> None:
    op.create_index("ix_inbound_messages_draft_id", "inbound_messages", ["draft_id"], unique=False)
