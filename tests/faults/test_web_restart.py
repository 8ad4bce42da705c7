"""`whistle web` (gunicorn) stopped with SIGTERM under a stream of tips and started again: every tip answered 200 is
stored once, and tips whose request failed are stored once when the platform sends them again."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from storage.db import make_engine, migrate
from tests.faults.support import (
    TipStream,
    free_port,
    port_open,
    service_env,
    stored_markers,
    wait_until,
    whistle,
    write_config,
)
from tests.support.harness import wipe_database

pytestmark = pytest.mark.slow


def fresh_database(database_url: str, tmp_path) -> str:
    url = database_url
    if make_url(database_url).get_backend_name() == "sqlite":
        url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    migrate(engine)
    wipe_database(engine)
    engine.dispose()
    return url


def test_tips_survive_a_graceful_restart_of_the_web_process(tmp_path, database_url, redis_url, redis_conn, spawn):
    db = fresh_database(database_url, tmp_path)
    config = write_config(tmp_path, database_url=db, redis_url=redis_url, api="http://127.0.0.1:9")
    env = service_env(config)
    port = free_port()
    args = whistle("web", "--port", str(port))
    web = spawn("web-1", args, env)
    wait_until(lambda: port_open(port), 30, lambda: f"the web process to listen\n{web.tail()}")

    stream = TipStream(f"http://127.0.0.1:{port}/wechat").start()
    try:
        wait_until(lambda: stream.count(lambda t: t.replied) >= 30, 30, "30 tips answered before the restart")
        assert web.terminate(timeout=30) == 0, web.tail()  # graceful: requests in flight are finished
        stopped_at = len(stream.tips)
        web = spawn("web-2", args, env)
        wait_until(lambda: port_open(port), 30, lambda: f"the web process to listen again\n{web.tail()}")
        wait_until(
            lambda: stream.count(lambda t: t.replied, since=stopped_at) >= 30, 30, "30 tips answered after the restart"
        )
    finally:
        stream.stop()
    tips = stream.tips
    failed = [t for t in tips if not t.acknowledged]
    assert failed, "no tip arrived while the web process was down"
    assert all(t.replied for t in tips if t.acknowledged), "a 200 without the conversation's reply"

    # The platform retries what got no answer (same MsgId), and may retry what did: both stored once.
    for tip in failed:
        wait_until(lambda tip=tip: stream.post(tip)[0] == 200, 10, f"tip {tip.marker} to be accepted on retry")
    for tip in tips[:: max(1, len(tips) // 10)]:
        first_reply = next(reply for status, reply in tip.answers if status == 200)
        assert stream.post(tip) == (200, first_reply)

    stored = stored_markers(db)
    assert set(stored) == {t.marker for t in tips}
    assert set(stored.values()) == {1}
    print(f"{len(tips)} tips, {len(failed)} refused while the web process restarted, all stored once")
