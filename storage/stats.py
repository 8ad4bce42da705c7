"""Campaign figures for bureau leaders: what is open, late or possibly major, and how many cases closed the loop."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Case

OPEN = ("submitted", "accepted", "verifying", "rectifying", "rectified")


@dataclass
class CampaignStats:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    open: int = 0
    overdue: int = 0
    possibly_major_open: int = 0
    confirmed_major: int = 0
    closed: int = 0
    reward_eligible: int = 0
    by_section: dict[str, dict[str, int]] = field(default_factory=dict)
    top_categories: list[tuple[str, int]] = field(default_factory=list)

    @property
    def closed_rate(self) -> float:
        finished = self.closed + self.by_status.get("rejected", 0) + self.by_status.get("transferred", 0)
        counted = self.total - self.by_status.get("duplicate", 0)
        return finished / counted if counted else 0.0


def campaign_stats(
    session: Session, now: datetime, since: datetime | None = None, section_id: str | None = None
) -> CampaignStats:
    """All cases (a bureau leader's view), or one section's when `section_id` is given."""
    stmt = select(Case)
    if section_id is not None:
        stmt = stmt.where(Case.section_id == section_id)
    if since is not None:
        stmt = stmt.where(Case.submitted_at >= since)
    stats = CampaignStats()
    statuses: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for case in session.scalars(stmt):
        stats.total += 1
        statuses[case.status] += 1
        section = stats.by_section.setdefault(case.section_id or "-", {"total": 0, "open": 0, "overdue": 0})
        section["total"] += 1
        top = (case.triage or {}).get("categories") or []
        if top:
            categories[top[0]["id"]] += 1
        stats.confirmed_major += bool(case.major_confirmed)
        stats.reward_eligible += bool(case.reward_eligible)
        if case.status not in OPEN:
            continue
        stats.open += 1
        section["open"] += 1
        stats.possibly_major_open += bool(case.major)
        if _overdue(case, now):
            stats.overdue += 1
            section["overdue"] += 1
    stats.by_status = dict(statuses)
    stats.closed = statuses.get("closed", 0)
    stats.top_categories = categories.most_common(5)
    return stats


def _overdue(case: Case, now: datetime) -> bool:
    due = {
        "submitted": case.accept_due_at,
        "accepted": case.verify_due_at,
        "verifying": case.verify_due_at,
        "rectifying": case.rectify_deadline,
    }.get(case.status)
    return due is not None and due <= now
