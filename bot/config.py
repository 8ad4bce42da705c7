"""Configuration: built-in defaults, then a TOML file, then WHISTLE_<TABLE>__<KEY> environment variables.

The file is `config.toml` in the working directory unless WHISTLE_CONFIG names another one. Every value is checked
at start-up; a wrong or missing one stops the service with a message naming the key and what it expects.
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "WHISTLE_"
CONFIG_ENV = "WHISTLE_CONFIG"

DEFAULTS: dict[str, Any] = {
    "wechat": {
        "app_id": "",
        "app_secret": "",
        "token": "",
        "encoding_aes_key": "",
        "api_base_url": "https://api.weixin.qq.com",
        "timeout_seconds": 5.0,
        "status_template_id": "",
        "status_template_keys": "character_string1,phrase2,thing3",
    },
    "redis": {"url": "", "socket_timeout": 0.25},
    "database": {"url": "sqlite:///var/whistle.db"},
    "storage": {"dir": "var"},
    "media": {"dir": "var/media", "max_bytes": 20 * 1024 * 1024},
    "security": {"identity_key": "", "erase_after_days": 30},
    "report": {"draft_window_seconds": 300, "reference_prefix": "AQ", "timezone": "Asia/Shanghai"},
    "webhook": {"max_body_bytes": 64 * 1024, "max_clock_skew_seconds": 300, "per_user_per_minute": 30},
    "routing": {
        "default_section": "office",
        "enterprises": "",
        "lexicon": "",
        "major_criteria": "",
        "transfers": "",
        "examples": "",
    },
    "deadlines": {
        "accept_working_hours": 8,
        "verify_days": 60,
        "extension_max_days": 30,
        "objection_days": 10,
        "confirm_days": 7,
        "remind_before_hours": 24,
        "escalate_leaders_after_hours": 48,
        "digest_hour": 8,
        "workday_start": "08:30",
        "workday_end": "17:30",
    },
    "bureau": {"name": "县经济和商务局", "leaders": []},
    "rewards": {"claim_contact": "请携带身份证明和查询码到局办公室申领，或拨打举报电话咨询。"},
    "sections": [],
}


class ConfigError(ValueError):
    """A configuration value is missing or wrong. The message names the key and what it expects."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class WeChatSettings:
    app_id: str
    app_secret: str
    token: str
    encoding_aes_key: str
    api_base_url: str
    timeout_seconds: float
    status_template_id: str
    status_template_keys: tuple[str, str, str]


@dataclass(frozen=True)
class SectionSettings:
    id: str
    name: str
    inspectors: tuple[str, ...]
    industries: tuple[str, ...]
    categories: tuple[str, ...]
    heads: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "inspectors": list(self.inspectors),
            "industries": list(self.industries),
            "categories": list(self.categories),
        }


@dataclass(frozen=True)
class RoutingSettings:
    default_section: str
    enterprises: Path | None
    lexicon: Path | None
    major_criteria: Path | None
    transfers: Path | None
    examples: Path | str | None  # None: the bundled examples (with the bundled criteria); "-": no examples


@dataclass(frozen=True)
class DeadlineSettings:
    accept_working_hours: int
    verify_days: int
    extension_max_days: int
    objection_days: int
    confirm_days: int
    remind_before_hours: int
    escalate_leaders_after_hours: int
    digest_hour: int
    workday_start: time
    workday_end: time


