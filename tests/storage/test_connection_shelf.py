"""SQLite transactions reuse the resting connection: one a process, never two transactions at once on it, never one
that saw an error, never a parent's."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import Reporter


@pytest.fixture
def sessions(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'shelf.db'}")
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def driver_connection(session: Session) -> Any:
    return session.connection().connection.driver_connection


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    engine: Engine = sessions.kw["bind"]
    return engine


def test_consecutive_transactions_reuse_one_connection_without_the_pool(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        first = driver_connection(session)
    pool = engine_of(sessions).pool
    checked_out = pool.checkedout()  # type: ignore[attr-defined]
    for i in range(3):
        with transaction(sessions) as session:
            assert driver_connection(session) is first
            session.add(Reporter(digest=f"d{i}", sealed_openid=b"x"))
    assert pool.checkedout() == checked_out == 1  # type: ignore[attr-defined]  # it rests outside the pool
    with transaction(sessions) as session:
        assert session.scalar(select(Reporter.id).where(Reporter.digest == "d2")) is not None


def test_a_connection_that_saw_an_error_goes_back_to_the_pool(sessions: sessionmaker[Session]) -> None:
    pool = engine_of(sessions).pool
    with transaction(sessions) as session:
        used = driver_connection(session)
    assert pool.checkedout() == 1  # type: ignore[attr-defined]  # resting
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        assert driver_connection(session) is used
        session.add(Reporter(digest="rolled-back", sealed_openid=b"x"))
        session.flush()
        raise RuntimeError("the handler failed")
    assert pool.checkedout() == 0  # type: ignore[attr-defined]  # back in the pool, rolled back there
    with transaction(sessions) as session:
        assert session.scalar(select(Reporter.id).where(Reporter.digest == "rolled-back")) is None
        session.add(Reporter(digest="after", sealed_openid=b"x"))
    with transaction(sessions) as session:
        assert session.scalar(select(Reporter.id).where(Reporter.digest == "after")) is not None


def test_concurrent_transactions_never_share_a_connection(sessions: sessionmaker[Session]) -> None:
    in_use: set[int] = set()
    shared: list[int] = []
    guard = threading.Lock()

    def write(n: int) -> None:
        for i in range(25):
            with transaction(sessions) as session:
                mine = id(driver_connection(session))
                with guard:
                    if mine in in_use:
                        shared.append(mine)
                    in_use.add(mine)
                session.add(Reporter(digest=f"t{n}-{i}", sealed_openid=b"x"))
                session.flush()
                with guard:
                    in_use.discard(mine)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared == []
    with transaction(sessions) as session:
        assert len(session.scalars(select(Reporter.id)).all()) == 150


def test_threads_take_turns_on_one_connection(sessions: sessionmaker[Session]) -> None:
    # Writers queue on the write lock anyway; sharing one connection keeps its page cache warm (another connection's
    # commit would make it read every page again).
    used: set[int] = set()
    ready = threading.Barrier(4)

    def write(n: int) -> None:
        ready.wait()
        for i in range(10):
            with transaction(sessions) as session:
                used.add(id(driver_connection(session)))
                session.add(Reporter(digest=f"turn{n}-{i}", sealed_openid=b"x"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(used) == 1


def test_a_forked_child_opens_its_own_connection(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        parents = id(driver_connection(session))
    pid = os.fork()
    if pid == 0:  # the child: the resting connection is the parent's, so it must not be taken
        try:
            with transaction(sessions) as session:
                mine = id(driver_connection(session))
                session.execute(text("SELECT 1"))
            os._exit(0 if mine != parents else 1)
        except BaseException:  # noqa: BLE001 - a forked child must never return into pytest
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with transaction(sessions) as session:
        assert id(driver_connection(session)) == parents  # the parent still has it


def test_disposing_of_the_engine_closes_resting_connections(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        resting = driver_connection(session)
    engine_of(sessions).dispose()
    with pytest.raises(Exception, match="closed"):
        resting.execute("SELECT 1")
    with transaction(sessions) as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
