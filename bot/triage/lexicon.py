"""The category lexicon (bot/rules/lexicon.toml): phrases and patterns per hazard category, spelling corrections."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.triage.categories import CATEGORY_IDS
from bot.triage.normalize import normalize
from bot.triage.patterns import (
    DEFAULT_GAP,
    DEFAULT_WINDOW,
    Pattern,
    PatternSyntaxError,
    parse_concepts,
    parse_pattern,
)
from bot.triage.tomlfile import number, read_toml, string_list

TIERS = ("strong", "terms", "weak")
DEFAULT_WEIGHTS = {"strong": 2.0, "terms": 1.0, "weak": 0.4}


@dataclass(frozen=True, slots=True)
class Term:
    pattern: Pattern
    weight: float


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Lexicon:
    categories: dict[str, Category]
    corrections: dict[str, str] = field(default_factory=dict)
    neutral: tuple[str, ...] = ()
    gap: int = DEFAULT_GAP
    window: int = DEFAULT_WINDOW
    min_score: float = 0.8
    max_categories: int = 5

    def name(self, category_id: str) -> str:
        category = self.categories.get(category_id)
        return category.name if category else category_id

    def phrases(self) -> set[str]:
        found: set[str] = set(self.neutral)
        for category in self.categories.values():
            for term in category.terms:
                found.update(term.pattern.phrases)
        return found


def load_lexicon(path: Path, problems: list[str]) -> Lexicon | None:
    data = read_toml(path, problems)
    if data is None:
        return None
    before = len(problems)
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        problems.append(f"{path}: [settings] must be a table")
        settings = {}
    weights_raw = settings.get("weights", {})
    weights = dict(DEFAULT_WEIGHTS)
    if isinstance(weights_raw, dict):
        for tier in TIERS:
            weights[tier] = number(weights_raw.get(tier), f"{path}: settings.weights.{tier}", weights[tier], problems)
    gap = int(number(settings.get("gap"), f"{path}: settings.gap", DEFAULT_GAP, problems))
    window = int(number(settings.get("window"), f"{path}: settings.window", DEFAULT_WINDOW, problems))
    min_score = number(settings.get("min_score"), f"{path}: settings.min_score", 0.8, problems)
    max_categories = int(number(settings.get("max_categories"), f"{path}: settings.max_categories", 5, problems))

    corrections: dict[str, str] = {}
    raw_corrections = data.get("corrections", {})
    if not isinstance(raw_corrections, dict):
        problems.append(f"{path}: [corrections] must be a table of wrong = right")
        raw_corrections = {}
    for wrong, right in raw_corrections.items():
        if not isinstance(right, str):
            problems.append(f"{path}: corrections.{wrong}: expected a string")
            continue
        wrong_n, right_n = normalize(wrong), normalize(right)
        if not wrong_n:
            problems.append(f"{path}: corrections.{wrong}: empty after normalisation")
            continue
        corrections[wrong_n] = right_n

    neutral = tuple(normalize(p) for p in string_list(data.get("neutral"), f"{path}: neutral", problems))

    concepts = parse_concepts(data.get("concepts"), str(path), problems)
    categories: dict[str, Category] = {}
    raw_categories = data.get("categories", {})
    if not isinstance(raw_categories, dict) or not raw_categories:
        problems.append(f"{path}: [categories] is missing or empty")
        raw_categories = {}
    for cid, body in raw_categories.items():
        where = f"{path}: categories.{cid}"
        if cid not in CATEGORY_IDS:
            problems.append(f"{where}: unknown category id (known: {', '.join(CATEGORY_IDS)})")
            continue
        if not isinstance(body, dict):
            problems.append(f"{where}: must be a table")
            continue
        unknown = set(body) - {"name", *TIERS}
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        name = body.get("name", cid)
        if not isinstance(name, str):
            problems.append(f"{where}.name: expected a string")
            name = cid
        terms: list[Term] = []
        for tier in TIERS:
            for source in string_list(body.get(tier), f"{where}.{tier}", problems):
                try:
                    terms.append(Term(parse_pattern(source, concepts), weights[tier]))
                except PatternSyntaxError as exc:
                    problems.append(f"{where}.{tier}: {exc}")
        if not terms:
            problems.append(f"{where}: no phrases")
        categories[cid] = Category(cid, name, tuple(terms))
    if len(problems) > before:
        return None
    return Lexicon(
        categories=categories,
        corrections=corrections,
        neutral=neutral,
        gap=gap,
        window=window,
        min_score=min_score,
        max_categories=max_categories,
    )


class Corrector:
    """Rewrites known misspellings (leftmost, longest first) in normalised text."""

    def __init__(self, corrections: dict[str, str]) -> None:
        self._map = dict(corrections)
        lengths: dict[str, set[int]] = {}
        for wrong in self._map:
            lengths.setdefault(wrong[0], set()).add(len(wrong))
        self._lengths = {ch: tuple(sorted(ls, reverse=True)) for ch, ls in lengths.items()}

    def __call__(self, text: str) -> str:
        if not self._map:
            return text
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            lens = self._lengths.get(text[i])
            if lens:
                for length in lens:
                    right = self._map.get(text[i : i + length])
                    if right is not None:
                        out.append(right)
                        i += length
                        break
                else:
                    out.append(text[i])
                    i += 1
            else:
                out.append(text[i])
                i += 1
        return "".join(out)
