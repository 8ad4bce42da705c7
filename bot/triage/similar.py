"""Example-based fallback: confirmed tips (bot/rules/examples.toml) that back up the lexicon and the criteria.

Word lists only know the words someone wrote down; a new tip often says the same thing in other words. The examples
file holds tips an inspector has already judged: the text, the category an inspector would pick first and, for a
confirmed possible major hazard, the clause (a ``[[criteria]]`` id of major_criteria.toml) it falls under; a tip with no
clause is a *look-alike* (same words, not major). At triage:

* when no clause of the criteria fires, the tip is compared with every example (cosine of character n-gram TF-IDF
  vectors over the normalised text, enterprise names removed); the ``k`` nearest ones vote, each with its similarity
  as weight. The tip is flagged "possibly major" only when the nearest example is at least ``min_similarity`` close,
  the major examples hold at least ``major_share`` of the vote and the nearest major example is itself among the
  closest. The reason names that example's clause and says the flag comes from similarity;
* when the lexicon finds no category, the same neighbours' categories (weighted) give a low-confidence one.

Files are small (a few thousand examples): the index is an inverted list per n-gram, built once per engine.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.triage.categories import CATEGORY_IDS
from bot.triage.normalize import SEP
from bot.triage.tomlfile import number, read_toml


@dataclass(frozen=True, slots=True)
class Example:
    """A judged tip: ``clause`` is a criteria id for a confirmed possible major hazard, None for a look-alike."""

    text: str
    category: str | None
    clause: str | None
    line: int = 0
    source: str = ""


@dataclass(frozen=True)
class ExampleSettings:
    ngrams: tuple[int, ...] = (1, 2, 3)
    k: int = 7
    min_similarity: float = 0.3
    major_share: float = 0.7
    category_min_similarity: float = 0.25
    category_share: float = 0.5
    category_weight: float = 1.0


@dataclass(frozen=True)
class Examples:
    examples: tuple[Example, ...]
    settings: ExampleSettings = ExampleSettings()


@dataclass(frozen=True, slots=True)
class Neighbour:
    similarity: float
    example: Example


def _grams(text: str, sizes: tuple[int, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for piece in text.split(SEP):
        for n in sizes:
            for i in range(len(piece) - n + 1):
                gram = piece[i : i + n]
                counts[gram] = counts.get(gram, 0) + 1
    return counts


class SimilarityIndex:
    """TF-IDF (sublinear tf, smoothed idf) cosine over character n-grams, with an inverted index."""

    def __init__(self, texts: Sequence[str], examples: Sequence[Example], settings: ExampleSettings) -> None:
        if len(texts) != len(examples):
            raise ValueError("one prepared text per example")
        self.settings = settings
        self.examples = tuple(examples)
        grams = [_grams(t, settings.ngrams) for t in texts]
        df: dict[str, int] = {}
        for counts in grams:
            for gram in counts:
                df[gram] = df.get(gram, 0) + 1
        total = len(texts)
        self._idf = {g: math.log((1 + total) / (1 + d)) + 1.0 for g, d in df.items()}
        # the categories inspectors gave the examples of each clause
        self.clause_categories: dict[str, frozenset[str]] = {}
        for example in examples:
            if example.clause is not None and example.category is not None:
                known = self.clause_categories.get(example.clause, frozenset())
                self.clause_categories[example.clause] = known | {example.category}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for index, counts in enumerate(grams):
            for gram, weight in self._vector(counts).items():
                ids, weights = postings.setdefault(gram, ([], []))
                ids.append(index)
                weights.append(weight)
        # Per n-gram, the examples holding it and their weights as two tuples: the scoring loop zips them.
        self._postings = {gram: (tuple(ids), tuple(weights)) for gram, (ids, weights) in postings.items()}

    def _vector(self, counts: dict[str, int]) -> dict[str, float]:
        idf = self._idf
        vector = {g: (1.0 + math.log(c)) * idf[g] for g, c in counts.items() if g in idf}
        norm = math.sqrt(sum(w * w for w in vector.values()))
        return {g: w / norm for g, w in vector.items()} if norm else {}

    def neighbours(self, text: str, k: int | None = None) -> list[Neighbour]:
        """The ``k`` most similar examples, most similar first; of equally similar ones, the one the tip's n-grams
        (in their order) reach first.

        Scores add up in a list indexed by example, and the best come from ``heapq.nlargest`` over the bare floats:
        about twice as fast as a dict of scores sorted whole, with every score added up in the same order (so the
        same to the last bit). A float names its example only when no other score equals it; when two of the best
        are equal, `_by_first_touch` ranks them in first-touch order.
        """
        k = self.settings.k if k is None else k
        vector = self._vector(_grams(text, self.settings.ngrams))
        scores = [0.0] * len(self.examples)
        postings = self._postings
        for gram, weight in vector.items():
            found = postings.get(gram)
            if found is not None:
                ids, weights = found
                for index, other in zip(ids, weights, strict=True):
                    scores[index] += weight * other
        best = [score for score in heapq.nlargest(k + 1, scores) if score > 0.0]  # 0.0: no n-gram in common
        if len(set(best)) < len(best):
            return self._by_first_touch(vector, scores, k)
        return [Neighbour(score, self.examples[scores.index(score)]) for score in best[:k]]

    def _by_first_touch(self, vector: dict[str, float], scores: list[float], k: int) -> list[Neighbour]:
        """The examples in the order the tip's n-grams first reach them, sorted by score (stable: ties keep it)."""
        touched: dict[int, None] = {}
        for gram in vector:
            touched.update(dict.fromkeys(self._postings.get(gram, ((), ()))[0]))
        best = sorted(touched, key=lambda index: -scores[index])[:k]
        return [Neighbour(scores[index], self.examples[index]) for index in best]


