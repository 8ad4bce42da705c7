"""`whistle triage`: the triage job's own code on a text, or on a backlog of JSON lines, with the configured rules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from bot.config import Settings
from bot.triage import TriageEngine, load_routing_rules


def engine_for(settings: Settings) -> TriageEngine:
    return TriageEngine(load_routing_rules(**settings.rule_sources()))


def triage_one(settings: Settings, text: str, enterprise: str | None, *, as_json: bool) -> str:
    result = engine_for(settings).triage(text, enterprise_hint=enterprise)
    if as_json:
        return json.dumps(result.to_json(), ensure_ascii=False)
    lines = [
        "类别：" + ", ".join(f"{c.id}({c.score:.2f})" for c in result.categories),
        f"可能重大隐患：{'是' if result.major else '否'}",
        *(f"  依据：{reason}" for reason in result.major_reasons),
        f"企业：{result.enterprise or '未识别'}",
        f"分派：{result.section}",
        *(f"移交：{t.department}（{t.reason}）" for t in result.transfers),
        *(f"理由：{reason}" for reason in result.reasons),
    ]
    return "\n".join(lines)


def triage_lines(settings: Settings, lines: Iterable[str]) -> Iterator[str]:
    """One JSON result per input line; a bad line gets {"error": ...} and the rest go on."""
    engine = engine_for(settings)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('expected {"text": ..., "enterprise": ...}')
            hint = item.get("enterprise")
            result = engine.triage(item["text"], enterprise_hint=hint if isinstance(hint, str) else None)
            yield json.dumps(result.to_json(), ensure_ascii=False)
        except ValueError as exc:
            yield json.dumps({"error": f"line {number}: {exc}"}, ensure_ascii=False)
