from __future__ import annotations

from bot.triage import TriageEngine
from bot.triage.enterprises import Enterprise
from bot.triage.routing import Router, Section

SECTIONS = [
    Section("office", "办公室", categories=("management",)),
    Section("industry", "工业股", industries=("机械",), categories=("dust",)),
    Section("commerce", "商务股", industries=("商场超市",), categories=("storage",)),
]


def test_registered_section_comes_first() -> None:
    router = Router(SECTIONS, "office")
    firm = Enterprise("歙县宏达机械制造有限公司", (), "机械", "commerce")
    section, reasons = router.route(firm, ["dust"])
    assert section == "commerce"
    assert reasons == ["企业「歙县宏达机械制造有限公司」登记归属 商务股"]


def test_industry_decides_when_no_section_is_registered() -> None:
    router = Router(SECTIONS, "office")
    section, reasons = router.route(Enterprise("甲厂", (), "机械", ""), ["storage"])
    assert section == "industry"
    assert reasons == ["企业「甲厂」行业「机械」属 工业股 管辖"]


def test_first_ranked_category_a_section_lists() -> None:
    router = Router(SECTIONS, "office")
    section, reasons = router.route(None, ["electrical", "storage", "dust"])
    assert section == "commerce"
    assert reasons[-1] == "按隐患类别「仓储堆放/可燃物」归 商务股"


def test_unknown_industry_falls_back_to_categories_then_default() -> None:
    router = Router(SECTIONS, "office")
    section, reasons = router.route(Enterprise("物业", (), "物业", ""), ["electrical"])
    assert section == "office"
    assert "无对应股室" in reasons[0]
    assert reasons[-1].startswith("未能按企业或类别确定股室")


def test_escalation_overrides_everything() -> None:
    router = Router(SECTIONS, "office")
    section, reasons = router.route(Enterprise("甲厂", (), "机械", ""), ["dust"], escalate_to="office")
    assert section == "office"
    assert "升级至 办公室" in reasons[-1]


def test_engine_routing_reasons(engine: TriageEngine) -> None:
    result = engine.triage("宏达厂冲床没有防护")
    assert result.section == "industry"
    assert "企业「歙县宏达机械制造有限公司」登记归属 工业股" in result.reasons
    by_industry = engine.triage("华联超市消防栓没有水")
    assert by_industry.section == "commerce"
    assert "企业「歙县华联购物广场有限公司」行业「商场超市」属 商务股 管辖" in by_industry.reasons
    by_category = engine.triage("冷库那边一股很冲的氨水味道")
    assert by_category.enterprise is None
    assert by_category.section == "commerce"


def test_explicit_section_beats_industry_in_registry(engine: TriageEngine) -> None:
    # 华泰冷冻食品: industry 食品 (工业股) but registered to 商务股.
    assert engine.triage("华泰速冻的包装间直接用氨管子吹冷风").section == "commerce"
