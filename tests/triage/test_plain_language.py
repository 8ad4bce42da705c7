"""Plain-language tips (dev_plain_tips.jsonl, dev_plain2_tips.jsonl): concepts, settings, homophones, 第十四条 scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.triage import TriageEngine
from bot.triage.evaluate import evaluate, load_tips
from bot.triage.patterns import PatternSyntaxError, expand_concepts, parse_concepts, parse_pattern

HERE = Path(__file__).parent


def test_concepts_expand_into_alternatives() -> None:
    concepts = parse_concepts({"水": ["积水", "全是水"], "坑": ["坑", "@炉坑"], "炉坑": ["炉坑", "渣坑"]}, "t", [])
    assert expand_concepts("@水&@坑", concepts) == "积水|全是水&坑|炉坑|渣坑"
    pattern = parse_pattern("@水&@坑", concepts)
    assert pattern.mode == "near"
    assert pattern.slots == (("积水", "全是水"), ("坑", "炉坑", "渣坑"))
    with pytest.raises(PatternSyntaxError):
        parse_pattern("@没有这个", concepts)


def test_concept_that_names_itself_is_a_problem() -> None:
    problems: list[str] = []
    parse_concepts({"a": ["@a"]}, "t", problems)
    assert problems


def test_corrections_do_not_break_rule_phrases(engine: TriageEngine) -> None:
    assert engine.normalize("天然气") == "天然气"  # 然气 → 燃气 must not touch 天然气
    assert engine.normalize("出尘器") == "除尘器"
    assert engine.normalize("素冻机") == "速冻机"


@pytest.mark.parametrize(
    "text",
    [
        "炉子下面那个坑里全是水",
        "行车吊铁水那一跨下面搭了个小屋子给人歇脚",
        "风机往布袋里吹铝灰",
        "进仓清料下料口没关电也没断",
        "池子里一股臭鸡蛋味有人晕了",
        "开冷库机器的师傅没有证",
        "出尘器上面的泄压板被钉死了",
        "素冻机放在大车间中间没有隔开",
    ],
)
def test_plain_words_for_major_hazards(engine: TriageEngine, text: str) -> None:
    assert engine.triage(text).major, text


@pytest.mark.parametrize(
    "text",
    [
        "炉子下面那个坑今天检查了，干干净净没有水",
        "康源药厂车间的可燃气体报警器坏了",  # 医药: not 工贸
        "饭店后厨的燃气报警器不响了",  # 燃气 standard
        "粮库熏蒸的时候没有测毒的仪器，人也没撤",  # not tobacco
        "加油站的油气报警器坏了",
        "喷漆车间的可燃气体报警器一直在闪红灯没人管",  # the device works
    ],
)
def test_look_alikes_are_not_major(engine: TriageEngine, text: str) -> None:
    assert not engine.triage(text).major, text


def test_tobacco_clause_needs_tobacco_setting(engine: TriageEngine) -> None:
    assert engine.triage("烟叶仓库熏蒸的时候没有测毒的仪器，人也没撤").major
    result = engine.triage("仓库熏蒸的时候没有测毒的仪器，人也没撤，是放玉米的")
    assert not result.major
    assert any("适用场所" in r for r in result.reasons)


@pytest.mark.parametrize("name", ["dev_plain_tips.jsonl", "dev_plain2_tips.jsonl", "dev_plain3_tips.jsonl"])
def test_plain_batches_meet_targets(engine: TriageEngine, name: str) -> None:
    path = HERE / name
    if not path.exists():
        pytest.skip(f"{name} not present")
    report = evaluate(engine, load_tips(path))
    assert report.major_recall >= 0.95
    assert report.major_precision >= 0.80
    assert report.top1 >= 0.90
