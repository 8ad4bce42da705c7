"""What the webhook's hot path writes with Core statements ends up the same as if the ORM had done it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.db import transaction
from storage.inbound import claim_inbound
from storage.models import InboundMessage, Reporter
from storage.reporters import reporter_for, touch_inbound
from tests.support.harness import Harness


def claim(harness: Harness, key: str, reporter_id: int) -> tuple[InboundMessage, bool]:
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
        message.reply = f"reply to {key}"  # a change made after the claim is written at commit
        return message, new


def test_a_claimed_message_is_a_live_row_and_a_second_claim_finds_it(harness: Harness) -> None:
    with transaction(harness.services.sessions) as session:
        reporter_id = reporter_for(session, harness.services.vault, "oHotPath").id
    first, new = claim(harness, "k1", reporter_id)
    again, new_again = claim(harness, "k1", reporter_id)
    assert new and not new_again and again.id == first.id
    with harness.services.sessions() as session:
        stored = session.scalars(select(InboundMessage).where(InboundMessage.dedupe_key == "k1")).one()
        assert stored.reply == "reply to k1" and stored.payload == {"content": "配电箱门坏了"}
        assert stored.received_at == harness.clock() and stored.draft_id is None


def test_a_burst_of_messages_writes_the_last_contact_once_a_minute(harness: Harness) -> None:
    start = harness.clock()
    with transaction(harness.services.sessions) as session:
        reporter = reporter_for(session, harness.services.vault, "oBurst")
        touch_inbound(reporter, start)
        reporter_id = reporter.id
    for seconds, expected in ((30, start), (59, start), (61, start + timedelta(seconds=61))):
        with transaction(harness.services.sessions) as session:
            touch_inbound(reporter_for(session, harness.services.vault, "oBurst"), start + timedelta(seconds=seconds))
        with harness.services.sessions() as session:
            assert session.get(Reporter, reporter_id).last_inbound_at == expected  # type: ignore[union-attr]
