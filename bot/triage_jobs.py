"""The triage job: classify a submitted case, flag a possible major hazard, find the enterprise (asking the reporter
once when the tip does not say), link repeats of an open case, and route it, storing every reason. The messages it
queues (the case card to the section, questions to the reporter) are delivered by this job, right after commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.duplicates import find_original
from bot.gateway import deliver_here
from bot.services import Services
from bot.triage.result import TriageResult
from handlers import texts
from handlers.inspection import announce
from handlers.notify import to_reporter
from handlers.outcome import JobRequest
from storage.cases import record_event
from storage.db import reading, transaction
from storage.media import photos_of_case
from storage.models import Case

log = logging.getLogger(__name__)
TRIAGE_ACTOR = "triage"
QUESTION_LIFETIME = timedelta(days=3)


@dataclass(frozen=True)
class Plan:
    """What triage decided for a case, and from what (so the write can tell whether the case changed meanwhile)."""

    inputs: tuple[str, str | None]  # the case's text and enterprise hint
    result: TriageResult
    original: tuple[int, str, str] | None  # the open case this one repeats: id, reference, reason


def triage(services: Services, case_id: int) -> str:
    """Decide without holding any lock (SQLite's write lock is shared by every process), then write the decision in
    a short transaction, deciding again there only if the case changed in between."""
    with reading(services.sessions) as session:
        case = session.get(Case, case_id)
        if case is None or case.triage_status != "pending":
            return case.triage_status if case else "missing"
        plan = _plan(services, session, case)
    now = services.clock()
    jobs: list[JobRequest] = []
    with transaction(services.sessions) as session:
        case = session.get(Case, case_id, with_for_update=True)
        if case is None or case.triage_status != "pending":
            return case.triage_status if case else "missing"
        if plan.inputs != (case.text, case.enterprise_hint):
            plan = _plan(services, session, case)
        result = plan.result
        case.triage = _stored(result)
        case.section_id = result.section
        case.major = result.major
        case.enterprise = result.enterprise
        case.triage_status = "done"
        record_event(
            session, case, TRIAGE_ACTOR, case.status, note=f"分派至 {result.section}：{'；'.join(result.reasons)}"
        )
        if result.needs_enterprise and case.question_asked_at is None and not case.enterprise_hint:
            case.question, case.question_asked_at = "enterprise", now
            case.question_expires_at = now + QUESTION_LIFETIME
            jobs += to_reporter(
                session, case, texts.ASK_ENTERPRISE.format(reference=case.reference), now, "ask-enterprise"
            )
        if plan.original is not None and case.duplicate_of_id is None:
            first_id, first_reference, reason = plan.original
            case.duplicate_of_id = first_id
            record_event(session, case, TRIAGE_ACTOR, "duplicate", note=f"与 {first_reference} 为同一隐患：{reason}")
            body = texts.LINKED_DUPLICATE.format(reference=case.reference, original=first_reference)
            jobs += to_reporter(session, case, body, now, "duplicate")
        if case.duplicate_of_id is None:
            jobs += announce(session, case, services.settings.timezone, now, f"routed:{case.section_id}")
        reference = case.reference
    services.queue.submit(deliver_here(services, jobs))
    log.info("case triaged", extra={"case": reference, "section": result.section, "major": result.major})
    return "done"


def _plan(services: Services, session: Session, case: Case) -> Plan:
    photos = photos_of_case(session, case.id)
    result = services.triage.triage(case.text, enterprise_hint=case.enterprise_hint, has_photo=bool(photos))
    original = None
    if case.duplicate_of_id is None:
        case.enterprise, case.triage = result.enterprise, _stored(result)  # what the search for an original compares
        found = find_original(session, case, [p.phash for p in photos if p.phash])
        if found is not None:
            (first_id, first_reference), reason = found
            original = (first_id, first_reference, reason)
    return Plan((case.text, case.enterprise_hint), result, original)


def _stored(result: TriageResult) -> dict[str, Any]:
    return {**result.to_json(), "needs_enterprise": result.needs_enterprise, "industry": result.industry}
