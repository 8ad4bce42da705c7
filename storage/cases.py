"""Cases, their references and their append-only event log."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.models import Case, CaseEvent, ReferenceCounter, utcnow
from storage.prepared import Prepared

_BUMP = Prepared(
    update(ReferenceCounter)
    .where(ReferenceCounter.prefix == bindparam("of_prefix"), ReferenceCounter.day == bindparam("of_day"))
    .values(last=ReferenceCounter.last + 1)
    .returning(ReferenceCounter.last)
)


def next_reference(session: Session, prefix: str, day: date) -> str:
    """`<prefix>-<yyyymmdd>-<seq>`, gap-free per day; concurrent callers are serialized on the counter row, which
    the day's first case creates (a concurrent first case finds it created and bumps it)."""
    key = {"of_prefix": prefix, "of_day": day}
    bumped = _BUMP.first(session, key)
    if bumped is None:
        first = dialect_insert(session, ReferenceCounter).values(prefix=prefix, day=day, last=0)
        session.execute(first.on_conflict_do_nothing())
        bumped = _BUMP.first(session, key)
        if bumped is None:
            raise LookupError(f"no reference counter for {prefix} {day}, and none could be made")
    return f"{prefix}-{day:%Y%m%d}-{bumped[0]:04d}"


# A submission writes the new case and its first event with two prepared statements (every tip takes this path; the
# ORM's unit of work costs several times the inserts). The values name every column that has a default: a prepared
# statement refuses to run without one, so a column added to the model with a default cannot be silently skipped.
_NEW_CASE_FIELDS = (
    "reference",
    "reporter_id",
    "query_code_digest",
    "text",
    "latitude",
    "longitude",
    "place",
    "location_source",
    "observed_at",
    "submitted_via",
    "submitted_at",
    "accept_due_at",
)
_INSERT_CASE = Prepared(
    insert(Case)
    .values(
        {
            **{name: bindparam(name) for name in _NEW_CASE_FIELDS},
            "status": "submitted",
            "updated_at": bindparam("written_at"),
            "triage_status": "pending",
            "extended": False,
            "reward_eligible": False,
        }
    )
    .returning(Case.id)
)
_INSERT_EVENT = Prepared(
    insert(CaseEvent).values(
        case_id=bindparam("case_id"),
        at=bindparam("at"),
        actor=bindparam("actor"),
        from_status=None,
        to_status="submitted",
        note=bindparam("note"),
    )
)


def add_case(session: Session, case: Case, actor: str, note: str) -> int:
    """Insert `case` (a transient instance holding what the submission knows) as submitted, with its first event.
    The instance itself stays out of the session; the new case's id is returned."""
    values = {name: getattr(case, name) for name in _NEW_CASE_FIELDS}
    values["written_at"] = utcnow()  # as the model's default: when the row was written, by the wall clock
    row = _INSERT_CASE.first(session, values)
    assert row is not None
    case_id = int(row[0])
    _INSERT_EVENT.run(session, {"case_id": case_id, "at": case.submitted_at, "actor": actor, "note": note})
    return case_id


def record_event(
    session: Session, case: Case, actor: str, to_status: str, note: str = "", at: datetime | None = None
) -> CaseEvent:
    """Move the case to `to_status` and append the event (the only place a case's status changes)."""
    event = CaseEvent(case_id=case.id, actor=actor, from_status=_previous(case), to_status=to_status, note=note)
    if at is not None:
        event.at = at
    case.status = to_status
    session.add(event)
    return event


def _previous(case: Case) -> str | None:
    return None if case.id is None or not case.status else case.status


def find_case(session: Session, reference: str) -> Case | None:
    return session.scalars(select(Case).where(Case.reference == reference.upper())).one_or_none()


def cases_of_reporter(session: Session, reporter_id: int, limit: int = 10) -> list[Case]:
    stmt = select(Case).where(Case.reporter_id == reporter_id).order_by(Case.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def list_cases(session: Session, *, status: str | None = None, limit: int = 50) -> list[Case]:
    stmt = select(Case).order_by(Case.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Case.status == status)
    return list(session.scalars(stmt))


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def cases_awaiting_triage(session: Session, older_than: datetime, limit: int = 500) -> list[int]:
    stmt = (
        select(Case.id)
        .where(Case.triage_status == "pending", Case.submitted_at <= older_than)
        .order_by(Case.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def open_cases(session: Session, section_id: str | None, statuses: tuple[str, ...], limit: int = 30) -> list[Case]:
    """Open cases of a section (all sections when None), possible major hazards first, then the oldest."""
    stmt = select(Case).where(Case.status.in_(statuses))
    if section_id is not None:
        stmt = stmt.where(Case.section_id == section_id)
    stmt = stmt.order_by(Case.major.desc().nulls_last(), Case.submitted_at).limit(limit)
    return list(session.scalars(stmt))


_AWAITS_REPLY = Prepared(
    select(Case.id)
    .where(
        Case.reporter_id == bindparam("reporter_id"),
        Case.question.is_not(None),
        Case.question_expires_at > bindparam("now"),
    )
    .limit(1)
)


def awaits_reply(session: Session, reporter_id: int, now: datetime) -> bool:
    """Whether any case of the reporter still waits for an answer from them: one cheap look, so that a message that
    answers nothing (most of them) skips the precise lookups of `case_with_question`."""
    return _AWAITS_REPLY.first(session, {"reporter_id": reporter_id, "now": now}) is not None


def case_with_question(session: Session, reporter_id: int, questions: tuple[str, ...], now: datetime) -> Case | None:
    """The reporter's latest case on which one of `questions` is still pending at `now`."""
    stmt = (
        select(Case)
        .where(Case.reporter_id == reporter_id, Case.question.in_(questions), Case.question_expires_at > now)
        .order_by(Case.question_asked_at.desc())
        .limit(1)
        .with_for_update()
    )
    return session.scalars(stmt).one_or_none()
