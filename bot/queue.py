"""Enqueueing jobs with RQ: JSON payloads, ids derived from database ids, retries with backoff.

A job's id is `<kind>-<database id>[-at<time>]`, and `unique=True` makes a second enqueue of the same id a no-op, so
the webhook, the jobs and the sweeper can all ask for the same work without it running twice. The database row
states stay the source of truth: when Redis is down the enqueue is skipped and the sweeper re-asks later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import clean_registries
from rq.serializers import JSONSerializer

from bot.redis_conn import Breaker
from handlers.outcome import JobKind, JobRequest, target_of

log = logging.getLogger(__name__)

INTAKE_QUEUE = "whistle-intake"
OUTBOX_QUEUE = "whistle-outbox"
# Workers take deliveries first: each is a few milliseconds, and a case card should not wait behind a triage backlog.
QUEUES = (OUTBOX_QUEUE, INTAKE_QUEUE)

JOB_FUNCTIONS = {
    "download_media": "bot.jobs.download_media",
    "triage_case": "bot.jobs.triage_case",
    "close_draft": "bot.jobs.close_draft",
    "deliver_message": "bot.jobs.deliver_message",
}
RETRY_INTERVALS = [5, 30, 120, 600, 1800]
# When the sweeper finds a row still owed, a job in one of these states will not do it: replace it.
# (A finished job may have left the row pending on purpose, e.g. a delivery paused for the quota.)
REPLACEABLE = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED}


# Takes one queued job off a queue together with its record, atomically: either the caller owns the job from now
# on, or a worker had already dequeued it. KEYS: the queue's list, the job's hash; ARGV: the job id.
_TAKE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
    redis.call('DEL', KEYS[2])
    return 1
end
return 0
"""
TAKE_SCAN = 8  # how far down the intake queue `take` looks past jobs other workers dequeue meanwhile


class JobQueue:
    def __init__(self, connection: redis.Redis, breaker: Breaker | None = None) -> None:
        self.connection = connection
        self.breaker = breaker or Breaker()
        self.queues = {
            name: Queue(name, connection=connection, serializer=JSONSerializer, default_timeout=120) for name in QUEUES
        }
        self._take = connection.register_script(_TAKE)

    def submit(self, requests: Iterable[JobRequest], *, revive: bool = False) -> int:
        """Enqueue each request once. Returns how many are now queued (new or already there).

        Never raises: Redis trouble is logged and left to the sweeper. `revive` (the sweeper's) replaces a job that
        has ended, failed or finished, while its row says the work is still owed.
        """
        done = 0
        for request in requests:
            if self.breaker.open:
                log.warning("redis unavailable, job left for the sweeper", extra={"job_id": request.job_id})
                continue
            try:
                self._enqueue(request, revive=revive)
                done += 1
            except redis.RedisError as exc:
                self.breaker.trip()
                log.warning(
                    "redis unavailable, job left for the sweeper",
                    extra={"job_id": request.job_id, "error": type(exc).__name__},
                )
        return done

    def _enqueue(self, request: JobRequest, *, revive: bool) -> None:
        queue = self.queues[OUTBOX_QUEUE if request.kind == "deliver_message" else INTAKE_QUEUE]
        intervals = RETRY_INTERVALS[1:] if request.retry else RETRY_INTERVALS
        options = {
            "job_id": request.job_id,
            "unique": True,
            "retry": Retry(max=len(intervals), interval=intervals),
            "result_ttl": 3600,
            "failure_ttl": 7 * 86400,
        }
        try:
            if request.at is None:
                queue.enqueue(JOB_FUNCTIONS[request.kind], request.target_id, at_front=request.front, **options)
            else:
                queue.enqueue_at(request.at, JOB_FUNCTIONS[request.kind], request.target_id, **options)
        except DuplicateJobError:
            if revive and self._remove_if_ended(request.job_id):
                self._enqueue(request, revive=False)

    def take(self, kind: JobKind) -> int | None:
        """Take the job at the head of the intake queue if it is of `kind`, for the caller to do now: its target id,
        or None (another kind is next, none waits, Redis is unavailable). Only from the head, so that work keeps its
        order: a triage job queued behind its photo's download never overtakes it. The job's record goes with it, so
        if the caller dies before the work is done, nothing in RQ claims it: the row still says the work is owed and
        the sweeper asks again."""
        if self.breaker.open:
            return None
        queue = self.queues[INTAKE_QUEUE]
        try:
            for job_id in queue.get_job_ids(0, TAKE_SCAN):
                target = target_of(job_id, kind)
                if target is None:
                    return None
                if self._take(keys=[queue.key, Job.key_for(job_id)], args=[job_id]) == 1:
                    return target
                # another worker dequeued it first: the next one is now the head
        except redis.RedisError as exc:
            self.breaker.trip()
            log.warning("redis unavailable, nothing taken", extra={"error": type(exc).__name__})
        return None

    def _remove_if_ended(self, job_id: str) -> bool:
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            return True
        if job.get_status(refresh=False) in REPLACEABLE:
            job.delete()
            return True
        return False

    def clean(self) -> None:
        """RQ's own registry clean-up, run by the sweeper: a job whose worker died (its heartbeat expired) is retried
        or failed within minutes, instead of at RQ's next maintenance (every 10 minutes)."""
        try:
            for queue in self.queues.values():
                clean_registries(queue)
        except redis.RedisError as exc:
            log.warning("could not clean RQ registries", extra={"error": type(exc).__name__})

    def depths(self) -> dict[str, int]:
        return {name: queue.count for name, queue in self.queues.items()}
