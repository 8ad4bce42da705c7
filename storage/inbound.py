"""Inbound messages: claimed once by their dedupe key; the database constraint is the authority."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.models import InboundMessage


def claim_inbound(
    session: Session,
    *,
    dedupe_key: str,
    reporter_id: int,
    kind: str,
    platform_time: datetime,
    payload: dict[str, Any],
    received_at: datetime,
) -> tuple[InboundMessage, bool]:
    """Insert the message, or return the row an earlier try stored. The bool says whether this call inserted it.

    One statement, INSERT .. ON CONFLICT DO NOTHING: a retry racing the first try blocks on the unique index until
    the first commits (PostgreSQL) or on the write lock (SQLite), then sees its row. The same message can never be
    processed twice.
    """
    stmt = (
        dialect_insert(session, InboundMessage)
        .values(
            dedupe_key=dedupe_key,
            reporter_id=reporter_id,
            kind=kind,
            platform_time=platform_time,
            payload=payload,
            received_at=received_at,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(InboundMessage)
    )
    inserted = session.scalars(stmt).one_or_none()
    if inserted is not None:
        return inserted, True
    existing = session.scalars(select(InboundMessage).where(InboundMessage.dedupe_key == dedupe_key)).one()
    return existing, False


def messages_of_draft(session: Session, draft_id: int) -> list[InboundMessage]:
    stmt = select(InboundMessage).where(InboundMessage.draft_id == draft_id).order_by(InboundMessage.id)
    return list(session.scalars(stmt))


def recent_count(session: Session, reporter_id: int, since: datetime) -> int:
    """How many messages this sender sent since `since` (for the per-user rate limit)."""
    stmt = (
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.reporter_id == reporter_id, InboundMessage.received_at >= since)
    )
    return int(session.scalar(stmt) or 0)
