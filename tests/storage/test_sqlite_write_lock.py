"""SQLite writers in different processes take turns on a file lock, not on SQLite's sleeping busy handler."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import select, text

from storage.db import SQLiteWriteLock, make_engine, make_sessionmaker, migrate, reading, transaction
from storage.models import Reporter

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from storage.db import SQLiteWriteLock
    lock = SQLiteWriteLock(Path(sys.argv[1]))
    with lock.held():
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
    time.sleep(5)  # keep the process (and any leaked lock) alive
    """
)


def hold_in_another_process(database: Path, seconds: float) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database), str(seconds)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_transaction_waits_for_another_process_and_starts_as_soon_as_it_lets_go(tmp_path: Path) -> None:
    database = tmp_path / "w.db"
    sessions = make_sessionmaker(make_engine(f"sqlite:///{database}"))
    holder = hold_in_another_process(database, 0.6)
    try:
        started = time.monotonic()
        with transaction(sessions) as session:
            waited = time.monotonic() - started
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        assert holder.stdout is not None and holder.stdout.readline().strip() == "released"
        assert 0.5 < waited < 0.9  # it waited for the other process, then went as soon as that let go
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    database = tmp_path / "w.db"
    holder = hold_in_another_process(database, 60)
    holder.kill()
    holder.wait()
    started = time.monotonic()
    with SQLiteWriteLock(database).held():
        assert time.monotonic() - started < 0.5


def test_a_stuck_holder_delays_a_writer_by_the_timeout_only(tmp_path: Path) -> None:
    database = tmp_path / "w.db"
    holder = hold_in_another_process(database, 60)
    try:
        started = time.monotonic()
        with SQLiteWriteLock(database, timeout=0.3).held():
            assert 0.25 < time.monotonic() - started < 1.0  # then SQLite's own busy timeout is the judge
    finally:
        holder.kill()
        holder.wait()


def test_a_reader_holds_up_no_writer_and_writes_nothing(tmp_path: Path) -> None:
    database = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        session.add(Reporter(digest="d1", sealed_openid=b"x"))
    with reading(sessions) as reader:
        reporter = reader.scalars(select(Reporter)).one()
        reporter.subscribed = False  # worked out in memory, never written
        started = time.monotonic()
        writer = subprocess.run(
            [sys.executable, "-c", WRITER, str(database)], cwd=Path(__file__).resolve().parents[2], timeout=30
        )
        assert writer.returncode == 0 and time.monotonic() - started < 5  # not held up by the open reader
        assert reader.scalars(select(Reporter.digest)).all() == ["d1"]  # its snapshot, taken before the write
    with transaction(sessions) as session:
        assert [(r.digest, r.subscribed) for r in session.scalars(select(Reporter).order_by(Reporter.id))] == [
            ("d1", True),
            ("d2", True),
        ]


WRITER = textwrap.dedent(
    """
    import sys
    from storage.db import make_engine, make_sessionmaker, transaction
    from storage.models import Reporter
    with transaction(make_sessionmaker(make_engine(f"sqlite:///{sys.argv[1]}"))) as session:
        session.add(Reporter(digest="d2", sealed_openid=b"x"))
    """
)


def test_a_forked_child_takes_turns_with_its_parent(tmp_path: Path) -> None:
    """The child opens the lock file again: a descriptor inherited from the parent would share the parent's lock."""
    lock = SQLiteWriteLock(tmp_path / "whistle.db")
    with lock.held():
        pass  # the parent has opened its file
    with lock.held():
        pid = os.fork()
        if pid == 0:  # the child: the parent holds the lock, so this must wait out the (short) timeout
            child = SQLiteWriteLock(tmp_path / "whistle.db", timeout=0.3)
            child._fd, child._pid = lock._fd, lock._pid  # what it inherited
            started = time.monotonic()
            with child.held():
                waited = time.monotonic() - started
            os._exit(0 if waited >= 0.25 else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
