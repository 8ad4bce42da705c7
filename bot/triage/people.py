"""Head counts in a tip ("十几个人", "12个工人"): the 快速冻结 clause counts people."""

from __future__ import annotations

import re

MORE_THAN_NINE = "多于九人"

_COUNT = re.compile(r"([0-9]+|[一二两三四五六七八九十百几]+)[多来余]?(?:个|名|位)?(?:人|工人|员工|师傅)")
_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _at_least(number: str) -> int:
    if number.isdigit():
        return int(number)
    if "百" in number:
        return 100
    if "十" in number:
        head = number.split("十", 1)[0]
        return 10 * _DIGITS.get(head, 1) if head != "几" else 20
    return max((_DIGITS.get(ch, 0) for ch in number), default=0)


def people_over_nine(text: str) -> list[int]:
    """Positions in normalised ``text`` where a head count above nine is stated."""
    return [m.start() for m in _COUNT.finditer(text) if _at_least(m.group(1)) > 9]
