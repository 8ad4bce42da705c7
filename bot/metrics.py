"""Prometheus metrics. Request counters live in each web process; everything about work and queues is read at
scrape time from the shared truth (database rows, RQ registries, Redis counters), so any process can answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.services import Services
from storage.db import reading
from storage.models import Case, Media, OutboxMessage

log = logging.getLogger(__name__)
API_ERRORS_KEY = "whistle:metrics:api_errors"
OPEN = ("submitted", "accepted", "verifying", "rectifying", "rectified")


class WebMetrics:
    """Per-process request metrics of the webhook."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("whistle_webhook_requests", "Webhook requests by answer", ["answer"], registry=registry)
        self.latency = Histogram(
            "whistle_webhook_seconds",
            "Time to answer the webhook",
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self._answers: dict[int, Any] = {}

    def answered(self, status: int, seconds: float) -> None:
        """One webhook request answered with `status` after `seconds`."""
        counter = self._answers.get(status)
        if counter is None:  # a label lookup costs more than the increment: one child per status, kept
            counter = self._answers[status] = self.requests.labels(str(status))
        counter.inc()
        self.latency.observe(seconds)


class StateCollector(Collector):
    """Queue depths, job outcomes, outbox and case states, outbound API errors: read when scraped."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self._queues()
        yield from self._database(self.services.clock())
        yield from self._api_errors()

    def _queues(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        depth = GaugeMetricFamily("whistle_queue_depth", "Jobs waiting in each queue", labels=["queue"])
        outcomes = GaugeMetricFamily(
            "whistle_jobs", "Jobs kept in RQ's registries by outcome", labels=["queue", "outcome"]
        )
        try:
            for name, queue in self.services.queue.queues.items():
                depth.add_metric([name], queue.count)
                outcomes.add_metric([name, "finished"], queue.finished_job_registry.count)
                outcomes.add_metric([name, "failed"], queue.failed_job_registry.count)
                outcomes.add_metric([name, "scheduled"], queue.scheduled_job_registry.count)
                outcomes.add_metric([name, "started"], queue.started_job_registry.count)
        except redis.RedisError:
            log.warning("metrics: redis unavailable")
            return
        yield depth
        yield outcomes

    def _database(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        outbox = GaugeMetricFamily("whistle_outbox_messages", "Messages to people by delivery state", labels=["state"])
        cases = GaugeMetricFamily("whistle_cases", "Cases by state", labels=["state"])
        media = GaugeMetricFamily("whistle_media", "Media by download state", labels=["state"])
        overdue = GaugeMetricFamily("whistle_cases_overdue", "Open cases past their current deadline")
        try:
            with reading(self.services.sessions) as session:
                for model, family in ((OutboxMessage, outbox), (Case, cases), (Media, media)):
                    for state, count in session.execute(select(model.status, func.count()).group_by(model.status)):
                        family.add_metric([state], count)
                late = (
                    (Case.status == "submitted") & (Case.accept_due_at <= now)
                    | Case.status.in_(("accepted", "verifying")) & (Case.verify_due_at <= now)
                    | (Case.status == "rectifying") & (Case.rectify_deadline <= now)
                )
                overdue.add_metric([], session.scalar(select(func.count()).select_from(Case).where(late)) or 0)
        except SQLAlchemyError:
            log.warning("metrics: database unavailable")
            return
        spool = GaugeMetricFamily("whistle_spool_messages", "Messages waiting in the spool for the database")
        spool.add_metric([], len(self.services.spool.pending()))
        yield from (outbox, cases, media, overdue, spool)

    def _api_errors(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "whistle_wechat_api_errors", "Errors answered by the WeChat API", labels=["errcode"]
        )
        try:
            errors: dict[bytes, bytes] = self.services.redis.hgetall(API_ERRORS_KEY)  # type: ignore[assignment]
            for code, count in errors.items():
                family.add_metric([code.decode()], int(count))
        except redis.RedisError:
            return
        yield family


def count_api_error(connection: redis.Redis, errcode: int) -> None:
    try:
        connection.hincrby(API_ERRORS_KEY, str(errcode), 1)
    except redis.RedisError:
        log.warning("metrics: could not count an API error")
