from __future__ import annotations

import pytest

from bot.triage import RoutingRules, TriageEngine


def test_dust_clause_reason_names_article_and_text(engine: TriageEngine) -> None:
    result = engine.triage("除尘器上的泄爆片被拆了")
    assert result.major
    assert "第十一条（三）干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施" in result.major_reasons


@pytest.mark.parametrize(
    "text",
    [
        "一氧化碳报警器坏了好几天",
        "氨气探头不亮",
        "搅拌机的联锁被电工短接了",
        "報警器壞了",
        "可燃气体探测器被塑料袋套住了",
    ],
)
def test_article_14_catch_all_for_failed_or_disabled_devices(engine: TriageEngine, text: str) -> None:
    result = engine.triage(text)
    assert result.major, text
    assert any(r.startswith("第十四条") for r in result.major_reasons)


@pytest.mark.parametrize(
    "text",
    [
        "烟感坏了一直不响",  # fire alarms: judged by the fire standard, not 工贸
        "食堂燃气报警器早就不响了",  # canteen gas: 燃气 standard
        "冲床的光电保护坏了",  # not a device listed in the 工贸 standard
        "一氧化碳报警器一直响也没人来",  # the device works; the leak is the hazard
    ],
)
def test_catch_all_does_not_fire_outside_the_standard(engine: TriageEngine, text: str) -> None:
    assert not engine.triage(text).major, text


def test_industry_clause_counts_when_industry_fits(engine: TriageEngine) -> None:
    result = engine.triage("熔炼炉没有应急的储存坑", enterprise_hint="金鼎铸造")  # 机械
    assert result.industry == "机械"
    assert result.major
    assert any(r.startswith("第七条（二）") for r in result.major_reasons)


def test_industry_clause_is_gated_out_for_other_industries(engine: TriageEngine) -> None:
    result = engine.triage("熔炼炉没有应急的储存坑", enterprise_hint="徽韵茶厂")  # 食品
    assert result.industry == "食品"
    assert not result.major
    assert any("仅适用于" in r and "第七条（二）" in r for r in result.reasons)


def test_industry_clause_counts_when_enterprise_unknown(engine: TriageEngine) -> None:
    result = engine.triage("熔炼炉没有应急的储存坑")
    assert result.enterprise is None
    assert result.major


def test_white_spirit_alarm_only_for_light_industry(engine: TriageEngine) -> None:
    assert engine.triage("徽香酒厂灌装车间的酒精浓度报警器坏了").major  # 食品: 第八条 applies (and 第十四条)
    assert not engine.triage("康源药厂乙醇储罐区没有报警").major  # 医药: 第八条 does not apply


def test_quick_freeze_head_count(engine: TriageEngine) -> None:
    assert engine.triage("速冻间里面挤了十几个人在干活").major
    assert engine.triage("速冻间里有12个工人").major
    assert not engine.triage("速冻间里有三个人在干活").major


def test_special_operations_without_certificate_is_3_2_but_forklift_is_not(engine: TriageEngine) -> None:
    welder = engine.triage("烧焊的师傅没证的")
    assert welder.major
    assert any(r.startswith("第三条（二）") for r in welder.major_reasons)
    assert not engine.triage("开叉车的那个小伙子证早过期了").major


def test_no_hazard_no_flag(engine: TriageEngine) -> None:
    result = engine.triage("车间里没人戴安全帽")
    assert not result.major
    assert result.major_reasons == []


# ---------------------------------------------------------------- negation, resolution, local vetoes ([negation])


@pytest.mark.parametrize(
    "text",
    [
        "一氧化碳报警器没坏",  # 没 cancels the failure word
        "除尘器的泄爆片没有被拆",  # and is not read as "no vent" either
        "除尘器的泄爆片没人拆过，好好的",  # a filler (人) between negator and failure word
        "转炉冷却水的报警器不是坏了，是水温真的高",
    ],
)
def test_negated_failure_is_not_major(engine: TriageEngine, text: str) -> None:
    assert not engine.triage(text).major, text


@pytest.mark.parametrize(
    "text",
    [
        "除尘器的泄爆片被拆了",
        "泄爆片是不是被人拆了",  # a question still reports the hazard
        "除尘器没有泄爆片",  # 没有 in front of the device says it is missing
        "一氧化碳报警器线被掐了",  # wider failure vocabulary, near the device
    ],
)
def test_failures_and_missing_devices_still_count(engine: TriageEngine, text: str) -> None:
    assert engine.triage(text).major, text


def test_resolved_hazard_is_not_major_but_is_explained(engine: TriageEngine) -> None:
    result = engine.triage("铝粉车间除尘器泄爆片坏了，上周修好了")
    assert not result.major
    assert any("已处理" in r and "修好" in r for r in result.reasons)
    assert not engine.triage("中频炉底下的坑里全是水，已经抽干了").major


def test_resolution_followed_by_contrast_still_counts(engine: TriageEngine) -> None:
    assert engine.triage("铝粉车间除尘器泄爆片坏了，说修好了其实还是坏的").major
    assert engine.triage("中频炉底下的坑里全是水，说抽干了但是今天又积满了").major
    assert engine.triage("中频炉下面的坑一直没修好，全是水").major  # 没修好 is not a resolution


def test_working_alarm_vetoes_only_near_the_device(engine: TriageEngine) -> None:
    # the flashing lamp is far from the removed alarm: still major
    assert engine.triage("龙腾喷涂调漆间的可燃气体报警器拆掉了 灯也不是防爆的 有一个还一直在闪").major
    # the alarm itself is going off: the device works
    assert not engine.triage("喷漆车间的可燃气体报警器一直在闪红灯没人管").major


def test_catch_all_excludes_machines_of_other_standards(engine: TriageEngine) -> None:
    assert not engine.triage("叉车倒车报警器不响").major
    assert not engine.triage("冲床的光幕被短接了").major


def test_negation_unit(rules: RoutingRules) -> None:
    negation = rules.criteria.negation
    assert negation.is_negated("报警器没坏", 4)
    assert negation.is_negated("泄爆片没有被拆", 6)
    assert not negation.is_negated("泄爆片是不是坏了", 6)  # 是不是: a question
    assert not negation.is_negated("报警器坏了", 3)
