"""The outbox: every message to a user is a row first, delivered by the gateway, never dropped silently."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import insert_new
from storage.models import OutboxMessage


def add_message(
    session: Session,
    *,
    body: str,
    now: datetime,
    reporter_id: int | None = None,
    inspector_id: int | None = None,
    case_id: int | None = None,
    dedupe_key: str | None = None,
    kind: str = "text",
    priority: bool = False,
    expires_at: datetime | None = None,
) -> int | None:
    """Queue a message to one reporter or one inspector: the new message's id. With a dedupe key, at most once
    (None if it already was): one INSERT .. ON CONFLICT DO NOTHING, no savepoint."""
    if (reporter_id is None) == (inspector_id is None):
        raise ValueError("a message goes to exactly one reporter or one inspector")
    values = {
        "reporter_id": reporter_id,
        "inspector_id": inspector_id,
        "case_id": case_id,
        "dedupe_key": dedupe_key,
        "kind": kind,
        "priority": priority,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "not_before": now,
        "expires_at": expires_at,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }
    return insert_new(session, OutboxMessage, values, unique=("dedupe_key",))


def due_messages(session: Session, now: datetime, limit: int = 500) -> list[int]:
    stmt = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def held_messages(
    session: Session, *, reporter_id: int | None = None, inspector_id: int | None = None
) -> list[OutboxMessage]:
    recipient = (
        OutboxMessage.reporter_id == reporter_id
        if reporter_id is not None
        else OutboxMessage.inspector_id == inspector_id
    )
    stmt = select(OutboxMessage).where(recipient, OutboxMessage.status == "held").order_by(OutboxMessage.id)
    return list(session.scalars(stmt))


def pending_summary(session: Session, limit: int = 200) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(("pending", "held", "failed")))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))
