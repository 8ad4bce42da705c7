"""Possible major hazards (重大事故隐患): the clauses of the 工贸 standard as data (bot/rules/major_criteria.toml).

A criterion fires when one of its triggers matches: every group of a trigger has at least one pattern that matches
somewhere in the tip, and none of the trigger's ``unless`` patterns matches. Industry-specific clauses (第四条–第十条)
count only when the enterprise's industry is listed or unknown; when it is unknown, a clause with a ``setting`` also
needs one of those patterns in the tip (a tobacco clause needs tobacco words). A clause's ``not_setting`` patterns
(a kitchen, a fire alarm, a pharmaceutical plant) rule it out whatever the industry. Patterns may name concepts
(``@积水``) from the file's ``[concepts]`` table.

Three mechanisms keep wide vocabularies precise (all data in the file's ``[negation]`` table and trigger keys):

* **negation**: a ``negatable`` phrase (a failure word such as 坏/拆/关掉, a water word such as 有水) that
  stands right after a negator (没/没有/不是/无…, optionally with ``fillers`` such as 被/人 in between: 没被拆)
  does not count, and neither does the negator itself as "missing": "报警器没坏", "坑里没有水". "是不是坏了"
  is a question, not a negation, and still counts;
* **hypothetical mood**: a ``negatable`` phrase that starts within ``hypothetical_window`` characters after a
  ``hypothetical`` marker (万一/要是/如果…) in the same sentence describes what might happen, not what is there:
  "万一下雨漏水进去是不是很危险" reports no water. The marker says only that one phrase is supposed; the rest of the
  tip still counts ("冷却水要是断了也没有东西会叫": the missing alarm is real);
* **resolution**: a ``resolved`` phrase (已经修好, 换了新的…) after or in the same sentence as a finding's evidence
  cancels the finding, unless a ``contrast`` phrase (但是, 又坏, 还是不响…) follows it;
* **local vetoes**: a trigger's ``unless_near`` patterns veto it only when they occur within ``window`` characters of
  the trigger's evidence in the same sentence (``settings.veto_window``, 10 by default: the alarm that "一直在响"
  must be the one in question).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.triage.normalize import SEP
from bot.triage.patterns import DEFAULT_GAP, Hits, Pattern, PatternSyntaxError, parse_concepts, parse_pattern
from bot.triage.tomlfile import read_toml, string_list


@dataclass(frozen=True, slots=True)
class Trigger:
    groups: tuple[tuple[Pattern, ...], ...]
    unless: tuple[Pattern, ...] = ()
    unless_near: tuple[Pattern, ...] = ()


@dataclass(frozen=True)
class Negation:
    """The ``[negation]`` table: which phrases a negator cancels, and which phrases say a hazard is already fixed."""

    negators: tuple[str, ...] = ()
    negatable: frozenset[str] = frozenset()
    fillers: str = ""
    question: tuple[str, ...] = ()
    resolved: tuple[Pattern, ...] = ()
    contrast: tuple[Pattern, ...] = ()
    hypothetical: tuple[str, ...] = ()
    hypothetical_window: int = 6
    # longer words that hold a marker without supposing anything (主要是 holds 要是)
    not_hypothetical: tuple[str, ...] = ()

    def supposed_at(self, text: str, pos: int) -> int:
        """Where the hypothetical marker (万一, 要是…) governing the phrase at ``pos`` starts, or -1: the marker ends at
        most ``hypothetical_window`` characters before ``pos`` in the same sentence."""
        best = -1
        lo = max(0, pos - self.hypothetical_window)
        for marker in self.hypothetical:
            start = text.rfind(marker, max(0, lo - len(marker)), pos)
            if start < 0 or start + len(marker) > pos or start + len(marker) < lo:
                continue
            if SEP in text[start:pos] or self._inside_word(text, start, start + len(marker)):
                continue
            best = max(best, start)
        return best

    def _inside_word(self, text: str, start: int, end: int) -> bool:
        for word in self.not_hypothetical:
            at = text.find(word, max(0, end - len(word)), start + len(word))
            while 0 <= at <= start:
                if at + len(word) >= end:
                    return True
                at = text.find(word, at + 1, start + len(word))
        return False

    def cancelled_at(self, text: str, pos: int) -> int:
        """Where the negator or hypothetical marker that cancels the phrase at ``pos`` starts, or -1."""
        start = self.negator_at(text, pos)
        return start if start >= 0 else self.supposed_at(text, pos)

    def is_negated(self, text: str, pos: int) -> bool:
        """True when a negator ends at ``pos`` (or before up to two filler characters)."""
        return self.negator_at(text, pos) >= 0

    def negator_at(self, text: str, pos: int) -> int:
        """Where the negator of the phrase at ``pos`` starts, or -1 when the phrase is not negated."""
        end = pos
        for _ in range(3):
            for negator in self.negators:
                start = end - len(negator)
                if start >= 0 and text.startswith(negator, start):
                    qs = self._questions(negator)
                    asked = (start + len(negator) - len(q) for q in qs)
                    if any(at >= 0 and text.startswith(q, at) for q, at in zip(qs, asked, strict=True)):
                        return -1
                    return start
            if end > 0 and text[end - 1] in self.fillers:
                end -= 1
            else:
                break
        return -1

    def _questions(self, negator: str) -> tuple[str, ...]:
        # question forms that end with the negator: 是不是 (for 不是), 有没有 (for 没有)
        return tuple(q for q in self.question if q.endswith(negator))

    def apply(self, hits: Hits) -> Hits:
        """``hits`` without the negated occurrences of negatable phrases."""
        if not (self.negators or self.hypothetical) or not self.negatable:
            return hits
        text = hits.text
        # (negator start, negated phrase start): the negator is used up; it does not also say "missing" (没有被拆)
        used: list[tuple[int, int]] = []
        supposed = False
        positions: dict[str, list[int]] = {}
        for phrase, found in hits.positions.items():
            if phrase in self.negatable:
                kept: list[int] = []
                for pos in found:
                    start = self.negator_at(text, pos)
                    if start >= 0:
                        used.append((start, pos))
                    elif self.supposed_at(text, pos) >= 0:
                        supposed = True
                    else:
                        kept.append(pos)
                if kept:
                    positions[phrase] = kept
            else:
                positions[phrase] = found
        if not used:
            return hits.derive(positions) if supposed else hits
        for phrase in list(positions):
            kept = [p for p in positions[phrase] if not any(a <= p and p + len(phrase) <= b for a, b in used)]
            if kept:
                positions[phrase] = kept
            else:
                del positions[phrase]
        return hits.derive(positions)

    def resolution(self, hits: Hits, gap: int, window: int) -> list[tuple[int, int]]:
        """Spans of resolved phrases that no contrast phrase follows."""
        spans = [s for p in self.resolved for s in hits.all_matches(p, gap, window)]
        if not spans:
            return []
        contrasts = [s for p in self.contrast for s in hits.all_matches(p, gap, window)]
        return [s for s in spans if not any(c[0] >= s[0] for c in contrasts)]

    def phrases(self) -> set[str]:
        found = set(self.negatable)
        for pattern in (*self.resolved, *self.contrast):
            found.update(pattern.phrases)
        return found


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
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class MajorResult:
    findings: tuple[MajorFinding, ...]
    # Clauses whose trigger matched but whose industries exclude the enterprise's industry.
    gated: tuple[Criterion, ...]
    # Clauses whose trigger matched but whose setting the tip does not describe (or rules out).
    off_setting: tuple[Criterion, ...] = ()
    # Clauses whose trigger matched but the tip says the hazard is already fixed, with the phrase that says so.
    resolved: tuple[tuple[Criterion, str], ...] = ()

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
    negation: Negation = Negation()
    veto_window: int = 10

    def phrases(self) -> set[str]:
        found: set[str] = self.negation.phrases()
        for criterion in self.criteria:
            for trigger in criterion.triggers:
                for group in trigger.groups:
                    for pattern in group:
                        found.update(pattern.phrases)
                for pattern in (*trigger.unless, *trigger.unless_near):
                    found.update(pattern.phrases)
            for pattern in (*criterion.setting, *criterion.not_setting):
                found.update(pattern.phrases)
        return found

    def by_id(self, criterion_id: str) -> Criterion | None:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        return None

    def may_apply(self, criterion: Criterion, hits: Hits, industry: str | None) -> bool:
        """Whether ``criterion`` may apply to this tip at all: its industries fit and no ``not_setting`` matches
        (used for a flag by similarity, where no trigger of the clause has matched)."""
        if not criterion.applies_to(industry):
            return False
        return not any(hits.matches(p, self.gap, self.window) for p in criterion.not_setting)

    def veto(self, criterion: Criterion, hits: Hits) -> str | None:
        """The text of the first ``unless``/``unless_near`` pattern of any of the clause's triggers found anywhere in
        the tip (the alarm "一直在响", goods "分开放"): a flag by similarity has no evidence span to measure nearness
        from, so every veto of the clause counts."""
        for trigger in criterion.triggers:
            for pattern in (*trigger.unless, *trigger.unless_near):
                span = hits.first_match(pattern, self.gap, self.window)
                if span is not None:
                    return hits.text[span[0] : span[1]]
        return None

    def settled(self, hits: Hits) -> str | None:
        """What in the tip says there is no hazard (now): a negated failure or water word ("没坏", "没有水") or a
        phrase saying it is already fixed that no contrast follows; None when the tip says neither."""
        negated = self.negation.apply(hits)
        if negated is not hits:
            for phrase, found in hits.positions.items():
                if phrase in self.negation.negatable and len(negated.positions.get(phrase, ())) < len(found):
                    for pos in found:
                        start = self.negation.cancelled_at(hits.text, pos)
                        if start >= 0:
                            return hits.text[start : pos + len(phrase)]
                    return phrase
        fixed = self.negation.resolution(negated, self.gap, self.window)
        if fixed:
            start, end = fixed[0]
            return hits.text[start:end]
        return None

    def evaluate(self, hits: Hits, industry: str | None) -> MajorResult:
        findings: list[MajorFinding] = []
        gated: list[Criterion] = []
        off_setting: list[Criterion] = []
        resolved: list[tuple[Criterion, str]] = []
        hits = self.negation.apply(hits)
        fixed = self.negation.resolution(hits, self.gap, self.window)
        for criterion in self.criteria:
            found = self._fire(criterion, hits)
            if found is None:
                continue
            if not criterion.applies_to(industry):
                gated.append(criterion)
            elif not self._in_setting(criterion, hits, industry):
                off_setting.append(criterion)
            else:
                finding = MajorFinding(criterion, tuple(hits.text[a:b] for a, b in found), found)
                said = self._fixed(finding, hits, fixed)
                if said is None:
                    findings.append(finding)
                else:
                    resolved.append((criterion, said))
        return MajorResult(tuple(findings), tuple(gated), tuple(off_setting), tuple(resolved))

    @staticmethod
    def _fixed(finding: MajorFinding, hits: Hits, fixed: list[tuple[int, int]]) -> str | None:
        """The resolved phrase that cancels ``finding`` (after its evidence or in the same sentence), if any."""
        for start, end in fixed:
            for a, _b in finding.spans:
                if start >= a or hits.sentence_of(start) == hits.sentence_of(a):
                    return hits.text[start:end]
        return None

    def _in_setting(self, criterion: Criterion, hits: Hits, industry: str | None) -> bool:
        if any(hits.matches(p, self.gap, self.window) for p in criterion.not_setting):
            return False
        if industry is not None and criterion.industries:
            return True  # the registered industry is the setting
        if not criterion.setting:
            return True
        return any(hits.matches(p, self.gap, self.window) for p in criterion.setting)

    def _fire(self, criterion: Criterion, hits: Hits) -> tuple[tuple[int, int], ...] | None:
        for trigger in criterion.triggers:
            if any(hits.matches(p, self.gap, self.window) for p in trigger.unless):
                continue
            evidence: list[tuple[int, int]] = []
            for group in trigger.groups:
                span = None
                for pattern in group:
                    span = hits.first_match(pattern, self.gap, self.window)
                    if span is not None:
                        evidence.append(span)
                        break
                if span is None:
                    break
            else:
                if trigger.unless_near and self._vetoed_near(trigger, hits, evidence):
                    continue
                return tuple(evidence)
        return None

    def _vetoed_near(self, trigger: Trigger, hits: Hits, evidence: list[tuple[int, int]]) -> bool:
        for pattern in trigger.unless_near:
            for start, end in hits.all_matches(pattern, self.gap, self.window):
                for a, b in evidence:
                    near = start - b <= self.veto_window and a - end <= self.veto_window
                    if near and hits.sentence_of(start) == hits.sentence_of(a):
                        return True
        return False


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
    veto_window = settings.get("veto_window", 10) if isinstance(settings, dict) else 10
    if not isinstance(gap, int) or not isinstance(window, int) or not isinstance(veto_window, int):
        problems.append(f"{path}: settings.gap, settings.window and settings.veto_window must be integers")
        gap, window, veto_window = DEFAULT_GAP, 20, 10
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
            unknown_t = set(t_body) - {"all", "unless", "unless_near"}
            if unknown_t:
                problems.append(f"{t_where}: unknown keys {sorted(unknown_t)}")
            triggers.append(
                Trigger(
                    groups,
                    _patterns(t_body.get("unless"), f"{t_where}.unless", problems, concepts),
                    _patterns(t_body.get("unless_near"), f"{t_where}.unless_near", problems, concepts),
                )
            )
        setting = _patterns(body.get("setting"), f"{where}.setting", problems, concepts)
        not_setting = _patterns(body.get("not_setting"), f"{where}.not_setting", problems, concepts)
        criteria.append(
            Criterion(cid, article.strip(), text.strip(), industries, tuple(triggers), verified, setting, not_setting)
        )
    negation = _negation(data.get("negation"), f"{path}: negation", problems, concepts)
    if len(problems) > before:
        return None
    return MajorCriteria(tuple(criteria), gap, window, negation, veto_window)


def _phrase_list(value: object, where: str, problems: list[str], concepts: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Plain phrases (``@concepts`` expanded, normalised) for the ``[negation]`` table."""
    out: list[str] = []
    for pattern in _patterns(value, where, problems, concepts):
        if not pattern.is_literal:
            problems.append(f"{where}: 「{pattern.source}」: only phrases (a|b, @concept) are allowed here")
            continue
        out.extend(pattern.phrases)
    return out


