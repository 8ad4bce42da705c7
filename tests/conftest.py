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
