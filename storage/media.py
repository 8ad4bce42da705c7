"""Media rows: what to download, and what the sweeper must retry."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from storage.models import Media
from storage.prepared import Prepared


class CasePhoto(NamedTuple):
    """What triage and the case card need of a photo: no ORM instance (every case reads its photos twice)."""

    id: int
    purpose: str
    status: str
    thumbnail_path: str | None
    phash: str | None


def media_awaiting_download(session: Session, older_than: datetime, limit: int = 500) -> list[int]:
    stmt = (
        select(Media.id)
        .where(Media.status == "pending", Media.created_at <= older_than)
        .order_by(Media.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def attach_draft_media(session: Session, draft_id: int, case_id: int) -> None:
    session.execute(update(Media).where(Media.draft_id == draft_id).values(case_id=case_id))


def media_of_case(session: Session, case_id: int) -> list[Media]:
    return list(session.scalars(select(Media).where(Media.case_id == case_id).order_by(Media.id)))


def media_of_draft(session: Session, draft_id: int) -> list[Media]:
    return list(session.scalars(select(Media).where(Media.draft_id == draft_id).order_by(Media.id)))


_PHOTOS = Prepared(
    select(Media.id, Media.purpose, Media.status, Media.thumbnail_path, Media.phash)
    .where(Media.case_id == bindparam("case_id"), Media.kind == "image")
    .order_by(Media.id)
)


def photos_of_case(session: Session, case_id: int) -> list[CasePhoto]:
    """The case's photos (report and rectification), oldest first."""
    return [CasePhoto(*row) for row in _PHOTOS.rows(session, {"case_id": case_id})]
