"""The triage engine: one call turns a tip into categories, a major-hazard flag, an enterprise, a section and
transfers, each with its reasons."""

from __future__ import annotations

from bot.triage.classify import CategoryScore, Classifier
from bot.triage.enterprises import EnterpriseMatch
from bot.triage.lexicon import Corrector
from bot.triage.normalize import SEP, has_words, normalize
from bot.triage.patterns import Hits, Scanner
from bot.triage.people import MORE_THAN_NINE, people_over_nine
from bot.triage.result import TriageResult
from bot.triage.routing import Router
from bot.triage.rules import RoutingRules
from bot.triage.similar import Neighbour, SimilarityIndex, category_shares, category_vote, major_vote

_HOW = {
    "全称": "按全称",
    "别名": "按别名",
    "简称": "按简称",
    "字号": "按字号",
    "近似": "按近似写法",
    "指明": "按报告人指明",
}


def _protect(corrections: dict[str, str], phrases: set[str]) -> dict[str, str]:
    """The corrections plus every rule phrase that a correction would otherwise break (然气 → 燃气 must not turn
    天然气 into 天燃气): such a phrase maps to itself, and the longest match wins."""
    if not corrections:
        return corrections
    plain = Corrector(corrections)
    protected = dict(corrections)
    for phrase in phrases:
        if phrase not in corrections and plain(phrase) != phrase:
            protected[phrase] = phrase
    return protected


