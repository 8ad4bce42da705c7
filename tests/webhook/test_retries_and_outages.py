"""Platform retries racing the first try, and a dead Redis: the webhook answers in time and loses nothing."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from bot.queue import JobQueue
from bot.redis_conn import connect
from bot.sweeper import sweep
from bot.wechat import messages as msg
from storage.models import Case, Draft, InboundMessage, Media
from tests.support.harness import Harness, make_settings, wipe_database
from tests.support.images import jpeg_bytes
from tests.support.servers import free_port

WORKER = "oWorker-retries"


def race(harness, bodies: list[str]) -> list[str]:
    """Post every body at the same moment from its own thread, as the platform's retries can arrive."""
    barrier = threading.Barrier(len(bodies))
    replies: list[str] = [""] * len(bodies)

    def post(i: int, xml: str) -> None:
        barrier.wait()
        replies[i] = harness.say(xml)

    threads = [threading.Thread(target=post, args=(i, b)) for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return replies


def count(harness, model) -> int:
    with harness.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_retries_arriving_during_the_first_try_get_its_answer_and_create_nothing(harness):
    harness.say(msg.text(WORKER, "货架变形快倒了"))
    submit = msg.text(WORKER, "提交", msg_id="4242")
    replies = race(harness, [submit] * 6)
    assert len(set(replies)) == 1 and "案件编号" in replies[0]
    assert count(harness, Case) == 1
    assert count(harness, InboundMessage) == 2


def test_a_burst_of_first_messages_makes_one_draft(harness):
    bodies = [msg.text(WORKER, f"隐患描述第{i}条") for i in range(6)]
    replies = race(harness, bodies)
    assert all("已收到" in r for r in replies)
    assert count(harness, Draft) == 1
    with harness.services.sessions() as s:
        assert {m.draft_id for m in s.scalars(select(InboundMessage))} == {s.scalars(select(Draft.id)).one()}


def test_repeated_events_are_one_event(harness):
    xml = msg.event(WORKER, "subscribe", created=1_700_000_000)
    assert harness.say(xml) == harness.say(xml)
    assert count(harness, InboundMessage) == 1


def dead_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def test_dead_redis_costs_milliseconds_and_the_sweeper_catches_up(
    tmp_path, database_url, redis_url, redis_conn, fake_wechat
):
    settings = make_settings(tmp_path, database_url=database_url, redis_url=dead_redis_url(), api=fake_wechat.base_url)
    harness = Harness.start(settings, fake_wechat)
    wipe_database(harness.services.engine)
    try:
        fake_wechat.add_media("OUTAGE-1", jpeg_bytes(), content_type="image/jpeg")
        timings = []
        for xml in (msg.image(WORKER, "OUTAGE-1"), msg.text(WORKER, "吊物下面站人"), msg.text(WORKER, "提交")):
            started = time.perf_counter()
            reply = harness.say(xml)
            timings.append(time.perf_counter() - started)
            assert reply
        assert max(timings) < 1.0, timings
        assert count(harness, Case) == 1 and count(harness, Media) == 1

        # Redis comes back: a worker process starts with a good connection and its sweeper re-asks for the work.
        live = connect(redis_url, socket_timeout=2.0)
        harness.services.redis = live
        harness.services.queue = JobQueue(live)
        found = sweep(harness.services, grace=timedelta(0))
        assert found["download_media"] == 1 and found["triage_case"] == 1 and found["close_draft"] == 0
        harness.run_jobs()
        with harness.services.sessions() as s:
            assert s.scalars(select(Media)).one().status == "stored"
            assert s.scalars(select(Case)).one().triage_status in {"done", "pending"}
        assert sweep(harness.services)["download_media"] == 0
    finally:
        harness.close()


def test_a_dead_database_spools_the_message_and_the_sweeper_replays_it(tmp_path, redis_url, redis_conn, fake_wechat):
    """The database is unreachable: the webhook still acknowledges, keeps the message sealed on disk, and once the
    database is back the sweeper processes it and sends the answer it could not give."""
    from bot.sweeper import sweep
    from storage.db import make_engine, make_sessionmaker, migrate

    good_url = f"sqlite:///{tmp_path / 'later.db'}"
    settings = make_settings(tmp_path, database_url=good_url, redis_url=redis_url, api=fake_wechat.base_url)
    harness = Harness.start(settings, fake_wechat)
    try:
        # the database goes away: nothing listens where the sessions now point
        broken = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/whistle")
        harness.services.sessions = make_sessionmaker(broken)
        reply = harness.say(msg.text(WORKER, "配电箱漏电"))
        assert "稍后" in reply
        assert len(harness.services.spool.pending()) == 1
        assert WORKER.encode() not in harness.services.spool.pending()[0].read_bytes()  # sealed on disk

        # the database is back
        engine = make_engine(good_url)
        migrate(engine)
        harness.services.sessions = make_sessionmaker(engine)
        harness.services.engine = engine
        counts = sweep(harness.services)
        assert counts["spool_replayed"] == 1 and harness.services.spool.pending() == []
        harness.run_jobs()
        with harness.services.sessions() as s:
            assert s.scalars(select(InboundMessage)).one().payload["content"] == "配电箱漏电"
        assert any("已收到文字说明" in m.text for m in fake_wechat.sent_messages(WORKER))
    finally:
        harness.close()


def test_a_flood_from_one_sender_is_stopped_without_losing_the_first_tips(harness):
    limit = harness.settings.webhook_per_user_per_minute
    replies = [harness.say(msg.text(WORKER, f"第{i}条 配电箱漏电")) for i in range(limit + 5)]
    assert all("已收到" in r for r in replies[:limit])
    assert "太快" in replies[limit] and replies[limit + 1 :] == [""] * 4
    assert count(harness, InboundMessage) == limit + 5  # every message is kept
    assert "已收到" in harness.say(msg.text("oSomeoneElse", "另一个人的举报"))  # others are not affected
    harness.clock.advance(61)
    assert "案件编号" in harness.say(msg.text(WORKER, "提交"))
    with harness.services.sessions() as s:
        assert len(s.scalars(select(Case)).one().text.splitlines()) == limit


def test_a_spooled_message_answered_meanwhile_by_a_platform_retry_is_not_answered_twice(harness):
    """The first try was spooled; the platform's retry got through once the database was back and was answered."""
    from bot.sweeper import sweep

    xml = msg.text(WORKER, "配电箱漏电", msg_id="5151")
    harness.services.spool.put(xml.encode())  # what the first try left behind
    assert "已收到" in harness.say(xml)  # the retry, answered directly
    assert sweep(harness.services)["spool_replayed"] == 1
    harness.run_jobs()
    assert count(harness, InboundMessage) == 1
    assert not [m for m in harness.fake.sent_messages(WORKER) if "已收到" in m.text]
