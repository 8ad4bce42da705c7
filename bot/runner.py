"""`whistle run`: web, worker (with its scheduler and sweeper) and, for a laptop, the embedded Redis and the fake
WeChat API, as one process group that starts and stops together."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from bot.config import Settings
from bot.redis_conn import embedded_redis_url
from storage.db import make_engine, migrate

log = logging.getLogger(__name__)


def run_all(settings: Settings, *, host: str, port: int, sandbox: bool, sandbox_port: int) -> int:
    env = dict(os.environ)
    if not settings.redis_url:
        env["WHISTLE_REDIS__URL"] = embedded_redis_url(settings.storage_dir)
        print(f"embedded Redis: {env['WHISTLE_REDIS__URL']}", flush=True)
    fake = None
    if sandbox:
        from bot.wechat.fake_api import FakeWeChatAPI

        fake = FakeWeChatAPI(settings.wechat.app_id, settings.wechat.app_secret, port=sandbox_port).start()
        env["WHISTLE_WECHAT__API_BASE_URL"] = fake.base_url
        print(f"sandbox: fake WeChat API at {fake.base_url} (see {fake.base_url}/__fake__/messages)", flush=True)
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    me = [sys.executable, "-m", "bot.cli"]
    children = [
        subprocess.Popen([*me, "web", "--host", host, "--port", str(port)], env=env),  # noqa: S603
        subprocess.Popen([*me, "worker"], env=env),  # noqa: S603
    ]
    print(f"whistle: webhook at http://{host}:{port}/wechat  (Ctrl-C stops everything)", flush=True)
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    log.error("a child process exited (%s); stopping the others", child.returncode)
                    code = child.returncode or 1
                    stop(signal.SIGTERM, None)
            time.sleep(0.5)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    finally:
        if fake is not None:
            fake.stop()
    return code
