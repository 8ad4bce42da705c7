from __future__ import annotations

import pytest

from bot.triage import TriageEngine


def departments(engine: TriageEngine, text: str) -> list[str]:
    return [t.department for t in engine.triage(text).transfers]


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("叉车上站着人 拉着到处跑", "市场监督管理局"),
        ("消防栓打开没有水", "消防救援大队"),
        ("安全出口被铁链锁起来了", "消防救援大队"),
        ("电动车推到车间里面充电", "消防救援大队"),
        ("液化气罐放在宿舍里烧饭", "住建/城管燃气主管部门"),
        ("小卖部在卖散装汽油 没证的", "应急管理局"),
        ("老板在厂房顶上又加了一层 彩钢板的", "住建局"),
        ("干了五年从来没有做过职业病体检", "卫生健康委"),
    ],
)
def test_transfers_by_category(engine: TriageEngine, text: str, department: str) -> None:
    assert department in departments(engine, text)


def test_no_transfer_for_in_house_hazard(engine: TriageEngine) -> None:
    assert departments(engine, "皮带轮的防护罩拆了没装回去") == []


def test_hazchem_without_licensing_matter_is_not_transferred(engine: TriageEngine) -> None:
    assert "应急管理局" not in departments(engine, "强酸桶旁边没有洗眼器")


@pytest.mark.parametrize(
    "text", ["昨天厂里死人了", "宏达厂有人被冲床压断手 厂里私了没报", "鑫泰钢厂煤气中毒 人没了 对外说是生病"]
)
def test_deaths_and_concealment_go_to_emergency_bureau_and_office(engine: TriageEngine, text: str) -> None:
    result = engine.triage(text)
    assert "应急管理局" in [t.department for t in result.transfers]
    assert result.escalated
    assert result.section == "office"


def test_major_hazard_notifies_emergency_bureau(engine: TriageEngine) -> None:
    result = engine.triage("除尘器上的泄爆片被拆了")
    assert any(t.department == "应急管理局" and "重大" in t.reason for t in result.transfers)


def test_one_transfer_per_department(engine: TriageEngine) -> None:
    result = engine.triage("消防通道堆满货，灭火器也过期了")
    names = [t.department for t in result.transfers]
    assert names.count("消防救援大队") == 1
    fire = next(t for t in result.transfers if t.department == "消防救援大队")
    assert "消防设施器材" in fire.reason and "疏散通道" in fire.reason
