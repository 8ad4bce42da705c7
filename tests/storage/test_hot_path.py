"""What the webhook's hot path writes with Core statements: claimed once, settled once, touched once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.wechat import messages
from handlers import texts
from storage.db import transaction
from storage.drafts import _OPEN_QUERY, add_item, close_draft, join_open_draft, open_draft, start_draft
from storage.inbound import Received, claim_inbound, settle_inbound
from storage.models import Draft, InboundMessage, Inspector, Reporter
from storage.reporters import ReporterRef, reporter_for, touch_inbound
from storage.senders import identify_sender
from tests.support.harness import Harness


def claim(harness: Harness, key: str, reporter_id: int) -> tuple[Received, bool]:
    with transaction(harness.services.sessions) as session:
        message, new = claim_inbound(
            session,
            dedupe_key=key,
            reporter_id=reporter_id,
            kind="text",
            platform_time=harness.clock(),
            payload={"content": "配电箱门坏了"},
            received_at=harness.clock(),
        )
        if new:
            message.reply = f"reply to {key}"
            settle_inbound(session, message)
        return message, new


def test_a_second_claim_finds_the_first_with_its_reply(harness: Harness) -> None:
    with transaction(harness.services.sessions) as session:
        reporter_id = reporter_for(session, harness.services.vault, "oHotPath").id
    first, new = claim(harness, "k1", reporter_id)
    again, new_again = claim(harness, "k1", reporter_id)
    assert new and not new_again and again.id == first.id
    assert again.reply == "reply to k1" and again.kind == "text"
    with harness.services.sessions() as session:
        stored = session.scalars(select(InboundMessage).where(InboundMessage.dedupe_key == "k1")).one()
        assert stored.reply == "reply to k1" and stored.payload == {"content": "配电箱门坏了"}
        assert stored.received_at == harness.clock() and stored.draft_id is None


def test_a_burst_of_messages_writes_the_last_contact_once_a_minute(harness: Harness) -> None:
    start = harness.clock()
    with transaction(harness.services.sessions) as session:
        reporter = reporter_for(session, harness.services.vault, "oBurst")
        touch_inbound(session, reporter, start)
        reporter_id = reporter.id
    for seconds, expected in ((30, start), (59, start), (61, start + timedelta(seconds=61))):
        with transaction(harness.services.sessions) as session:
            later = start + timedelta(seconds=seconds)
            touch_inbound(session, reporter_for(session, harness.services.vault, "oBurst"), later)
        with harness.services.sessions() as session:
            assert session.get(Reporter, reporter_id).last_inbound_at == expected  # type: ignore[union-attr]


def test_a_draft_counts_its_items_and_a_second_start_joins_the_open_one(harness: Harness) -> None:
    now, window = harness.clock(), timedelta(minutes=10)
    with transaction(harness.services.sessions) as session:
        reporter_id = reporter_for(session, harness.services.vault, "oDrafter").id
        draft, started = start_draft(session, reporter_id, now, window, content=True)
        assert started and (draft.items, draft.contents) == (1, 1)
    later = now + timedelta(minutes=3)
    with transaction(harness.services.sessions) as session:
        # what a request that found no open draft, racing one that opened it, does: it joins that draft
        joined, started = start_draft(session, reporter_id, later, window, content=False)
        assert not started and joined.id == draft.id
        assert (joined.items, joined.contents, joined.expires_at) == (2, 1, later + window)
    with transaction(harness.services.sessions) as session:
        found = open_draft(session, reporter_id, for_update=True)
        assert found == joined
        added = add_item(session, found, later + window, content=True)
        assert (added.items, added.contents) == (3, 2)
    with transaction(harness.services.sessions) as session:
        assert open_draft(session, reporter_id) == added
        close_draft(session, draft.id, "cancelled", later)
    with harness.services.sessions() as session:
        assert open_draft(session, reporter_id) is None
        stored = session.get(Draft, draft.id)
        assert stored is not None and (stored.status, stored.items, stored.contents) == ("cancelled", 3, 2)
        assert stored.closed_at == later and stored.case_id is None


def test_the_open_draft_lookup_binds_only_the_reporter(harness: Harness) -> None:
    """SQLite prepares a statement again on every run when a bound value could decide whether a partial index
    applies; this lookup runs for every message, so the open state is part of its SQL and the plan is made once."""
    with transaction(harness.services.sessions) as session:
        connection = session.connection()
        compiled = _OPEN_QUERY.compile(dialect=connection.dialect)
        assert list(compiled.params) == ["reporter_id"]
        if connection.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", (1,)).all()
            assert "uq_drafts_one_open" in str(plan)
        reporter = reporter_for(session, harness.services.vault, "oOpenLookup")
        draft, _ = start_draft(session, reporter.id, harness.clock(), timedelta(minutes=10), content=True)
        assert open_draft(session, reporter.id) == draft
        close_draft(session, draft.id, "cancelled", harness.clock())
        assert open_draft(session, reporter.id) is None


def test_the_sender_lookup_creates_a_first_contact_once_and_knows_staff_before_they_write(harness: Harness) -> None:
    vault, now = harness.services.vault, harness.clock()
    since = now - timedelta(minutes=1)
    with transaction(harness.services.sessions) as session:
        staff = Inspector(digest=vault.digest("oStaffFirst"), sealed_openid=vault.seal("oStaffFirst"), section_id="x")
        session.add(staff)
        session.flush()
        staff_id = staff.id
    with transaction(harness.services.sessions) as session:
        first = identify_sender(session, vault, "oStaffFirst", since)
        assert first.reporter.new and first.inspector_id == staff_id
        assert (first.recent, first.has_held, first.reporter.last_inbound_at) == (0, False, None)
        stranger = identify_sender(session, vault, "oStranger", since)
        assert stranger.reporter.new and stranger.inspector_id is None
    claim(harness, "k-staff-1", first.reporter.id)
    claim(harness, "k-staff-2", first.reporter.id)
    with transaction(harness.services.sessions) as session:
        again = identify_sender(session, vault, "oStaffFirst", since)
        assert again.reporter == ReporterRef(first.reporter.id, first.reporter.digest)  # found, not new
        assert (again.recent, again.inspector_id) == (2, staff_id)
        assert identify_sender(session, vault, "oStaffFirst", now + timedelta(minutes=2)).recent == 0
    with harness.services.sessions() as session:
        digests = session.scalars(select(Reporter.digest).where(Reporter.digest == first.reporter.digest)).all()
        assert len(digests) == 1


def test_a_message_joins_the_open_draft_only_within_its_window(harness: Harness) -> None:
    now, window = harness.clock(), timedelta(minutes=5)
    with transaction(harness.services.sessions) as session:
        reporter_id = reporter_for(session, harness.services.vault, "oJoiner").id
        assert join_open_draft(session, reporter_id, now, now + window, content=True) is None  # none open
        draft, _ = start_draft(session, reporter_id, now, window, content=True)
    later = now + timedelta(minutes=4)
    with transaction(harness.services.sessions) as session:
        joined = join_open_draft(session, reporter_id, later, later + window, content=False)
        assert joined is not None and joined.id == draft.id
        assert (joined.items, joined.contents, joined.expires_at) == (2, 1, later + window)
        assert open_draft(session, reporter_id) == joined
    past = joined.expires_at
    with transaction(harness.services.sessions) as session:
        # at the moment the window passes the draft is no longer joined, and nothing changes
        assert join_open_draft(session, reporter_id, past, past + window, content=True) is None
        assert open_draft(session, reporter_id) == joined
        close_draft(session, draft.id, "cancelled", past)
        assert join_open_draft(session, reporter_id, later, later + window, content=True) is None  # closed


def test_a_text_within_the_drafts_window_takes_six_statements(harness: Harness) -> None:
    """The webhook's commonest message: the sender, the message claimed, the draft joined, the reply settled."""
    if harness.services.engine.dialect.name != "sqlite":
        pytest.skip("counts SQLite's statements (its trace callback)")
    sender = "oSixStatements"
    assert harness.say(messages.text(sender, "配电箱门坏了")).startswith("已收到")
    traced: list[str] = []
    with transaction(harness.services.sessions) as session:  # the process's one resting connection
        session.connection().connection.driver_connection.set_trace_callback(traced.append)
    traced.clear()
    reply = harness.say(messages.text(sender, "电线也裸露了"))
    assert reply == texts.DRAFT_ADDED.format(item=texts.ITEM_NAMES["text"], count=2)
    verbs = [" ".join(statement.split()[:3]) for statement in traced]
    assert len(traced) == 6, verbs
    assert verbs[0] == "BEGIN IMMEDIATE" and verbs[-1] == "COMMIT"
    assert sum(statement.startswith("UPDATE drafts") for statement in traced) == 1


