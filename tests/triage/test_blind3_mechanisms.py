"""Mechanisms added after blind3: hypothetical mood, relocation as a fix only when the place is away, a work permit
is no licence, flaky devices, fibre dust, isolation of faulty cells, figures of speech in transfers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.triage import RoutingRules, TriageEngine
from bot.triage.major import load_major_criteria
from bot.triage.transfers import load_transfers


@pytest.fixture(scope="module")
def clauses_only(rules: RoutingRules) -> TriageEngine:
    """The criteria alone: no example-based fallback, so each test sees the clause mechanism it is about."""
    return TriageEngine(dataclasses.replace(rules, examples=None))


@pytest.mark.parametrize(
    "text",
    [
        "中频炉那个炉坑今天也是干的 就是想问万一下雨漏水进去是不是很危险",
        "熔炼炉前面的地面 如果有积水会不会炸",
        "氨气报警器要是坏了怎么办",
    ],
)
def test_supposed_failure_or_water_is_not_major(clauses_only: TriageEngine, text: str) -> None:
    assert not clauses_only.triage(text).major, text


@pytest.mark.parametrize(
    "text",
    [
        "中频炉炉坑里全是水 万一铁水漏下去就炸了",  # the water is real; only the spill is supposed
        "中频炉的炉坑主要是漏水",  # 主要是 holds 要是 but supposes nothing
        "铸铝棒那个井下面冷却水要是断了 上面炉子照样往下倒铝水 没有任何联动",
    ],
)
def test_real_hazard_next_to_a_supposition_still_counts(clauses_only: TriageEngine, text: str) -> None:
    assert clauses_only.triage(text).major, text


def test_hypothetical_unit(rules: RoutingRules) -> None:
    negation = rules.criteria.negation
    text = "想问万一下雨漏水进去"
    assert negation.supposed_at(text, text.index("漏水")) == text.index("万一")
    assert negation.supposed_at("主要是漏水", 3) == -1
    assert negation.supposed_at("万一/漏水", 3) == -1  # not across a sentence end
    assert negation.supposed_at("万一下了好几天的大雨漏水", 11) == -1  # too far from the marker


def test_hypothetical_window_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "criteria.toml"
    path.write_text(
        '[negation]\nnegators = ["没"]\nnegatable = ["坏"]\nhypothetical = ["万一"]\nhypothetical_window = 0\n'
        '[[criteria]]\nid = "x"\narticle = "第十四条"\ntext = "t"\n[[criteria.triggers]]\nall = [["报警器"], ["坏"]]\n',
        encoding="utf-8",
    )
    problems: list[str] = []
    assert load_major_criteria(path, problems) is None
    assert any("hypothetical_window" in p for p in problems)


def test_moving_people_under_the_ladle_is_the_hazard_not_a_fix(clauses_only: TriageEngine) -> None:
    result = clauses_only.triage("金鼎铸造把休息室搬到浇注跨底下了 行车吊着铁水包从屋顶上过")
    assert result.major
    assert any(r.startswith("第七条（一）") for r in result.major_reasons)
    assert not clauses_only.triage("金鼎铸造浇注跨旁边的休息室已经搬到厂房外面去了").major


def test_a_work_permit_is_not_a_special_work_licence(clauses_only: TriageEngine) -> None:
    assert not clauses_only.triage("没动火证就在屋顶上烧焊 也没装回火器").major
    assert clauses_only.triage("焊工没证 就在屋顶上烧焊").major


def test_expired_licence_without_review_is_3_2(clauses_only: TriageEngine) -> None:
    result = clauses_only.triage("配电室的电工 证都过期三年了 一直在上岗 没复审")
    assert result.major
    assert any(r.startswith("第三条（二）") for r in result.major_reasons)
    assert not clauses_only.triage("电工的本本明年到期 复审要提前多久报名").major


def test_licence_obtained_later_settles_the_tip(clauses_only: TriageEngine) -> None:
    assert not clauses_only.triage("之前举报我们厂焊工没证 现在人家去考了 证拿到了 那个可以撤了").major


def test_a_device_that_reads_nonsense_has_failed(clauses_only: TriageEngine) -> None:
    result = clauses_only.triage("转炉煤气回收那块 CO报警器显示乱跳 修了几次都没好")
    assert result.major


def test_fibre_dust_left_to_pile_up_is_11_10(clauses_only: TriageEngine) -> None:
    result = clauses_only.triage("纺纱车间房梁上的棉絮积了有一指厚 几个月没扫过 机器天天转")
    assert result.major
    assert any(r.startswith("第十一条（十）") for r in result.major_reasons)
    assert not clauses_only.triage("做纺织的 棉絮满天飞 咳嗽").major  # a health matter
    assert not clauses_only.triage("车间棉絮每天下班都扫干净").major


def test_faulty_cells_need_a_word_about_isolation(clauses_only: TriageEngine) -> None:
    assert clauses_only.triage("电池厂仓库里鼓包的电池跟好的堆在一起").major
    assert not clauses_only.triage("电池厂仓库里一堆鼓包的锂电池 堆在角落").major


def test_ammonia_spelt_by_voice_input(clauses_only: TriageEngine) -> None:
    result = clauses_only.triage("肉联厂分割间的空调是直接走液按管子的 几十个人在底下切肉")
    assert result.top_category == "ammonia"
    assert result.major


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("工资拖了三个月了 加班费也不给", "management"),
        ("举报奖励是怎么算的 能保密吗", "management"),
        ("手电钻的辅助手柄丢了", "machinery"),
        ("饮水机插头有点松 插的时候冒了个小火花", "electrical"),
        ("家里冰箱有股怪味 是不是氨气泄漏 会不会中毒", "ammonia"),
        ("预热器旋风筒里清料 没安全带没挂牌 下面一掉几十米", "height"),
    ],
)
def test_colloquial_categories(clauses_only: TriageEngine, text: str, category: str) -> None:
    assert clauses_only.triage(text).top_category == category, text


def test_fear_is_not_a_death(engine: TriageEngine) -> None:
    result = engine.triage("鑫泰钢厂转炉底下的渣坑里全是水 还在出钢 吓死人了")
    assert not result.escalated
    assert result.section == "industry"
    both = engine.triage("宏达厂昨天死人了 吓死人了")
    assert both.escalated
    assert "应急管理局" in [t.department for t in both.transfers]


def test_not_inside_needs_patterns(tmp_path: Path) -> None:
    path = tmp_path / "transfers.toml"
    path.write_text(
        '[[transfers]]\ndepartment = "x"\nreason = "y"\ncategories = ["gas"]\nnot_inside = ["吓死人"]\n',
        encoding="utf-8",
    )
    problems: list[str] = []
    assert load_transfers(path, problems) is None
    assert any("not_inside" in p for p in problems)
