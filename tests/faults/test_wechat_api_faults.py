"""The platform misbehaving: 5xx, timeouts, expired or invalid tokens, out-of-window refusals.

Deliveries retry with backoff and are sent once; what the platform refuses for the window is held and goes out when
the person writes again; a rejected token is refreshed once. In-process RQ worker (fast), and one real worker process.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sweeper import sweep
from bot.wechat import messages as msg
from storage.models import OutboxMessage
from tests.faults.support import (
    INSPECTORS,
    SECTIONS,
    open_windows,
    service_env,
    wait_until,
    whistle,
    write_config,
)

pytestmark = pytest.mark.slow

REPORTER = "oWorker-api-faults"


@pytest.fixture
def harness_overrides() -> dict[str, object]:
    return {"sections": SECTIONS, "wechat.timeout_seconds": 0.5}


def submit(harness, text: str) -> str:
    harness.say(msg.text(REPORTER, text))
    done = harness.say(msg.text(REPORTER, "提交"))
    match = re.search(r"案件编号：(\S+)", done)
    assert match, done
    return match.group(1)


def cards(harness) -> list[OutboxMessage]:
    with harness.services.sessions() as s:
        stmt = select(OutboxMessage).where(OutboxMessage.inspector_id.is_not(None)).order_by(OutboxMessage.id)
        return list(s.scalars(stmt))


def card_for(harness, reference: str) -> OutboxMessage:
    found = [m for m in cards(harness) if m.body.startswith("【新隐患】") and reference in m.body]
    assert len(found) == 1, [(m.kind, m.inspector_id, m.body) for m in found]
    return found[0]


def card_sent(harness, reference: str) -> bool:
    return any(m.body.startswith("【新隐患】") and reference in m.body and m.status == "sent" for m in cards(harness))


def sends_of(harness, body: str) -> int:
    return sum(1 for m in harness.fake.sent_messages() if m.text == body)


def test_5xx_answers_are_retried_with_backoff_and_the_card_is_sent_once(harness):
    open_windows(harness)
    reference = submit(harness, "宏达机械冲床的光电保护被拆了")
    harness.fake.inject("custom_send", http_status=502, times=2)
    harness.run_jobs()  # triage, then the first attempt: 502
    card = card_for(harness, reference)
    assert card.status == "pending" and "HTTP 502" in (card.last_error or "")
    harness.run_jobs(advance=6)  # RQ's first retry (5 s): 502 again
    assert card_for(harness, reference).status == "pending" and sends_of(harness, card.body) == 0
    harness.run_jobs(advance=31)  # the second retry (30 s): sent
    card = card_for(harness, reference)
    assert card.status == "sent" and card.attempts == 3
    assert sends_of(harness, card.body) == 1
    assert [c.http_status for c in harness.fake.calls_to("custom_send")] == [502, 502, 200]
    harness.run_jobs(advance=700)
    assert sends_of(harness, card.body) == 1


def test_the_triage_job_delivers_the_card_itself_and_hands_a_failure_to_the_queue_as_a_retry(harness):
    open_windows(harness)
    reference = submit(harness, "宏达机械三车间配电箱门坏了电线裸露")
    outbox = harness.services.queue.queues["whistle-outbox"]
    harness.fake.inject("custom_send", http_status=502, times=1)
    harness.run_jobs(advance=0)  # triage; its own attempt at the card: 502
    card = card_for(harness, reference)
    assert card.status == "pending" and card.attempts == 1
    # One retry, under the card's plain job id (so the sweeper sees it queued), waiting for the first backoff step.
    assert outbox.scheduled_job_registry.get_job_ids() == [f"deliver_message-{card.id}"]
    assert sweep(harness.services, grace=timedelta(0))["deliver_message"] == 1  # found owed, but not queued twice
    assert outbox.scheduled_job_registry.get_job_ids() == [f"deliver_message-{card.id}"] and outbox.count == 0
    harness.run_jobs(advance=6)
    assert card_for(harness, reference).status == "sent" and sends_of(harness, card.body) == 1
    # A card that goes through at once never becomes a job of its own.
    second = submit(harness, "宏达机械仓库门口堆满了纸箱")
    harness.run_jobs()
    card = card_for(harness, second)
    assert card.status == "sent" and card.attempts == 1
    assert outbox.fetch_job(f"deliver_message-{card.id}") is None


def test_a_timeout_the_platform_did_not_act_on_is_retried_and_sent_once(harness):
    open_windows(harness)
    reference = submit(harness, "宏达机械仓库货架超载变形")
    harness.fake.inject("custom_send", delay=1.5, http_status=504)  # answered after the client's 0.5 s
    harness.run_jobs()
    card = card_for(harness, reference)
    assert card.status == "pending" and "timed out" in (card.last_error or "")
    harness.run_jobs(advance=6)
    card = card_for(harness, reference)
    assert card.status == "sent" and sends_of(harness, card.body) == 1


def test_a_timeout_after_the_platform_took_the_message_sends_it_at_most_twice(harness):
    """The platform has no idempotency key: a reply lost to a timeout is at-least-once, bounded by one resend."""
    open_windows(harness)
    reference = submit(harness, "宏达机械二车间配电箱门坏了电线裸露")
    harness.fake.inject("custom_send", delay=1.5)  # accepted, but answered after the client gave up
    harness.run_jobs()
    card = card_for(harness, reference)
    assert card.status == "pending" and "timed out" in (card.last_error or "")
    wait_until(lambda: sends_of(harness, card.body) == 1, 5, "the slow call to be recorded by the platform")
    harness.run_jobs(advance=6)
    card = card_for(harness, reference)
    assert card.status == "sent" and sends_of(harness, card.body) == 2
    harness.run_jobs(advance=700)
    assert sends_of(harness, card.body) == 2


@pytest.mark.parametrize("how", ["expired", "invalid"])
def test_a_rejected_token_is_refreshed_once_and_the_message_sent_once(harness, how):
    open_windows(harness)
    first_reference = submit(harness, "宏达机械冲床的光电保护被拆了")
    harness.run_jobs()
    assert card_for(harness, first_reference).status == "sent"  # a token is now cached in Redis
    fetches = harness.fake.token_fetches
    if how == "expired":
        harness.fake.expire_tokens()  # 42001 on the next call
    else:
        harness.fake.inject("custom_send", errcode=40001)  # "not the latest": another process fetched a new one
    reference = submit(harness, "宏达机械仓库安全出口被货物堵死")
    harness.run_jobs()
    card = card_for(harness, reference)
    assert card.status == "sent" and card.attempts == 1
    assert sends_of(harness, card.body) == 1
    assert harness.fake.token_fetches == fetches + 1
    codes = [c.errcode for c in harness.fake.calls_to("custom_send")][-2:]
    assert codes == [42001 if how == "expired" else 40001, 0]


def test_a_token_rejected_twice_waits_and_is_sent_once_later(harness):
    open_windows(harness)
    reference = submit(harness, "宏达机械冲床的光电保护被拆了")
    harness.fake.inject("custom_send", errcode=40001, times=2)  # the refreshed token is refused too
    harness.run_jobs()
    card = card_for(harness, reference)
    assert card.status == "pending" and (card.last_error or "").startswith("40001")
    assert harness.fake.token_fetches == 2  # the first fetch and exactly one refresh, no loop
    harness.clock.advance(61)  # not before 30 s, and past the sweeper's grace
    assert sweep(harness.services)["deliver_message"] >= 1
    harness.run_jobs()
    card = card_for(harness, reference)
    assert card.status == "sent" and sends_of(harness, card.body) == 1


def test_out_of_window_is_held_and_sent_once_when_the_inspector_writes_again(harness):
    open_windows(harness)
    long_ago = time.time() - 49 * 3600
    for openid in INSPECTORS.values():
        harness.fake.user_wrote(openid, at=long_ago)  # the platform's view: they last wrote two days ago
    reference = submit(harness, "宏达机械冲床的光电保护被拆了")
    harness.run_jobs()
    card = card_for(harness, reference)
    assert card.status == "held" and (card.last_error or "").startswith("45015")
    assert sends_of(harness, card.body) == 0
    harness.run_jobs(advance=3600)
    assert sweep(harness.services, grace=timedelta(0))["deliver_message"] == 0  # held is not owed until they write

    for openid in INSPECTORS.values():
        harness.fake.user_wrote(openid)
        harness.say(msg.text(openid, "待办"))
    harness.run_jobs()
    card = card_for(harness, reference)
    assert card.status == "sent" and sends_of(harness, card.body) == 1
    for openid in INSPECTORS.values():  # writing again releases nothing more
        harness.say(msg.text(openid, "帮助"))
    harness.run_jobs(advance=60)
    assert sends_of(harness, card.body) == 1


def test_a_worker_process_retries_a_5xx_and_refreshes_an_expired_token(harness, tmp_path: Path, spawn):
    open_windows(harness)
    s = harness.settings
    config = write_config(tmp_path, database_url=s.database_url, redis_url=s.redis_url, api=harness.fake.base_url)
    worker = spawn("worker", whistle("worker", "--sweep-interval", "1"), service_env(config))

    harness.fake.inject("custom_send", http_status=503)  # whichever message goes first meets it
    first = submit(harness, "宏达机械冲床的光电保护被拆了")
    wait_until(lambda: card_sent(harness, first) and all_sent(harness), 30, lambda: f"RQ's retry\n{worker.tail()}")
    assert [c.http_status for c in harness.fake.calls_to("custom_send")].count(503) == 1
    assert_each_sent_once(harness)

    fetches = harness.fake.token_fetches
    harness.fake.expire_tokens()
    second = submit(harness, "宏达机械仓库安全出口被货物堵死")
    wait_until(lambda: card_sent(harness, second) and all_sent(harness), 30, lambda: f"card 2\n{worker.tail()}")
    assert_each_sent_once(harness)
    assert harness.fake.token_fetches == fetches + 1
    assert [c.errcode for c in harness.fake.calls_to("custom_send")].count(42001) == 1


def all_sent(harness) -> bool:
    with harness.services.sessions() as s:
        return all(m.status == "sent" for m in s.scalars(select(OutboxMessage)))


def assert_each_sent_once(harness) -> None:
    with harness.services.sessions() as s:
        bodies = [m.body for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "text"))]
    sent = [m.text for m in harness.fake.sent_messages() if m.msgtype == "text"]
    assert bodies and Counter(bodies) == Counter(sent)
