"""Head counts in a tip ("十几个人", "12个工人", "干活的有十五六个", "二三十号人"): the 快速冻结 clause counts people.

Two shapes are recognised: a number with a people word after it (十几个人, 12名工人, 二三十号人), and a number
after a people word and a linking verb (干活的有十五六个, 里面的人得有二十来个), where workers leave the noun out."""

from __future__ import annotations

import re

MORE_THAN_NINE = "多于九人"

_NUMBER = r"([0-9]+|[一二两三四五六七八九十百几好]+)"
_COUNT = re.compile(_NUMBER + r"[多来余]?(?:个|名|位|号)?(?:人|工人|员工|师傅)")
# people word, at most four other characters (no sentence end), a linking verb, then the number and a measure word
_COUNT_AFTER = re.compile(
    r"(?:人|工人|员工|干活的|上班的|师傅|女工|男工)[^/]{0,4}?(?:有|是|共|得有|足有|差不多|大概|将近|起码|至少)"
    + _NUMBER
    + r"[多来余]?(?:个|名|位|号)"
)
_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _at_least(number: str) -> int:
    if number.isdigit():
        return int(number)
    if "百" in number:
        return 100
    if "十" in number:
        head = number.split("十", 1)[0].lstrip("好")
        return 10 * _DIGITS.get(head, 1) if head != "几" else 20
    return max((_DIGITS.get(ch, 0) for ch in number), default=0)


def people_over_nine(text: str) -> list[int]:
    """Positions in normalised ``text`` where a head count above nine is stated."""
    found = {m.start() for m in _COUNT.finditer(text) if _at_least(m.group(1)) > 9}
    found.update(m.start(1) for m in _COUNT_AFTER.finditer(text) if _at_least(m.group(1)) > 9)
    return sorted(found)
