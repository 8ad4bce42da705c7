"""Drafts: the report a worker is composing, at most one open per reporter.

Read as plain records and written with single UPDATEs: most messages a worker sends join a draft, so this is the
webhook's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from storage.db import insert_new
from storage.models import OPEN_DRAFT as OPEN
from storage.models import Draft
from storage.prepared import Prepared


@dataclass(frozen=True)
class DraftRecord:
    id: int
    reporter_id: int
    status: str
    expires_at: datetime
    items: int  # messages that joined, locations included
    contents: int  # messages that can make a case (not a location alone)


_COLUMNS = (Draft.id, Draft.reporter_id, Draft.status, Draft.expires_at, Draft.items, Draft.contents)
# The one-open-draft index's own condition, as SQL text: 'open' is written into the statement, not bound. A bound
# value that could decide whether a partial index applies makes SQLite prepare the statement again on every run,
# which costs several times the lookup; with the literal, PostgreSQL's generic plans can use that index too.
IS_OPEN = text(OPEN)
# Built once: every message of a draft looks it up.
_OPEN_QUERY = select(*_COLUMNS).where(Draft.reporter_id == bindparam("reporter_id"), IS_OPEN)
_OPEN = Prepared(_OPEN_QUERY)
_OPEN_FOR_UPDATE = Prepared(_OPEN_QUERY.with_for_update())
_BY_ID = select(*_COLUMNS).where(Draft.id == bindparam("draft_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
# One more message: the window starts again, and the counts go up.
_ONE_MORE = {
    "expires_at": bindparam("expires_at"),
    "items": Draft.items + 1,
    "contents": Draft.contents + bindparam("content"),
}
_ADD_ITEM = Prepared(update(Draft).where(Draft.id == bindparam("draft_id")).values(_ONE_MORE))
# The common case in one statement: the open draft, still within its window, takes one more message (and on
# PostgreSQL its row lock, as `open_draft(.., for_update=True)` would).
_JOIN_OPEN = Prepared(
    update(Draft)
    .where(Draft.reporter_id == bindparam("reporter_id"), IS_OPEN, Draft.expires_at > bindparam("now"))
    .values(_ONE_MORE)
    .returning(*_COLUMNS)
)
_CLOSE = Prepared(
    update(Draft)
    .where(Draft.id == bindparam("draft_id"))
    .values(status=bindparam("status"), closed_at=bindparam("closed_at"), case_id=bindparam("case_id"))
)


def open_draft(session: Session, reporter_id: int, *, for_update: bool = False) -> DraftRecord | None:
    stmt = _OPEN_FOR_UPDATE if for_update else _OPEN
    row = stmt.first(session, {"reporter_id": reporter_id})
    return DraftRecord(*row) if row is not None else None


def draft_by_id(session: Session, draft_id: int, *, for_update: bool = False) -> DraftRecord | None:
    stmt = _BY_ID_FOR_UPDATE if for_update else _BY_ID
    row = session.connection().execute(stmt, {"draft_id": draft_id}).one_or_none()
    return DraftRecord(*row) if row is not None else None


def start_draft(
    session: Session, reporter_id: int, now: datetime, window: timedelta, *, content: bool
) -> tuple[DraftRecord, bool]:
    """A new open draft holding one item, or (False) the draft a concurrent request of the same reporter opened a
    moment ago, with the item added to it."""
    expires = now + window
    values = {
        "reporter_id": reporter_id,
        "status": "open",
        "opened_at": now,
        "expires_at": expires,
        "items": 1,
        "contents": int(content),
        "closed_at": None,
        "case_id": None,
    }
    created = insert_new(session, Draft, values, unique=("reporter_id",), where=OPEN)
    if created is not None:
        return DraftRecord(created, reporter_id, "open", expires, 1, int(content)), True
    found = open_draft(session, reporter_id, for_update=True)
    if found is None:
        raise LookupError(f"no open draft for reporter {reporter_id}, and none could be opened")
    return add_item(session, found, expires, content=content), False


def add_item(session: Session, draft: DraftRecord, expires_at: datetime, *, content: bool) -> DraftRecord:
    """One more message joins the draft (read with `for_update`), and its window starts again."""
    values = {"draft_id": draft.id, "expires_at": expires_at, "content": int(content)}
    _ADD_ITEM.run(session, values)
    return replace(draft, expires_at=expires_at, items=draft.items + 1, contents=draft.contents + int(content))


def join_open_draft(
    session: Session, reporter_id: int, now: datetime, expires_at: datetime, *, content: bool
) -> DraftRecord | None:
    """One more message joins the reporter's open draft if its window has not passed at `now`, and the window
    starts again: the draft as it is now. None when no draft is open or the open one's window has passed; nothing
    changed then (the caller looks at the open draft to tell which)."""
    values = {"reporter_id": reporter_id, "now": now, "expires_at": expires_at, "content": int(content)}
    row = _JOIN_OPEN.first(session, values)
    return DraftRecord(*row) if row is not None else None


def close_draft(session: Session, draft_id: int, status: str, now: datetime, case_id: int | None = None) -> None:
    values = {"draft_id": draft_id, "status": status, "closed_at": now, "case_id": case_id}
    _CLOSE.run(session, values)


def expired_open_drafts(session: Session, now: datetime, limit: int = 500) -> list[tuple[int, datetime]]:
    """Open drafts whose window has passed: (id, when it passed), the longest-waiting first."""
    stmt = select(Draft.id, Draft.expires_at).where(IS_OPEN, Draft.expires_at <= now)
    return [(row.id, row.expires_at) for row in session.execute(stmt.order_by(Draft.expires_at).limit(limit))]
