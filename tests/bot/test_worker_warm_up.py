"""A worker builds the triage engine when it starts, so the first tip after a start does not wait for it; rules that
do not load are reported then, and the worker still runs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.services import build_services
from bot.triage.errors import RulesError
from bot.wechat.fake_api import FakeWeChatAPI
from bot.worker import warm_up
from tests.support.harness import Harness, make_settings


def test_the_triage_engine_is_built_before_the_first_job(harness: Harness) -> None:
    assert "triage" not in vars(harness.services)
    warm_up(harness.services)
    assert "triage" in vars(harness.services)
    assert harness.services.triage.triage("宏达机械厂车间配电箱门坏了").section is not None


def test_rules_that_do_not_load_are_reported_at_start_and_the_worker_goes_on(
    tmp_path: Path, database_url: str, redis_url: str, fake_wechat: FakeWeChatAPI, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "lexicon.toml"
    broken.write_text("[categories\nthis is not toml", encoding="utf-8")
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        api=fake_wechat.base_url,
        **{"routing.lexicon": str(broken)},
    )
    services = build_services(settings, role="worker")
    try:
        with caplog.at_level(logging.ERROR, logger="bot.worker"):
            warm_up(services)
        assert "triage rules do not load" in caplog.text
        assert "triage" not in vars(services)  # not cached: a triage job tries again (and fails the same way)
        with pytest.raises(RulesError, match="invalid TOML"):
            _ = services.triage
    finally:
        services.close()
