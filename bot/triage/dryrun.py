"""Dry run: triage tips without a database or WeChat, for `whistle triage` and for trying edited rules.

Input is JSON lines. A line holding a JSON object is read as ``{"text": str, "enterprise": str | null,
"has_photo": bool}`` (``enterprise_hint`` is accepted for ``enterprise``); any other non-blank line is the tip text
itself. Each tip yields :func:`triage_json`'s dict, exactly::

    {"categories": [{"id": "dust", "score": 0.93}, ...],   # best first, score 0..1
     "major": true, "major_reasons": ["第十一条（三）…"],
     "enterprise": "歙县宏达机械制造有限公司" | null,        # registered name
     "section": "industry",
     "transfers": [{"department": "应急管理局", "reason": "…"}],
     "reasons": ["…"]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from bot.triage.engine import TriageEngine


def triage_json(
    engine: TriageEngine, text: str, enterprise_hint: str | None = None, has_photo: bool = False
) -> dict[str, object]:
    """One tip → the dry-run JSON dict (the keys of ``bot.triage.JSON_KEYS``, nothing else)."""
    return engine.triage(text, enterprise_hint=enterprise_hint, has_photo=has_photo).to_json()


def parse_line(line: str | Mapping[str, Any]) -> tuple[str, str | None, bool] | None:
    """(text, enterprise hint, has_photo) from one input line or dict; None for a blank line."""
    if isinstance(line, Mapping):
        record: Mapping[str, Any] = line
    else:
        stripped = line.strip()
        if not stripped:
            return None
        record = {"text": stripped}
        if stripped.startswith("{"):
            try:
                parsed = json.loads(stripped)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                record = parsed
    text = record.get("text") or ""
    hint = record.get("enterprise", record.get("enterprise_hint"))
    return (
        str(text),
        str(hint) if hint not in (None, "") else None,
        bool(record.get("has_photo", False)),
    )


def run_dry(lines: Iterable[str | Mapping[str, Any]], engine: TriageEngine) -> Iterator[dict[str, object]]:
    """Triage every tip in ``lines`` (JSON lines, plain lines or dicts), yielding one JSON dict per tip."""
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            continue
        text, hint, has_photo = parsed
        yield triage_json(engine, text, hint, has_photo)


def dump_lines(results: Iterable[dict[str, object]]) -> Iterator[str]:
    """Results as JSON lines (UTF-8 text, Chinese kept readable)."""
    for result in results:
        yield json.dumps(result, ensure_ascii=False)
