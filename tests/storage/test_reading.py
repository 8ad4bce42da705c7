"""A reading unit of work writes nothing, and on PostgreSQL leaves the statements psycopg prepared in place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker, reading, transaction
from storage.models import Reporter
from tests.support.harness import Harness


@pytest.fixture
def one_connection(harness: Harness) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test database (migrated by the harness); on PostgreSQL over a pool of one connection (SQLite
    writers keep one of their own, outside the pool)."""
    url = harness.settings.database_url
    engine = make_engine(url, pool_size=1, max_overflow=0) if url.startswith("postgresql") else make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


def postgresql(sessions: sessionmaker[Session]) -> bool:
    return bool(sessions.kw["bind"].dialect.name == "postgresql")


def test_nothing_a_reading_unit_changes_is_written(one_connection: sessionmaker[Session]) -> None:
    sessions = one_connection
    with transaction(sessions) as session:
        session.add(Reporter(digest="reader", sealed_openid=b"x"))
    with reading(sessions) as session:
        reporter = session.scalars(select(Reporter).where(Reporter.digest == "reader")).one()
        reporter.subscribed = False  # worked out in memory
        session.add(Reporter(digest="never-added", sealed_openid=b"x"))
    if postgresql(sessions):
        # and a statement that would write is refused: the transaction is READ ONLY
        with pytest.raises(DBAPIError, match="read-only"), reading(sessions) as session:
            session.execute(update(Reporter).where(Reporter.digest == "reader").values(subscribed=False))
    else:
        with reading(sessions) as session:
            session.execute(update(Reporter).where(Reporter.digest == "reader").values(subscribed=False))
    with transaction(sessions) as session:
        stored = session.execute(select(Reporter.digest, Reporter.subscribed).order_by(Reporter.id)).all()
        assert [tuple(row) for row in stored] == [("reader", True)]


def test_a_write_after_a_reading_unit_on_the_same_connection_is_read_write(
    one_connection: sessionmaker[Session],
) -> None:
    sessions = one_connection
    if not postgresql(sessions):
        pytest.skip("PostgreSQL's transaction_read_only")
    with reading(sessions) as session:
        assert session.scalar(text("SELECT current_setting('transaction_read_only')")) == "on"
    with transaction(sessions) as session:
        assert session.scalar(text("SELECT current_setting('transaction_read_only')")) == "off"
        session.add(Reporter(digest="after-reading", sealed_openid=b"x"))
    with transaction(sessions) as session:
        assert session.scalar(select(Reporter.id).where(Reporter.digest == "after-reading")) is not None


def test_statements_psycopg_prepared_outlive_reading_units(one_connection: sessionmaker[Session]) -> None:
    """psycopg prepares a statement on its fifth run on a connection and forgets them all at a ROLLBACK."""
    sessions = one_connection
    if not postgresql(sessions):
        pytest.skip("psycopg's prepared statements")
    query = select(Reporter.id).where(Reporter.digest == "nobody")
    for _ in range(6):
        with reading(sessions) as session:
            assert session.execute(query).all() == []
    with reading(sessions) as session:
        prepared = session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    assert prepared is not None and prepared >= 1