@dataclass(frozen=True, slots=True)
class MajorVote:
    """A similarity flag: the nearest major example, the share of the vote the major examples hold."""

    example: Example
    similarity: float
    share: float


def major_vote(
    neighbours: Sequence[Neighbour], settings: ExampleSettings, usable: Callable[[str], bool]
) -> MajorVote | None:
    """The nearest usable major example when the neighbours clearly say "major", else None.

    ``usable(clause)`` says whether a clause may apply to this tip (industry and setting checks).
    """
    if not neighbours or neighbours[0].similarity < settings.min_similarity:
        return None
    total = sum(n.similarity for n in neighbours)
    major = sum(n.similarity for n in neighbours if n.example.clause is not None)
    share = major / total if total else 0.0
    if share < settings.major_share:
        return None
    for n in neighbours[:3]:
        clause = n.example.clause
        if clause is not None and usable(clause):
            return MajorVote(n.example, n.similarity, share)
    return None


def category_shares(neighbours: Sequence[Neighbour], settings: ExampleSettings) -> dict[str, float]:
    """Each category's share of the neighbours' similarity (empty when even the nearest is not similar enough)."""
    if not neighbours or neighbours[0].similarity < settings.category_min_similarity:
        return {}
    total = sum(n.similarity for n in neighbours)
    shares: dict[str, float] = {}
    for n in neighbours:
        if n.example.category is not None:
            shares[n.example.category] = shares.get(n.example.category, 0.0) + n.similarity / total
    return shares


def category_vote(neighbours: Sequence[Neighbour], settings: ExampleSettings) -> tuple[str, float] | None:
    """The category the neighbours agree on (with its share of the vote), or None."""
    if not neighbours or neighbours[0].similarity < settings.category_min_similarity:
        return None
    votes: dict[str, float] = {}
    for n in neighbours:
        if n.example.category is not None:
            votes[n.example.category] = votes.get(n.example.category, 0.0) + n.similarity
    if not votes:
        return None
    total = sum(n.similarity for n in neighbours)
    best = max(votes, key=lambda c: votes[c])
    share = votes[best] / total
    return (best, share) if share >= settings.category_share else None


