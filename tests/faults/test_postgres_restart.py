"""PostgreSQL stopped and started under a stream of tips, on a private cluster (the machine's shared server is never
touched): the web and worker processes recover by themselves, and every tip answered with a reply is stored once.

Runs only when WHISTLE_TEST_DATABASE_URL is set (the suite is then meant to use PostgreSQL).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Worker
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.wechat import messages as msg
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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("WHISTLE_TEST_DATABASE_URL"), reason="needs WHISTLE_TEST_DATABASE_URL"),
]


class Cluster:
    """A throwaway PostgreSQL cluster on a free port (run as the postgres user when the tests run as root)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            pytest.skip("no pg_ctl under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="whistle-pg-"))
        self.data = self.dir / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser: initdb refuses root")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=timeout, cwd=self.dir)

    def init(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg = Cluster()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.remove()


def count(url: str, sql: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def test_the_service_rides_out_a_postgresql_restart(cluster, tmp_path, redis_url, redis_conn, spawn):
    config = write_config(tmp_path, database_url=cluster.url, redis_url=redis_url, api="http://127.0.0.1:9")
    env = service_env(config)
    port = free_port()
    web = spawn("web", whistle("web", "--port", str(port)), env)
    wait_until(lambda: port_open(port), 40, lambda: f"the web process to listen\n{web.tail()}")
    worker = spawn("worker", whistle("worker", "--sweep-interval", "1"), env)
    # Registered with RQ only once it has started (staff synced, rules loaded): one that PostgreSQL stops while it
    # starts exits, to be restarted by its supervisor, which this test does not have.
    wait_until(lambda: Worker.all(connection=redis_conn), 40, lambda: f"the worker to start\n{worker.tail()}")

    stream = TipStream(f"http://127.0.0.1:{port}/wechat").start()
    try:
        wait_until(lambda: stream.count(lambda t: t.replied) >= 20, 30, "20 tips answered before the outage")
        cluster.stop()
        down_from = len(stream.tips)
        wait_until(lambda: len(stream.tips) - down_from >= 10, 30, "10 tips sent while PostgreSQL is down")
        down_until = len(stream.tips)
        cluster.start()
        wait_until(
            lambda: stream.count(lambda t: t.replied, since=down_until) >= 20, 30, "20 tips answered after the restart"
        )
    finally:
        stream.stop()

    tips = stream.tips
    outage = tips[down_from:down_until]
    refused = [t for t in outage if not t.acknowledged]
    for tip in refused:  # what got no 200 is sent again by the platform
        wait_until(lambda tip=tip: stream.post(tip)[0] == 200, 10, f"tip {tip.marker} to be accepted on retry")
    # Every acknowledged tip is stored once: directly, or (answered while the database was down) from the web
    # process's spool, which the worker's sweeper replays.
    acknowledged = {t.marker for t in tips if t.acknowledged}

    def all_stored() -> bool:
        return acknowledged <= set(stored_markers(cluster.url))

    wait_until(all_stored, 40, lambda: f"every acknowledged tip to be stored\n{worker.tail()}")
    stored = stored_markers(cluster.url)
    assert set(stored.values()) == {1}, [m for m, n in stored.items() if n > 1]

    # The worker recovered too: reports submitted now are triaged.
    senders = sorted({tip.sender for tip in tips})
    for sender in senders:
        answer = stream.post_xml(msg.text(sender, "提交"))
        assert answer[0] == 200 and "案件编号" in answer[1], answer
    wait_until(
        lambda: count(cluster.url, "SELECT count(*) FROM cases WHERE triage_status = 'done'") == len(senders),
        40,
        lambda: f"the worker to triage every case\n{worker.tail()}",
    )
    spooled = sum(1 for t in outage if t.acknowledged and t.answers[0][0] == 200)
    print(f"{len(tips)} tips; {len(outage)} while PostgreSQL was down: {spooled} acknowledged, {len(refused)} refused")
