"""Prepared statements read and write exactly what SQLAlchemy's own execution does, on either backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Float, bindparam, exc, func, insert, select, update
from sqlalchemy.orm import Session

from bot.wechat import messages as msg
from storage.db import transaction
from storage.models import Case, InboundMessage, Reporter
from storage.prepared import Prepared
from tests.support.harness import Harness

_REPORTER = select(Reporter.id, Reporter.digest, Reporter.subscribed, Reporter.last_inbound_at).where(
    Reporter.digest == bindparam("digest")
)
_MESSAGE = select(InboundMessage.payload, InboundMessage.platform_time, InboundMessage.reply).where(
    InboundMessage.id == bindparam("id")
)

_NEW_REPORTER = (
    insert(Reporter)
    .values(
        digest=bindparam("digest"),
        sealed_openid=bindparam("sealed"),
        subscribed=True,
        created_at=bindparam("at"),
        last_inbound_at=None,
        unsubscribed_at=None,
    )
    .returning(Reporter.id)
)


def submit(harness: Harness, text: str) -> None:
    harness.say(msg.text("oWorker-prepared", text))
    harness.say(msg.text("oWorker-prepared", "提交"))


def _reporter(session: Session, digest: str, at: datetime | None) -> int:
    values = {"digest": digest, "sealed_openid": b"\x00sealed", "subscribed": True, "last_inbound_at": at}
    return int(session.execute(insert(Reporter).values(values).returning(Reporter.id)).scalar_one())


def test_rows_read_as_sqlalchemy_reads_them(harness: Harness) -> None:
    at = datetime(2026, 6, 1, 8, 30, 15, 123456, tzinfo=UTC)
    prepared = Prepared(_REPORTER)
    with transaction(harness.services.sessions) as session:
        _reporter(session, "d-read", at)
        expected = tuple(session.execute(_REPORTER, {"digest": "d-read"}).one())
        assert prepared.first(session, {"digest": "d-read"}) == expected
        assert expected[2] is True and expected[3] == at and expected[3].tzinfo is not None
        assert prepared.first(session, {"digest": "nobody"}) is None
        assert prepared.rows(session, {"digest": "nobody"}) == []


def test_numbers_read_as_sqlalchemy_reads_them(harness: Harness) -> None:
    """A float column and an integer cast to float: psycopg's numeric columns need the type the driver reports."""
    location = select(Case.latitude, Case.longitude, func.cast(Case.id, Float)).where(Case.id == bindparam("id"))
    prepared = Prepared(location)
    submit(harness, "车间里配电箱门坏了，电线都露在外面")
    with transaction(harness.services.sessions) as session:
        case_id = session.scalars(select(Case.id)).one()
        session.execute(update(Case).where(Case.id == case_id).values(latitude=29.866131, longitude=118.4389))
        expected = tuple(session.execute(location, {"id": case_id}).one())
        assert prepared.first(session, {"id": case_id}) == expected == (29.866131, 118.4389, float(case_id))
        assert all(type(value) is float for value in expected)


def test_writes_apply_the_column_types(harness: Harness) -> None:
    """JSON goes in as JSON, an aware time in another zone is stored as the same instant in UTC, None as NULL."""
    shanghai = timezone(timedelta(hours=8))
    later = datetime(2026, 6, 1, 16, 0, tzinfo=shanghai)
    with transaction(harness.services.sessions) as session:
        reporter_id = _reporter(session, "d-write", None)
        message_id = session.execute(
            insert(InboundMessage)
            .values(
                dedupe_key="prepared:1",
                reporter_id=reporter_id,
                kind="text",
                platform_time=later,
                payload={"content": "旧的"},
            )
            .returning(InboundMessage.id)
        ).scalar_one()
        change = Prepared(
            update(InboundMessage)
            .where(InboundMessage.id == bindparam("id"))
            .values(payload=bindparam("payload"), platform_time=bindparam("at"), reply=bindparam("reply"))
        )
        values = {"id": message_id, "payload": {"content": "配电箱", "n": [1, 2]}, "at": later}
        with pytest.raises(exc.ArgumentError, match="reply"):
            change.run(session, values)
        assert change.run(session, {**values, "reply": None}) == 1
        assert change.run(session, {"id": -1, "payload": {}, "at": later, "reply": None}) == 0
    with harness.services.sessions() as session:
        payload, platform_time, reply = session.execute(_MESSAGE, {"id": message_id}).one()
        assert payload == {"content": "配电箱", "n": [1, 2]} and reply is None
        assert platform_time == later and platform_time.utcoffset() == timedelta(0)


def test_a_literal_in_the_statement_is_bound_with_it(harness: Harness) -> None:
    subscribed = Prepared(
        select(Reporter.id).where(Reporter.digest == bindparam("digest"), Reporter.subscribed.is_(True))
    )
    by_kind = Prepared(select(Reporter.id).where(Reporter.digest == bindparam("digest"), Reporter.digest != "x"))
    with transaction(harness.services.sessions) as session:
        reporter_id = _reporter(session, "d-literal", None)
        assert subscribed.first(session, {"digest": "d-literal"}) == (reporter_id,)
        assert by_kind.first(session, {"digest": "d-literal"}) == (reporter_id,)