def _ngrams(value: object, where: str, problems: list[str]) -> tuple[int, ...]:
    if value is None:
        return ExampleSettings.ngrams
    if not isinstance(value, list) or not value or not all(isinstance(n, int) and 1 <= n <= 6 for n in value):
        problems.append(f"{where}: expected a list of n-gram sizes between 1 and 6")
        return ExampleSettings.ngrams
    return tuple(sorted(set(value)))


def load_examples(path: Path, problems: list[str], clauses: Iterable[str]) -> Examples | None:
    """Read and check the examples file; ``clauses`` are the criteria ids an example may name."""
    data = read_toml(path, problems)
    if data is None:
        return None
    before = len(problems)
    known = set(clauses)
    raw_settings = data.get("settings", {})
    if not isinstance(raw_settings, dict):
        problems.append(f"{path}: [settings] must be a table")
        raw_settings = {}
    unknown = set(raw_settings) - {
        "ngrams",
        "k",
        "min_similarity",
        "major_share",
        "category_min_similarity",
        "category_share",
        "category_weight",
    }
    if unknown:
        problems.append(f"{path}: settings: unknown keys {sorted(unknown)}")
    d = ExampleSettings()
    where = f"{path}: settings"
    settings = ExampleSettings(
        ngrams=_ngrams(raw_settings.get("ngrams"), f"{where}.ngrams", problems),
        k=int(number(raw_settings.get("k"), f"{where}.k", d.k, problems)),
        min_similarity=number(
            raw_settings.get("min_similarity"), f"{where}.min_similarity", d.min_similarity, problems
        ),
        major_share=number(raw_settings.get("major_share"), f"{where}.major_share", d.major_share, problems),
        category_min_similarity=number(
            raw_settings.get("category_min_similarity"),
            f"{where}.category_min_similarity",
            d.category_min_similarity,
            problems,
        ),
        category_share=number(
            raw_settings.get("category_share"), f"{where}.category_share", d.category_share, problems
        ),
        category_weight=number(
            raw_settings.get("category_weight"), f"{where}.category_weight", d.category_weight, problems
        ),
    )
    if not 0.0 <= settings.category_weight <= 10.0:
        problems.append(f"{where}.category_weight: must be between 0 and 10")
    if settings.k < 1:
        problems.append(f"{where}.k: must be at least 1")
    for name in ("min_similarity", "major_share", "category_min_similarity", "category_share"):
        if not 0.0 <= getattr(settings, name) <= 1.0:
            problems.append(f"{where}.{name}: must be between 0 and 1")
    raw = data.get("examples")
    if not isinstance(raw, list):
        problems.append(f"{path}: examples = [ {{ text = ..., category = ..., clause = ... }}, ... ] is missing")
        return None
    examples: list[Example] = []
    seen: set[str] = set()
    for index, body in enumerate(raw):
        where = f"{path}: examples[{index}]"
        if not isinstance(body, dict):
            problems.append(f"{where}: must be an inline table {{ text = ..., category = ..., clause = ... }}")
            continue
        extra = set(body) - {"text", "category", "clause", "source"}
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        text, category, clause = body.get("text"), body.get("category", ""), body.get("clause", "")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: text must be a non-empty string")
            continue
        where = f"{where} ({text[:12]}…)"
        if text in seen:
            problems.append(f"{where}: duplicate text")
        seen.add(text)
        if not isinstance(category, str) or (category and category not in CATEGORY_IDS):
            problems.append(f'{where}: category must be one of the category ids or ""')
            continue
        if not isinstance(clause, str) or (clause and clause not in known):
            problems.append(
                f'{where}: clause {clause!r} is not a [[criteria]] id of major_criteria.toml ("" = not major)'
            )
            continue
        source = body.get("source", "")
        if not isinstance(source, str):
            problems.append(f"{where}: source must be a string")
            source = ""
        examples.append(Example(text, category or None, clause or None, index, source))
    if len(problems) > before:
        return None
    return Examples(tuple(examples), settings)
