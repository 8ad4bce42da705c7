"""Shared fixtures: real Redis (embedded by default, or WHISTLE_TEST_REDIS_URL) and a real database.

Set WHISTLE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 and
WHISTLE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test to run the same suite against external
servers. Each xdist worker gets its own Redis database index and its own PostgreSQL schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.services import sync_staff_from_settings
from bot.wechat.fake_api import FakeWeChatAPI
from tests.support.harness import (
    APP_ID,
    APP_SECRET,
    Harness,
    database_url_for_tests,
    make_settings,
    wipe_database,
)
from tests.support.servers import embedded_redis_url, worker_redis_url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("WHISTLE_TEST_REDIS_URL")
    if external:
        yield worker_redis_url(external)
        return
    with embedded_redis_url(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


# ---------------------------------------------------------------------------------------------------------------
# The service under test: settings, database, services, the Flask app, the fake WeChat API and a job runner.
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database_url_for_tests(Path(tmp_path_factory.mktemp("db")))


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI(APP_ID, APP_SECRET) as server:
        yield server


@pytest.fixture
def fake_wechat(fake_wechat_server: FakeWeChatAPI) -> FakeWeChatAPI:
    fake_wechat_server.reset()
    return fake_wechat_server


@pytest.fixture
def harness_overrides() -> dict[str, object]:
    """Settings a test module wants on top of the test defaults (override this fixture in the module)."""
    return {}


@pytest.fixture
def harness(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    redis_conn: redis.Redis,
    fake_wechat: FakeWeChatAPI,
    harness_overrides: dict[str, object],
) -> Iterator[Harness]:
    settings = make_settings(
        tmp_path, database_url=database_url, redis_url=redis_url, api=fake_wechat.base_url, **harness_overrides
    )
    h = Harness.start(settings, fake_wechat)
    wipe_database(h.services.engine)
    sync_staff_from_settings(h.services)
    try:
        yield h
    finally:
        h.close()