def test_driver_errors_arrive_as_sqlalchemy_errors_and_roll_back(harness: Harness) -> None:
    duplicate = Prepared(_NEW_REPORTER)
    values = {"digest": "d-twice", "sealed": b"x", "at": datetime.now(UTC)}
    with transaction(harness.services.sessions) as session:
        duplicate.first(session, values)
    with pytest.raises(exc.IntegrityError), transaction(harness.services.sessions) as session:
        duplicate.first(session, {**values, "digest": "d-other"})
        duplicate.first(session, values)
    with harness.services.sessions() as session:
        digests = session.scalars(select(Reporter.digest).where(Reporter.digest.in_(("d-twice", "d-other"))))
        assert sorted(digests) == ["d-twice"]  # the failed transaction left nothing


def test_a_statement_that_needs_defaults_filled_in_is_refused(harness: Harness) -> None:
    """`created_at` has a Python-side default: running it would silently skip it, so it is refused at first use."""
    needs_default = Prepared(insert(Reporter).values(digest=bindparam("digest"), sealed_openid=b"", subscribed=True))
    with pytest.raises(ValueError, match="created_at"), transaction(harness.services.sessions) as session:
        needs_default.run(session, {"digest": "d-default"})


def test_pending_changes_are_flushed_first_as_an_orm_query_would(harness: Harness) -> None:
    prepared = Prepared(_REPORTER)
    with transaction(harness.services.sessions) as session:
        session.add(Reporter(digest="d-pending", sealed_openid=b"x", subscribed=False))
        found = prepared.first(session, {"digest": "d-pending"})
        assert found is not None and found[2] is False
        session.autoflush = False
        session.add(Reporter(digest="d-unflushed", sealed_openid=b"x", subscribed=True))
        assert prepared.first(session, {"digest": "d-unflushed"}) is None  # the session said not to flush


def test_a_session_of_its_own_runs_each_statement_in_its_current_transaction(harness: Harness) -> None:
    """Outside `transaction()` a session may commit and roll back several times: a statement always runs in the
    session's transaction of the moment (a connection kept from an earlier one would write outside it)."""
    prepared = Prepared(_REPORTER)
    with harness.services.sessions() as session:
        _reporter(session, "d-first", None)
        assert prepared.first(session, {"digest": "d-first"}) is not None
        session.commit()
        _reporter(session, "d-undone", None)
        assert prepared.first(session, {"digest": "d-undone"}) is not None
        session.rollback()
        assert prepared.first(session, {"digest": "d-undone"}) is None
        assert prepared.first(session, {"digest": "d-first"}) is not None


def _kept_cursor(session: Session) -> object:
    return session.connection().connection.info["storage.prepared.cursor"]


def _driver_cursor_after(session: Session, prepared: Prepared, digest: str) -> object:
    prepared.first(session, {"digest": digest})
    return _kept_cursor(session)


def test_statements_run_on_one_driver_cursor_kept_with_its_connection(harness: Harness) -> None:
    """A new psycopg cursor sets up its adapters at its first statement (80-88 us against 44-53 us on a used one):
    every statement on a connection, in any of its transactions, runs on the same cursor."""
    by_digest, by_id = Prepared(_REPORTER), Prepared(select(Reporter.id).where(Reporter.id == bindparam("digest")))
    with transaction(harness.services.sessions) as session:
        first = _driver_cursor_after(session, by_digest, "d-cursor")
        assert _driver_cursor_after(session, by_id, "0") is first
        dbapi_connection = session.connection().connection.dbapi_connection
    with transaction(harness.services.sessions) as session:
        again = session.connection().connection.dbapi_connection is dbapi_connection
        assert not again or _driver_cursor_after(session, by_digest, "d-cursor") is first


def test_a_failed_statement_leaves_a_fresh_cursor_for_the_next(harness: Harness) -> None:
    duplicate = Prepared(_NEW_REPORTER)
    values = {"digest": "d-fails-once", "sealed": b"x", "at": datetime.now(UTC)}
    with transaction(harness.services.sessions) as session:
        duplicate.first(session, values)
    with pytest.raises(exc.IntegrityError), transaction(harness.services.sessions) as session:
        failing = _driver_cursor_after(session, Prepared(_REPORTER), "d-fails-once")
        duplicate.first(session, values)
    with transaction(harness.services.sessions) as session:
        found = Prepared(_REPORTER).first(session, {"digest": "d-fails-once"})
        assert found is not None and found[1] == "d-fails-once"
        assert _kept_cursor(session) is not failing


def test_a_replaced_connection_gets_a_cursor_of_its_own(harness: Harness) -> None:
    prepared = Prepared(_REPORTER)
    with pytest.raises(exc.PendingRollbackError), transaction(harness.services.sessions) as session:
        old = _driver_cursor_after(session, prepared, "d-replaced")
        session.connection().invalidate()  # as after a disconnect: the unit of work fails, the pool replaces it
    with transaction(harness.services.sessions) as session:
        assert prepared.first(session, {"digest": "d-replaced"}) is None
        assert _driver_cursor_after(session, prepared, "d-replaced") is not old
