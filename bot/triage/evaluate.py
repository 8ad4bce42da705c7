"""Measuring the engine against a labelled set of tips (JSON lines), for the bench and the tests.

Each line: {"text", "enterprise_hint"?, "has_photo"?, "top": category id or null, "acceptable": [ids],
"major": bool, "enterprise": registered name or null, "section": id, "split": "dev"|"holdout"}.
``top`` is the label an inspector would pick first; ``acceptable`` lists other first labels an inspector would also
accept for an ambiguous tip. A tip with ``top`` null (photo only, "看图") is right when no category is reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.triage.engine import TriageEngine
from bot.triage.result import TriageResult


def load_tips(path: Path) -> list[dict[str, Any]]:
    tips: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                tip = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{line_no}: {exc}") from exc
            tip.setdefault("_line", line_no)
            tips.append(tip)
    return tips


@dataclass
class Outcome:
    tip: dict[str, Any]
    result: TriageResult

    @property
    def top_ok(self) -> bool:
        expected = self.tip.get("top")
        predicted = self.result.top_category
        if expected is None:
            return predicted is None
        return predicted == expected or predicted in self.tip.get("acceptable", [])

    @property
    def top_strict(self) -> bool:
        return self.result.top_category == self.tip.get("top")

    @property
    def major_expected(self) -> bool:
        return bool(self.tip.get("major"))

    @property
    def names_enterprise(self) -> bool:
        return self.tip.get("enterprise") is not None

    @property
    def route_ok(self) -> bool:
        return self.result.section == self.tip.get("section")

    @property
    def enterprise_ok(self) -> bool:
        return self.result.enterprise == self.tip.get("enterprise")


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def subset(self, split: str | None) -> Report:
        if split is None:
            return self
        return Report([o for o in self.outcomes if o.tip.get("split", "dev") == split])

    @staticmethod
    def _ratio(hits: int, total: int) -> float:
        return hits / total if total else 1.0

    @property
    def top1(self) -> float:
        return self._ratio(sum(o.top_ok for o in self.outcomes), len(self.outcomes))

    @property
    def top1_strict(self) -> float:
        return self._ratio(sum(o.top_strict for o in self.outcomes), len(self.outcomes))

    def per_category(self) -> dict[str | None, tuple[int, int]]:
        table: dict[str | None, tuple[int, int]] = {}
        for o in self.outcomes:
            ok, total = table.get(o.tip.get("top"), (0, 0))
            table[o.tip.get("top")] = (ok + o.top_ok, total + 1)
        return table

    @property
    def major_counts(self) -> tuple[int, int, int]:
        """(true positives, false positives, false negatives)."""
        tp = sum(o.major_expected and o.result.major for o in self.outcomes)
        fp = sum((not o.major_expected) and o.result.major for o in self.outcomes)
        fn = sum(o.major_expected and not o.result.major for o in self.outcomes)
        return tp, fp, fn

    @property
    def major_precision(self) -> float:
        tp, fp, _ = self.major_counts
        return self._ratio(tp, tp + fp)

    @property
    def major_recall(self) -> float:
        tp, _, fn = self.major_counts
        return self._ratio(tp, tp + fn)

    @property
    def named(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.names_enterprise]

    @property
    def routing(self) -> float:
        named = self.named
        return self._ratio(sum(o.route_ok for o in named), len(named))

    @property
    def enterprise_accuracy(self) -> float:
        return self._ratio(sum(o.enterprise_ok for o in self.outcomes), len(self.outcomes))


def evaluate(engine: TriageEngine, tips: Iterable[dict[str, Any]]) -> Report:
    report = Report()
    for tip in tips:
        result = engine.triage(
            tip.get("text", ""), enterprise_hint=tip.get("enterprise_hint"), has_photo=bool(tip.get("has_photo"))
        )
        report.outcomes.append(Outcome(tip, result))
    return report
