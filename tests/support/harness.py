"""The whole service in one test process: real database, real Redis, real RQ worker, fake WeChat API over HTTP."""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import Engine, create_engine, text

from bot import jobs
from bot.app import create_app
from bot.config import Settings, load_settings
from bot.services import Services, build_services
from bot.sweeper import close_due_drafts
from bot.wechat import messages
from bot.wechat.fake_api import FakeWeChatAPI
from bot.wechat.protocol import AesCodec
from storage.models import Base
from tests.support.servers import xdist_index

APP_ID = "wx2c2769f8efd9abc2"
APP_SECRET = "test-secret-0123456789"
TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
IDENTITY_KEY = base64.b64encode(b"k" * 32).decode()


def database_url_for_tests(tmp: Path, name: str = "whistle_test") -> str:
    """An empty database: SQLite in a temporary folder, or WHISTLE_TEST_DATABASE_URL with a fresh schema `name`
    for each xdist worker."""
    external = os.environ.get("WHISTLE_TEST_DATABASE_URL")
    if not external:
        return f"sqlite:///{tmp / f'{name}.db'}"
    schema = f"{name}_{xdist_index()}"
    engine = create_engine(external)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    joiner = "&" if "?" in external else "?"
    return f"{external}{joiner}options=-csearch_path%3D{schema}"


def make_settings(tmp: Path, *, database_url: str, redis_url: str, api: str, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {
        "wechat.app_id": APP_ID,
        "wechat.app_secret": APP_SECRET,
        "wechat.token": TOKEN,
        "wechat.encoding_aes_key": AES_KEY,
        "wechat.api_base_url": api,
        "wechat.timeout_seconds": 2.0,
        "redis.url": redis_url,
        "database.url": database_url,
        "storage.dir": str(tmp / "var"),
        "media.dir": str(tmp / "media"),
        "security.identity_key": IDENTITY_KEY,
        "report.draft_window_seconds": 300,
        "webhook.max_clock_skew_seconds": 300,
    }
    overrides.update(extra)
    repo = Path(__file__).resolve().parents[2]
    return load_settings(repo / "config.toml", environ={}, overrides=overrides)


def wipe_database(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@dataclass
class Clock:
    """Time the test moves by hand; the service and its jobs read it."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Harness:
    settings: Settings
    services: Services
    client: FlaskClient
    fake: FakeWeChatAPI
    clock: Clock
    codec: AesCodec

    @classmethod
    def start(cls, settings: Settings, fake: FakeWeChatAPI) -> Harness:
        services = build_services(settings, role="web")
        clock = Clock()
        services.clock = clock
        jobs.use_services(services)
        app = create_app(services=services)
        app.testing = True
        codec = AesCodec(settings.wechat.token, settings.wechat.encoding_aes_key, settings.wechat.app_id)
        return cls(settings, services, app.test_client(), fake, clock, codec)

    def close(self) -> None:
        jobs.use_services(None)
        self.services.close()

    def post(self, xml: str, *, encrypt: bool = False, **sign_kw: Any) -> Any:
        # Signed with the wall clock, like the platform: the test clock only moves the service's own time.
        timestamp = sign_kw.pop("timestamp", str(int(time.time())))
        req = messages.signed(xml, TOKEN, codec=self.codec if encrypt else None, timestamp=timestamp, **sign_kw)
        return self.client.post("/wechat", query_string=req.query, data=req.body, content_type="text/xml")

    def say(self, xml: str, *, encrypt: bool = False) -> str:
        """Post a message as the platform would and return the text of the reply ('' for success)."""
        response = self.post(xml, encrypt=encrypt)
        assert response.status_code == 200, response.data
        return messages.read_reply(response.data, self.codec)

    def run_jobs(self, *, advance: float = 0.0) -> int:
        """Advance the clock and run a real RQ worker until idle, doing before each run what a worker's companions do:
        ask for the drafts whose window has passed (its sweeper thread) and move due scheduled jobs to their queues
        (RQ's scheduler)."""
        self.clock.advance(advance)
        ran = 0
        for _ in range(10):
            close_due_drafts(self.services)
            self._release_scheduled()
            worker = SimpleWorker(
                list(self.services.queue.queues.values()),
                connection=self.services.redis,
                serializer=JSONSerializer,
            )
            worked = worker.work(burst=True, logging_level="WARNING")
            if not worked and not self._due_scheduled():
                break
            ran += 1
        return ran

    def _due_scheduled(self) -> list[Any]:
        due = []
        for queue in self.services.queue.queues.values():
            registry = queue.scheduled_job_registry
            due += [(queue, job_id) for job_id in registry.get_jobs_to_schedule(int(self.clock.now.timestamp()))]
        return due

    def _release_scheduled(self) -> None:
        for queue, job_id in self._due_scheduled():
            job = queue.fetch_job(job_id)
            queue.scheduled_job_registry.remove(job_id)
            if job is not None:
                queue.enqueue_job(job)
