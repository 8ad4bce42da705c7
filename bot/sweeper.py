"""The sweeper: re-asks for every piece of work the database says is still pending.

Redis is a losable helper. When it was down while a tip arrived, or lost its data, or a worker died mid-job, the rows
still say what is owed: media to download, cases to triage, drafts whose window has passed, messages to deliver.
Job ids are derived from row ids, so asking again never runs anything twice. Each sweep also queues the deadline
reminders, escalations and morning digests that have come due (`bot.deadlines`).

Drafts are closed from here too, and more often: every second, beside each worker, `close_due_drafts` asks for the
close_draft job of each draft whose window has just passed. (A job scheduled in RQ when the draft began would cost the
webhook a scheduled-job write on every draft, and would come due too early whenever the reporter kept writing.)
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

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
DRAFT_POLL_SECONDS = 1.0  # how late after its window a draft is closed, at most (plus the queue's wait)


def sweep(services: Services, grace: timedelta = GRACE) -> dict[str, int]:
    replayed = services.spool.replay(lambda xml: accept_spooled(services, xml))
    services.queue.clean()
    now = services.clock()
    with reading(services.sessions) as session:
        found: dict[JobKind, list[int]] = {
            "download_media": media_awaiting_download(session, now - grace),
            "triage_case": cases_awaiting_triage(session, now - grace),
            "deliver_message": due_messages(session, now - grace),
        }
        drafts = expired_open_drafts(session, now)
    requests = [JobRequest(kind, row_id) for kind, ids in found.items() for row_id in ids]
    requests += [_close_request(*draft) for draft in drafts]
    queued = services.queue.submit(requests, revive=True) if requests else 0
    counts: dict[str, int] = {kind: len(ids) for kind, ids in found.items()}
    counts["close_draft"] = len(drafts)
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


def close_due_drafts(services: Services) -> int:
    """Ask for the close_draft job of each open draft whose window has passed; how many are now queued.

    Each window's end gets a job of its own (the round is the time it ends), so asking every second costs one
    no-op enqueue per draft still waiting in the queue, and never closes a draft twice. While Redis is known to be
    down (the queue's breaker is open) it does nothing, so as not to log every second that nothing can be queued."""
    if services.queue.breaker.open:
        return 0
    with reading(services.sessions) as session:
        drafts = expired_open_drafts(session, services.clock())
    return services.queue.submit([_close_request(*draft) for draft in drafts])


def _close_request(draft_id: int, expires_at: datetime) -> JobRequest:
    return JobRequest("close_draft", draft_id, round=int(expires_at.timestamp()))


class SweeperThread(threading.Thread):
    """Beside the worker until stopped: closes due drafts every `DRAFT_POLL_SECONDS`, and runs the whole `sweep`
    every `interval` seconds (never when `interval` is 0)."""

    def __init__(self, services: Services, interval: float = 30.0, poll: float = DRAFT_POLL_SECONDS) -> None:
        super().__init__(name="whistle-sweeper", daemon=True)
        self.services = services
        self.interval = interval
        self.poll = poll
        self._stop_event = threading.Event()
        self._drafts_failing = False

    def run(self) -> None:
        next_sweep = time.monotonic()
        while not self._stop_event.is_set():
            if self.interval > 0 and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.interval
                try:
                    sweep(self.services)
                except Exception:
                    log.exception("sweep failed; will try again")
            else:
                self._close_due_drafts()
            self._stop_event.wait(self.poll)

    def _close_due_drafts(self) -> None:
        """Told once when it starts failing (the database is down, say), and once when it works again: not every
        second in between."""
        try:
            close_due_drafts(self.services)
        except Exception:
            if not self._drafts_failing:
                log.exception("closing due drafts failed; trying every second")
            self._drafts_failing = True
            return
        if self._drafts_failing:
            log.info("closing due drafts works again")
        self._drafts_failing = False

    def stop(self) -> None:
        self._stop_event.set()
