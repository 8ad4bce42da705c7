"""The sweeper: re-asks for every piece of work the database says is still pending.

Redis is a losable helper. When it was down while a tip arrived, or lost its data, or a worker died mid-job, the rows
still say what is owed: media to download, cases to triage, drafts whose window has passed, messages to deliver.
Job ids are derived from row ids, so asking again never runs anything twice. Each sweep also queues the deadline
reminders, escalations and morning digests that have come due (`bot.deadlines`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from bot.deadlines import scan as scan_deadlines
from bot.intake import accept_spooled
from bot.services import Services
from handlers.outcome import JobKind, JobRequest
from storage.cases import cases_awaiting_triage
from storage.db import reading, transaction
from storage.drafts import expired_open_drafts
from storage.media import media_awaiting_download
from storage.outbox import due_messages
from storage.reporters import erase_departed

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # leave fresh rows to the enqueue that follows their own commit


def sweep(services: Services, grace: timedelta = GRACE) -> dict[str, int]:
    replayed = services.spool.replay(lambda xml: accept_spooled(services, xml))
    services.queue.clean()
    now = services.clock()
    with reading(services.sessions) as session:
        found: dict[JobKind, list[int]] = {
            "download_media": media_awaiting_download(session, now - grace),
            "triage_case": cases_awaiting_triage(session, now - grace),
            "close_draft": expired_open_drafts(session, now),
            "deliver_message": due_messages(session, now - grace),
        }
    requests = [JobRequest(kind, row_id) for kind, ids in found.items() for row_id in ids]
    queued = services.queue.submit(requests, revive=True) if requests else 0
    counts: dict[str, int] = {kind: len(ids) for kind, ids in found.items()}
    counts["spool_replayed"] = replayed
    with transaction(services.sessions) as session:
        counts["identities_erased"] = erase_departed(session, now - timedelta(days=services.settings.erase_after_days))
    if requests:
        log.info("sweep", extra={"found": counts, "queued": queued})
    try:
        counts.update(scan_deadlines(services))
    except Exception:
        # Deadlines are the sweep's second job: a failure there must not keep re-enqueueing from happening.
        log.exception("deadline scan failed; will try again at the next sweep")
        counts["deadline_scan_failed"] = 1
    return counts


class SweeperThread(threading.Thread):
    """Runs `sweep` every `interval` seconds beside the worker until stopped."""

    def __init__(self, services: Services, interval: float = 30.0) -> None:
        super().__init__(name="whistle-sweeper", daemon=True)
        self.services = services
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                sweep(self.services)
            except Exception:
                log.exception("sweep failed; will try again")
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
