from __future__ import annotations

from pathlib import Path

import pytest

from bot.triage import BUNDLED_ENTERPRISES, RulesError, TriageEngine, load_routing_rules, validate_rules
from tests.triage.conftest import SECTIONS


def test_bundled_rules_are_valid() -> None:
    assert validate_rules(SECTIONS, "office", BUNDLED_ENTERPRISES) == []


def test_unknown_category_and_default_section(tmp_path: Path) -> None:
    sections = [{"id": "office", "name": "办公室", "categories": ["fire", "management"]}]
    problems = validate_rules(sections, "nowhere", None)
    assert any("unknown category id 'fire'" in p for p in problems)
    assert any("routing.default_section: 'nowhere'" in p for p in problems)


def test_registry_section_must_be_configured(tmp_path: Path) -> None:
    csv = tmp_path / "reg.csv"
    csv.write_text("name,aliases,industry,section\n甲厂,,机械,safety\n", encoding="utf-8")
    problems = validate_rules(SECTIONS, "office", csv)
    assert problems == [f"{csv}:2: section 'safety' of 甲厂 is not a configured [[sections]] id"]


def test_load_raises_with_all_problems(tmp_path: Path) -> None:
    csv = tmp_path / "reg.csv"
    csv.write_text("name,aliases,industry,section\n甲厂,,机械\n", encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_routing_rules(SECTIONS, "office", csv)
    assert f"{csv}:2: expected 4 columns, found 3" in str(info.value)


def test_lexicon_errors_name_file_and_key(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text(
        '[categories.electrical]\nname = "电气"\nstrong = ["漏电", "a~b&c"]\n[categories.fire]\nterms = ["x"]\n',
        encoding="utf-8",
    )
    problems = validate_rules(SECTIONS, "office", None, lexicon_path=lexicon)
    assert any(p.startswith(f"{lexicon}: categories.electrical.strong:") and "mixes" in p for p in problems)
    assert any(p.startswith(f"{lexicon}: categories.fire: unknown category id") for p in problems)


def test_invalid_toml_reports_line(tmp_path: Path) -> None:
    bad = tmp_path / "transfers.toml"
    bad.write_text("[[transfers]\n", encoding="utf-8")
    problems = validate_rules(SECTIONS, "office", None, transfers_path=bad)
    assert len(problems) == 1 and problems[0].startswith(f"{bad}: invalid TOML") and "line 1" in problems[0]


def test_transfer_escalation_section_must_exist(tmp_path: Path) -> None:
    transfers = tmp_path / "transfers.toml"
    transfers.write_text(
        '[[transfers]]\ndepartment = "应急管理局"\nreason = "死亡"\npatterns = ["死人"]\nescalate_section = "boss"\n'
        '[[transfers]]\ndepartment = "x"\nreason = "y"\n',
        encoding="utf-8",
    )
    problems = validate_rules(SECTIONS, "office", None, transfers_path=transfers)
    assert any("transfers[0].escalate_section: 'boss'" in p for p in problems)
    assert any("transfers[1]: needs categories, patterns or major" in p for p in problems)


def test_criteria_errors(tmp_path: Path) -> None:
    criteria = tmp_path / "major.toml"
    criteria.write_text(
        '[[criteria]]\nid = "1"\narticle = "第一条"\ntext = "t"\n'
        '[[criteria]]\nid = "1"\narticle = "第二条"\ntext = "t"\n[[criteria.triggers]]\nall = [["a"]]\n',
        encoding="utf-8",
    )
    problems = validate_rules(SECTIONS, "office", None, major_criteria_path=criteria)
    assert any("criteria[0] (id='1'): needs at least one" in p for p in problems)
    assert any("criteria[1] (id='1'): duplicate id" in p for p in problems)


def test_sections_listing_the_same_industry_twice() -> None:
    sections = [
        {"id": "office", "name": "办公室", "industries": ["机械"]},
        {"id": "industry", "name": "工业股", "industries": ["机械"]},
    ]
    problems = validate_rules(sections, "office", None)
    assert problems == ["sections: industry '机械' is listed by both 'office' and 'industry'"]


def test_edited_lexicon_changes_the_result(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text('[categories.traffic]\nname = "场内交通"\nstrong = ["拖拉机乱开"]\n', encoding="utf-8")
    from bot.triage import TriageEngine

    sections = [{"id": "office", "name": "办公室"}]
    # examples off: judged examples would otherwise still guess a category for a tip the lexicon does not know
    engine = TriageEngine(load_routing_rules(sections, "office", None, lexicon_path=lexicon, examples_path="-"))
    assert engine.triage("拖拉机乱开").top_category == "traffic"
    assert engine.triage("灭火器过期").categories == []


def test_negation_table_and_local_vetoes_are_validated(tmp_path: Path) -> None:
    criteria = tmp_path / "major.toml"
    criteria.write_text(
        "[negation]\n"
        'negators = ["没~有"]\n'
        'negatable = ["坏"]\n'
        'colour = "red"\n'
        '[[criteria]]\nid = "1"\narticle = "第一条"\ntext = "t"\n'
        '[[criteria.triggers]]\nall = [["报警器&坏"]]\nunless_near = ["在响"]\nunless_far = ["x"]\n',
        encoding="utf-8",
    )
    problems = validate_rules(SECTIONS, "office", None, major_criteria_path=criteria)
    assert any("negation.negators" in p and "only phrases" in p for p in problems)
    assert any("negation: unknown keys ['colour']" in p for p in problems)
    assert any("unknown keys ['unless_far']" in p for p in problems)


def test_edited_negation_changes_the_result(tmp_path: Path) -> None:
    body = (
        '[[criteria]]\nid = "1"\narticle = "第一条"\ntext = "t"\n'
        '[[criteria.triggers]]\nall = [["报警器&坏|拆"]]\nunless_near = ["在响"]\n'
    )
    plain = tmp_path / "plain.toml"
    plain.write_text(body, encoding="utf-8")
    negated = tmp_path / "negated.toml"
    negated.write_text(
        '[negation]\nnegators = ["没"]\nnegatable = ["坏"]\nresolved = ["修好"]\ncontrast = ["但是"]\n' + body,
        encoding="utf-8",
    )
    for path, expected in ((plain, True), (negated, False)):
        rules = load_routing_rules(SECTIONS, "office", None, major_criteria_path=path)
        engine = TriageEngine(rules)
        assert engine.triage("报警器没坏").major is expected
    rules = load_routing_rules(SECTIONS, "office", None, major_criteria_path=negated)
    engine = TriageEngine(rules)
    assert engine.triage("报警器坏了").major
    assert not engine.triage("报警器坏了，已经修好").major
    assert engine.triage("报警器坏了，说修好但是还不行").major
    assert not engine.triage("报警器拆了，一直在响").major  # local veto next to the evidence
    assert engine.triage("报警器拆了，厂里的别的灯啊喇叭啊什么的都一直在响").major  # too far away to veto
