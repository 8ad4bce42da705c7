from __future__ import annotations

import random

import pytest

from bot.triage import RoutingRules, TriageEngine
from bot.triage.enterprises import FUZZY_FACTOR, FUZZY_MIN_LEN, EnterpriseRegistry, name_keys, parse_registry
from bot.triage.normalize import SEP

HONGDA = "歙县宏达机械制造有限公司"


@pytest.mark.parametrize(
    "text",
    [
        "歙县宏达机械制造有限公司冲床没有防护",  # full name
        "宏达机械冲床没有防护",  # short name
        "宏达厂冲床没有防护",  # brand + 厂
        "洪达机械冲床没有防护",  # one wrong character
        "宏達機械沖床沒有防護",  # traditional
    ],
)
def test_enterprise_found_from_full_short_fuzzy_and_traditional_names(engine: TriageEngine, text: str) -> None:
    result = engine.triage(text)
    assert result.enterprise == HONGDA
    assert result.industry == "机械"
    assert not result.needs_enterprise


def test_similar_brands_are_kept_apart(engine: TriageEngine) -> None:
    assert engine.triage("宏大纸箱厂的纸板堆到天花板了").enterprise == "歙县宏大包装有限公司"
    assert engine.triage("宏达厂的纸板堆到天花板了").enterprise == HONGDA


def test_keys_strip_county_and_company_suffixes() -> None:
    keys = name_keys("歙县鑫源五金制品有限公司", ())
    assert "鑫源五金制品" in keys
    assert "鑫源五金" in keys
    assert "鑫源" in keys
    assert "五金" not in keys  # a business word alone names nobody


def test_enterprise_name_does_not_leak_into_categories(engine: TriageEngine) -> None:
    # 面粉 (dust) is part of the name of 金穗面粉厂; the tip is about a forklift.
    result = engine.triage("金穗面粉厂叉车带人")
    assert result.enterprise == "歙县金穗面粉有限公司"
    assert [c.id for c in result.categories] == ["special_equipment"]


def test_hint_overrides_the_text(engine: TriageEngine) -> None:
    result = engine.triage("宏达厂那边叉车带人", enterprise_hint="冰川冷连")  # hint with a typo
    assert result.enterprise == "歙县冰川冷链物流有限公司"
    assert result.section == "commerce"
    assert any("指明" in r for r in result.reasons)


def test_unknown_hint_is_reported_and_not_asked_again(engine: TriageEngine) -> None:
    result = engine.triage("灭火器过期", enterprise_hint="城西那个小作坊")
    assert result.enterprise is None
    assert not result.needs_enterprise
    assert any("不在登记名录" in r for r in result.reasons)


def test_no_enterprise_means_ask(engine: TriageEngine) -> None:
    result = engine.triage("灭火器过期")
    assert result.enterprise is None
    assert result.needs_enterprise


def test_no_registry_means_ask(engine_no_registry: TriageEngine) -> None:
    result = engine_no_registry.triage("宏达厂灭火器过期")
    assert result.enterprise is None
    assert result.needs_enterprise


def test_registry_problems_name_their_lines() -> None:
    problems: list[str] = []
    text = "name,aliases,industry,section\n甲厂,,机械,\n乙厂,,机械\n,x,机械,\n甲厂,,机械,\n"
    assert parse_registry(text, "reg.csv", problems) is None
    assert "reg.csv:3: expected 4 columns, found 3" in problems
    assert "reg.csv:4: empty name" in problems
    assert any(p.startswith("reg.csv:5: duplicate name 甲厂") for p in problems)


def test_registry_header_is_checked() -> None:
    problems: list[str] = []
    assert parse_registry("name,industry\nx,y\n", "reg.csv", problems) is None
    assert problems and problems[0].startswith("reg.csv:1: header lacks aliases, section")


def _fuzzy_by_every_window(registry: EnterpriseRegistry, text: str) -> tuple[str, float, str, tuple[int, int]] | None:
    """The definition, slowly: every window of every key length, with each of its characters in turn allowed to be
    wrong; the best (score, length) wins, and of equals the first one met (longer keys first, then left to right)."""
    variants: dict[str, list[str]] = {}
    for key in registry._keys:
        if len(key) >= FUZZY_MIN_LEN:
            for i in range(len(key)):
                variants.setdefault(key[:i] + "\0" + key[i + 1 :], []).append(key)
    best: tuple[float, int, str, tuple[int, int]] | None = None
    for length in sorted({len(k) for k in registry._keys if len(k) >= FUZZY_MIN_LEN}, reverse=True):
        for start in range(len(text) - length + 1):
            window = text[start : start + length]
            if SEP in window:
                continue
            for i in range(length):
                for key in variants.get(window[:i] + "\0" + window[i + 1 :], ()):
                    score = registry._keys[key][1] * FUZZY_FACTOR
                    if best is None or (score, length) > best[:2]:
                        best = (score, length, registry._keys[key][0].name, (start, start + length))
    if best is None:
        return None
    score, _length, name, span = best
    return name, score, text[span[0] : span[1]], span


def test_one_wrong_character_finds_the_same_enterprise_as_trying_every_window(rules: RoutingRules) -> None:
    registry = rules.registry
    assert registry is not None
    keys = [k for k in registry._keys if len(k) >= FUZZY_MIN_LEN]
    alphabet = sorted({ch for k in keys for ch in k}) + list("的了车间仓库门坏电线") + [SEP]
    rng = random.Random(20261130)
    found = 0
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 3)):
            key = list(rng.choice(keys))
            for _ in range(rng.choice((0, 1, 1, 2))):  # exact, one wrong character (most often), or two
                key[rng.randrange(len(key))] = rng.choice(alphabet)
            parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) + "".join(key))
        text = "".join(parts)
        got = registry._find_fuzzy(text)
        mine = None if got is None else (got[2].enterprise.name, got[2].score, got[2].matched, got[3])
        assert mine == _fuzzy_by_every_window(registry, text), text
        found += got is not None
    assert found > 200  # the texts do name enterprises, most of the time
