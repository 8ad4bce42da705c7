"""Triage and routing: which hazard categories a tip describes, whether it may be a major hazard, which enterprise
it is about, which section of the bureau owns it and which other departments must hear of it.

    rules = load_routing_rules(sections=[...], default_section="office", enterprises_csv=BUNDLED_ENTERPRISES)
    engine = TriageEngine(rules)
    result = engine.triage("宏达厂除尘器泄爆片拆了", enterprise_hint=None, has_photo=True)
    result.to_json()
"""

from bot.triage.classify import CategoryScore
from bot.triage.dryrun import dump_lines, parse_line, run_dry, triage_json
from bot.triage.engine import TriageEngine
from bot.triage.errors import RulesError
from bot.triage.result import JSON_KEYS, TriageResult
from bot.triage.rules import (
    BUNDLED_ENTERPRISES,
    BUNDLED_LEXICON,
    BUNDLED_MAJOR_CRITERIA,
    BUNDLED_TRANSFERS,
    RoutingRules,
    load_routing_rules,
    validate_rules,
)
from bot.triage.transfers import Transfer

__all__ = [
    "BUNDLED_ENTERPRISES",
    "BUNDLED_LEXICON",
    "BUNDLED_MAJOR_CRITERIA",
    "BUNDLED_TRANSFERS",
    "JSON_KEYS",
    "CategoryScore",
    "RoutingRules",
    "RulesError",
    "Transfer",
    "TriageEngine",
    "TriageResult",
    "dump_lines",
    "load_routing_rules",
    "parse_line",
    "run_dry",
    "triage_json",
    "validate_rules",
]
