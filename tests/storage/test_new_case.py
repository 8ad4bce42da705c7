"""A case written by `add_case` (two prepared inserts) is the row the ORM would have written, on either backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.cases import add_case
from storage.db import transaction
from storage.models import Case, CaseEvent, Reporter
from tests.support.harness import Harness

NOW = datetime(2026, 6, 16, 1, 2, 3, 456789, tzinfo=UTC)


def _holder(reporter_id: int, reference: str, **place: object) -> Case:
    return Case(
        reference=reference,
        reporter_id=reporter_id,
        query_code_digest="c" * 64,
        text="配电箱门坏了，电线裸露",
        submitted_via="text",
        submitted_at=NOW,
        accept_due_at=NOW + timedelta(days=1),
        **place,
    )


def _row(session, model, row_id: int) -> dict[str, object]:
    found = session.execute(select(model.__table__).where(model.__table__.c.id == row_id)).one()._asdict()
    # updated_at is the wall-clock time of the write, for both
    return {k: v for k, v in found.items() if k not in ("id", "reference", "case_id", "updated_at")}


def test_add_case_writes_what_the_orm_writes(harness: Harness) -> None:
    place = {"latitude": 29.86, "longitude": 118.43, "place": "二车间", "location_source": "reporter"}
    with transaction(harness.services.sessions) as session:
        reporter = Reporter(digest="d-new-case", sealed_openid=b"x", subscribed=True)
        session.add(reporter)
        session.flush()
        orm_case = _holder(reporter.id, "T-ORM", **place)
        session.add(orm_case)
        session.flush()
        orm_id = orm_case.id
        holder = _holder(reporter.id, "T-PREPARED", **place)
        prepared_id = add_case(session, holder, "reporter", "via text")
        assert holder not in session  # the holder never joins the session
    with harness.services.sessions() as session:
        assert _row(session, Case, prepared_id) == _row(session, Case, orm_id)
        event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == prepared_id)).one()
        # The first event: from nothing to submitted, at the submission's time.
        assert (event.actor, event.from_status, event.to_status) == ("reporter", None, "submitted")
        assert event.note == "via text" and event.at == NOW
        case = session.get(Case, prepared_id)
        assert case is not None and case.status == "submitted" and case.triage_status == "pending"
        assert case.triage is None and case.submitted_at == NOW
        assert abs(case.updated_at - datetime.now(UTC)) < timedelta(minutes=1)
