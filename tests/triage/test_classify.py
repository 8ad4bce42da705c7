from __future__ import annotations

import pytest

from bot.triage import TriageEngine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("灭火气都过期一年多了 压力表指针在红色那边", "fire_equipment"),  # voice homophone 灭火气
        ("我们车间那个消防拴被堵住了打不开", "fire_equipment"),  # typo 拴
        ("應急燈不亮 疏散指示牌也壞了", "fire_equipment"),  # traditional characters
        ("電瓶車電池充著充著冒煙了", "ebike_battery"),
        ("⚡插线板一插就冒火花⚡", "electrical"),  # emoji
        ("🔋鼓包了还在用", "ebike_battery"),
        ("那个我跟你说我们厂那个除尘气上面那个泄爆的那个板子被他们拿掉了", "dust"),  # voice, no punctuation
        ("安气泄漏了 工人头晕", "ammonia"),
        ("叉车带人", "special_equipment"),
    ],
)
def test_top_category_for_how_workers_write(engine: TriageEngine, text: str, expected: str) -> None:
    assert engine.triage(text).top_category == expected


def test_categories_are_ranked_with_scores_and_matched_terms(engine: TriageEngine) -> None:
    result = engine.triage("电焊的时候旁边就是油漆桶，火星子乱溅")
    ids = [c.id for c in result.categories]
    assert ids[0] == "hot_work"
    assert "hazchem" in ids
    scores = [c.score for c in result.categories]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < s <= 1.0 for s in scores)
    assert "电焊" in result.categories[0].matched


def test_a_phrase_inside_a_longer_one_of_another_category_does_not_count(engine: TriageEngine) -> None:
    # 车 (traffic) sits inside 车间 and 电动车; 打火 (electrical) inside 打火机.
    assert "traffic" not in [c.id for c in engine.triage("车间里没人戴安全帽").categories]
    assert engine.triage("有人在仓库门口玩打火机").top_category == "ppe_behaviour"


@pytest.mark.parametrize("text", ["", "看图", "👀", "你们看看这个"])
def test_photo_only_tips_get_no_category_and_say_why(engine: TriageEngine, text: str) -> None:
    result = engine.triage(text, has_photo=True)
    assert result.categories == []
    assert result.confidence == 0.0
    assert any("照片" in r for r in result.reasons)


def test_photo_only_reason_differs_from_unmatched_text(engine: TriageEngine) -> None:
    photo = engine.triage("", has_photo=True)
    text = engine.triage("今天天气不错")
    assert any("只有照片" in r for r in photo.reasons)
    assert not any("只有照片" in r for r in text.reasons)
    assert text.categories == []


def test_confidence_grows_with_evidence(engine: TriageEngine) -> None:
    weak = engine.triage("插座")
    strong = engine.triage("插座烧黑了，电线裸露，还漏电")
    assert weak.top_category == strong.top_category == "electrical"
    assert strong.confidence > weak.confidence
