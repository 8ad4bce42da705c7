"""`whistle worker`: an RQ worker (with the scheduler for delayed jobs) plus the sweeper thread."""

from __future__ import annotations

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from bot import jobs
from bot.config import Settings
from bot.services import build_services
from bot.sweeper import SweeperThread


def work(settings: Settings, *, burst: bool, sweep_interval: float) -> bool:
    """Jobs run in this process (no fork per job): cheap, and the services are built once."""
    services = build_services(settings, role="worker")
    jobs.use_services(services)
    sweeper = None
    if sweep_interval > 0 and not burst:
        sweeper = SweeperThread(services, sweep_interval)
        sweeper.start()
    worker = SimpleWorker(list(services.queue.queues.values()), connection=services.redis, serializer=JSONSerializer)
    try:
        return bool(worker.work(burst=burst, with_scheduler=True, logging_level="INFO"))
    finally:
        if sweeper is not None:
            sweeper.stop()
        services.close()
