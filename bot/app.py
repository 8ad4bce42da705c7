"""The application factory. Entry points (gunicorn, `whistle run`, tests) call `create_app`."""

from __future__ import annotations

from flask import Flask, Response

from bot.config import Settings, load_settings
from bot.services import Services, build_services


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or (services.settings if services else load_settings())
    services = services or build_services(settings, role="web")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_body_bytes * 4
    app.extensions["whistle"] = services

    from bot.webhook import bp as webhook

    app.register_blueprint(webhook)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    return app
