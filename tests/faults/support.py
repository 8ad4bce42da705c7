"""Real processes for fault tests: a private redis-server, `whistle web`/`whistle worker` subprocesses, their
configuration, polling with deadlines, and the database locks that pin a worker inside a transaction."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import redis
from rq import Queue
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from bot.queue import QUEUES
from tests.support.harness import AES_KEY, APP_ID, APP_SECRET, IDENTITY_KEY, TOKEN
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# One inspector per section (a person belongs to one section), so every triaged case sends a card wherever it goes.
INSPECTORS = {
    "office": "oInspector-office",
    "industry": "oInspector-industry",
    "commerce": "oInspector-commerce",
    "tech": "oInspector-tech",
}
SECTIONS: list[dict[str, Any]] = [
    {"id": "office", "name": "办公室", "industries": [], "categories": ["management"]},
    {
        "id": "industry",
        "name": "工业股",
        "industries": ["机械", "冶金", "有色"],
        "categories": ["dust", "molten_metal", "machinery"],
    },
    {
        "id": "commerce",
        "name": "商务股",
        "industries": ["商场超市", "仓储物流", "冷库冷链"],
        "categories": ["ammonia", "storage"],
    },
    {"id": "tech", "name": "科技股", "industries": ["科技型企业"], "categories": []},
]
for _section in SECTIONS:
    _section["inspectors"] = [INSPECTORS[_section["id"]]]


def wait_until(predicate: Callable[[], T], timeout: float, what: str | Callable[[], str], interval: float = 0.05) -> T:
    """Poll until `predicate` returns something truthy; fail naming `what` (a callable: computed then) after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {described} (last: {value!r})")
        time.sleep(interval)