def _negation(raw: object, where: str, problems: list[str], concepts: Mapping[str, tuple[str, ...]]) -> Negation:
    if raw is None:
        return Negation()
    if not isinstance(raw, dict):
        problems.append(f"{where}: [negation] must be a table")
        return Negation()
    unknown = set(raw) - {
        "negators",
        "negatable",
        "fillers",
        "question",
        "resolved",
        "contrast",
        "hypothetical",
        "hypothetical_window",
        "not_hypothetical",
    }
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")
    fillers = raw.get("fillers", "")
    if not isinstance(fillers, str):
        problems.append(f"{where}.fillers: expected a string of characters")
        fillers = ""
    negators = tuple(
        sorted(set(_phrase_list(raw.get("negators"), f"{where}.negators", problems, concepts)), key=len, reverse=True)
    )
    if raw.get("negatable") and not negators:
        problems.append(f"{where}: negatable phrases need negators")
    window = raw.get("hypothetical_window", 6)
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        problems.append(f"{where}.hypothetical_window: expected a positive integer")
        window = 6
    return Negation(
        negators=negators,
        negatable=frozenset(_phrase_list(raw.get("negatable"), f"{where}.negatable", problems, concepts)),
        fillers=fillers,
        question=tuple(_phrase_list(raw.get("question"), f"{where}.question", problems, concepts)),
        resolved=_patterns(raw.get("resolved"), f"{where}.resolved", problems, concepts),
        contrast=_patterns(raw.get("contrast"), f"{where}.contrast", problems, concepts),
        hypothetical=tuple(_phrase_list(raw.get("hypothetical"), f"{where}.hypothetical", problems, concepts)),
        hypothetical_window=window,
        not_hypothetical=tuple(
            _phrase_list(raw.get("not_hypothetical"), f"{where}.not_hypothetical", problems, concepts)
        ),
    )
