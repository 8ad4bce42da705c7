"""The one lifecycle of a case: its states, the moves allowed between them, and what each move tells the reporter.

    submitted ──受理──▶ accepted ──核查──▶ verifying ──限期整改──▶ rectifying ──整改完成──▶ rectified ──办结──▶ closed
        │                 │                 │                        ▲                                    │
        │                 │                 └──办结 (no hazard found)─┼────────────────────────────────────▶│
        ├─不予受理/重复/移交─┴──────────────────┴───────────────────────┘                                    │
        ▼                                                              reporter says "没有" (not fixed) ◀──┘
    rejected (reporter may object within 10 days → verifying)   duplicate   transferred

Every move goes through `move`, which writes the append-only event; the caller turns `notice` into an outbox row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from handlers import texts
from storage.cases import record_event
from storage.models import Case

OPEN = frozenset({"submitted", "accepted", "verifying", "rectifying", "rectified"})
FINAL = frozenset({"closed", "rejected", "duplicate", "transferred"})

ALLOWED: dict[str, frozenset[str]] = {
    "submitted": frozenset({"accepted", "rejected", "duplicate", "transferred"}),
    "accepted": frozenset({"verifying", "rectifying", "rejected", "duplicate", "transferred", "closed"}),
    "verifying": frozenset({"rectifying", "rejected", "transferred", "closed"}),
    "rectifying": frozenset({"rectified", "transferred"}),
    "rectified": frozenset({"closed", "rectifying"}),
    "closed": frozenset({"rectifying"}),  # the reporter says the hazard is still there
    "rejected": frozenset({"verifying"}),  # the reporter objected in time: checked again
    "duplicate": frozenset({"accepted"}),  # unlinked by an inspector
    "transferred": frozenset(),
}


class TransitionError(Exception):
    """A move the lifecycle does not allow; the message says what is allowed instead."""


@dataclass(frozen=True)
class Moved:
    case: Case
    from_status: str
    to_status: str
    notice: str | None  # what the reporter is told, in plain words (None: nothing worth a message)
    event_id: int


def can_move(case: Case, to_status: str) -> bool:
    return to_status in ALLOWED.get(case.status, frozenset())


def move(session: Session, case: Case, to_status: str, *, actor: str, note: str = "", at: datetime) -> Moved:
    if not can_move(case, to_status):
        allowed = "、".join(texts.status_name(s) for s in sorted(ALLOWED.get(case.status, ()))) or "无"
        raise TransitionError(
            texts.CANNOT_MOVE.format(
                reference=case.reference,
                status=texts.status_name(case.status),
                target=texts.status_name(to_status),
                allowed=allowed,
            )
        )
    before = case.status
    event = record_event(session, case, actor, to_status, note=note, at=at)
    session.flush()
    return Moved(case, before, to_status, _notice(case, before, to_status, note), event.id)


def note(session: Session, case: Case, *, actor: str, text: str, at: datetime) -> int:
    """An event that changes nothing but the record (a question asked, a deadline changed, a flag confirmed)."""
    event = record_event(session, case, actor, case.status, note=text, at=at)
    session.flush()
    return event.id


def _notice(case: Case, before: str, after: str, note: str) -> str | None:
    template = texts.REPORTER_NOTICES.get((before, after)) or texts.REPORTER_NOTICES.get(("*", after))
    if template is None:
        return None
    deadline = f"{case.rectify_deadline:%Y-%m-%d}" if case.rectify_deadline else ""
    return template.format(reference=case.reference, note=note or "—", deadline=deadline)
