"""Engine, sessions and schema migrations. SQLite by default, PostgreSQL by URL; same code for both."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, create_engine, event, exc, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.prepared import Prepared, bind_connection

MIGRATIONS = Path(__file__).parent / "migrations"
IDLE_PING_AFTER = 1.0  # seconds a pooled PostgreSQL connection may rest before it is tested on checkout


def make_engine(url: str, *, idle_ping_after: float = IDLE_PING_AFTER, **kwargs: Any) -> Engine:
    """An engine tuned for a short-request web process: SQLite in WAL mode with a busy timeout; PostgreSQL with
    connections tested on checkout after a rest (`IdlePing`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        file = Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None
        shelf = ConnectionShelf(engine)
        _sqlite_engines[engine] = (SQLiteWriteLock(file), shelf)
        event.listen(engine, "engine_disposed", lambda _engine: shelf.close_all())
        return engine
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_timeout", 2)
    engine = create_engine(url, connect_args={"connect_timeout": 3}, **kwargs)
    event.listen(engine, "connect", _postgres_session_limits)
    IdlePing(idle_ping_after).listen(engine)
    return engine


class IdlePing:
    """Tests a pooled connection on checkout, but only one that rested longer than `after` seconds.

    `pool_pre_ping` tests every checkout: a round trip to the server for every transaction, about a tenth of what a
    tip costs the database. A connection that was in use a moment ago is alive, or its server went away while it was
    in use: then a statement failed with a disconnect error, and SQLAlchemy already marked every connection of the
    pool as stale (they are replaced on their next checkout). What is left to catch is a server that restarted
    while the pool rested: that is the case a connection idle for a while is tested for. A failed test raises
    `DisconnectionError`, and the pool replaces the connection before handing it out.
    """

    def __init__(self, after: float) -> None:
        self.after = after

    def listen(self, engine: Engine) -> None:
        self._dialect = engine.dialect
        event.listen(engine, "checkin", self._rested_from)
        event.listen(engine, "checkout", self._test_if_rested)

    def _rested_from(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RESTED_FROM] = time.monotonic()

    def _test_if_rested(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested_from = record.info.get(_RESTED_FROM)
        if rested_from is None or time.monotonic() - rested_from <= self.after:
            return  # new (just connected), or back in use within moments
        driver_error: type[Any] = self._dialect.loaded_dbapi.Error
        try:
            alive = self._dialect.do_ping(dbapi_connection)
        except driver_error as error:
            if not self._dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise exc.DisconnectionError("the server closed a pooled connection while it rested")


_RESTED_FROM = "whistle_rested_from"


def _postgres_session_limits(dbapi_connection: Any, _record: Any) -> None:
    """Server-side safety nets: a process killed mid-transaction whose socket lives on in a forked child (RQ forks
    its scheduler) would otherwise hold its row locks forever, and a stuck lock wait would hang a job."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET idle_in_transaction_session_timeout = '60s'")
        cursor.execute("SET lock_timeout = '30s'")
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take the write lock when a transaction begins (BEGIN IMMEDIATE, below): two requests that read then write
    # the same draft queue up on the busy timeout instead of failing with "database is locked".
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


READ_ONLY = "whistle_read_only"  # execution option: a transaction that only reads (see `reading`)


def _sqlite_begin_immediate(connection: Any) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY)
    # Straight to the driver: SQLAlchemy has nothing to add to a BEGIN, and every transaction pays for it.
    connection.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class SQLiteWriteLock:
    """Writers to one SQLite file take turns here, before BEGIN IMMEDIATE, so SQLite's busy handler never has to.

    That handler polls in sleeps of up to 100 ms: with a web process and a worker writing the same file, a few
    milliseconds of waiting turned into tens of milliseconds. Threads of a process queue on a threading lock, and
    processes on an advisory lock of a file beside the database (`flock`: released by the kernel if the holder
    dies), polled every half millisecond at most. The file is opened per process, so forked children do not share
    the holder's lock. After `timeout` seconds the transaction goes ahead and SQLite's own timeout applies.
    """

    def __init__(self, database: Path | None, timeout: float = 15.0) -> None:
        self._threads = threading.Lock()
        self._path = database.with_name(database.name + ".writelock") if database is not None else None
        self._timeout = timeout
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            fd = self._file()
            if fd is None:
                yield
                return
            locked = self._acquire(fd)
            try:
                yield
            finally:
                if locked:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self) -> int | None:
        if self._path is None:
            return None
        if self._fd is None or self._pid != _process.pid:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = _process.pid
        return self._fd

    def _acquire(self, fd: int) -> bool:
        deadline = time.monotonic() + self._timeout
        pause = 0.0001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)


class ConnectionShelf:
    """The SQLite connection kept open between transactions, for the next one to take.

    Checking a connection out of the pool and back in cost as much as the rest of a message's transaction around its
    statements (events, reset-on-return, the pool's queue). A SQLite connection has no server that could drop it
    while it rests, so `transaction` keeps it here instead: a transaction takes it (or checks one out if none rests)
    and gives it back when it ended cleanly; one that saw an error goes back to the pool, which rolls it back (and
    drops it if it was invalidated). Forked children start with an empty shelf (the parent's connections are not
    theirs), and disposing of the engine closes what rests here. PostgreSQL connections always go back to the pool,
    where `IdlePing` tests them after a rest.

    Writers of a process take turns (`SQLiteWriteLock`) and take from the shelf in their turn, so one connection
    serves them all and its page cache stays warm. A connection per thread would find its cache stale at nearly
    every transaction (another one had written since) and read again each page it touches: twenty reads a message.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._resting: list[Connection] = []
        self._pid = _process.pid

    def take(self) -> Connection:
        if self._pid != _process.pid:
            self._resting, self._pid = [], _process.pid
        try:
            return self._resting.pop()  # atomic: threads never get the same one
        except IndexError:
            return self._engine.connect()

    def give_back(self, connection: Connection) -> None:
        if self._pid == _process.pid and not self._resting and not connection.in_transaction():
            self._resting.append(connection)
        else:
            connection.close()

    def close_all(self) -> None:
        """Close what rests here (the engine was disposed of: its pool no longer takes them back)."""
        resting, self._resting = self._resting, []
        for connection in resting:
            connection.invalidate()  # closes the driver's connection
            connection.close()


class _Process:
    """This process's id, kept up to date across forks (asking the kernel on every transaction costs more)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self.pid = os.getpid()


_process = _Process()
_sqlite_engines: WeakKeyDictionary[Engine, tuple[SQLiteWriteLock, ConnectionShelf]] = WeakKeyDictionary()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    On SQLite, writers queue on `SQLiteWriteLock` first (threads and processes alike), then all use the process's
    one resting connection (see `ConnectionShelf`).
    """
    engine = factory.kw["bind"]
    sqlite = _sqlite_engines.get(engine) if isinstance(engine, Engine) else None
    if sqlite is None:
        with engine.connect() as connection:
            yield from _unit_of_work(factory, connection)
        return
    # SQLite: the resting connection, given back only if the unit of work ended cleanly
    lock, shelf = sqlite
    with lock.held():
        connection = shelf.take()
        try:
            yield from _unit_of_work(factory, connection)
        except BaseException:
            connection.close()
            raise
        shelf.give_back(connection)


def _unit_of_work(factory: sessionmaker[Session], connection: Connection) -> Iterator[Session]:
    # The connection's own transaction, with the session joined to it (half the cost of a session that begins and
    # commits on its own: this runs for every inbound message). ORM changes are flushed, then the connection commits.
    session = factory(bind=connection)
    bind_connection(session, connection)
    try:
        with connection.begin():
            yield session
            session.flush()
    finally:
        session.close()


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads: a consistent snapshot, and on SQLite no write lock (a deferred transaction in
    WAL mode, so writers are not held up while it works). Changes to its objects are never flushed (they may stand
    for a decision being worked out) and nothing it does is kept: a decision must be written by a `transaction` that
    checks the rows it depends on have not changed meanwhile.

    On PostgreSQL the transaction is READ ONLY (said in its BEGIN: no extra round trip) and ends with a COMMIT of
    nothing, its objects sent away first. A ROLLBACK would do the same on the server, but psycopg forgets every
    statement it had prepared on the connection at each ROLLBACK (and deallocates them): the worker's connections,
    which read before each write, ran their statements unprepared, planned again every time. SQLite rolls back."""
    with factory() as session:
        session.autoflush = False
        connection = session.connection(execution_options={READ_ONLY: True, "postgresql_readonly": True})
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        if connection.dialect.name == "postgresql":
            session.expunge_all()
            session.commit()
        else:
            session.rollback()


_INSERTS: dict[tuple[str, frozenset[str], tuple[str, ...], str], Prepared] = {}


def insert_new(
    session: Session, model: type[Any], values: Mapping[str, Any], *, unique: tuple[str, ...], where: str = ""
) -> int | None:
    """One INSERT .. ON CONFLICT DO NOTHING: the new row's id, or None when the unique index on `unique` (partial:
    `where`, its SQL text) already holds one. A race with another transaction is settled by the index, without a
    savepoint. A prepared statement (see `storage.prepared`): `values` must name every column with a default."""
    table: Any = getattr(model, "__table__")  # noqa: B009 (mapped classes have one; their type does not say so)
    key = (table.name, frozenset(values), unique, where)
    prepared = _INSERTS.get(key)
    if prepared is None:
        prepared = _INSERTS[key] = Prepared(
            lambda dialect: (
                _insert_of(dialect)(table)
                .values({name: bindparam(name) for name in values})
                .on_conflict_do_nothing(index_elements=list(unique), index_where=text(where) if where else None)
                .returning(table.c.id)
            )
        )
    row = prepared.first(session, values)
    return int(row[0]) if row is not None else None


def dialect_insert(session: Session, model: type[Any]) -> Any:
    """An INSERT that knows ON CONFLICT for the session's backend."""
    return _insert_of(session.get_bind().dialect.name)(model)


def _insert_of(dialect: str) -> Any:
    return pg_insert if dialect == "postgresql" else sqlite_insert


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe to run at every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Web and worker processes may start together: one migrates, the others wait, then find nothing to do.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
