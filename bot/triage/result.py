"""What triage decides about one tip."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.triage.classify import CategoryScore
from bot.triage.transfers import Transfer

JSON_KEYS = ("categories", "major", "major_reasons", "enterprise", "section", "transfers", "reasons")


@dataclass(frozen=True)
class TriageResult:
    """Categories ranked best first; every decision keeps its human-readable reasons (Chinese)."""

    categories: list[CategoryScore]
    major: bool
    major_reasons: list[str]
    enterprise: str | None
    industry: str | None
    section: str
    transfers: list[Transfer]
    reasons: list[str]
    needs_enterprise: bool
    confidence: float = 0.0
    escalated: bool = False
    section_name: str = ""
    matched_terms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def top_category(self) -> str | None:
        return self.categories[0].id if self.categories else None

    def to_json(self) -> dict[str, object]:
        """The dry-run / export shape: exactly the keys in ``JSON_KEYS``.

        ``categories`` is ``[{"id", "score"}]`` best first (score 0..1, 3 decimals); ``transfers`` is
        ``[{"department", "reason"}]``; ``enterprise`` is the registered name or null; ``section`` a section id.
        """
        return {
            "categories": [c.to_json() for c in self.categories],
            "major": self.major,
            "major_reasons": list(self.major_reasons),
            "enterprise": self.enterprise,
            "section": self.section,
            "transfers": [t.to_json() for t in self.transfers],
            "reasons": list(self.reasons),
        }
