"""Fixtures for triage tests: the sections of config.toml (copied, so these tests do not depend on config edits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.triage import BUNDLED_ENTERPRISES, RoutingRules, TriageEngine, load_routing_rules

SECTIONS: list[dict[str, Any]] = [
    {"id": "office", "name": "办公室", "inspectors": [], "industries": [], "categories": ["management"]},
    {
        "id": "industry",
        "name": "工业股",
        "inspectors": [],
        "industries": [
            "冶金",
            "有色",
            "建材",
            "机械",
            "轻工",
            "纺织",
            "烟草",
            "化工",
            "食品",
            "电子",
            "医药",
            "木材加工",
            "民爆",
            "电力",
        ],
        "categories": ["dust", "molten_metal", "confined_space", "toxic_gas", "painting", "machinery"],
    },
    {
        "id": "commerce",
        "name": "商务股",
        "inspectors": [],
        "industries": ["商场超市", "批发市场", "仓储物流", "冷库冷链", "粮油仓储", "加油站", "餐饮", "商贸"],
        "categories": ["ammonia", "storage"],
    },
    {
        "id": "tech",
        "name": "科技股",
        "inspectors": [],
        "industries": ["科技型企业", "孵化器", "实验室"],
        "categories": [],
    },
]

EVAL_TIPS = Path(__file__).parent / "eval_tips.jsonl"


@pytest.fixture(scope="session")
def rules() -> RoutingRules:
    return load_routing_rules(sections=SECTIONS, default_section="office", enterprises_csv=BUNDLED_ENTERPRISES)


@pytest.fixture(scope="session")
def engine(rules: RoutingRules) -> TriageEngine:
    return TriageEngine(rules)


@pytest.fixture(scope="session")
def engine_no_registry() -> TriageEngine:
    return TriageEngine(load_routing_rules(sections=SECTIONS, default_section="office", enterprises_csv=None))
