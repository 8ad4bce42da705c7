"""`UTCDateTime`: aware UTC datetimes in and out on both backends; on SQLite, SQLAlchemy's own text format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from storage.db import transaction
from storage.models import Reporter, UTCDateTime
from tests.support.harness import Harness

SQLITE = sqlite.dialect()
zones = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60))
aware = st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC) | zones)


@given(aware)
def test_sqlite_text_is_sqlalchemys_format_of_the_utc_time(value: datetime) -> None:
    """The faster writer stores exactly what SQLAlchemy's SQLite DATETIME would, so stored rows compare as before."""
    ours = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    stock = sqlite.DATETIME().bind_processor(SQLITE)
    assert ours is not None and stock is not None
    assert ours(value) == stock(value.astimezone(UTC))


@given(aware)
def test_sqlite_reads_back_what_sqlalchemys_reader_reads_in_utc(value: datetime) -> None:
    column = UTCDateTime()
    text = sqlite.DATETIME().bind_processor(SQLITE)(value.astimezone(UTC))  # type: ignore[misc]
    ours = column.dialect_impl(SQLITE).result_processor(SQLITE, None)
    stock = sqlite.DATETIME().result_processor(SQLITE, None)
    assert ours is not None and stock is not None
    assert ours(text) == stock(text).replace(tzinfo=UTC) == value
    assert ours(text).tzinfo is UTC
    assert ours(text[:19]) == stock(text[:19]).replace(tzinfo=UTC)  # written without microseconds (by hand, say)


def test_a_naive_datetime_is_refused() -> None:
    ours = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours is not None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 11, 30, 8, 0))


def test_a_stored_time_comes_back_aware_and_equal(harness: Harness) -> None:
    """On either backend: a time given in another zone is stored as UTC, read back as the same instant in UTC, and
    compared in SQL as an instant."""
    beijing = timezone(timedelta(hours=8))
    given_time = datetime(2026, 11, 30, 16, 5, 7, 123456, tzinfo=beijing)
    with transaction(harness.services.sessions) as session:
        session.add(Reporter(digest="d-utc", sealed_openid=b"x", created_at=given_time))
    with harness.services.sessions() as session:
        stored = session.scalars(select(Reporter).where(Reporter.digest == "d-utc")).one()
        assert stored.created_at == given_time and stored.created_at.tzinfo is UTC
        later = select(Reporter.id).where(Reporter.created_at > datetime(2026, 11, 30, 8, 5, 7, tzinfo=UTC))
        assert session.scalars(later).all() == [stored.id]
