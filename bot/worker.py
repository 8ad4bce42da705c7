"""`whistle worker`: an RQ worker, its scheduler (delayed jobs and retries) and the sweeper thread.

The scheduler runs in a process of its own, started (fresh interpreter, nothing inherited) before this process opens
any database connection. RQ would otherwise fork it from the worker later, and the child would inherit the worker's
database sockets: a worker killed mid-transaction would then leave that transaction open on the server, holding its
row locks, for as long as the scheduler lives.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time

import redis
from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from bot import jobs
from bot.config import Settings
from bot.queue import QUEUES
from bot.services import Services, build_services, resolve_redis_url
from bot.sweeper import SweeperThread, close_due_drafts

log = logging.getLogger(__name__)
SCHEDULER_INTERVAL = 1.0


def work(settings: Settings, *, burst: bool, sweep_interval: float) -> bool:
    """Jobs run in this process (no fork per job): cheap, and the services are built once."""
    scheduler = None if burst else start_scheduler(resolve_redis_url(settings))
    services = build_services(settings, role="worker")
    jobs.use_services(services)
    sweeper = None
    if burst:
        close_due_drafts(services)  # no thread beside a burst: the drafts due now are closed in this run
    else:
        warm_up(services)
        sweeper = SweeperThread(services, sweep_interval)
        sweeper.start()
    worker = SimpleWorker(list(services.queue.queues.values()), connection=services.redis, serializer=JSONSerializer)
    try:
        # In burst mode RQ moves due scheduled jobs itself, in this process, without forking.
        return bool(worker.work(burst=burst, with_scheduler=burst, logging_level="INFO"))
    finally:
        if sweeper is not None:
            sweeper.stop()
        if scheduler is not None:
            scheduler.terminate()
            scheduler.join(10)
        services.close()


def warm_up(services: Services) -> None:
    """Build the triage engine before the first job: otherwise the first tip after a start waits for it (about half a
    second on a 2-core machine: the example index normalises every judged example). Rules that do not load are
    reported here, at start, and the worker still runs: deliveries and downloads go on, and triage jobs fail with the
    same error (and are retried) until the rules are fixed."""
    started = time.perf_counter()
    try:
        services.triage  # noqa: B018 (a cached property: built once, here)
    except Exception:
        log.exception("triage rules do not load; triage jobs will fail until they are fixed (whistle check-config)")
        return
    log.info("triage rules loaded", extra={"ms": round((time.perf_counter() - started) * 1000)})


def start_scheduler(redis_url: str) -> multiprocessing.process.BaseProcess:
    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=run_scheduler, args=(redis_url, list(QUEUES), os.getpid()), name="whistle-scheduler", daemon=True
    )
    process.start()
    return process


def run_scheduler(redis_url: str, queue_names: list[str], parent: int) -> None:
    """RQ's scheduler loop, which also ends when the worker that started it is gone (even after a SIGKILL)."""
    connection = redis.Redis.from_url(redis_url)
    scheduler = RQScheduler(queue_names, connection=connection, serializer=JSONSerializer)
    try:
        while os.getppid() == parent:
            try:
                if scheduler.should_reacquire_locks:
                    scheduler.acquire_locks()
                scheduler.heartbeat()
                scheduler.enqueue_scheduled_jobs()
            except redis.RedisError as exc:
                log.warning("scheduler: redis unavailable", extra={"error": type(exc).__name__})
            time.sleep(SCHEDULER_INTERVAL)
    finally:
        with contextlib.suppress(redis.RedisError):
            scheduler.release_locks()
