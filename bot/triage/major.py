"""Possible major hazards (重大事故隐患): the clauses of the 工贸 standard as data (bot/rules/major_criteria.toml).

A criterion fires when one of its triggers matches: every group of a trigger has at least one pattern that matches
somewhere in the tip, and none of the trigger's ``unless`` patterns matches. Industry-specific clauses (第四条–第十条)
count only when the enterprise's industry is listed or unknown; when it is unknown, a clause with a ``setting`` also
needs one of those patterns in the tip (a tobacco clause needs tobacco words). A clause's ``not_setting`` patterns
(a kitchen, a fire alarm, a pharmaceutical plant) rule it out whatever the industry. Patterns may name concepts
(``@积水``) from the file's ``[concepts]`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.triage.patterns import DEFAULT_GAP, Hits, Pattern, PatternSyntaxError, parse_concepts, parse_pattern
from bot.triage.tomlfile import read_toml, string_list


@dataclass(frozen=True, slots=True)
class Trigger:
    groups: tuple[tuple[Pattern, ...], ...]
    unless: tuple[Pattern, ...] = ()


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    article: str
    text: str
    industries: frozenset[str]
    triggers: tuple[Trigger, ...]
    verified: bool = True
    setting: tuple[Pattern, ...] = ()
    not_setting: tuple[Pattern, ...] = ()

    @property
    def reason(self) -> str:
        """Article and clause text, e.g. "第十一条（三）干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施"."""
        joiner = "" if self.article.endswith(("）", ")")) else " "
        return f"{self.article}{joiner}{self.text}"

    def applies_to(self, industry: str | None) -> bool:
        return not self.industries or industry is None or industry in self.industries


@dataclass(frozen=True, slots=True)
class MajorFinding:
    criterion: Criterion
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MajorResult:
    findings: tuple[MajorFinding, ...]
    # Clauses whose trigger matched but whose industries exclude the enterprise's industry.
    gated: tuple[Criterion, ...]
    # Clauses whose trigger matched but whose setting the tip does not describe (or rules out).
    off_setting: tuple[Criterion, ...] = ()

    @property
    def major(self) -> bool:
        return bool(self.findings)

    @property
    def reasons(self) -> list[str]:
        return [f.criterion.reason for f in self.findings]


@dataclass(frozen=True)
class MajorCriteria:
    criteria: tuple[Criterion, ...]
    gap: int = DEFAULT_GAP
    window: int = 20

    def phrases(self) -> set[str]:
        found: set[str] = set()
        for criterion in self.criteria:
            for trigger in criterion.triggers:
                for group in trigger.groups:
                    for pattern in group:
                        found.update(pattern.phrases)
                for pattern in trigger.unless:
                    found.update(pattern.phrases)
            for pattern in (*criterion.setting, *criterion.not_setting):
                found.update(pattern.phrases)
        return found

    def evaluate(self, hits: Hits, industry: str | None) -> MajorResult:
        findings: list[MajorFinding] = []
        gated: list[Criterion] = []
        off_setting: list[Criterion] = []
        for criterion in self.criteria:
            evidence = self._fire(criterion, hits)
            if evidence is None:
                continue
            if not criterion.applies_to(industry):
                gated.append(criterion)
            elif not self._in_setting(criterion, hits, industry):
                off_setting.append(criterion)
            else:
                findings.append(MajorFinding(criterion, evidence))
        return MajorResult(tuple(findings), tuple(gated), tuple(off_setting))

    def _in_setting(self, criterion: Criterion, hits: Hits, industry: str | None) -> bool:
        if any(hits.matches(p, self.gap, self.window) for p in criterion.not_setting):
            return False
        if industry is not None and criterion.industries:
            return True  # the registered industry is the setting
        if not criterion.setting:
            return True
        return any(hits.matches(p, self.gap, self.window) for p in criterion.setting)

    def _fire(self, criterion: Criterion, hits: Hits) -> tuple[str, ...] | None:
        for trigger in criterion.triggers:
            if any(hits.matches(p, self.gap, self.window) for p in trigger.unless):
                continue
            evidence: list[str] = []
            for group in trigger.groups:
                span = None
                for pattern in group:
                    span = hits.first_match(pattern, self.gap, self.window)
                    if span is not None:
                        evidence.append(hits.text[span[0] : span[1]])
                        break
                if span is None:
                    break
            else:
                return tuple(evidence)
        return None


def _patterns(
    value: object, where: str, problems: list[str], concepts: Mapping[str, tuple[str, ...]]
) -> tuple[Pattern, ...]:
    out: list[Pattern] = []
    for source in string_list(value, where, problems):
        try:
            out.append(parse_pattern(source, concepts))
        except PatternSyntaxError as exc:
            problems.append(f"{where}: {exc}")
    return tuple(out)


def load_major_criteria(path: Path, problems: list[str]) -> MajorCriteria | None:
    data = read_toml(path, problems)
    if data is None:
        return None
    before = len(problems)
    settings = data.get("settings", {})
    gap = settings.get("gap", DEFAULT_GAP) if isinstance(settings, dict) else DEFAULT_GAP
    window = settings.get("window", 20) if isinstance(settings, dict) else 20
    if not isinstance(gap, int) or not isinstance(window, int):
        problems.append(f"{path}: settings.gap and settings.window must be integers")
        gap, window = DEFAULT_GAP, 20
    concepts = parse_concepts(data.get("concepts"), str(path), problems)
    raw = data.get("criteria")
    if not isinstance(raw, list) or not raw:
        problems.append(f"{path}: no [[criteria]] entries")
        return None
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for index, body in enumerate(raw):
        where = f"{path}: criteria[{index}]"
        if not isinstance(body, dict):
            problems.append(f"{where}: must be a table")
            continue
        cid = body.get("id")
        where = f"{path}: criteria[{index}] (id={cid!r})"
        unknown = set(body) - {
            "id",
            "article",
            "text",
            "industries",
            "triggers",
            "verified",
            "note",
            "setting",
            "not_setting",
        }
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if not isinstance(cid, str) or not cid:
            problems.append(f"{where}: id must be a non-empty string")
            continue
        if cid in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(cid)
        article, text = body.get("article"), body.get("text")
        if not isinstance(article, str) or not article or not isinstance(text, str) or not text:
            problems.append(f"{where}: article and text must be non-empty strings")
            continue
        industries = frozenset(string_list(body.get("industries"), f"{where}.industries", problems))
        verified = body.get("verified", True)
        if not isinstance(verified, bool):
            problems.append(f"{where}.verified: expected true or false")
            verified = True
        raw_triggers = body.get("triggers")
        if not isinstance(raw_triggers, list) or not raw_triggers:
            problems.append(f"{where}: needs at least one [[criteria.triggers]]")
            continue
        triggers: list[Trigger] = []
        for t_index, t_body in enumerate(raw_triggers):
            t_where = f"{where}.triggers[{t_index}]"
            if not isinstance(t_body, dict) or not isinstance(t_body.get("all"), list) or not t_body["all"]:
                problems.append(f"{t_where}: needs all = [[...], ...] (groups of patterns)")
                continue
            groups = tuple(
                _patterns(group, f"{t_where}.all[{g}]", problems, concepts) for g, group in enumerate(t_body["all"])
            )
            if any(not g for g in groups):
                problems.append(f"{t_where}: empty group")
                continue
            triggers.append(Trigger(groups, _patterns(t_body.get("unless"), f"{t_where}.unless", problems, concepts)))
        setting = _patterns(body.get("setting"), f"{where}.setting", problems, concepts)
        not_setting = _patterns(body.get("not_setting"), f"{where}.not_setting", problems, concepts)
        criteria.append(
            Criterion(cid, article.strip(), text.strip(), industries, tuple(triggers), verified, setting, not_setting)
        )
    if len(problems) > before:
        return None
    return MajorCriteria(tuple(criteria), gap, window)
