"""Transfers and notices to other departments (bot/rules/transfers.toml).

A rule fires when all of its conditions hold: one of its ``categories`` is among the tip's leading categories, one of
its ``patterns`` matches the tip, and (``major = true``) the tip is possibly a major hazard. A rule with
``escalate_section`` also moves the tip to that section (e.g. deaths and concealed accidents go to 办公室).
A rule's ``not_inside`` phrases are figures of speech that hold its words without meaning them: a word of the rule's
patterns that stands inside one of them does not count ("吓死人了" holds 死人 but nobody died).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.triage.categories import CATEGORY_IDS
from bot.triage.normalize import normalize
from bot.triage.patterns import Hits, Pattern, PatternSyntaxError, parse_pattern
from bot.triage.tomlfile import number, read_toml, string_list


@dataclass(frozen=True, slots=True)
class TransferRule:
    department: str
    reason: str
    categories: tuple[str, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    major: bool = False
    escalate_section: str | None = None
    line_hint: str = ""
    not_inside: tuple[str, ...] = ()

    def literal(self, hits: Hits) -> Hits:
        """``hits`` without the occurrences of this rule's words that stand inside a ``not_inside`` phrase."""
        if not self.not_inside:
            return hits
        spans = [(pos, pos + len(p)) for p in self.not_inside for pos in hits.positions.get(p, ())]
        if not spans:
            return hits
        words = {w for pattern in self.patterns for w in pattern.phrases}
        positions: dict[str, list[int]] = {}
        for phrase, found in hits.positions.items():
            kept = found
            if phrase in words:
                kept = [q for q in found if not any(a <= q and q + len(phrase) <= b for a, b in spans)]
            if kept:
                positions[phrase] = kept
        return hits.derive(positions)


@dataclass(frozen=True, slots=True)
class Transfer:
    """Where a tip is also sent. ``escalate`` is True when it also moves the tip inside the bureau."""

    department: str
    reason: str
    escalate: bool = False

    def to_json(self) -> dict[str, object]:
        return {"department": self.department, "reason": self.reason}


@dataclass(frozen=True)
class TransferRules:
    rules: tuple[TransferRule, ...]
    # A category counts for transfers when its score is at least this share of the top category's.
    category_share: float = 0.5

    def phrases(self) -> set[str]:
        found = {p for rule in self.rules for pattern in rule.patterns for p in pattern.phrases}
        return found | {p for rule in self.rules for p in rule.not_inside}

    def evaluate(
        self, hits: Hits, categories: list[tuple[str, float]], major: bool
    ) -> tuple[list[Transfer], str | None]:
        """Transfers for a tip (one per department, reasons joined) and the section to escalate to, if any."""
        top = categories[0][1] if categories else 0.0
        leading = {cid for cid, raw in categories if raw >= top * self.category_share}
        by_department: dict[str, list[str]] = {}
        escalated: dict[str, bool] = {}
        escalate_to: str | None = None
        for rule in self.rules:
            if rule.categories and not leading.intersection(rule.categories):
                continue
            if rule.patterns:
                literal = rule.literal(hits)
                if not any(literal.matches(p) for p in rule.patterns):
                    continue
            if rule.major and not major:
                continue
            reasons = by_department.setdefault(rule.department, [])
            if rule.reason not in reasons:
                reasons.append(rule.reason)
            if rule.escalate_section:
                escalated[rule.department] = True
                escalate_to = escalate_to or rule.escalate_section
        transfers = [
            Transfer(dept, "；".join(reasons), escalated.get(dept, False)) for dept, reasons in by_department.items()
        ]
        return transfers, escalate_to


def load_transfers(path: Path, problems: list[str], section_ids: set[str] | None = None) -> TransferRules | None:
    """Parse the transfer rules; ``section_ids`` (when given) checks ``escalate_section``."""
    data = read_toml(path, problems)
    if data is None:
        return None
    before = len(problems)
    settings = data.get("settings", {})
    share = 0.5
    if isinstance(settings, dict):
        share = number(settings.get("category_share"), f"{path}: settings.category_share", 0.5, problems)
    raw = data.get("transfers")
    if not isinstance(raw, list) or not raw:
        problems.append(f"{path}: no [[transfers]] entries")
        return None
    rules: list[TransferRule] = []
    for index, body in enumerate(raw):
        where = f"{path}: transfers[{index}]"
        if not isinstance(body, dict):
            problems.append(f"{where}: must be a table")
            continue
        unknown = set(body) - {
            "department",
            "reason",
            "categories",
            "patterns",
            "major",
            "escalate_section",
            "not_inside",
        }
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        department, reason = body.get("department"), body.get("reason")
        if not isinstance(department, str) or not department.strip():
            problems.append(f"{where}.department: expected a non-empty string")
            continue
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{where}.reason: expected a non-empty string")
            continue
        categories = tuple(string_list(body.get("categories"), f"{where}.categories", problems))
        for cid in categories:
            if cid not in CATEGORY_IDS:
                problems.append(f"{where}.categories: unknown category id {cid!r}")
        patterns: list[Pattern] = []
        for source in string_list(body.get("patterns"), f"{where}.patterns", problems):
            try:
                patterns.append(parse_pattern(source))
            except PatternSyntaxError as exc:
                problems.append(f"{where}.patterns: {exc}")
        not_inside = tuple(normalize(w) for w in string_list(body.get("not_inside"), f"{where}.not_inside", problems))
        if not_inside and not patterns:
            problems.append(f"{where}.not_inside: only meaningful with patterns")
        major = body.get("major", False)
        if not isinstance(major, bool):
            problems.append(f"{where}.major: expected true or false")
            major = False
        escalate = body.get("escalate_section")
        if escalate is not None and (not isinstance(escalate, str) or not escalate):
            problems.append(f"{where}.escalate_section: expected a section id")
            escalate = None
        elif escalate is not None and section_ids is not None and escalate not in section_ids:
            problems.append(f"{where}.escalate_section: {escalate!r} is not a configured [[sections]] id")
        if not categories and not patterns and not major:
            problems.append(f"{where}: needs categories, patterns or major = true (otherwise it fires for every tip)")
            continue
        rules.append(
            TransferRule(
                department.strip(), reason.strip(), categories, tuple(patterns), major, escalate, where, not_inside
            )
        )
    if len(problems) > before:
        return None
    return TransferRules(tuple(rules), share)
