"""Redis stopped while tips arrive, then restarted empty: the webhook stays fast, the rows remember, the sweeper and
a worker finish everything once. The test stops its own redis-server, never a shared one."""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, ImageDraw
from rq import Worker
from sqlalchemy import func, select

from bot.services import sync_staff_from_settings
from bot.sweeper import sweep
from bot.wechat import messages as msg
from storage.models import Case, CaseEvent, InboundMessage, Media, OutboxMessage
from tests.faults.support import SECTIONS, open_windows, service_env, wait_until, whistle, write_config
from tests.support.harness import Harness, make_settings, wipe_database

pytestmark = pytest.mark.slow

REPORTERS = [f"oWorker-outage-{i}" for i in range(3)]
TIPS = ["宏达机械冲床的光电保护被拆了", "超市仓库安全出口被货物堵死", "食堂液化气瓶放在灶台旁边没有固定"]


def distinct_photo(i: int) -> bytes:
    """Photos that do not look alike (solid colours share a perceptual hash and would be linked as repeats)."""
    image = Image.new("RGB", (96, 72), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    step = 6 + 10 * i
    for x in range(0, 96, step):
        draw.rectangle([x, 0, x + step // 2, 72 if i % 2 else 36], fill=(30 * i, 60, 200 - 40 * i))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def outage_harness(tmp_path, database_url, fake_wechat, own_redis):
    settings = make_settings(
        tmp_path, database_url=database_url, redis_url=own_redis.url, api=fake_wechat.base_url, sections=SECTIONS
    )
    harness = Harness.start(settings, fake_wechat)
    wipe_database(harness.services.engine)
    sync_staff_from_settings(harness.services)
    try:
        yield harness
    finally:
        harness.close()


def timed_say(harness, xml: str) -> tuple[str, float]:
    started = time.perf_counter()
    reply = harness.say(xml)
    return reply, time.perf_counter() - started


def count(harness, model, *where) -> int:
    with harness.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_tips_arriving_while_redis_is_down_are_all_processed_once_after_it_returns(
    outage_harness, own_redis, fake_wechat
):
    harness = outage_harness
    open_windows(harness)
    own_redis.stop()

    timings, references = [], []
    for i, (who, tip) in enumerate(zip(REPORTERS, TIPS, strict=True)):
        fake_wechat.add_media(f"OUTAGE-{i}", distinct_photo(i), content_type="image/jpeg")
        for xml in (msg.image(who, f"OUTAGE-{i}"), msg.text(who, tip)):
            reply, took = timed_say(harness, xml)
            assert reply
            timings.append(took)
        reply, took = timed_say(harness, msg.text(who, "提交"))
        timings.append(took)
        references.append(re.search(r"案件编号：(\S+)", reply).group(1))
    assert max(timings) < 1.0, timings
    assert count(harness, Case) == 3 and count(harness, Media, Media.status == "pending") == 3
    assert harness.services.queue.breaker.open

    own_redis.start()  # same port, nothing in it: every job asked for before is gone
    assert harness.services.redis.dbsize() == 0
    # The web process needs no restart: once its breaker's cool-down has passed, a new tip is enqueued directly.
    wait_until(lambda: not harness.services.queue.breaker.open, 10, "the web process's Redis breaker to close")
    harness.say(msg.text("oWorker-outage-late", "宏达机械食堂灭火器过期"))
    reply = harness.say(msg.text("oWorker-outage-late", "提交"))
    references.append(re.search(r"案件编号：(\S+)", reply).group(1))
    assert sum(harness.services.queue.depths().values()) >= 1

    # A worker's sweeper re-asks for what the rows say is owed (the queued tip's job is not asked for twice).
    found = sweep(harness.services, grace=timedelta(0))
    assert found["download_media"] == 3 and found["triage_case"] == 4
    harness.run_jobs()
    harness.run_jobs()  # what the first jobs queued (cards, thumbnails)

    with harness.services.sessions() as s:
        assert {m.status for m in s.scalars(select(Media))} == {"stored"}
        cases = list(s.scalars(select(Case)))
        assert sorted(c.reference for c in cases) == sorted(references)
        assert {c.triage_status for c in cases} == {"done"}
        assert not [c.reference for c in cases if c.duplicate_of_id is not None]
        triage_events = Counter(
            s.scalars(select(CaseEvent.case_id).where(CaseEvent.actor == "triage", CaseEvent.to_status != "duplicate"))
        )
        assert set(triage_events.values()) == {1} and len(triage_events) == 4
        rows = list(s.scalars(select(OutboxMessage)))
    assert rows and {m.status for m in rows} == {"sent"}
    sent = fake_wechat.sent_messages()
    assert Counter(m.body for m in rows if m.kind == "text") == Counter(m.text for m in sent if m.msgtype == "text")
    assert sum(m.kind == "image" for m in rows) == sum(m.msgtype == "image" for m in sent) == 3
    assert count(harness, InboundMessage) == 4 + 3 * 3 + 2

    # Nothing is owed any more: another sweep and worker run resend nothing (new rows, e.g. deadline reminders a
    # sweep queues, are sent once each).
    assert sweep(harness.services, grace=timedelta(0))["deliver_message"] == 0
    harness.run_jobs(advance=60)
    harness.run_jobs()
    with harness.services.sessions() as s:
        rows = list(s.scalars(select(OutboxMessage)))
    sent = fake_wechat.sent_messages()
    assert Counter(m.body for m in rows if m.kind == "text") == Counter(m.text for m in sent if m.msgtype == "text")


def test_a_draft_whose_window_ends_while_redis_is_down_is_closed_once_it_returns(
    outage_harness, own_redis, fake_wechat, spawn, tmp_path
):
    """A real `whistle worker` with no sweeps: the job that closes a draft is asked for only once the window has
    passed, so Redis being down then (and restarting empty) delays the close by about a second, and loses nothing."""
    harness = outage_harness
    open_windows(harness)
    s = harness.settings
    config = write_config(tmp_path, database_url=s.database_url, redis_url=s.redis_url, api=fake_wechat.base_url)
    worker = spawn("worker", whistle("worker", "--sweep-interval", "0"), service_env(config))
    # Stopped once the worker waits for jobs: a Redis error while RQ's worker registers itself at start ends it.
    wait_until(
        lambda: [w.get_state() for w in Worker.all(connection=harness.services.redis)] == ["idle"],
        30,
        lambda: f"the worker to wait for jobs\n{worker.tail()}",
    )
    own_redis.stop()
    # The worker's clock is the wall clock: a draft begun a window ago less 2 s ends 2 s from now.
    harness.clock.now = datetime.now(UTC) - timedelta(seconds=s.draft_window_seconds - 2)
    assert harness.say(msg.text(REPORTERS[0], "宏达机械冲床的光电保护被拆了"))
    time.sleep(3)  # the window passes; the worker cannot ask for the job
    assert count(harness, Case) == 0
    own_redis.start()

    pushed = wait_until(
        lambda: [m for m in fake_wechat.sent_messages() if m.openid == REPORTERS[0]],
        30,
        lambda: f"the automatic submission's push\n{worker.tail()}",
    )
    assert "已自动提交" in pushed[0].text and worker.alive
    wait_until(lambda: count(harness, Case, Case.triage_status == "done") == 1, 30, "the case's triage")
    time.sleep(2)  # a few more polls: nothing closed twice
    assert count(harness, Case) == 1
    assert len([m for m in fake_wechat.sent_messages() if m.openid == REPORTERS[0]]) == 1
