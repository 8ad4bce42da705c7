"""`whistle web`: the Flask app under gunicorn (threaded workers; each worker process builds its own services)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from bot.config import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from bot.app import create_app

        return create_app(self.settings)


def default_workers(database_url: str) -> int:
    """SQLite takes one writer at a time. A second web process does acknowledge more messages a second on their own
    (webhook bench, 2026-11-30: 614 against 430) but takes the second core from the workers and their share of the
    write lock: end to end at 50 tips/s, p95 went from 0.9 s to 4.6 s. PostgreSQL takes two (a 2-core class of
    machine)."""
    return 1 if database_url.startswith("sqlite") else 2


def serve(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "whistle-web",
    }
    _Gunicorn(settings, options).run()
