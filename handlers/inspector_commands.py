"""Reading what an inspector types on a phone: a command word, usually a case reference, then free text.

Forgiving of full-width characters, missing spaces ("受理AQ-20261130-0001"), lower case and a missing prefix's dash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from handlers.commands import REFERENCE, normalize


class Act(Enum):
    LIST = "list"
    SHOW = "show"
    ACCEPT = "accept"
    VERIFY = "verify"
    REASSIGN = "reassign"
    TRANSFER = "transfer"
    REJECT = "reject"
    DUPLICATE = "duplicate"
    DEADLINE = "deadline"
    EXTEND = "extend"
    ASK = "ask"
    RECTIFIED = "rectified"
    CLOSE = "close"
    CONFIRM_MAJOR = "confirm_major"
    CLEAR_MAJOR = "clear_major"
    HELP = "help"
    STATS = "stats"


# Longer words first, so "不予受理" is not read as "受理" and "整改期限" not as "整改".
WORDS: list[tuple[str, Act]] = sorted(
    [
        ("不予受理", Act.REJECT),
        ("驳回", Act.REJECT),
        ("受理", Act.ACCEPT),
        ("核查", Act.VERIFY),
        ("转派", Act.REASSIGN),
        ("移交", Act.TRANSFER),
        ("重复", Act.DUPLICATE),
        ("整改期限", Act.DEADLINE),
        ("期限", Act.DEADLINE),
        ("延期", Act.EXTEND),
        ("提问", Act.ASK),
        ("问", Act.ASK),
        ("整改完成", Act.RECTIFIED),
        ("整改", Act.RECTIFIED),
        ("办结", Act.CLOSE),
        ("确认重大", Act.CONFIRM_MAJOR),
        ("排除重大", Act.CLEAR_MAJOR),
        ("查看", Act.SHOW),
        ("详情", Act.SHOW),
        ("案件", Act.SHOW),
    ],
    key=lambda pair: -len(pair[0]),
)
BARE = {
    "待办": Act.LIST,
    "我的待办": Act.LIST,
    "列表": Act.LIST,
    "清单": Act.LIST,
    "案件列表": Act.LIST,
    "帮助": Act.HELP,
    "help": Act.HELP,
    "指令": Act.HELP,
    "统计": Act.STATS,
    "汇总": Act.STATS,
    "战果": Act.STATS,
}
BIND = re.compile(r"^绑定\s*[:：]?\s*([A-Za-z0-9]{4,32})$")


@dataclass(frozen=True)
class InspectorCommand:
    act: Act
    reference: str | None = None
    argument: str = ""


def parse_inspector(text: str) -> InspectorCommand | None:
    """The command, or None when the text is not one (then it is read as an ordinary message)."""
    flat = normalize(text)
    bare = flat.strip("。.!！ ").lower()
    if bare in BARE:
        return InspectorCommand(BARE[bare])
    for word, act in WORDS:
        if flat.startswith(word):
            rest = flat[len(word) :].strip(" :：")
            match = REFERENCE.match(rest)
            if not match:
                return None
            prefix, day, seq = match.groups()
            reference = f"{prefix.upper()}-{day}-{int(seq):04d}"
            return InspectorCommand(act, reference, rest[match.end() :].strip(" :：,，"))
    only = REFERENCE.fullmatch(flat.strip("。.!！ "))
    if only:
        prefix, day, seq = only.groups()
        return InspectorCommand(Act.SHOW, f"{prefix.upper()}-{day}-{int(seq):04d}")
    return None


def parse_bind(text: str) -> str | None:
    match = BIND.match(normalize(text))
    return match.group(1).upper() if match else None
