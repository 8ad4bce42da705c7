"""Fixtures for the WeChat client tests: the fake platform as a real loopback server, and clients on it."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from bot.wechat.api import WeChatAPI
from bot.wechat.fake_api import FakeWeChatAPI

APP_ID = "wx1234567890abcdef"
APP_SECRET = "s3cr3t-0123456789abcdef0123456789ab"


class ManualClock:
    """A clock the test moves by hand, so token lifetimes and windows need no sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI(APP_ID, APP_SECRET, clock=clock) as server:
        yield server


@pytest.fixture
def make_api(fake: FakeWeChatAPI, redis_url: str, redis_conn: redis.Redis) -> Iterator[Callable[..., WeChatAPI]]:
    """Build clients as separate processes would: each with its own HTTP session and Redis connection."""
    created: list[tuple[WeChatAPI, redis.Redis]] = []

    def make(**overrides: Any) -> WeChatAPI:
        conn = overrides.pop("redis", None) or redis.Redis.from_url(redis_url)
        options: dict[str, Any] = {
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "base_url": fake.base_url,
            "timeout": 2.0,
        }
        options.update(overrides)
        client = WeChatAPI(redis=conn, **options)
        created.append((client, conn))
        return client

    yield make
    for client, conn in created:
        client.close()
        conn.close()


@pytest.fixture
def api(make_api: Callable[..., WeChatAPI]) -> WeChatAPI:
    return make_api()


def unused_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
