"""Prepared statements for the paths every message and every case take: Core statements run on the driver's cursor.

Every inbound message runs the same handful of statements (find the sender, claim the message, look at the open
draft, write both back); every case adds a few (its reference, its outbox rows, the staff to tell). SQLAlchemy
spends most of each such call walking the statement for its cache key and building an execution context and a
result object: about 40 microseconds, several times what the database itself takes. A `Prepared` statement is
compiled once per dialect and then runs on the DBAPI cursor of the session's own connection, inside the session's
transaction, with the column types' bind and result processing and nothing else.

Only for statements that are plain: no server-side or Python-side defaults to fill in (give every column a value),
no expanding IN lists. Like an ORM query, a statement first flushes the session's pending changes (unless the session
does not autoflush). Driver errors are raised as SQLAlchemy's `DBAPIError`s, as the rest of the code expects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    names: tuple[str, ...]  # bind parameter names, in the order a positional driver wants them
    fixed: dict[str, Any]  # values the statement carries itself (literals in WHERE clauses)
    binds: tuple[Processor, ...]
    columns: tuple[Any, ...]  # the result columns' types, as the dialect implements them
    dialect: Dialect
    error: type[Exception]


class Prepared:
    """One Core statement, compiled on first use for each dialect it meets. Given a function of the dialect's name
    instead, the statement it builds (for constructs that differ by backend, such as INSERT .. ON CONFLICT)."""

    def __init__(self, statement: ClauseElement | Callable[[str], ClauseElement]) -> None:
        self._build = statement if callable(statement) else (lambda _name: statement)
        self._compiled: dict[str, _Compiled] = {}
        self._results: dict[str, tuple[Processor, ...]] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The result rows as tuples, in the statement's column order, each value as the column's type reads it."""
        compiled, cursor = self._execute(session, params)
        found = cursor.fetchall()
        results = self._results.get(compiled.dialect.name) or self._result_processors(compiled, cursor)
        if not any(results):
            return [tuple(row) for row in found]
        return [tuple(p(v) if p else v for p, v in zip(results, row, strict=True)) for row in found]

    def _result_processors(self, compiled: _Compiled, cursor: Any) -> tuple[Processor, ...]:
        """Made on the first run, from the types the driver reports (psycopg's numeric columns need them)."""
        types = [column[1] for column in cursor.description or ()]
        made = tuple(
            impl.result_processor(compiled.dialect, code) for impl, code in zip(compiled.columns, types, strict=True)
        )
        self._results[compiled.dialect.name] = made
        return made

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(session, params)
        return found[0] if found else None

    def run(self, session: Session, params: Mapping[str, Any]) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        _, cursor = self._execute(session, params)
        return int(cursor.rowcount)

    def _execute(self, session: Session, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        if session.autoflush:
            session.flush()  # as an ORM query would: the statement sees the session's pending changes (cheap if none)
        connection = _connection(session)
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        try:
            values = [params[n] if n in params else compiled.fixed[n] for n in compiled.names]
        except KeyError as missing:
            raise exc.ArgumentError(f"a value is required for bind parameter {missing}") from None
        values = [p(v) if p else v for p, v in zip(compiled.binds, values, strict=True)]
        arguments: Sequence[Any] | dict[str, Any] = (
            values if compiled.positional else dict(zip(compiled.names, values, strict=True))
        )
        cursor = _cursor(connection)
        try:
            cursor.execute(compiled.sql, arguments)
        except compiled.error as error:
            _drop_cursor(connection, cursor)
            raise exc.DBAPIError.instance(compiled.sql, arguments, error, compiled.error) from error
        return compiled, cursor

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self._build(dialect.name)
        compiled: Any = statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            missing = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"a prepared statement cannot fill in defaults; give {missing} a value")
        binds = compiled.binds
        positional = bool(dialect.positional)
        names = tuple(compiled.positiontup) if positional else tuple(binds)
        columns = getattr(statement, "exported_columns", ())
        made = _Compiled(
            sql=compiled.string,
            positional=positional,
            names=names,
            fixed={n: binds[n].effective_value for n in names if not binds[n].required},
            binds=tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names),
            columns=tuple(c.type.dialect_impl(dialect) for c in columns),
            dialect=dialect,
            error=dialect.loaded_dbapi.Error,
        )
        self._compiled[dialect.name] = made
        return made


_CONNECTION = "storage.prepared.connection"
_CURSOR = "storage.prepared.cursor"


def _cursor(connection: Connection) -> Any:
    """The driver cursor prepared statements run on: one for each driver connection, kept with it (in the pool's
    `info` of that connection, which SQLAlchemy clears when it replaces the connection). psycopg sets up a new cursor's
    adapters at its first statement: a statement on a new cursor cost 80-88 us of client CPU against 44-53 us on one
    used before. Each statement's rows are read in full before the next runs, so none is left behind on it."""
    proxied = connection.connection
    cursor = proxied.info.get(_CURSOR)
    if cursor is None or getattr(cursor, "closed", False):
        cursor = proxied.info[_CURSOR] = proxied.cursor()
    return cursor


def _drop_cursor(connection: Connection, cursor: Any) -> None:
    """A statement failed: the next one gets a new cursor, whatever state the driver left this one in."""
    info = connection.connection.info
    if info.get(_CURSOR) is cursor:
        del info[_CURSOR]
    cursor.close()


BOUND_CONNECTION = "storage.prepared.bound_connection"


def bind_connection(session: Session, connection: Connection) -> None:
    """Declare that `session` works inside `connection`'s transaction for its whole life (`storage.db.transaction`
    makes such sessions): prepared statements then run on it without asking the session."""
    session.info[BOUND_CONNECTION] = connection


def _connection(session: Session) -> Connection:
    """The session's connection in its current transaction (beginning one if needed), remembered for the rest of
    that transaction: `Session.connection()` costs more than the statements it serves here."""
    bound: Connection | None = session.info.get(BOUND_CONNECTION)
    if bound is not None:
        return bound
    transaction = session.get_transaction()
    known = session.info.get(_CONNECTION)
    if transaction is not None and known is not None and known[0] is transaction:
        return known[1]
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection
