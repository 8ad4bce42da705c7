"""The triage job: classify a submitted case, flag a possible major hazard, and route it, storing every reason."""

from __future__ import annotations

import logging

from bot.services import Services
from storage.cases import record_event
from storage.db import transaction
from storage.media import media_of_case
from storage.models import Case

log = logging.getLogger(__name__)
TRIAGE_ACTOR = "triage"


def triage(services: Services, case_id: int) -> str:
    engine = services.triage
    with transaction(services.sessions) as session:
        case = session.get(Case, case_id, with_for_update=True)
        if case is None or case.triage_status != "pending":
            return case.triage_status if case else "missing"
        has_photo = any(m.kind == "image" for m in media_of_case(session, case.id))
        result = engine.triage(case.text, has_photo=has_photo)
        case.triage = {**result.to_json(), "needs_enterprise": result.needs_enterprise, "industry": result.industry}
        case.section_id = result.section
        case.major = result.major
        case.triage_status = "done"
        note = "；".join(result.reasons)
        record_event(session, case, TRIAGE_ACTOR, case.status, note=f"分派至 {result.section}：{note}")
        reference = case.reference
    log.info(
        "case triaged",
        extra={"case": reference, "section": result.section, "major": result.major},
    )
    return "done"
