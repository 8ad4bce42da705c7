"""Configuration: defaults, then the file, then WHISTLE_<TABLE>__<KEY>; every problem named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


def test_repository_config_loads_with_embedded_defaults():
    s = load_settings(REPO_CONFIG, environ={})
    assert s.database_url.startswith("sqlite:///") and s.redis_url == ""
    assert s.reference_prefix == "AQ" and s.draft_window_seconds == 300
    assert {sec.id for sec in s.sections} >= {"office", "industry", "commerce"}
    assert s.routing.enterprises is not None and s.routing.enterprises.is_file()  # found next to the config file


def test_environment_overrides_with_types():
    env = {
        "WHISTLE_WECHAT__APP_SECRET": "from-env",
        "WHISTLE_REPORT__DRAFT_WINDOW_SECONDS": "60",
        "WHISTLE_WECHAT__TIMEOUT_SECONDS": "1.5",
    }
    s = load_settings(REPO_CONFIG, environ=env)
    assert s.wechat.app_secret == "from-env" and s.draft_window_seconds == 60 and s.wechat.timeout_seconds == 1.5


def test_whistle_config_names_another_file(tmp_path):
    other = tmp_path / "bureau.toml"
    other.write_text('[wechat]\napp_id="wxB"\napp_secret="s"\ntoken="t"\n[report]\nreference_prefix="SX"\n')
    s = load_settings(environ={"WHISTLE_CONFIG": str(other)})
    assert s.wechat.app_id == "wxB" and s.reference_prefix == "SX" and s.source == str(other)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"WHISTLE_WECHAT__ENCODING_AES_KEY": "short"}, "wechat.encoding_aes_key"),
        ({"WHISTLE_WECHAT__TOKEN": ""}, "wechat.token"),
        ({"WHISTLE_REPORT__DRAFT_WINDOW_SECONDS": "soon"}, "WHISTLE_REPORT__DRAFT_WINDOW_SECONDS"),
        ({"WHISTLE_REPORT__DRAFT_WINDOW_SECONDS": "0"}, "report.draft_window_seconds"),
        ({"WHISTLE_REDIS__URL": "http://x"}, "redis.url"),
        ({"WHISTLE_DATABASE__URL": "mysql://x"}, "database.url"),
        ({"WHISTLE_REPORT__REFERENCE_PREFIX": "aq-"}, "report.reference_prefix"),
        ({"WHISTLE_REPORT__TIMEZONE": "Mars/Base"}, "report.timezone"),
        ({"WHISTLE_SECURITY__IDENTITY_KEY": "abc"}, "security.identity_key"),
        ({"WHISTLE_WECHAT__NO_SUCH_KEY": "x"}, "wechat.no_such_key"),
        ({"WHISTLE_ROUTING__DEFAULT_SECTION": "nobody"}, "routing.default_section"),
        ({"WHISTLE_CONFIG": "/nonexistent/whistle.toml"}, "WHISTLE_CONFIG"),
    ],
)
def test_a_wrong_value_stops_start_up_naming_the_key(env, names):
    with pytest.raises(ConfigError) as info:
        load_settings(None if "WHISTLE_CONFIG" in env else REPO_CONFIG, environ=env)
    assert names in str(info.value)


def test_all_problems_are_reported_at_once():
    env = {"WHISTLE_WECHAT__TOKEN": "", "WHISTLE_REPORT__REFERENCE_PREFIX": "x y"}
    with pytest.raises(ConfigError) as info:
        load_settings(REPO_CONFIG, environ=env)
    assert len(info.value.problems) == 2


def test_broken_toml_is_reported_with_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[wechat\n")
    with pytest.raises(ConfigError) as info:
        load_settings(bad, environ={})
    assert "bad.toml" in str(info.value)


def test_the_judged_examples_are_bundled_switchable_and_found_next_to_the_config(tmp_path):
    from bot.triage import load_routing_rules
    from bot.triage.errors import RulesError

    def examples(environ, path=REPO_CONFIG):
        return load_routing_rules(**load_settings(path, environ=environ).rule_sources()).examples

    assert examples({}) is not None  # the bundled ones, with the bundled criteria
    assert examples({"WHISTLE_ROUTING__EXAMPLES": "-"}) is None
    bureau = tmp_path / "bureau.toml"
    bureau.write_text(REPO_CONFIG.read_text().replace('examples = ""', 'examples = "ours.toml"'))
    with pytest.raises(RulesError, match=str(tmp_path / "ours.toml")):
        examples({}, bureau)  # looked up next to bureau.toml, where there is none yet
