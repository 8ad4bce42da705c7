"""A `whistle worker` process killed with SIGKILL in the middle of a push and in the middle of triage.

The kill point is pinned, not guessed: a delayed answer from the fake platform, or a database lock the test holds,
keeps the worker inside the step until the test has seen it there. A replacement worker then finishes the work.
RQ notices a dead worker's job only when its heartbeat has expired (job timeout + 60 s) at its next maintenance
(every 10 minutes); `declare_abandoned` does that at once, and RQ's retry of the job does the rest.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker
from rq.suspension import resume, suspend
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from bot.queue import INTAKE_QUEUE
from bot.sweeper import sweep
from bot.wechat import messages as msg
from storage.models import Case, CaseEvent, OutboxMessage
from tests.faults.support import (
    declare_abandoned,
    open_windows,
    poll,
    scalar,
    service_env,
    started_jobs,
    wait_until,
    whistle,
    write_config,
    write_lock,
)

pytestmark = pytest.mark.slow

REPORTER = "oWorker-killed"


def worker_env(tmp_path: Path, harness) -> dict[str, str]:
    s = harness.settings
    config = write_config(tmp_path, database_url=s.database_url, redis_url=s.redis_url, api=harness.fake.base_url)
    return service_env(config)


def submit(harness, text: str, who: str = REPORTER) -> str:
    harness.say(msg.text(who, text))
    done = harness.say(msg.text(who, "提交"))
    match = re.search(r"案件编号：(\S+)", done)
    assert match, done
    return match.group(1)


def outbox(harness) -> list[OutboxMessage]:
    with harness.services.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def the_card(harness) -> OutboxMessage | None:
    rows = [m for m in outbox(harness) if m.inspector_id is not None]
    return rows[0] if rows else None


def cards(harness) -> list:
    return [m for m in harness.fake.sent_messages() if m.openid.startswith("oInspector-")]


def quiet_sweep(harness) -> dict[str, int]:
    """A sweep now (wall clock, no grace): once every message is out, it must find nothing owed."""
    wait_until(lambda: all(m.status == "sent" for m in outbox(harness)), 30, "every message to be sent")
    harness.clock.now = datetime.now(UTC)
    return sweep(harness.services, grace=timedelta(0))


def test_killed_after_the_platform_took_the_message_sends_it_again_once(harness, tmp_path, spawn, redis_url):
    """Killed between the platform's answer and the commit: the documented at-least-once, i.e. exactly two sends."""
    open_windows(harness)
    reference = submit(harness, "宏达机械冲床的光电保护被拆了")
    harness.fake.inject("custom_send", delay=3)  # long enough to take the lock while the call is in flight
    env = worker_env(tmp_path, harness)
    first = spawn("worker-1", whistle("worker", "--sweep-interval", "0"), env)

    card = wait_until(
        lambda: (m := the_card(harness)) is not None and m.attempts == 1 and m, 30, "the card's delivery attempt"
    )
    with write_lock(harness.settings.database_url, table="outbox", row_id=card.id) as conn:
        assert scalar(conn, "SELECT status FROM outbox WHERE id = :id", id=card.id) == "pending"
        wait_until(lambda: cards(harness), 15, "the platform to accept the card")
        first.kill_group()  # the worker now waits for the lock to record "sent"
    assert the_card(harness).status == "pending", first.tail()

    declare_abandoned(redis.Redis.from_url(redis_url))
    second = spawn("worker-2", whistle("worker", "--sweep-interval", "1"), env)
    wait_until(lambda: the_card(harness).status == "sent", 40, lambda: f"the card to be sent again\n{second.tail()}")

    # (the replacement's sweeper also queues the card's deadline reminder: another message, sent once)
    sent = [m for m in cards(harness) if m.text == card.body]
    assert len(sent) == 2 and reference in sent[0].text
    assert the_card(harness).attempts == 2
    assert quiet_sweep(harness)["deliver_message"] == 0
    with harness.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.actor == "triage")) == 1


def test_killed_before_the_call_reached_the_platform_sends_once(harness, tmp_path, spawn, redis_url):
    """Killed while fetching the access token, before the message left: the replacement sends it exactly once."""
    open_windows(harness)
    reference = submit(harness, "宏达机械仓库货架超载变形")
    harness.fake.inject("token", delay=5)  # no token is cached yet: the first send must fetch one
    env = worker_env(tmp_path, harness)
    first = spawn("worker-1", whistle("worker", "--sweep-interval", "0"), env)

    wait_until(lambda: (m := the_card(harness)) is not None and m.attempts == 1, 30, "the card's delivery attempt")
    first.kill_group()
    assert not harness.fake.calls_to("custom_send")

    declare_abandoned(redis.Redis.from_url(redis_url))
    second = spawn("worker-2", whistle("worker", "--sweep-interval", "1"), env)
    # RQ retries the abandoned job after 5 s; failing that, the sweeper revives the row once it is 30 s old
    wait_until(lambda: the_card(harness).status == "sent", 75, lambda: f"the card to be sent\n{second.tail()}")
    card = the_card(harness)
    assert [reference in m.text for m in cards(harness) if m.text == card.body] == [True]
    assert len(harness.fake.calls_to("custom_send")) == len(harness.fake.sent_messages())
    assert quiet_sweep(harness)["deliver_message"] == 0


