"""Fault tests: every process a test starts is ended by these fixtures, whatever happens in the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.support import SECTIONS, Proc, RedisServer


@pytest.fixture
def harness_overrides() -> dict[str, object]:
    return {"sections": SECTIONS}


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """spawn(name, args, env) starts a child process logging to tmp_path/<name>.log; all are ended afterwards."""
    started: list[Proc] = []

    def start(name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(args, env=env, log=tmp_path / f"{name}.log")
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in reversed(started):
            proc.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, on a free port: stopping it disturbs no other test."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()
