"""PostgreSQL connections are tested on checkout only after a rest: a server that dropped a resting connection costs
no failed transaction; a connection back in use within moments costs no round trip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from storage.db import make_engine

URL = os.environ.get("WHISTLE_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not URL.startswith("postgresql"), reason="needs WHISTLE_TEST_DATABASE_URL")


@contextmanager
def pooled(**options: Any) -> Iterator[Engine]:
    """An engine of its own with a pool of one connection, disposed of afterwards."""
    engine = make_engine(URL, pool_size=1, **options)
    try:
        yield engine
    finally:
        engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(pid: int) -> None:
    """What a server restart does to a pooled connection: its backend goes away under it."""
    with pooled() as admin, admin.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


def test_a_connection_that_rested_is_tested_and_replaced_when_its_server_dropped_it() -> None:
    with pooled(idle_ping_after=0.0) as engine:
        first = backend_pid(engine)
        terminate(first)
        assert backend_pid(engine) != first  # no error: the test on checkout found it dead, the pool reconnected


def test_a_connection_back_in_use_within_moments_is_not_tested() -> None:
    with pooled(idle_ping_after=3600.0) as engine:
        first = backend_pid(engine)
        terminate(first)
        with pytest.raises(OperationalError) as failed:  # not tested: the transaction meets the dead connection
            backend_pid(engine)
        assert failed.value.connection_invalidated
        assert backend_pid(engine) != first  # and the pool replaced it