def test_killed_in_the_middle_of_a_triage_batch_every_case_is_triaged_once(harness, tmp_path, spawn, redis_url):
    open_windows(harness)
    places = ["一车间", "二车间", "三车间", "仓库", "食堂", "锅炉房", "配电室", "停车场", "宿舍楼", "办公楼"]
    hazards = [
        "配电箱门坏了电线裸露",
        "安全出口被货物堵死",
        "灭火器过期",
        "叉车司机无证驾驶",
        "液化气瓶没有固定",
        "货架超载变形",
        "砂轮机防护罩拆了",
        "消防通道停满了车",
    ]
    tips = [f"{place}{hazard}" for place in places for hazard in hazards]
    for i, tip in enumerate(tips):
        submit(harness, tip, who=f"oWorker-batch-{i:03d}")
    total = len(tips)
    env = worker_env(tmp_path, harness)
    first = spawn("worker-1", whistle("worker", "--sweep-interval", "0"), env)

    def triaged() -> int:
        with harness.services.sessions() as s:
            return s.scalar(select(func.count()).select_from(Case).where(Case.triage_status == "done"))

    wait_until(lambda: triaged() >= 5, 60, lambda: f"the first cases triaged\n{first.tail()}")
    connection = redis.Redis.from_url(redis_url)
    # Pause the worker between two jobs (RQ's suspension), take a lock triage needs, and let it go on: the next
    # triage job stops inside its transaction. PostgreSQL: after it locked and classified the case, writing the
    # triage event. SQLite: at its BEGIN; there the whole database is locked, so when RQ (which alternates between
    # the queues) picks a delivery instead, it is let through and the worker paused again.
    stuck = None
    for _ in range(20):
        suspend(connection)
        wait_until(lambda: [w.get_state() for w in Worker.all(connection=connection)] == ["suspended"], 15, "a pause")
        assert Queue(INTAKE_QUEUE, connection=connection).count > 0, "the batch finished before the kill"
        with write_lock(harness.settings.database_url, table="case_events") as conn:
            resume(connection)

            def inside_triage(conn=conn) -> int | None:
                for job_id in started_jobs(connection):
                    if job_id.startswith("triage_case-"):
                        case_id = int(job_id.removeprefix("triage_case-"))
                        if scalar(conn, "SELECT triage_status FROM cases WHERE id = :id", id=case_id) == "pending":
                            return case_id
                return None

            stuck = poll(inside_triage, 3)
            if stuck is not None:
                done_at_kill = scalar(conn, "SELECT count(*) FROM cases WHERE triage_status = 'done'")
                first.kill_group()
                break
    assert stuck is not None, "never caught the worker inside a triage job"
    assert done_at_kill < total, "the batch finished before the kill"

    declare_abandoned(connection)
    second = spawn("worker-2", whistle("worker", "--sweep-interval", "1"), env)
    wait_until(lambda: triaged() == total, 60, lambda: f"every case triaged\n{second.tail()}")

    def cards_delivered() -> bool:
        rows = outbox(harness)
        return bool(rows) and all(m.status == "sent" for m in rows)

    wait_until(cards_delivered, 60, lambda: f"every message delivered\n{second.tail()}")
    with harness.services.sessions() as s:
        events = Counter(
            s.scalars(select(CaseEvent.case_id).where(CaseEvent.actor == "triage", CaseEvent.to_status != "duplicate"))
        )
        case_ids = set(s.scalars(select(Case.id)))
        stuck_case = s.get(Case, stuck)
        assert stuck_case is not None and stuck_case.triage_status == "done"
    assert set(events) == case_ids and set(events.values()) == {1}, events
    rows = outbox(harness)
    sent = harness.fake.sent_messages()
    assert len(sent) == len(rows), (len(sent), len(rows))
    assert not [k for k, n in Counter((m.openid, m.text) for m in sent).items() if n > 1]
    assert quiet_sweep(harness)["triage_case"] == 0
    connection.close()


def test_sigkill_of_the_worker_process_alone_leaves_no_transaction_open(harness, tmp_path, spawn):
    if not harness.settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's locks belong to the process and die with it")
    open_windows(harness)
    submit(harness, "宏达机械冲床的光电保护被拆了")
    harness.fake.inject("custom_send", delay=3)
    first = spawn("worker-1", whistle("worker", "--sweep-interval", "0"), worker_env(tmp_path, harness))
    card = wait_until(
        lambda: (m := the_card(harness)) is not None and m.attempts == 1 and m, 30, "the card's delivery attempt"
    )
    with write_lock(harness.settings.database_url, table="outbox", row_id=card.id):
        wait_until(lambda: cards(harness), 15, "the platform to accept the card")
        first.kill9()  # the worker process only: its forked RQ scheduler lives on

    engine = create_engine(harness.settings.database_url, poolclass=NullPool)

    def row_free() -> bool:
        with engine.connect() as conn:
            try:
                conn.execute(text("SELECT id FROM outbox WHERE id = :id FOR UPDATE NOWAIT"), {"id": card.id})
            except OperationalError:
                return False
            finally:
                conn.rollback()
            return True

    try:
        wait_until(row_free, 5, "the dead worker's transaction to end and release the card's row")
    finally:
        engine.dispose()
