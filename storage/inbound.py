"""Inbound messages: claimed once by their dedupe key; the database constraint is the authority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from storage.db import insert_new
from storage.models import Draft, InboundMessage
from storage.prepared import Prepared

_BY_DEDUPE_KEY = select(InboundMessage.id, InboundMessage.kind, InboundMessage.reply).where(
    InboundMessage.dedupe_key == bindparam("dedupe_key")
)
_SETTLE = Prepared(
    update(InboundMessage)
    .where(InboundMessage.id == bindparam("inbound_id"))
    .values(reply=bindparam("reply"), draft_id=bindparam("draft_id"))
)


@dataclass
class Received:
    """A stored inbound message while it is being answered. Handlers note the draft it joins in `draft_id`; the
    reply and the draft are written to its row once, at the end (`settle_inbound`)."""

    id: int
    kind: str
    draft_id: int | None = None
    reply: str | None = None


def claim_inbound(
    session: Session,
    *,
    dedupe_key: str,
    reporter_id: int,
    kind: str,
    platform_time: datetime,
    payload: dict[str, Any],
    received_at: datetime,
) -> tuple[Received, bool]:
    """Insert the message, or find the row an earlier try stored (with its reply). The bool says whether this call
    inserted it.

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
        "reply": None,
        "draft_id": None,
    }
    inserted = insert_new(session, InboundMessage, values, unique=("dedupe_key",))
    if inserted is not None:
        return Received(inserted, kind), True
    existing = session.connection().execute(_BY_DEDUPE_KEY, {"dedupe_key": dedupe_key}).one()
    return Received(existing.id, existing.kind, reply=existing.reply), False


def settle_inbound(session: Session, message: Received) -> None:
    """Write what answering the message decided: the reply (a retry gets the same) and the draft it joined."""
    values = {"inbound_id": message.id, "reply": message.reply, "draft_id": message.draft_id}
    _SETTLE.run(session, values)


@dataclass(frozen=True)
class DraftMessage:
    """What a draft's message contributes to the case: its kind and the fields the platform sent."""

    kind: str
    payload: dict[str, Any]


# A message can join a draft opened after its own time was taken: it waited for the write lock while a message sent
# with it opened the draft. The database's lock timeouts bound that wait to seconds; an hour is well past them.
JOINED_BEFORE_OPENING = timedelta(hours=1)
_DRAFT_START = Prepared(select(Draft.reporter_id, Draft.opened_at).where(Draft.id == bindparam("draft_id")))
# Through the (reporter_id, received_at) index: the draft's messages are among its reporter's since it opened.
_OF_DRAFT = Prepared(
    select(InboundMessage.kind, InboundMessage.payload)
    .where(
        InboundMessage.reporter_id == bindparam("reporter_id"),
        InboundMessage.received_at >= bindparam("since"),
        InboundMessage.draft_id == bindparam("draft_id"),
    )
    .order_by(InboundMessage.id)
)


def messages_of_draft(session: Session, draft_id: int) -> list[DraftMessage]:
    """The draft's messages in the order they arrived."""
    start = _DRAFT_START.first(session, {"draft_id": draft_id})
    if start is None:
        return []
    reporter_id, opened_at = start
    values = {"reporter_id": reporter_id, "since": opened_at - JOINED_BEFORE_OPENING, "draft_id": draft_id}
    return [DraftMessage(kind, payload) for kind, payload in _OF_DRAFT.rows(session, values)]
