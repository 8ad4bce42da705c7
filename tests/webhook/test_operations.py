"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from bot.wechat import messages as msg


def test_healthz_and_readyz(harness):
    assert harness.client.get("/healthz").data == b"ok"
    ready = harness.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["database"] == "ok" and body["redis"] == "ok" and set(body["queues"]) and body["spool"] == 0


def test_readyz_reports_a_dead_database_as_not_ready(harness):
    from storage.db import make_engine

    harness.services.engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    ready = harness.client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["database"].startswith("down")


def test_metrics_count_requests_and_read_the_state(harness):
    harness.say(msg.text("oMetricsWorker", "车间电线裸露"))
    harness.client.post("/wechat", data=b"<xml/>")  # unsigned: 403
    text = harness.client.get("/metrics").data.decode()
    assert 'whistle_webhook_requests_total{answer="200"} 1.0' in text
    assert 'whistle_webhook_requests_total{answer="403"} 1.0' in text
    assert "whistle_webhook_seconds_bucket" in text
    assert 'whistle_queue_depth{queue="whistle-intake"}' in text
    assert "whistle_spool_messages 0.0" in text
    assert "oMetricsWorker" not in text
