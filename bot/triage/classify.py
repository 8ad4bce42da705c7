"""Scoring a tip against the lexicon: ranked categories with a confidence and the phrases that decided them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.triage.categories import CATEGORY_IDS
from bot.triage.lexicon import Lexicon, Term
from bot.triage.patterns import Hits

_ORDER = {cid: i for i, cid in enumerate(CATEGORY_IDS)}
# raw weight → confidence: one strong phrase ≈ 0.55, two ≈ 0.80, three ≈ 0.91.
_SCALE = 2.5


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """One category of a tip: ``score`` in 0..1, ``raw`` the summed weights, ``matched`` the patterns that fired."""

    id: str
    score: float
    raw: float = 0.0
    matched: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "score": round(self.score, 3)}


class Classifier:
    """Precompiled view of a lexicon: which terms each phrase can trigger, and which phrases hide shorter ones."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._by_phrase: dict[str, list[tuple[str, Term]]] = {}
        literal_cats: dict[str, set[str]] = {p: set() for p in lexicon.neutral}
        for cid, category in lexicon.categories.items():
            for term in category.terms:
                pattern = term.pattern
                # Index each term under the phrases of its first slot: the term can only match if one is present.
                for phrase in pattern.slots[0]:
                    self._by_phrase.setdefault(phrase, []).append((cid, term))
                if pattern.is_literal:
                    for phrase in pattern.slots[0]:
                        literal_cats.setdefault(phrase, set()).add(cid)
        self._literal_cats = literal_cats

    def _covered(self, hits: Hits) -> dict[tuple[str, int], set[str]]:
        """For each (phrase, position) inside a longer literal phrase: the categories of the longer phrases."""
        spans: list[tuple[int, int, str]] = []
        for phrase, positions in hits.positions.items():
            if phrase in self._literal_cats:
                spans.extend((pos, pos + len(phrase), phrase) for pos in positions)
        covered: dict[tuple[str, int], set[str]] = {}
        for start, end, phrase in spans:
            for o_start, o_end, other in spans:
                if o_end - o_start > end - start and o_start <= start and end <= o_end:
                    covered.setdefault((phrase, start), set()).update(self._literal_cats[other] or {""})
        return covered

    def _literal_counts(self, term: Term, cid: str, hits: Hits, covered: dict[tuple[str, int], set[str]]) -> bool:
        for phrase in term.pattern.slots[0]:
            for pos in hits.positions.get(phrase, ()):
                owners = covered.get((phrase, pos))
                if owners is None or cid in owners:
                    return True
        return False

    def classify(self, hits: Hits) -> list[CategoryScore]:
        lexicon = self.lexicon
        covered = self._covered(hits)
        raw: dict[str, float] = {}
        best: dict[str, float] = {}
        matched: dict[str, list[str]] = {}
        seen: set[int] = set()
        for phrase in hits.positions:
            for cid, term in self._by_phrase.get(phrase, ()):
                key = id(term)
                if key in seen:
                    continue
                seen.add(key)
                pattern = term.pattern
                if pattern.is_literal:
                    ok = self._literal_counts(term, cid, hits, covered)
                else:
                    ok = hits.matches(pattern, lexicon.gap, lexicon.window)
                if ok:
                    raw[cid] = raw.get(cid, 0.0) + term.weight
                    best[cid] = max(best.get(cid, 0.0), term.weight)
                    matched.setdefault(cid, []).append(pattern.source)
        ranked = sorted(
            (cid for cid, value in raw.items() if value >= lexicon.min_score),
            key=lambda cid: (-raw[cid], -best[cid], _ORDER.get(cid, 99)),
        )
        return [
            CategoryScore(cid, 1.0 - math.exp(-raw[cid] / _SCALE), raw[cid], tuple(matched[cid]))
            for cid in ranked[: lexicon.max_categories]
        ]
