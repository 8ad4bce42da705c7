"""`whistle check-config`: everything that can be checked before the service starts, reported key by key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_everything(settings: Settings) -> CheckReport:
    report = CheckReport()
    if not settings.wechat.encoding_aes_key:
        report.warnings.append("wechat.encoding_aes_key: empty; only plain mode (明文模式) will work")
    if not settings.identity_key:
        report.warnings.append(
            "security.identity_key: empty; a development key is generated under storage.dir. "
            "Set WHISTLE_SECURITY__IDENTITY_KEY in production and keep a copy: without it sealed identities are lost"
        )
    if not settings.sections:
        report.warnings.append("sections: none configured; every case goes to routing.default_section")
    r = settings.routing
    paths = {
        "enterprises": r.enterprises,
        "lexicon": r.lexicon,
        "major_criteria": r.major_criteria,
        "transfers": r.transfers,
        "examples": r.examples if isinstance(r.examples, Path) else None,
    }
    for key, path in paths.items():
        if path is not None and not path.is_file():
            report.problems.append(f"routing.{key}: file {path} does not exist")
    if report.problems:
        return report
    from bot.triage import validate_rules

    report.problems += validate_rules(**settings.rule_sources())
    return report
