"""The triage engine: one call turns a tip into categories, a major-hazard flag, an enterprise, a section and
transfers, each with its reasons."""

from __future__ import annotations

from bot.triage.classify import Classifier
from bot.triage.enterprises import EnterpriseMatch
from bot.triage.lexicon import Corrector
from bot.triage.normalize import SEP, has_words, normalize
from bot.triage.patterns import Hits, Scanner
from bot.triage.people import MORE_THAN_NINE, people_over_nine
from bot.triage.result import TriageResult
from bot.triage.routing import Router
from bot.triage.rules import RoutingRules

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
        if categories:
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

        transfers, escalate_to = self.rules.transfers.evaluate(hits, [(c.id, c.raw) for c in categories], major.major)
        section, route_reasons = self._router.route(enterprise, [c.id for c in categories], escalate_to)
        reasons.extend(route_reasons)
        for transfer in transfers:
            reasons.append(f"移送/告知 {transfer.department}：{transfer.reason}")

        return TriageResult(
            categories=categories,
            major=major.major,
            major_reasons=major.reasons,
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
