"""Text normalisation: the form every matcher sees.

Steps: Unicode NFKC (full-width → half-width), lower case, traditional → simplified characters, emoji → words,
whitespace and light punctuation removed (voice-to-text and typed tips split words arbitrarily), sentence punctuation
turned into ``SEP`` so that near/ordered patterns do not reach across sentences.
"""

from __future__ import annotations

import unicodedata

from bot.triage.t2s_table import SIMPLIFIED, TRADITIONAL

SEP = "/"

_T2S = str.maketrans(TRADITIONAL, SIMPLIFIED)

# Emoji workers use in place of words. Variation selectors are dropped before lookup.
EMOJI_WORDS: dict[str, str] = {
    "🔥": "着火",
    "⚡": "电",
    "⚡️": "电",
    "💥": "爆炸",
    "🧯": "灭火器",
    "🔌": "插头",
    "🔋": "电池",
    "🪫": "电池",
    "🚒": "消防",
    "💨": "冒烟",
    "☠": "有毒",
    "😷": "粉尘",
    "🤢": "有毒气味",
    "🚪": "门",
    "🔒": "锁",
    "⛓": "锁",
    "🪜": "梯子",
    "🏗": "吊",
    "🛵": "电动车",
    "🚲": "电动车",
    "🚚": "货车",
    "🚛": "货车",
    "🍺": "喝酒",
    "🚬": "抽烟",
    "💀": "死人",
    "⚰": "死人",
    "🚑": "受伤",
    "🩸": "受伤",
    "⚠": "",
    "🚨": "",
    "🆘": "",
    "❗": "",
    "‼": "",
}

# Sentence-level punctuation: patterns stop here.
_SENTENCE_PUNCT = set("。！？!?；;\n\r…")
# Everything else that is not a letter or digit is dropped (commas, spaces, quotes, brackets, other emoji).
_KEEP_CATEGORIES = ("L", "N")


def normalize(text: str) -> str:
    """Return the matching form of ``text``: simplified, lower case, no spaces, sentences split by ``SEP``."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower().translate(_T2S)
    out: list[str] = []
    for ch in text:
        if ch in _SENTENCE_PUNCT:
            if out and out[-1] != SEP:
                out.append(SEP)
            continue
        word = EMOJI_WORDS.get(ch)
        if word is not None:
            if word:
                out.append(word)
            continue
        if unicodedata.category(ch)[0] in _KEEP_CATEGORIES:
            out.append(ch)
    return "".join(out).strip(SEP)


def has_words(normalized: str) -> bool:
    """True when the normalised text holds at least one CJK character or two letters/digits."""
    count = 0
    for ch in normalized:
        if "\u4e00" <= ch <= "\u9fff":
            return True
        if ch != SEP:
            count += 1
    return count >= 2
