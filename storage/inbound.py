"""Inbound messages: claimed once by their dedupe key; the database constraint is the authority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session

from storage.db import insert_new
from storage.models import InboundMessage, Inspector, OutboxMessage

_BY_DEDUPE_KEY = select(InboundMessage).where(InboundMessage.dedupe_key == bindparam("dedupe_key"))
_RECENT = (
    select(func.count())
    .select_from(InboundMessage)
    .where(InboundMessage.reporter_id == bindparam("reporter_id"), InboundMessage.received_at >= bindparam("since"))
    .scalar_subquery()
)
# What intake needs to know about a sender before deciding, in one round trip (see `sender_state`).
_SENDER_STATE = select(
    _RECENT,
    select(Inspector.id).where(Inspector.digest == bindparam("digest"), Inspector.active.is_(True)).scalar_subquery(),
    exists().where(OutboxMessage.reporter_id == bindparam("reporter_id"), OutboxMessage.status == "held"),
)
_RECENT_COUNT = select(_RECENT)


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
    values = {
        "dedupe_key": dedupe_key,
        "reporter_id": reporter_id,
        "kind": kind,
        "platform_time": platform_time,
        "payload": payload,
        "received_at": received_at,
    }
    inserted = insert_new(session, InboundMessage, values, unique=("dedupe_key",))
    if inserted is not None:
        return inserted, True
    existing = session.scalars(_BY_DEDUPE_KEY, {"dedupe_key": dedupe_key}).one()
    return existing, False


def messages_of_draft(session: Session, draft_id: int) -> list[InboundMessage]:
    stmt = select(InboundMessage).where(InboundMessage.draft_id == draft_id).order_by(InboundMessage.id)
    return list(session.scalars(stmt))


def recent_count(session: Session, reporter_id: int, since: datetime) -> int:
    """How many messages this sender sent since `since` (for the per-user rate limit)."""
    return int(session.scalar(_RECENT_COUNT, {"reporter_id": reporter_id, "since": since}) or 0)


@dataclass(frozen=True)
class SenderState:
    recent: int  # messages since `since`, the one just stored included (the per-user rate limit)
    inspector_id: int | None  # the active staff row of the same person, if any
    has_held: bool  # messages to this reporter wait in the outbox for them to write


def sender_state(session: Session, *, reporter_id: int, digest: str, since: datetime) -> SenderState:
    """`recent_count`, the active inspector with this digest and whether the reporter has held messages, at once."""
    recent, inspector_id, has_held = session.execute(
        _SENDER_STATE, {"reporter_id": reporter_id, "digest": digest, "since": since}
    ).one()
    return SenderState(int(recent or 0), inspector_id, bool(has_held))
