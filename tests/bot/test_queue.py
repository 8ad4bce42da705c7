"""Enqueueing is idempotent by job id, also for scheduled jobs; the sweeper's revive replaces only ended jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from bot.queue import INTAKE_QUEUE, OUTBOX_QUEUE, JobQueue
from bot.redis_conn import Breaker
from handlers.outcome import JobRequest


def test_the_same_request_twice_is_one_job(redis_conn):
    queue = JobQueue(redis_conn)
    assert queue.submit([JobRequest("triage_case", 7)]) == 1
    assert queue.submit([JobRequest("triage_case", 7)]) == 1
    assert queue.queues[INTAKE_QUEUE].count == 1
    job = queue.queues[INTAKE_QUEUE].jobs[0]
    assert job.id == "triage_case-7" and job.args == [7] and job.retries_left == 5


def test_deliveries_go_to_their_own_queue_and_priority_jumps_it(redis_conn):
    queue = JobQueue(redis_conn)
    queue.submit([JobRequest("deliver_message", 1), JobRequest("deliver_message", 2, front=True)])
    assert [j.id for j in queue.queues[OUTBOX_QUEUE].jobs] == ["deliver_message-2", "deliver_message-1"]


def test_scheduled_jobs_are_unique_too(redis_conn):
    queue = JobQueue(redis_conn)
    at = datetime.now(UTC) + timedelta(minutes=5)
    queue.submit([JobRequest("close_draft", 3, at=at)])
    queue.submit([JobRequest("close_draft", 3, at=at)])
    registry = queue.queues[INTAKE_QUEUE].scheduled_job_registry
    assert registry.get_job_ids() == [f"close_draft-3-at{int(at.timestamp())}"]


def test_revive_replaces_a_failed_or_finished_job_but_not_a_waiting_one(redis_conn):
    queue = JobQueue(redis_conn)
    queue.submit([JobRequest("triage_case", 9)])
    queue.submit([JobRequest("triage_case", 9)], revive=True)
    assert queue.queues[INTAKE_QUEUE].count == 1  # still waiting: left alone

    job = Job.fetch("triage_case-9", connection=redis_conn, serializer=JSONSerializer)
    queue.queues[INTAKE_QUEUE].remove(job)
    job.set_status("failed")
    queue.submit([JobRequest("triage_case", 9)])
    assert queue.queues[INTAKE_QUEUE].count == 0  # a plain submit does not resurrect it
    queue.submit([JobRequest("triage_case", 9)], revive=True)
    assert queue.queues[INTAKE_QUEUE].count == 1  # the sweeper's does


def test_a_dead_redis_never_raises_and_trips_the_breaker():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    breaker = Breaker(cooldown=60)
    queue = JobQueue(dead, breaker)
    assert queue.submit([JobRequest("triage_case", 1), JobRequest("triage_case", 2)]) == 0
    assert breaker.open
