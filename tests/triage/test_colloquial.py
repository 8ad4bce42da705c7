"""Colloquial, dialect and voice-typed phrasing found by the blind2 review: head counts without a noun, colloquial
material names (铁汤, 阿摩尼亚, 末子), devices described by what they do, and look-alikes that must stay quiet.

The sentences here are written for the tests (not copied from the labelled files), so they check that the vocabulary
and mechanisms generalise beyond the tips that prompted them."""

from __future__ import annotations

import pytest

from bot.triage import TriageEngine
from bot.triage.people import MORE_THAN_NINE, people_over_nine


@pytest.mark.parametrize(
    "text",
    ["干活的有十五六个挤得很", "里面的人得有二十来个", "二三十号人在里面", "十好几个人", "上班的差不多有12个"],
)
def test_head_counts_above_nine(text: str) -> None:
    assert people_over_nine(text), text


@pytest.mark.parametrize("text", ["好几个人", "有三个人", "工人有5个", "人是两个", "干活的有七八个"])
def test_head_counts_up_to_nine(text: str) -> None:
    assert not people_over_nine(text), text


def test_head_count_without_noun_reaches_the_freezer_clause(engine: TriageEngine) -> None:
    hits = engine.scan(engine.normalize("速冻间干活的得有二十来个"))
    assert MORE_THAN_NINE in hits
    assert engine.triage("速冻间干活的得有二十来个 冷得要命").major


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [("铁汤", "铁水"), ("铝汤", "铝水"), ("阿摩尼亚", "氨"), ("从来冇测过", "从来没测过"), ("双养水", "双氧水")],
)
def test_colloquial_and_voice_typed_words_are_corrected(engine: TriageEngine, raw: str, fixed: str) -> None:
    assert engine.normalize(raw) == fixed


@pytest.mark.parametrize(
    ("text", "article"),
    [
        ("收木头末子的铁柜顶上那块薄片 叫人用铁板焊死了", "第十一条（三）"),
        ("磨铝件的末子打湿了 装袋堆在库房里闷着 摸着发热", "第十一条（九）"),
        ("打磨车间在砖墙预制板的老楼三楼 灰很大", "第十一条（一）"),
        ("磨辣椒粉的机器前面没装吸铁的 经常磨出铁钉", "第十一条（八）"),
        ("分装间的冷风是阿摩尼亚直接吹的", "第十二条（一）"),
        ("粮仓熏完药 不测就叫人进去扫仓", "第十三条（二）"),
        ("下窖池起糟 从来冇先吹风再测", "第十三条（二）"),
        ("包活的外头来的人在我们厂干 厂里从来不管", "第三条（一）"),
        ("退回来的鼓包电芯跟好的放在库房一个架子上", "第八条（六）"),
        ("印染厂漂白水跟保险粉堆一块", "第九条（二）"),
    ],
)
def test_plain_words_reach_the_clause(engine: TriageEngine, text: str, article: str) -> None:
    result = engine.triage(text)
    assert result.major, text
    assert any(reason.startswith(article) for reason in result.major_reasons), (text, result.major_reasons)


@pytest.mark.parametrize(
    "text",
    [
        "请问焊工那个本子在哪考",  # a question about licences, not an unlicensed welder
        "双氧水单独一个库 保险粉放另一个库 分得很开",  # stored apart
        "速冻间就三四个人干活",
        "吸灰大箱子顶上的薄片是好的 上周刚检查过",
    ],
)
def test_look_alikes_stay_quiet(engine: TriageEngine, text: str) -> None:
    assert not engine.triage(text).major, text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("老掉闸", "electrical"),
        ("马达摸着烫手", "electrical"),
        ("消防水龙带烂了", "fire_equipment"),
        ("车间那瓶灭火的压力不够了", "fire_equipment"),
        ("后门拿大锁锁了", "egress"),
        ("折叠梯腿歪了", "height"),
        ("装铁汤的包有裂纹", "molten_metal"),
        ("进厂三年没查过身体", "occupational_health"),
        ("厂房顶上又搭了一层铁皮房", "building"),
        ("着火了怎么跑 从来没组织练过", "management"),
    ],
)
def test_colloquial_top_category(engine: TriageEngine, text: str, category: str) -> None:
    categories = engine.triage(text).categories
    assert categories and categories[0].id == category, (text, [c.id for c in categories])


def test_today_in_the_workshop_is_not_an_overhead_crane(engine: TriageEngine) -> None:
    # 今天车间 contains 天车 (overhead crane); the neutral phrase 天车间 hides it
    assert "special_equipment" not in [c.id for c in engine.triage("今天车间里来了十几个人参观").categories]