@dataclass(frozen=True)
class Settings:
    wechat: WeChatSettings
    redis_url: str
    redis_socket_timeout: float
    database_url: str
    storage_dir: Path
    media_dir: Path
    media_max_bytes: int
    identity_key: str
    erase_after_days: int
    draft_window_seconds: int
    reference_prefix: str
    timezone: ZoneInfo
    webhook_max_body_bytes: int
    webhook_max_clock_skew_seconds: int
    webhook_per_user_per_minute: int
    routing: RoutingSettings
    deadlines: DeadlineSettings
    bureau_name: str
    leaders: tuple[str, ...]
    reward_claim_contact: str
    sections: tuple[SectionSettings, ...] = field(default_factory=tuple)
    source: str = "defaults"

    def rule_sources(self) -> dict[str, Any]:
        """The arguments of bot.triage.load_routing_rules / validate_rules, from this configuration."""
        r = self.routing
        return {
            "sections": [s.as_dict() for s in self.sections],
            "default_section": r.default_section,
            "enterprises_csv": r.enterprises,
            "lexicon_path": r.lexicon,
            "major_criteria_path": r.major_criteria,
            "transfers_path": r.transfers,
            "examples_path": r.examples,
        }


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read defaults, the file, then the environment (then `overrides`, for tests); validate everything."""
    environ = os.environ if environ is None else environ
    raw = copy.deepcopy(DEFAULTS)
    source = "defaults"
    file_path = Path(path) if path else Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None
    if file_path is None and Path("config.toml").is_file():
        file_path = Path("config.toml")
    if file_path is not None:
        _merge(raw, _read_toml(file_path), where=str(file_path))
        source = str(file_path)
    _merge(raw, _from_environ(environ, raw), where="environment")
    if overrides:
        _merge(raw, _nest(overrides), where="overrides")
    _anchor_rule_paths(raw, file_path)
    return _validate(raw, source)


def _examples(value: str | None) -> Path | str | None:
    value = (value or "").strip()
    return None if not value else "-" if value == "-" else Path(value)


def _anchor_rule_paths(raw: dict[str, Any], file_path: Path | None) -> None:
    """Rule files named in a config file are found next to that file, wherever the service is started from."""
    if file_path is None:
        return
    base = file_path.resolve().parent
    for key in ("enterprises", "lexicon", "major_criteria", "transfers", "examples"):
        value = raw["routing"].get(key)
        if isinstance(value, str) and value and value != "-" and not Path(value).is_absolute():
            raw["routing"][key] = str(base / value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{CONFIG_ENV}: file {path} does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{"wechat.token": "x"} or {"wechat": {...}} -> nested tables."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if "." in key:
            table, name = key.split(".", 1)
            nested.setdefault(table, {})[name] = value
        else:
            nested[key] = value
    return nested


def _from_environ(environ: Mapping[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """WHISTLE_WECHAT__APP_SECRET=... -> {"wechat": {"app_secret": "..."}}, typed like the current value."""
    found: dict[str, Any] = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == CONFIG_ENV:
            continue
        table, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if table == "sections":
            raise ConfigError([f"{name}: sections can only be configured in the file"])
        base = current.get(table, {}).get(key) if isinstance(current.get(table), dict) else None
        found.setdefault(table, {})[key] = _coerce_env(name, text, base)
    return found


def _coerce_env(name: str, text: str, like: Any) -> Any:
    if isinstance(like, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    try:
        if isinstance(like, bool):
            return text.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
    except ValueError:
        raise ConfigError([f"{name}: expected a {type(like).__name__}, got {text!r}"]) from None
    return text


def _merge(into: dict[str, Any], new: Mapping[str, Any], where: str) -> None:
    problems = []
    for table, values in new.items():
        if table not in DEFAULTS:
            problems.append(f"{table}: unknown table (in {where}); known: {', '.join(sorted(DEFAULTS))}")
            continue
        if table == "sections":
            into["sections"] = values
            continue
        if not isinstance(values, Mapping):
            problems.append(f"{table}: expected a table (in {where})")
            continue
        for key, value in values.items():
            if key not in DEFAULTS[table]:
                known = ", ".join(sorted(DEFAULTS[table]))
                problems.append(f"{table}.{key}: unknown key (in {where}); known: {known}")
            else:
                into[table][key] = value
    if problems:
        raise ConfigError(problems)


class _Checker:
    """Collects every problem instead of stopping at the first, so one run shows them all."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.problems: list[str] = []

    def get(self, table: str, key: str, kind: type, *, required: bool = False) -> Any:
        value = self.raw[table][key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.append(f"{table}.{key}: expected a {kind.__name__}, got {value!r}")
            return DEFAULTS[table][key]
        if required and isinstance(value, str) and not value.strip():
            self.problems.append(f"{table}.{key}: required, set it in the file or as {env_name(table, key)}")
        return value

    def positive(self, table: str, key: str, kind: type) -> Any:
        value = self.get(table, key, kind)
        if value <= 0:
            self.problems.append(f"{table}.{key}: expected a positive number, got {value!r}")
        return value

    def path(self, table: str, key: str) -> Path | None:
        text = self.get(table, key, str)
        return Path(text) if text else None


def env_name(table: str, key: str) -> str:
    return f"{ENV_PREFIX}{table.upper()}__{key.upper()}"


def _validate(raw: dict[str, Any], source: str) -> Settings:
    c = _Checker(raw)
    wechat = WeChatSettings(
        app_id=c.get("wechat", "app_id", str, required=True),
        app_secret=c.get("wechat", "app_secret", str, required=True),
        token=c.get("wechat", "token", str, required=True),
        encoding_aes_key=c.get("wechat", "encoding_aes_key", str),
        api_base_url=c.get("wechat", "api_base_url", str, required=True).rstrip("/"),
        timeout_seconds=c.positive("wechat", "timeout_seconds", float),
        status_template_id=c.get("wechat", "status_template_id", str),
        status_template_keys=_template_keys(c),
    )
    _check_aes_key(c, wechat.encoding_aes_key)
    _check_url(c, "wechat.api_base_url", wechat.api_base_url, {"http", "https"})
    redis_url = c.get("redis", "url", str)
    if redis_url:
        _check_url(c, "redis.url", redis_url, {"redis", "rediss", "unix"})
    database_url = c.get("database", "url", str, required=True)
    if database_url and not database_url.startswith(("sqlite", "postgresql")):
        c.problems.append(f"database.url: expected sqlite:///path or postgresql+psycopg://..., got {database_url!r}")
    prefix = c.get("report", "reference_prefix", str, required=True)
    if prefix and not (prefix.isascii() and prefix.isalnum() and prefix.isupper() and len(prefix) <= 6):
        c.problems.append(f"report.reference_prefix: expected 1-6 capital letters or digits, got {prefix!r}")
    tz = _timezone(c, c.get("report", "timezone", str))
    identity_key = c.get("security", "identity_key", str)
    if identity_key:
        _check_identity_key(c, identity_key)
    sections = _sections(c, raw["sections"])
    routing = RoutingSettings(
        default_section=c.get("routing", "default_section", str, required=True),
        enterprises=c.path("routing", "enterprises"),
        lexicon=c.path("routing", "lexicon"),
        major_criteria=c.path("routing", "major_criteria"),
        transfers=c.path("routing", "transfers"),
        examples=_examples(c.get("routing", "examples", str)),
    )
    if sections and routing.default_section not in {s.id for s in sections}:
        c.problems.append(f"routing.default_section: {routing.default_section!r} is not the id of any [[sections]]")
    settings = Settings(
        wechat=wechat,
        redis_url=redis_url,
        redis_socket_timeout=c.positive("redis", "socket_timeout", float),
        database_url=database_url,
        storage_dir=Path(c.get("storage", "dir", str, required=True)),
        media_dir=Path(c.get("media", "dir", str, required=True)),
        media_max_bytes=c.positive("media", "max_bytes", int),
        identity_key=identity_key,
        erase_after_days=c.positive("security", "erase_after_days", int),
        draft_window_seconds=c.positive("report", "draft_window_seconds", int),
        reference_prefix=prefix,
        timezone=tz,
        webhook_max_body_bytes=c.positive("webhook", "max_body_bytes", int),
        webhook_max_clock_skew_seconds=c.get("webhook", "max_clock_skew_seconds", int),
        webhook_per_user_per_minute=c.positive("webhook", "per_user_per_minute", int),
        routing=routing,
        deadlines=_deadlines(c),
        bureau_name=c.get("bureau", "name", str, required=True),
        leaders=_strings(c, "bureau", "leaders"),
        reward_claim_contact=c.get("rewards", "claim_contact", str, required=True),
        sections=sections,
        source=source,
    )
    if c.problems:
        raise ConfigError(c.problems)
    return settings


def _template_keys(c: _Checker) -> tuple[str, str, str]:
    keys = tuple(k.strip() for k in c.get("wechat", "status_template_keys", str).split(","))
    if len(keys) != 3 or not all(keys):
        c.problems.append(
            "wechat.status_template_keys: expected the template's three field names for reference, status and "
            "detail, comma-separated, e.g. character_string1,phrase2,thing3"
        )
        return ("reference", "status", "detail")
    return (keys[0], keys[1], keys[2])


def _deadlines(c: _Checker) -> DeadlineSettings:
    numbers = {
        key: c.positive("deadlines", key, int)
        for key in (
            "accept_working_hours",
            "verify_days",
            "extension_max_days",
            "objection_days",
            "confirm_days",
            "remind_before_hours",
            "escalate_leaders_after_hours",
        )
    }
    hour = c.get("deadlines", "digest_hour", int)
    if not 0 <= hour <= 23:
        c.problems.append(f"deadlines.digest_hour: expected an hour 0-23, got {hour}")
    start, end = _clock(c, "workday_start"), _clock(c, "workday_end")
    if start >= end:
        c.problems.append("deadlines.workday_start: must be before deadlines.workday_end")
    return DeadlineSettings(**numbers, digest_hour=hour, workday_start=start, workday_end=end)


def _clock(c: _Checker, key: str) -> time:
    text = c.get("deadlines", key, str)
    try:
        return time.fromisoformat(text)
    except ValueError:
        c.problems.append(f"deadlines.{key}: expected a time of day such as 08:30, got {text!r}")
        return time(0)


def _strings(c: _Checker, table: str, key: str) -> tuple[str, ...]:
    value = c.raw[table][key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        c.problems.append(f"{table}.{key}: expected a list of strings")
        return ()
    return tuple(value)


def _check_aes_key(c: _Checker, key: str) -> None:
    if not key:
        return
    try:
        decoded = base64.b64decode(key + "=", validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(key) != 43 or len(decoded) != 32:
        c.problems.append(
            "wechat.encoding_aes_key: expected the 43-character EncodingAESKey from the admin console, "
            f"got {len(key)} characters"
        )


def _check_identity_key(c: _Checker, key: str) -> None:
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        c.problems.append(
            "security.identity_key: expected 32 random bytes in base64 (44 characters), "
            'for example from: python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"'
        )


def _check_url(c: _Checker, key: str, url: str, schemes: set[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        c.problems.append(f"{key}: expected a URL starting with {' or '.join(sorted(schemes))}://, got {url!r}")


def _timezone(c: _Checker, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        c.problems.append(f"report.timezone: expected an IANA time zone such as Asia/Shanghai, got {name!r}")
        return ZoneInfo("UTC")


def _sections(c: _Checker, raw: Any) -> tuple[SectionSettings, ...]:
    if not isinstance(raw, list):
        c.problems.append("sections: expected [[sections]] tables")
        return ()
    out: list[SectionSettings] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"sections[{i}]"
        if not isinstance(item, Mapping):
            c.problems.append(f"{where}: expected a table")
            continue
        unknown = set(item) - {"id", "name", "inspectors", "heads", "industries", "categories"}
        if unknown:
            c.problems.append(f"{where}: unknown keys {sorted(unknown)}")
        sid, name = item.get("id"), item.get("name")
        if not isinstance(sid, str) or not sid.isidentifier():
            c.problems.append(f"{where}.id: expected a short identifier such as 'industry', got {sid!r}")
            continue
        if sid in seen:
            c.problems.append(f"{where}.id: {sid!r} is used by two sections")
        seen.add(sid)
        if not isinstance(name, str) or not name:
            c.problems.append(f"{where}.name: expected the section's name, such as '工业股'")
        lists = {}
        for key in ("inspectors", "heads", "industries", "categories"):
            value = item.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                c.problems.append(f"{where}.{key}: expected a list of strings")
                value = []
            lists[key] = tuple(value)
        out.append(SectionSettings(id=sid, name=str(name), **lists))
    return tuple(out)
