"""The composition root: builds every service a process needs from Settings, once. Everything else receives them."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.queue import JobQueue
from bot.redis_conn import Breaker, connect, embedded_redis_url
from bot.spool import Spool
from handlers.inspection import DeskRules
from handlers.report import ReportRules
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.identity import IdentityVault
from storage.inspectors import Staff, sync_staff
from storage.media_store import MediaStore

if TYPE_CHECKING:
    from bot.triage import TriageEngine
    from bot.wechat.api import WeChatAPI

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: IdentityVault
    redis: redis.Redis
    queue: JobQueue
    media: MediaStore
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @cached_property
    def report_rules(self) -> ReportRules:
        s = self.settings
        return ReportRules(
            draft_window=timedelta(seconds=s.draft_window_seconds),
            reference_prefix=s.reference_prefix,
            timezone=s.timezone,
            accept_working_hours=s.deadlines.accept_working_hours,
            workday=(s.deadlines.workday_start, s.deadlines.workday_end),
            objection_days=s.deadlines.objection_days,
        )

    @cached_property
    def desk_rules(self) -> DeskRules:
        s = self.settings
        return DeskRules(
            timezone=s.timezone,
            verify_days=s.deadlines.verify_days,
            extension_max_days=s.deadlines.extension_max_days,
            confirm_days=s.deadlines.confirm_days,
            reward_claim=s.reward_claim_contact,
            sections={section.id: section.name for section in s.sections},
        )

    @cached_property
    def spool(self) -> Spool:
        return Spool(self.settings.storage_dir / "spool", self.vault)

    @cached_property
    def wechat(self) -> WeChatAPI:
        from bot.wechat.api import WeChatAPI

        w = self.settings.wechat
        return WeChatAPI(
            app_id=w.app_id,
            app_secret=w.app_secret,
            base_url=w.api_base_url,
            redis=self.redis,
            timeout=w.timeout_seconds,
        )

    @cached_property
    def triage(self) -> TriageEngine:
        from bot.triage import TriageEngine, load_routing_rules

        rules = load_routing_rules(**self.settings.rule_sources())
        return TriageEngine(rules)

    def close(self) -> None:
        self.redis.close()
        self.engine.dispose()


def resolve_redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_redis_url(settings.storage_dir)


def identity_secret(settings: Settings) -> bytes:
    """The configured key, or (development) one generated once and kept under the storage folder."""
    if settings.identity_key:
        return base64.b64decode(settings.identity_key)
    path = settings.storage_dir / "identity.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(os.urandom(32)).decode())
        log.warning("generated a development identity key", extra={"path": str(path)})
    return base64.b64decode(Path(path).read_text().strip())


def build_services(settings: Settings, *, role: str = "web", run_migrations: bool = True) -> Services:
    """`role` picks Redis timeouts: the web process fails fast, the worker may block on its queues."""
    engine = make_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    timeout = settings.redis_socket_timeout if role == "web" else None
    connection = connect(resolve_redis_url(settings), socket_timeout=timeout)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        vault=IdentityVault(identity_secret(settings)),
        redis=connection,
        queue=JobQueue(connection, Breaker()),
        media=MediaStore(settings.media_dir),
    )
    if run_migrations:
        sync_staff_from_settings(services)
    return services


def configured_staff(settings: Settings) -> list[Staff]:
    staff = [Staff(openid, s.id, "inspector") for s in settings.sections for openid in s.inspectors]
    staff += [Staff(openid, s.id, "head") for s in settings.sections for openid in s.heads]
    staff += [Staff(openid, None, "leader") for openid in settings.leaders]
    return staff


def sync_staff_from_settings(services: Services) -> None:
    """The configuration's inspectors, heads and leaders become (or stay) active; removed ones are deactivated."""
    with transaction(services.sessions) as session:
        sync_staff(session, services.vault, configured_staff(services.settings))
