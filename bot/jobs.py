"""RQ jobs. Each takes a database id, checks the row's state first, and does nothing the second time.

The worker process builds its services once (the composition root) on first use; tests hand theirs in with
`use_services`.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session

from bot import gateway
from bot.config import load_settings
from bot.media_jobs import fetch_media
from bot.services import Services, build_services
from bot.triage_jobs import triage
from handlers import report
from handlers.outcome import JobRequest
from storage.db import transaction
from storage.drafts import draft_by_id
from storage.outbox import add_message

log = logging.getLogger(__name__)
_services: Services | None = None
TRIAGE_BATCH = 8
TRIAGE_BATCH_SECONDS = 1.0


def use_services(services: Services | None) -> None:
    global _services
    _services = services


def current_services() -> Services:
    global _services
    if _services is None:
        _services = build_services(load_settings(), role="worker", run_migrations=False)
    return _services


def download_media(media_id: int) -> str:
    return fetch_media(current_services(), media_id)


def triage_case(case_id: int) -> str:
    """Triage the case; then, while a backlog waits, take the triage jobs queued behind this one off the queue and do
    them here too (up to TRIAGE_BATCH cases, TRIAGE_BATCH_SECONDS): RQ's bookkeeping of a job costs a worker several
    milliseconds, a good share of triaging a case. A taken case that fails goes back to the queue as a job of its own,
    with the usual retries; one whose worker dies is asked for again by the sweeper (its row is still pending)."""
    services = current_services()
    outcome = triage(services, case_id)
    deadline = time.monotonic() + TRIAGE_BATCH_SECONDS
    for _ in range(TRIAGE_BATCH - 1):
        if time.monotonic() > deadline:
            break
        taken = services.queue.take("triage_case")
        if taken is None:
            break
        try:
            triage(services, taken)
        except Exception:
            log.warning("taken triage failed; queued on its own", extra={"case_id": taken}, exc_info=True)
            services.queue.submit([JobRequest("triage_case", taken)])
            break
    return outcome


def deliver_message(outbox_id: int) -> str:
    return gateway.deliver(current_services(), outbox_id)


def close_draft(draft_id: int) -> str:
    """Submit a draft whose window has passed (asked for by `bot.sweeper.close_due_drafts`); nothing if the reporter
    has extended it meanwhile."""
    services = current_services()
    jobs: list[JobRequest] = []
    now = services.clock()
    with transaction(services.sessions) as session:
        done, push = report.close_expired(session, services.report_rules, services.vault.code_digest, draft_id, now)
        if done is not None:
            jobs.append(JobRequest("triage_case", done.case.id))
        if push is not None:
            reporter_id = done.case.reporter_id if done else _draft_reporter(session, draft_id)
            queued = add_message(
                session,
                reporter_id=reporter_id,
                body=push,
                now=now,
                case_id=done.case.id if done else None,
                dedupe_key=f"draft:{draft_id}:closed",
            )
            if queued is not None:
                jobs.append(JobRequest("deliver_message", queued))
    services.queue.submit(jobs)
    outcome = "submitted" if done else "dropped" if push else "nothing to do"
    log.info("draft closed", extra={"draft_id": draft_id, "outcome": outcome})
    return outcome


def _draft_reporter(session: Session, draft_id: int) -> int:
    draft = draft_by_id(session, draft_id)
    assert draft is not None
    return draft.reporter_id
