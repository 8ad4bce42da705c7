"""The application factory. Entry points (gunicorn, `whistle run`, tests) call `create_app`."""

from __future__ import annotations

import time

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings, load_settings
from bot.metrics import StateCollector, WebMetrics
from bot.services import Services, build_services


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or (services.settings if services else load_settings())
    services = services or build_services(settings, role="web")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_body_bytes * 4
    app.extensions["whistle"] = services
    registry = CollectorRegistry()
    metrics = WebMetrics(registry)
    registry.register(StateCollector(services))

    from bot.webhook import bp as webhook

    app.register_blueprint(webhook)

    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        if request.path == "/wechat" and request.method == "POST":
            metrics.answered(response.status_code, time.perf_counter() - g.started)
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        """The process is alive."""
        return Response("ok", mimetype="text/plain")

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        """Ready when the database answers. Redis being down degrades (work waits for the sweeper) but is reported."""
        checks: dict[str, object] = {}
        try:
            with services.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except SQLAlchemyError as exc:
            checks["database"] = f"down: {type(exc).__name__}"
        try:
            services.redis.ping()
            checks["redis"] = "ok"
            checks["queues"] = services.queue.depths()
        except Exception as exc:  # noqa: BLE001 - any Redis client failure means "down" here
            checks["redis"] = f"down: {type(exc).__name__}"
        checks["spool"] = len(services.spool.pending())
        return jsonify(checks), 200 if checks["database"] == "ok" else 503

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return app
