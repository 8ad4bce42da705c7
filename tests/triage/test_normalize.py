from __future__ import annotations

from bot.triage import TriageEngine
from bot.triage.normalize import SEP, has_words, normalize


def test_traditional_becomes_simplified() -> None:
    assert normalize("滅火器過期了，電線裸露") == "灭火器过期了电线裸露"


def test_full_width_and_case_are_folded() -> None:
    assert normalize("ＣＯ报警器") == "co报警器"


def test_sentence_punctuation_becomes_separator_and_commas_vanish() -> None:
    assert normalize("配电箱没门，进水了。叉车带人！") == f"配电箱没门进水了{SEP}叉车带人"


def test_emoji_become_words() -> None:
    assert normalize("🔥配电房") == "着火配电房"
    assert normalize("🧯过期") == "灭火器过期"
    assert normalize("⚡️插座") == "电插座"


def test_has_words() -> None:
    assert not has_words(normalize("👀"))
    assert not has_words("")
    assert has_words(normalize("看图"))


def test_corrections_fix_typos_and_voice_homophones(engine: TriageEngine) -> None:
    assert engine.normalize("灭火气都过期了") == "灭火器都过期了"
    assert engine.normalize("消防拴打不开") == "消防栓打不开"
    assert engine.normalize("下那个有线空间") == "下那个有限空间"
