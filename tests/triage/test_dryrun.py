from __future__ import annotations

import json

from bot.triage import JSON_KEYS, TriageEngine, dump_lines, parse_line, run_dry, triage_json


def test_json_has_exactly_the_documented_keys(engine: TriageEngine) -> None:
    out = triage_json(engine, "宏达厂除尘器泄爆片拆了")
    assert (
        tuple(out)
        == JSON_KEYS
        == (
            "categories",
            "major",
            "major_reasons",
            "enterprise",
            "section",
            "transfers",
            "reasons",
        )
    )
    assert out["categories"][0] == {"id": "dust", "score": out["categories"][0]["score"]}  # type: ignore[index]
    assert set(out["categories"][0]) == {"id", "score"}  # type: ignore[index]
    assert out["major"] is True
    assert out["enterprise"] == "歙县宏达机械制造有限公司"
    assert out["section"] == "industry"
    assert all(set(t) == {"department", "reason"} for t in out["transfers"])  # type: ignore[union-attr]
    json.dumps(out, ensure_ascii=False)  # serialisable as is


def test_result_to_json_matches_triage_json(engine: TriageEngine) -> None:
    assert engine.triage("叉车带人").to_json() == triage_json(engine, "叉车带人")


def test_json_lines_mode(engine: TriageEngine) -> None:
    lines = [
        '{"text": "叉车带人", "enterprise": "捷运物流"}',
        "",
        "灭火器过期了",
        '{"text": "", "has_photo": true}',
        {"text": "配电箱没门", "enterprise_hint": "华联超市"},
    ]
    results = list(run_dry(lines, engine))
    assert len(results) == 4
    assert results[0]["enterprise"] == "歙县捷运物流有限公司"
    assert results[0]["section"] == "commerce"
    assert results[1]["categories"][0]["id"] == "fire_equipment"  # type: ignore[index]
    assert results[2]["categories"] == []
    assert results[3]["enterprise"] == "歙县华联购物广场有限公司"
    decoded = [json.loads(line) for line in dump_lines(results)]
    assert decoded == results


def test_parse_line_treats_non_json_as_text() -> None:
    assert parse_line("{不是json") == ("{不是json", None, False)
    assert parse_line('{"text": "x", "enterprise": "", "has_photo": 1}') == ("x", None, True)
    assert parse_line("   ") is None
