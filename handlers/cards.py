"""What inspectors see of a case: the hazard, never the reporter. Built from the case row and its media only."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from handlers import texts
from storage.media import photos_of_case
from storage.models import Case


def case_card(session: Session, case: Case, tz: tzinfo, *, title: str | None = None) -> tuple[str, list[str]]:
    """The card's text and the stored thumbnails to send with it."""
    triage = case.triage or {}
    photos = [m for m in photos_of_case(session, case.id) if m.purpose == "report"]
    thumbnails = [m.thumbnail_path for m in photos if m.status == "stored" and m.thumbnail_path]
    major = texts.CARD_MAJOR.format(reasons="；".join(triage.get("major_reasons", []))) if case.major else ""
    transfers = triage.get("transfers") or []
    departments = "、".join(t["department"] for t in transfers)
    place = case.place or (f"{case.latitude:.5f}, {case.longitude:.5f}" if case.latitude is not None else "未提供")
    text = texts.CASE_CARD.format(
        title=title or (texts.CARD_TITLE_MAJOR if case.major else texts.CARD_TITLE_NEW),
        reference=case.reference,
        major=major,
        categories=category_names(case) or "未识别",
        enterprise=case.enterprise or case.enterprise_hint or "未识别",
        place=place,
        text=case.text or "（仅照片）",
        photos=len(photos),
        transfers=texts.CARD_TRANSFERS.format(departments=departments) if departments else "",
        due=due_line(case, tz),
    )
    return text, thumbnails


def category_names(case: Case) -> str:
    return "、".join(c["id"] for c in (case.triage or {}).get("categories", [])[:3])


def due_line(case: Case, tz: tzinfo) -> str:
    kind, due = current_deadline(case)
    if kind is None or due is None:
        return ""
    return f"{texts.DEADLINE_WHAT[kind]}期限：{local(due, tz)}"


def current_deadline(case: Case) -> tuple[str | None, datetime | None]:
    """The deadline that matters in the case's present state."""
    if case.status == "submitted":
        return "accept", case.accept_due_at
    if case.status in ("accepted", "verifying"):
        return "verify", case.verify_due_at
    if case.status == "rectifying":
        return "rectify", case.rectify_deadline
    return None, None


def local(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%m月%d日 %H:%M}"