def test_a_drafts_messages_are_found_by_its_reporter_since_it_opened(harness: Harness) -> None:
    """Without an index on the message's draft: its own messages in order, a message that waited for the lock while
    another opened the draft included, an earlier draft's and another reporter's left out."""
    from storage.inbound import messages_of_draft

    services, opened = harness.services, harness.clock()
    with transaction(services.sessions) as session:
        worker = reporter_for(session, services.vault, "oDraftOwner").id
        other = reporter_for(session, services.vault, "oSomeoneElse").id
        earlier, _ = start_draft(session, worker, opened - timedelta(hours=3), timedelta(minutes=10), content=True)
        close_draft(session, earlier.id, "submitted", opened - timedelta(hours=2))
        draft, _ = start_draft(session, worker, opened, timedelta(minutes=10), content=True)

        def store(key: str, reporter_id: int, draft_id: int, at_seconds: float) -> None:
            message, _ = claim_inbound(
                session,
                dedupe_key=key,
                reporter_id=reporter_id,
                kind="text",
                platform_time=opened,
                payload={"content": key},
                received_at=opened + timedelta(seconds=at_seconds),
            )
            message.draft_id = draft_id
            settle_inbound(session, message)

        store("earlier draft", worker, earlier.id, -3 * 3600)
        store("opened it", worker, draft.id, 0)
        store("waited for the lock", worker, draft.id, -2)  # its time was taken before the opener's
        store("another reporter", other, draft.id, 1)  # cannot happen; shows the reporter bounds the search
        store("a photo later", worker, draft.id, 30)
    with services.sessions() as session:
        contents = [m.payload["content"] for m in messages_of_draft(session, draft.id)]
        assert contents == ["opened it", "waited for the lock", "a photo later"]
        assert messages_of_draft(session, draft.id + 1000) == []


def test_a_drafts_messages_are_read_through_the_reporters_index(harness: Harness) -> None:
    from storage.inbound import _OF_DRAFT

    with harness.services.sessions() as session:
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            pytest.skip("reads SQLite's query plan")
        compiled = _OF_DRAFT._compile(connection.dialect)
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.sql}", (1, "2026-01-01 00:00:00", 1))
        details = " ".join(str(row[-1]) for row in plan)
    assert "ix_inbound_reporter_received" in details and "SCAN" not in details.replace("SCAN CONSTANT", "")
