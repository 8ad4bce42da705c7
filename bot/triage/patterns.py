"""Phrase patterns and the scanner that finds them.

A pattern is written as text in the rule files:

* ``灭火器``          a literal phrase;
* ``灭火器|灭火气``   any of several phrases (a *slot*);
* ``泄爆片~拆``       slots in this order, each starting at most ``gap`` characters after the previous one ends;
* ``灭火器&过期``     slots in any order, all within ``window`` characters of the first;
* ``@积水``           a *concept*: every phrase listed under that name in the file's ``[concepts]`` table (a concept
                      may name other concepts), e.g. ``@积水&@熔融`` or ``@报警装置&@失效``.

``~`` and ``&`` cannot be mixed in one pattern. Ordered and near patterns never reach across a sentence end.
All phrases of all patterns are found in one pass by :class:`Scanner` (a dict keyed by first character, then a set
lookup per candidate length), so the cost grows with the text, not with the size of the lexicon.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.triage.normalize import SEP, normalize

DEFAULT_GAP = 8
DEFAULT_WINDOW = 12


class PatternSyntaxError(ValueError):
    """A pattern string cannot be parsed."""


CONCEPT_REF = re.compile(r"@([^@~&|\s]+)")


def expand_concepts(source: str, concepts: Mapping[str, tuple[str, ...]], depth: int = 0) -> str:
    """Replace every ``@name`` in ``source`` by the alternatives of concept ``name`` joined with ``|``."""
    if "@" not in source:
        return source
    if depth > 8:
        raise PatternSyntaxError(f"「{source}」: concepts nested too deeply (a concept names itself?)")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in concepts:
            raise PatternSyntaxError(f"unknown concept @{name}")
        return "|".join(expand_concepts(alt, concepts, depth + 1) for alt in concepts[name])

    return CONCEPT_REF.sub(replace, source)


def parse_concepts(raw: object, where: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """The ``[concepts]`` table of a rule file: name = [phrases or @other concepts]."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: [concepts] must be a table of name = [phrases]")
        return {}
    concepts: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(f"{where}: concepts.{name}: expected a non-empty list of phrases")
            continue
        if any(ch in v for v in value for ch in "~&"):
            problems.append(f"{where}: concepts.{name}: phrases may not contain ~ or &")
            continue
        concepts[name] = tuple(v.strip() for v in value)
    for name, value in concepts.items():
        for alt in value:
            try:
                expand_concepts(alt, concepts)
            except PatternSyntaxError as exc:
                problems.append(f"{where}: concepts.{name}: {exc}")
    return concepts


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed pattern. ``mode`` is ``"lit"``, ``"seq"`` (ordered, ``~``) or ``"near"`` (``&``)."""

    source: str
    slots: tuple[tuple[str, ...], ...]
    mode: str

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(p for slot in self.slots for p in slot)

    @property
    def is_literal(self) -> bool:
        return self.mode == "lit"


def parse_pattern(source: str, concepts: Mapping[str, tuple[str, ...]] | None = None) -> Pattern:
    """Parse ``source``; each phrase is normalised the same way as tip text (simplified, lower case, no spaces).

    ``@name`` references are expanded from ``concepts`` first."""
    text = expand_concepts(source.strip(), concepts or {})
    if not text:
        raise PatternSyntaxError("empty pattern")
    if "~" in text and "&" in text:
        raise PatternSyntaxError(f"「{source}」mixes ~ and &")
    if "~" in text:
        mode, parts = "seq", text.split("~")
    elif "&" in text:
        mode, parts = "near", text.split("&")
    else:
        mode, parts = "lit", [text]
    slots: list[tuple[str, ...]] = []
    for part in parts:
        alts: list[str] = []
        for raw in part.split("|"):
            if SEP in raw:
                raise PatternSyntaxError(f"「{source}」contains the reserved character {SEP}")
            phrase = normalize(raw)
            if not phrase or SEP in phrase:
                raise PatternSyntaxError(f"「{source}」has an empty or punctuation-only phrase")
            if phrase not in alts:
                alts.append(phrase)
        slots.append(tuple(alts))
    return Pattern(source=source, slots=tuple(slots), mode=mode)


class Hits:
    """Where each phrase occurs in one normalised text."""

    __slots__ = ("_sentence", "positions", "text")

    def __init__(self, text: str, positions: dict[str, list[int]]) -> None:
        self.text = text
        self.positions = positions
        sentence: list[int] = []
        current = 0
        for ch in text:
            if ch == SEP:
                current += 1
            sentence.append(current)
        self._sentence = sentence

    def __contains__(self, phrase: str) -> bool:
        return phrase in self.positions

    def sentence_of(self, index: int) -> int:
        """The sentence number of character ``index`` (sentences are split by ``SEP``)."""
        return self._sentence[index] if 0 <= index < len(self._sentence) else -1

    def derive(self, positions: dict[str, list[int]]) -> Hits:
        """The same text with other phrase positions (e.g. with negated phrases dropped); sentences are reused."""
        other = Hits.__new__(Hits)
        other.text = self.text
        other.positions = positions
        other._sentence = self._sentence
        return other

    def all_matches(
        self, pattern: Pattern, gap: int = DEFAULT_GAP, window: int = DEFAULT_WINDOW
    ) -> list[tuple[int, int]]:
        """Every (start, end) span of ``pattern``: one per occurrence of its first slot that starts a match."""
        if pattern.mode == "lit":
            return sorted(self._slot_positions(pattern.slots[0]))
        found: list[tuple[int, int]] = []
        for start, end in sorted(self._slot_positions(pattern.slots[0])):
            single = Pattern(pattern.source, ((self.text[start:end],), *pattern.slots[1:]), pattern.mode)
            span = self._first_from(single, start, gap, window)
            if span is not None:
                found.append(span)
        return found

    def _first_from(self, pattern: Pattern, start: int, gap: int, window: int) -> tuple[int, int] | None:
        """A match of ``pattern`` whose first slot starts at ``start``."""
        probe = self.derive({**self.positions, pattern.slots[0][0]: [start]})
        return probe.first_match(pattern, gap, window)

    def _slot_positions(self, slot: tuple[str, ...]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        positions = self.positions
        for phrase in slot:
            at = positions.get(phrase)
            if at:  # most phrases of most slots are not in the text
                size = len(phrase)
                found.extend([(pos, pos + size) for pos in at])
        return found

    def matches(self, pattern: Pattern, gap: int = DEFAULT_GAP, window: int = DEFAULT_WINDOW) -> bool:
        return self.first_match(pattern, gap, window) is not None

    def first_match(
        self, pattern: Pattern, gap: int = DEFAULT_GAP, window: int = DEFAULT_WINDOW
    ) -> tuple[int, int] | None:
        """Return the (start, end) span of one match of ``pattern``, or None."""
        slots = pattern.slots
        if pattern.mode == "lit":
            spans = self._slot_positions(slots[0])
            return min(spans) if spans else None
        per_slot: list[list[tuple[int, int]]] = []
        for slot in slots:  # one slot found nowhere settles it: most patterns match nothing in a tip
            spans = self._slot_positions(slot)
            if not spans:
                return None
            per_slot.append(spans)
        sentence = self._sentence
        if pattern.mode == "seq":
            for start, end in per_slot[0]:
                span = self._extend_seq(per_slot, 1, start, end, sentence[start], gap)
                if span is not None:
                    return span
            return None
        for start, end in per_slot[0]:
            lo, hi, sid = start, end, sentence[start]
            ok = True
            for spans in per_slot[1:]:
                best: tuple[int, int] | None = None
                for s, e in spans:
                    if sentence[s] == sid and abs(s - start) <= window:
                        best = (s, e)
                        break
                if best is None:
                    ok = False
                    break
                lo, hi = min(lo, best[0]), max(hi, best[1])
            if ok:
                return (lo, hi)
        return None

    def _extend_seq(
        self,
        per_slot: list[list[tuple[int, int]]],
        index: int,
        start: int,
        end: int,
        sid: int,
        gap: int,
    ) -> tuple[int, int] | None:
        if index == len(per_slot):
            return (start, end)
        for s, e in per_slot[index]:
            if end <= s <= end + gap and self._sentence[s] == sid:
                span = self._extend_seq(per_slot, index + 1, start, e, sid, gap)
                if span is not None:
                    return span
        return None


class Scanner:
    """Finds every occurrence (overlaps included) of a fixed set of phrases in one pass."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._phrases: frozenset[str] = frozenset(p for p in phrases if p)
        lengths: dict[str, set[int]] = {}
        for phrase in self._phrases:
            lengths.setdefault(phrase[0], set()).add(len(phrase))
        self._lengths: dict[str, tuple[int, ...]] = {ch: tuple(sorted(ls, reverse=True)) for ch, ls in lengths.items()}

    @property
    def phrases(self) -> frozenset[str]:
        return self._phrases

    def scan(self, text: str) -> Hits:
        positions: dict[str, list[int]] = {}
        phrases = self._phrases
        lengths = self._lengths
        for i, ch in enumerate(text):
            lens = lengths.get(ch)
            if lens is None:
                continue
            for length in lens:
                piece = text[i : i + length]
                if piece in phrases:
                    positions.setdefault(piece, []).append(i)
        return Hits(text, positions)
