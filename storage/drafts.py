"""Drafts: the report a worker is composing, at most one open per reporter."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.db import insert_new
from storage.models import OPEN_DRAFT as OPEN
from storage.models import Draft

# Built once: every message of a draft looks it up.
_OPEN = select(Draft).where(Draft.reporter_id == bindparam("reporter_id"), Draft.status == "open")
_OPEN_FOR_UPDATE = _OPEN.with_for_update()


def open_draft(session: Session, reporter_id: int, *, for_update: bool = False) -> Draft | None:
    stmt = _OPEN_FOR_UPDATE if for_update else _OPEN
    return session.scalars(stmt, {"reporter_id": reporter_id}).one_or_none()


def start_draft(session: Session, reporter_id: int, now: datetime, window: timedelta) -> Draft:
    """A new open draft, or the one a concurrent request of the same reporter opened a moment ago."""
    values = {"reporter_id": reporter_id, "status": "open", "opened_at": now, "expires_at": now + window}
    draft = insert_new(session, Draft, {**values, "items": 0, "contents": 0}, unique=("reporter_id",), where=OPEN)
    if draft is not None:
        return draft
    found = open_draft(session, reporter_id, for_update=True)
    if found is None:
        raise LookupError(f"no open draft for reporter {reporter_id}, and none could be opened")
    return found


def close_draft(draft: Draft, status: str, now: datetime, case_id: int | None = None) -> None:
    draft.status = status
    draft.closed_at = now
    draft.case_id = case_id


def expired_open_drafts(session: Session, now: datetime, limit: int = 500) -> list[int]:
    stmt = select(Draft.id).where(Draft.status == "open", Draft.expires_at <= now).limit(limit)
    return list(session.scalars(stmt))
