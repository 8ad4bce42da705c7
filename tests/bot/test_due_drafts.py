"""Drafts are closed when their window passes: the webhook queues nothing when a draft begins, and the workers ask
for each due draft's close_draft job (every second, `close_due_drafts`), once per window end."""

from __future__ import annotations

import logging
import time

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from bot.queue import INTAKE_QUEUE
from bot.sweeper import SweeperThread, close_due_drafts, sweep
from bot.wechat import messages as msg
from handlers import texts
from storage.db import make_engine, make_sessionmaker
from storage.models import Case, Draft
from tests.faults.support import poll
from tests.support.harness import Harness

WORKER = "oDueDrafts"


def queued_jobs(harness: Harness) -> list[str]:
    ids = []
    for queue in harness.services.queue.queues.values():
        ids += queue.get_job_ids() + queue.scheduled_job_registry.get_job_ids()
    return ids


def fetch(harness: Harness, job_id: str) -> Job:
    return Job.fetch(job_id, connection=harness.services.redis, serializer=JSONSerializer)


def said(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.sweeper"]


def drafts(harness: Harness) -> list[tuple[str, int | None]]:
    with harness.services.sessions() as s:
        return [(d.status, d.case_id) for d in s.scalars(select(Draft).order_by(Draft.id))]


def test_a_draft_begins_and_grows_without_any_job(harness: Harness) -> None:
    harness.say(msg.text(WORKER, "二车间配电箱门坏了"))
    harness.say(msg.text(WORKER, "电线都露在外面"))
    assert queued_jobs(harness) == []
    assert close_due_drafts(harness.services) == 0  # its window has not passed
    assert queued_jobs(harness) == []


def test_a_due_draft_is_asked_for_once_and_closed_once(harness: Harness) -> None:
    harness.say(msg.text(WORKER, "二车间配电箱门坏了"))
    with harness.services.sessions() as s:
        draft = s.scalars(select(Draft)).one()
    harness.clock.advance(harness.settings.draft_window_seconds)  # exactly the end: due
    assert close_due_drafts(harness.services) == 1
    assert close_due_drafts(harness.services) == 1  # asked again (the next second): still the one job
    job_id = f"close_draft-{draft.id}-r{int(draft.expires_at.timestamp())}"
    assert queued_jobs(harness) == [job_id]
    harness.run_jobs()
    assert [status for status, _ in drafts(harness)] == ["submitted"]
    sent = harness.fake.sent_messages()
    assert texts.AUTO_SUBMITTED_PREFIX.strip() in sent[0].text
    assert close_due_drafts(harness.services) == 0
    assert fetch(harness, job_id).return_value() == "submitted"


def test_a_message_after_the_window_submits_the_draft_before_its_queued_job_runs(harness: Harness) -> None:
    """The reporter writes again after the window, while the close_draft job waits in the queue: the webhook submits
    the old draft itself and begins a new one; the job then finds nothing to do. One case, one new draft."""
    harness.say(msg.text(WORKER, "二车间配电箱门坏了"))
    harness.clock.advance(harness.settings.draft_window_seconds + 1)
    assert close_due_drafts(harness.services) == 1
    reply = harness.say(msg.text(WORKER, "三号仓库灭火器过期了"))
    assert reply.startswith(texts.AUTO_SUBMITTED_PREFIX)
    harness.run_jobs()
    with harness.services.sessions() as s:
        assert len(s.scalars(select(Case)).all()) == 1
    assert [status for status, _ in drafts(harness)] == ["submitted", "open"]
    waiting = harness.services.queue.queues[INTAKE_QUEUE]
    finished = waiting.finished_job_registry.get_job_ids()
    closes = [j for j in finished if j.startswith("close_draft-")]
    assert len(closes) == 1 and fetch(harness, closes[0]).return_value() != "submitted"


def test_the_sweep_also_asks_for_due_drafts_and_revives_a_failed_job(harness: Harness) -> None:
    harness.say(msg.text(WORKER, "二车间配电箱门坏了"))
    harness.clock.advance(harness.settings.draft_window_seconds + 1)
    assert close_due_drafts(harness.services) == 1
    job_id = queued_jobs(harness)[0]
    job = fetch(harness, job_id)
    harness.services.queue.queues[INTAKE_QUEUE].remove(job)
    job.set_status("failed")  # as after its last retry
    assert close_due_drafts(harness.services) == 1 and queued_jobs(harness) == []  # a failed job is not replaced here
    assert sweep(harness.services)["close_draft"] == 1
    assert queued_jobs(harness) == [job_id]  # ... but by the sweep
    harness.run_jobs()
    assert [status for status, _ in drafts(harness)] == ["submitted"]


def test_the_thread_beside_a_worker_closes_drafts_with_no_sweeps(harness: Harness) -> None:
    """`whistle worker --sweep-interval 0` runs no sweeps, and still closes drafts on time."""
    harness.say(msg.text(WORKER, "二车间配电箱门坏了"))
    thread = SweeperThread(harness.services, interval=0, poll=0.02)
    thread.start()
    try:
        time.sleep(0.1)
        assert queued_jobs(harness) == []
        harness.clock.advance(harness.settings.draft_window_seconds + 1)
        poll(lambda: queued_jobs(harness), 5)
        assert [j.partition("-")[0] for j in queued_jobs(harness)] == ["close_draft"]
    finally:
        thread.stop()
        thread.join(5)
    harness.run_jobs()
    assert [status for status, _ in drafts(harness)] == ["submitted"]


def test_the_thread_says_once_that_the_database_fails_and_once_that_it_works_again(
    harness: Harness, tmp_path, caplog
) -> None:
    """A database that cannot be opened (a real SQLite path in a folder that does not exist) fails every poll: the
    log says so once, not every second, and says when it works again; then the due draft is closed."""
    harness.say(msg.text(WORKER, "二车间配电箱门坏了"))
    harness.clock.advance(harness.settings.draft_window_seconds + 1)
    good = harness.services.sessions
    harness.services.sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path}/missing/whistle.db"))
    thread = SweeperThread(harness.services, interval=0, poll=0.01)
    caplog.set_level(logging.INFO, logger="bot.sweeper")
    thread.start()
    try:
        time.sleep(0.3)  # many polls
        assert said(caplog) == ["closing due drafts failed; trying every second"]
        harness.services.sessions = good
        poll(lambda: queued_jobs(harness), 5)
    finally:
        thread.stop()
        thread.join(5)
    assert said(caplog) == ["closing due drafts failed; trying every second", "closing due drafts works again"]
    assert [j.partition("-")[0] for j in queued_jobs(harness)] == ["close_draft"]


def test_while_redis_is_known_to_be_down_the_poll_does_nothing_and_says_nothing(harness: Harness, caplog) -> None:
    harness.say(msg.text(WORKER, "二车间配电箱门坏了"))
    harness.clock.advance(harness.settings.draft_window_seconds + 1)
    harness.services.queue.breaker.trip()  # as after a failed Redis call
    caplog.set_level(logging.INFO)
    assert close_due_drafts(harness.services) == 0
    assert caplog.records == [] and queued_jobs(harness) == []
    harness.services.queue.breaker.reset()  # its cool-down has passed
    assert close_due_drafts(harness.services) == 1