def poll(predicate: Callable[[], T], timeout: float, interval: float = 0.02) -> T | None:
    """The first truthy value of `predicate` within `timeout` seconds, else None (for a step that may be retried)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Proc:
    """A child process in its own process group, logging to a file; `close` ends the whole group."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.args, self.log_path = args, log
        self._log = log.open("ab")
        self.popen = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive:
            os.kill(self.pid, signum)

    def kill9(self) -> None:
        """SIGKILL the process itself (not its children), as `kill -9 <pid>` would, and reap it."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def kill_group(self) -> None:
        """SIGKILL the process and every child it forked (RQ's scheduler), as a container or OOM-kill of the
        group would, and reap it."""
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        self.signal(signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def close(self) -> None:
        """End everything this process started (a worker's forked scheduler outlives a SIGKILL of the worker)."""
        try:
            if self.alive:
                self.popen.terminate()
                with suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=15)
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            if self.alive:
                self.popen.wait(timeout=10)
        finally:
            self._log.close()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class RedisServer:
    """A private redis-server that keeps nothing on disk: stopping it loses every queue, as a crash would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: Proc | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.directory)]
        self.proc = Proc(args, env=dict(os.environ), log=self.directory / "redis.log", cwd=self.directory)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.5)
        try:
            wait_until(lambda: self._pings(client), 10, "redis-server to accept connections")
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate(timeout=10)
            self.proc.close()
            self.proc = None

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(value)


def write_config(
    tmp: Path, *, database_url: str, redis_url: str, api: str, sections: list[dict[str, Any]] | None = None
) -> Path:
    """A config file for `whistle` subprocesses, equal to what `make_settings` gives the in-process harness."""
    tables: dict[str, dict[str, Any]] = {
        "wechat": {
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "api_base_url": api,
            "timeout_seconds": 2.0,
        },
        "redis": {"url": redis_url},
        "database": {"url": database_url},
        "storage": {"dir": str(tmp / "var")},
        "media": {"dir": str(tmp / "media")},
        "security": {"identity_key": IDENTITY_KEY},
        "report": {"draft_window_seconds": 300},
        "webhook": {"max_clock_skew_seconds": 300},
        "routing": {"enterprises": str(ROOT / "bot" / "rules" / "enterprises.csv")},
    }
    lines: list[str] = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
        lines.append("")
    for section in sections if sections is not None else SECTIONS:
        lines.append("[[sections]]")
        lines += [f"{key} = {_toml(value)}" for key, value in section.items()]
        lines.append("")
    path = tmp / "whistle-faults.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def service_env(config: Path) -> dict[str, str]:
    """The environment of a `whistle` subprocess: this one's, minus any WHISTLE_ setting, plus the config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHISTLE_")}
    env["WHISTLE_CONFIG"] = str(config)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def whistle(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def started_jobs(connection: redis.Redis) -> list[str]:
    """Ids of jobs RQ believes are running right now, over all our queues."""
    ids: list[str] = []
    for name in QUEUES:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        ids += StartedJobRegistry(queue=queue).get_job_ids(cleanup=False)
    return ids


def declare_abandoned(connection: redis.Redis) -> None:
    """Fast-forward RQ's clocks after a worker group was killed, instead of waiting minutes for them:

    - its running job: RQ's maintenance (every 10 minutes) retries or fails it once its heartbeat has expired (job
      timeout + 60 s = 180 s);
    - its scheduler's lock (61 s TTL): a replacement worker started after it expired runs the scheduler, which
      enqueues that retry when due.
    """
    far = time.time() + 86400
    for name in QUEUES:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        StartedJobRegistry(queue=queue).cleanup(timestamp=far)
        connection.delete(RQScheduler.get_locking_key(name))


@contextmanager
def write_lock(
    database_url: str, *, table: str, row_id: int | None = None
) -> Iterator[Connection | sqlite3.Connection]:
    """Hold a lock that stops other transactions from writing `table` (SQLite: the whole database).

    The worker's next write to it waits (its busy timeout is 15 s), so a test can kill it inside that transaction.
    Yields a connection in the locking transaction, which can still read.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        raw = sqlite3.connect(url.database, isolation_level=None, timeout=15)
        try:
            raw.execute("BEGIN IMMEDIATE")
            yield raw
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        return
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if row_id is None:
                conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
            else:
                conn.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": row_id})
            try:
                yield conn
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def scalar(conn: Connection | sqlite3.Connection, sql: str, **params: Any) -> Any:
    """One value from a connection of `write_lock`, whichever backend."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(sql, params).fetchone()[0]
    return conn.execute(text(sql), params).scalar()


def open_windows(harness: Any) -> None:
    """Inspectors open their 48-hour customer-service window by writing to the account."""
    from bot.wechat import messages

    for openid in INSPECTORS.values():
        harness.say(messages.text(openid, "帮助"))


class Tip:
    """One distinct message as the platform sends it; re-posting it is a platform retry (same MsgId)."""

    def __init__(self, index: int, sender: str) -> None:
        from bot.wechat import messages

        self.index, self.sender = index, sender
        self.marker = f"W{index:05d}"
        self.xml = messages.text(sender, f"第{index}条：车间通道堆放杂物 {self.marker}")
        self.answers: list[tuple[int | None, str]] = []  # (HTTP status or None when the request failed, reply)

    @property
    def acknowledged(self) -> bool:
        """Answered 200: the platform will not send it again."""
        return any(status == 200 for status, _ in self.answers)

    @property
    def replied(self) -> bool:
        """Answered 200 with the conversation's reply (not a bare `success`)."""
        return any(status == 200 and reply for status, reply in self.answers)


class TipStream:
    """Posts distinct signed tips to a webhook from a thread, one after another, recording every answer."""

    def __init__(self, url: str, senders: int = 8, limit: int = 2000) -> None:
        import threading

        self.url, self.senders, self.limit = url, senders, limit
        self.tips: list[Tip] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tip-stream", daemon=True)

    def post(self, tip: Tip) -> tuple[int | None, str]:
        answer = self.post_xml(tip.xml)
        tip.answers.append(answer)
        return answer

    def post_xml(self, xml: str) -> tuple[int | None, str]:
        import requests

        from bot.wechat import messages

        request = messages.signed(xml, TOKEN)
        try:
            response = requests.post(
                self.url, params=request.query, data=request.body, headers={"Content-Type": "text/xml"}, timeout=10
            )
            answer = (response.status_code, messages.read_reply(response.content) if response.ok else "")
        except requests.RequestException as exc:
            answer = (None, type(exc).__name__)
        return answer

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.tips) < self.limit:
            tip = Tip(len(self.tips), f"oWorker-stream-{len(self.tips) % self.senders}")
            self.tips.append(tip)
            if self.post(tip)[0] is None:
                self._stop.wait(0.02)  # a refused connection returns at once: pace the platform's next tip

    def start(self) -> TipStream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def count(self, predicate: Callable[[Tip], bool], since: int = 0) -> int:
        return sum(1 for tip in list(self.tips)[since:] if predicate(tip))


def stored_markers(database_url: str) -> Counter[str]:
    """How many stored inbound messages carry each tip's marker."""
    import re

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            payloads = conn.execute(text("SELECT payload FROM inbound_messages")).scalars().all()
    finally:
        engine.dispose()
    found: Counter[str] = Counter()
    for payload in payloads:
        found.update(re.findall(r"W\d{5}", json.dumps(payload, ensure_ascii=False)))
    return found