class TriageEngine:
    """Precompiles the rules once; :meth:`triage` is pure and safe to call from several threads."""

    def __init__(self, rules: RoutingRules) -> None:
        self.rules = rules
        self._classifier = Classifier(rules.lexicon)
        self._router = Router(rules.sections, rules.default_section)
        phrases = rules.lexicon.phrases() | rules.criteria.phrases() | rules.transfers.phrases()
        phrases.discard(MORE_THAN_NINE)
        self._correct = Corrector(_protect(rules.lexicon.corrections, phrases))
        self._scanner = Scanner(phrases)
        self._index: SimilarityIndex | None = None
        if rules.examples is not None and rules.examples.examples:
            prepared = [self.prepare(e.text) for e in rules.examples.examples]
            self._index = SimilarityIndex(prepared, rules.examples.examples, rules.examples.settings)

    def prepare(self, text: str) -> str:
        """The form the example index compares: normalised, with a registered enterprise's name cut out."""
        normalized = self.normalize(text)
        registry = self.rules.registry
        if registry is not None:
            _match, span = registry.find_in_text(normalized)
            if span is not None:
                normalized = normalized[: span[0]] + SEP + normalized[span[1] :]
        return normalized

    def neighbours(self, normalized: str) -> list[Neighbour]:
        """The judged examples nearest to a prepared tip (empty without an examples file)."""
        return self._index.neighbours(normalized) if self._index is not None else []

    def normalize(self, text: str) -> str:
        return self._correct(normalize(text))

    def scan(self, normalized: str) -> Hits:
        hits = self._scanner.scan(normalized)
        crowded = people_over_nine(normalized)
        if crowded:
            hits.positions[MORE_THAN_NINE] = crowded
        return hits

    def _enterprise(self, text: str, hint: str | None, reasons: list[str]) -> tuple[EnterpriseMatch | None, str]:
        registry = self.rules.registry
        hint = (hint or "").strip() or None
        if registry is None:
            if hint:
                reasons.append(f"报告人指明企业「{hint}」，但未加载企业名录，无法核对")
            else:
                reasons.append("未加载企业名录，无法识别企业")
            return None, text
        in_text, span = registry.find_in_text(text)
        if span is not None:
            text = text[: span[0]] + SEP + text[span[1] :]
        if hint:
            by_hint = registry.resolve_hint(hint)
            if by_hint is not None:
                reasons.append(f"按报告人指明的「{hint}」识别为企业「{by_hint.enterprise.name}」")
                if in_text is not None and in_text.enterprise is not by_hint.enterprise:
                    reasons.append(f"文中另提到「{in_text.matched}」（{in_text.enterprise.name}），以指明的为准")
                return by_hint, text
            reasons.append(f"报告人指明的企业「{hint}」不在登记名录中")
        if in_text is not None:
            reasons.append(
                f"文中「{in_text.matched}」{_HOW.get(in_text.how, '')}识别为企业「{in_text.enterprise.name}」"
            )
            return in_text, text
        if not hint:
            reasons.append("未识别出企业，需询问报告人“是哪家企业？”")
        return None, text

    def triage(self, text: str, enterprise_hint: str | None = None, has_photo: bool = False) -> TriageResult:
        reasons: list[str] = []
        normalized = self.normalize(text or "")
        match, normalized = self._enterprise(normalized, enterprise_hint, reasons)
        enterprise = match.enterprise if match else None
        industry = enterprise.industry if enterprise else None

        hits = self.scan(normalized)
        lexicon = self.rules.lexicon
        categories = self._classifier.classify(hits) if has_words(normalized) else []
        neighbours: list[Neighbour] | None = None
        weight = self._index.settings.category_weight if self._index is not None else 0.0
        if categories and weight and self._index is not None:
            # the judged examples nearest to the tip re-rank the categories the lexicon found (never add one)
            neighbours = self._index.neighbours(normalized)
            votes = category_shares(neighbours, self._index.settings)
            if votes:
                order = {c.id: i for i, c in enumerate(categories)}
                categories = sorted(
                    (
                        CategoryScore(c.id, c.score, c.raw + weight * votes.get(c.id, 0.0), c.matched)
                        for c in categories
                    ),
                    key=lambda c: (-c.raw, order[c.id]),
                )
        if not categories and has_words(normalized) and self._index is not None:
            neighbours = self._index.neighbours(normalized)
            guess = category_vote(neighbours, self._index.settings)
            if guess is not None:
                cid, share = guess
                # low confidence on purpose: no phrase of the lexicon backs it
                categories = [CategoryScore(cid, round(0.5 * share * neighbours[0].similarity, 3), 0.0, ("相似案例",))]
                reasons.append(
                    f"类别：未命中类别词，按相似的已判定描述归为{lexicon.name(cid)}（近邻中占{share:.0%}，"
                    f"最相近「{neighbours[0].example.text[:30]}」）：置信度低，请人工核实"
                )
        if categories and categories[0].matched != ("相似案例",):
            described = "；".join(
                f"{lexicon.name(c.id)} {c.score:.2f}（{'、'.join(c.matched[:4])}）" for c in categories[:3]
            )
            reasons.append(f"类别：{described}")
        elif has_photo and not has_words(normalized):
            reasons.append("只有照片、没有文字描述：无法判断类别，置信度低，请人工查看照片")
        elif has_photo:
            reasons.append("文字太少，未命中任何隐患类别词：置信度低，请结合照片人工判断")
        else:
            reasons.append("未命中任何隐患类别词：置信度低，请人工判断")

        major = self.rules.criteria.evaluate(hits, industry)
        for finding in major.findings:
            note = "" if finding.criterion.verified else "（条文据公开资料，以正式文本为准）"
            reasons.append(
                f"可能重大事故隐患：{finding.criterion.reason}{note}；依据「{'」「'.join(finding.evidence)}」"
            )
        for criterion in major.gated:
            reasons.append(
                f"{criterion.article}仅适用于{'、'.join(sorted(criterion.industries))}企业，"
                f"企业登记行业为「{industry}」，未计入"
            )
        for criterion, said in major.resolved:
            reasons.append(f"{criterion.article}的情形文中说已处理（「{said}」），未计入；请核实是否确已整改")
        for criterion in major.off_setting:
            reasons.append(f"{criterion.article}的适用场所与文中描述不符（或属其他标准管辖），未计入")
        major_flag, major_reasons = major.major, major.reasons
        if not major.major and not major.resolved and self._index is not None and has_words(normalized):
            if neighbours is None:
                neighbours = self._index.neighbours(normalized)
            criteria = self.rules.criteria

            index = self._index
            top = [c.id for c in categories if c.raw > 0][:2] or None

            def usable(clause: str) -> bool:
                candidate = criteria.by_id(clause)
                if candidate is None or not criteria.may_apply(candidate, hits, industry):
                    return False
                # the lexicon's reading of the tip must be one the clause's own examples were given
                return top is None or bool(set(top) & index.clause_categories.get(clause, frozenset()))

            vote = major_vote(neighbours, self._index.settings, usable)
            if vote is not None:
                similar_to = criteria.by_id(vote.example.clause or "")
                no_hazard = criteria.settled(hits)
                if similar_to is not None and no_hazard is None:
                    no_hazard = criteria.veto(similar_to, criteria.negation.apply(hits))
                if similar_to is not None and no_hazard is not None:
                    reasons.append(
                        f"与已确认的重大隐患描述相近（{similar_to.article}），但文中说「{no_hazard}」，未计入；请核实"
                    )
                elif similar_to is not None:
                    major_flag = True
                    major_reasons = [f"与已确认的重大隐患描述相近（{similar_to.article}）：{similar_to.text}"]
                    reasons.append(
                        f"可能重大事故隐患（按相似案例，未命中条款用词）：{similar_to.reason}；"
                        f"最相近的已确认描述「{vote.example.text[:40]}」（相似度{vote.similarity:.2f}，"
                        f"近邻中重大隐患占{vote.share:.0%}），请人工核实"
                    )

        transfers, escalate_to = self.rules.transfers.evaluate(hits, [(c.id, c.raw) for c in categories], major_flag)
        section, route_reasons = self._router.route(enterprise, [c.id for c in categories], escalate_to)
        reasons.extend(route_reasons)
        for transfer in transfers:
            reasons.append(f"移送/告知 {transfer.department}：{transfer.reason}")

        return TriageResult(
            categories=categories,
            major=major_flag,
            major_reasons=major_reasons,
            enterprise=enterprise.name if enterprise else None,
            industry=industry,
            section=section,
            transfers=transfers,
            reasons=reasons,
            needs_enterprise=enterprise is None and not (enterprise_hint or "").strip(),
            confidence=categories[0].score if categories else 0.0,
            escalated=escalate_to is not None,
            section_name=self._router.name(section),
            matched_terms={c.id: c.matched for c in categories},
        )
