"""Reading what a worker types: forgiving of full-width characters, spaces, case and trailing punctuation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache


class Command(Enum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    MY_CASES = "my_cases"
    HELP = "help"
    QUERY = "query"
    OBJECT = "object"


WORDS = {
    Command.SUBMIT: {"提交", "提交举报", "确认提交", "完成", "发完了", "好了提交", "submit"},
    Command.CANCEL: {"取消", "取消举报", "放弃", "不报了", "cancel"},
    Command.MY_CASES: {"我的举报", "我的案件", "我的", "举报记录", "进度", "查看进度"},
    Command.HELP: {"帮助", "help", "?", "怎么举报", "如何举报", "说明", "菜单", "举报"},
}
_LOOKUP = {word: command for command, words in WORDS.items() for word in words}
_TRAILING = "。.!！~～,，、 "
REFERENCE = re.compile(r"([A-Za-z0-9]{1,6})\s*-?\s*(\d{8})\s*-?\s*(\d{4,6})")
_QUERY = re.compile(r"^(?:查询|查|query)\s*[:：]?\s*(?P<rest>.*)$", re.IGNORECASE)
_OBJECT = re.compile(r"^(?:异议|申诉|复核)\s*[:：]?\s*(?P<rest>.*)$")


@dataclass(frozen=True)
class Parsed:
    command: Command
    reference: str | None = None
    code: str | None = None
    reason: str = ""


@lru_cache(maxsize=64)
def normalize(text: str) -> str:
    """NFKC folds full-width letters, digits and punctuation; whitespace runs become one space. A text message is
    read twice (is it a bind, is it a command), and NFKC of Chinese text with full-width punctuation is slow."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def parse_command(text: str) -> Parsed | None:
    """The command this text is, or None when it is a description to add to the report."""
    flat = normalize(text)
    bare = flat.strip(_TRAILING).lower()
    if bare in _LOOKUP:
        return Parsed(_LOOKUP[bare])
    query = _QUERY.match(flat)
    if query:
        return _parse_query(query.group("rest"))
    objection = _OBJECT.match(flat)
    if objection:
        rest = objection.group("rest")
        match = REFERENCE.search(rest)
        if not match:
            return Parsed(Command.OBJECT)
        return Parsed(Command.OBJECT, reference=_reference(match), reason=rest[match.end() :].strip(_TRAILING + ":："))
    only_reference = REFERENCE.fullmatch(flat.strip(_TRAILING))
    if only_reference:
        return Parsed(Command.QUERY, reference=_reference(only_reference))
    return None


def _parse_query(rest: str) -> Parsed:
    match = REFERENCE.search(rest)
    if not match:
        return Parsed(Command.QUERY)
    code = rest[match.end() :].strip(_TRAILING + ":：") or None
    return Parsed(Command.QUERY, reference=_reference(match), code=code.upper() if code else None)


def _reference(match: re.Match[str]) -> str:
    prefix, day, seq = match.groups()
    return f"{prefix.upper()}-{day}-{int(seq):04d}"
