"""The example-based fallback (bot/triage/similar.py, bot/rules/examples.toml): judged tips back up the lexicon and
the criteria when a new tip says the same thing in words no rule knows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.triage import TriageEngine, load_routing_rules, validate_rules
from bot.triage.rules import BUNDLED_EXAMPLES
from bot.triage.similar import Example, ExampleSettings, SimilarityIndex, _grams
from tests.triage.conftest import SECTIONS

# Made-up words that no lexicon phrase or criteria pattern knows: only the examples can recognise them.
EXAMPLES = """
examples = [
  { text = "咕噜机顶上的嘀嘀器被人拔了", category = "dust", clause = "11-3" },
  { text = "咕噜机那个嘀嘀器拔掉好久了", category = "dust", clause = "11-3" },
  { text = "咕噜机的嘀嘀器叫老板拔走了", category = "dust", clause = "11-3" },
  { text = "呼噜板的扣扣松了还在用", category = "height", clause = "" },
  { text = "呼噜板扣扣松松垮垮", category = "height", clause = "" },
  { text = "呼噜板的扣扣都快掉了", category = "height", clause = "" },
]
[settings]
k = 3
"""


@pytest.fixture(scope="module")
def examples_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples") / "examples.toml"
    path.write_text(EXAMPLES, encoding="utf-8")
    return path


def _engine(examples: Path | str) -> TriageEngine:
    return TriageEngine(load_routing_rules(SECTIONS, "office", None, examples_path=examples))


def test_similar_tip_is_flagged_with_the_examples_clause(examples_file: Path) -> None:
    result = _engine(examples_file).triage("咕噜机上面的嘀嘀器又被拔了")
    assert result.major
    assert result.major_reasons == [
        "与已确认的重大隐患描述相近（第十一条（三））：干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施"
    ]
    assert any("按相似案例" in r for r in result.reasons)
    assert not _engine("-").triage("咕噜机上面的嘀嘀器又被拔了").major


def test_look_alikes_and_settled_tips_are_not_flagged(examples_file: Path) -> None:
    engine = _engine(examples_file)
    assert not engine.triage("呼噜板的扣扣又松了").major  # nearest examples are look-alikes
    fixed = engine.triage("咕噜机上面的嘀嘀器被拔了 已经修好了")
    assert not fixed.major
    assert any("未计入" in r for r in fixed.reasons)


def test_category_from_examples_when_the_lexicon_finds_none(examples_file: Path) -> None:
    result = _engine(examples_file).triage("呼噜板的扣扣松成这样")
    assert result.top_category == "height"
    assert result.confidence < 0.5  # low confidence: no lexicon phrase backs it
    assert _engine("-").triage("呼噜板的扣扣松成这样").categories == []


def test_examples_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "examples.toml"
    bad.write_text(
        "examples = [\n"
        '  { text = "甲", category = "dust", clause = "99-9" },\n'
        '  { text = "乙", category = "no_such", clause = "" },\n'
        '  { text = "丙", category = "dust", clause = "", colour = "red" },\n'
        '  { text = "丙", category = "dust", clause = "" },\n'
        "]\n[settings]\nk = 0\nmajor_share = 2\n",
        encoding="utf-8",
    )
    problems = validate_rules(SECTIONS, "office", None, examples_path=bad)
    assert any("clause '99-9' is not a [[criteria]] id" in p for p in problems)
    assert any("category must be one of the category ids" in p for p in problems)
    assert any("unknown keys ['colour']" in p for p in problems)
    assert any("duplicate text" in p for p in problems)
    assert any("settings.k: must be at least 1" in p for p in problems)
    assert any("settings.major_share: must be between 0 and 1" in p for p in problems)


def test_bundled_examples_load_and_cover_majors_and_look_alikes() -> None:
    rules = load_routing_rules(SECTIONS, "office", None)
    assert rules.examples is not None
    examples = rules.examples.examples
    assert str(BUNDLED_EXAMPLES).endswith("bot/rules/examples.toml")
    assert sum(e.clause is not None for e in examples) >= 300
    assert sum(e.clause is None for e in examples) >= 300


def test_other_criteria_file_needs_its_own_examples(tmp_path: Path) -> None:
    criteria = tmp_path / "major.toml"
    criteria.write_text(
        '[[criteria]]\nid = "1"\narticle = "第一条"\ntext = "t"\n[[criteria.triggers]]\nall = [["x"]]\n',
        encoding="utf-8",
    )
    assert load_routing_rules(SECTIONS, "office", None, major_criteria_path=criteria).examples is None


def _reference_neighbours(index: SimilarityIndex, text: str, k: int) -> list[tuple[float, Example]]:
    """The ranking as first written: a dict of scores in first-touch order, sorted whole (stable on ties)."""
    vector = index._vector(_grams(text, index.settings.ngrams))
    scores: dict[int, float] = {}
    for gram, weight in vector.items():
        ids, weights = index._postings.get(gram, ((), ()))
        for i, other in zip(ids, weights, strict=True):
            scores[i] = scores.get(i, 0.0) + weight * other
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:k]
    return [(score, index.examples[i]) for i, score in ranked]


def test_neighbours_rank_exactly_as_a_sorted_dict_of_scores_ties_included() -> None:
    """The fast ranking gives the same examples, the same similarities to the last bit and the same order on ties
    as the plain one, for the bundled examples and for a set with exact duplicates (whose scores tie)."""
    engine = TriageEngine(load_routing_rules(SECTIONS, "office", None))
    bundled = engine._index
    assert bundled is not None
    texts = [engine.prepare(e.text) for e in bundled.examples[::7]]
    texts += [engine.prepare(t) for t in ("配电箱门坏了电线裸露", "粉尘很大没有除尘", "的", "", "zzz", "了了了")]
    # the same texts on different lines: equal scores, distinct examples
    pairs = [("呼噜板扣扣松了", "height", None), ("咕噜机嘀嘀器拔了", "dust", "11-3")] * 3 + [
        ("呼噜板扣扣松了还在用", "height", None)
    ]
    duplicated = [Example(text, category, clause, line=line) for line, (text, category, clause) in enumerate(pairs)]
    ties = SimilarityIndex([e.text for e in duplicated], duplicated, ExampleSettings(k=3))
    tie_texts = ["呼噜板扣扣", "咕噜机", "呼噜板扣扣松了", "嘀嘀器", "无关的话"]
    for index, cases in ((bundled, texts), (ties, tie_texts)):
        for text in cases:
            for k in (1, 3, index.settings.k):
                got = [(n.similarity, n.example) for n in index.neighbours(text, k)]
                assert got == _reference_neighbours(index, text, k), (text, k)
    # the duplicates do tie, so the tie-breaking path ran
    assert len({n.similarity for n in ties.neighbours("呼噜板扣扣松了", 3)}) < 3
