"""Is a new case the same hazard as an open one? Same enterprise and hazard with similar words or the same place,
or a near-identical photo. The earlier case keeps priority (first reporter); the new one is linked to it."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from bot.media.photos import hamming
from storage.models import Case, Media
from storage.prepared import Prepared

OPEN_STATUSES = ("submitted", "accepted", "verifying", "rectifying", "rectified")
LOOKBACK = timedelta(days=90)
SIMILAR_TEXT = 0.45
SAME_PLACE_METRES = 150.0
SAME_PHOTO_BITS = 6
CANDIDATES = 300
NEAR_DEGREES = 0.002  # about 200 m of latitude: the box the distance check then refines


class Hazard(Protocol):
    """What comparing two cases looks at: a `Case`, or a candidate row read with `_COMPARED` columns only."""

    @property
    def id(self) -> int: ...
    @property
    def enterprise(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def triage(self) -> dict[str, Any] | None: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...


class Candidate(NamedTuple):
    """An open case compared with the new one: its row, read as columns only (there may be hundreds of candidates, and
    a mapped Case is many times the cost)."""

    id: int
    reference: str
    enterprise: str | None
    text: str
    triage: dict[str, Any] | None
    latitude: float | None
    longitude: float | None


_COMPARED = (Case.id, Case.reference, Case.enterprise, Case.text, Case.triage, Case.latitude, Case.longitude)
# Open cases submitted before this one, within the lookback, not themselves repeats.
_RECENT = (
    Case.id < bindparam("case_id"),
    or_(*(Case.status == status for status in OPEN_STATUSES)),
    Case.duplicate_of_id.is_(None),
    Case.submitted_at >= bindparam("since"),
)


def _candidates(where: Any) -> Prepared:
    return Prepared(select(*_COMPARED).where(*_RECENT, where).order_by(Case.id).limit(CANDIDATES))


# The candidates come from up to three prepared statements, one for each way a case can be near this one. The first
# CANDIDATES of their union by id are the first CANDIDATES of each one's, merged.
_SAME_ENTERPRISE = _candidates(Case.enterprise == bindparam("enterprise"))
_NEARBY = _candidates(
    and_(
        Case.latitude.between(bindparam("south"), bindparam("north")),
        Case.longitude.between(bindparam("west"), bindparam("east")),
    )
)
_BY_ID = _candidates(Case.id == bindparam("other_id"))
_RECENT_PHOTOS = Prepared(
    select(Media.case_id, Media.phash).join(Case, Case.id == Media.case_id).where(*_RECENT, Media.phash.is_not(None))
)


def find_original(session: Session, case: Case, mine: list[str]) -> tuple[tuple[int, str], str] | None:
    """The earliest open case this one repeats (id and reference), with the reason in words; None when it is new.
    `mine` are the perceptual hashes of the case's photos.

    Candidates are narrowed in SQL (same enterprise, or nearby, or sharing a photo hash), so a large backlog of open
    cases costs an index lookup, not a scan.
    """
    recent = {"case_id": case.id, "since": case.submitted_at - LOOKBACK}
    hashes = _recent_photos(session, recent) if mine else {}  # photos match only photos
    found: dict[int, Candidate] = {}
    if case.enterprise:
        found.update(_read(session, _SAME_ENTERPRISE, {**recent, "enterprise": case.enterprise}))
    if case.latitude is not None and case.longitude is not None:
        box = {
            "south": case.latitude - NEAR_DEGREES,
            "north": case.latitude + NEAR_DEGREES,
            "west": case.longitude - NEAR_DEGREES,
            "east": case.longitude + NEAR_DEGREES,
        }
        found.update(_read(session, _NEARBY, {**recent, **box}))
    for other_id, theirs in sorted(hashes.items()):
        if other_id not in found and any(hamming(ph, m) <= SAME_PHOTO_BITS for ph in theirs for m in mine):
            found.update(_read(session, _BY_ID, {**recent, "other_id": other_id}))
    for other_id in sorted(found)[:CANDIDATES]:
        other = found[other_id]
        reason = _same_hazard(case, other, mine, hashes.get(other_id, []))
        if reason:
            return (other.id, other.reference), reason
    return None


def _read(session: Session, statement: Prepared, params: dict[str, Any]) -> dict[int, Candidate]:
    return {row[0]: Candidate(*row) for row in statement.rows(session, params)}


def _recent_photos(session: Session, recent: dict[str, Any]) -> dict[int, list[str]]:
    """The perceptual hashes of the recent open cases' photos, by case (compared here: SQL has no popcount)."""
    found: dict[int, list[str]] = {}
    for case_id, phash in _RECENT_PHOTOS.rows(session, recent):
        if case_id is not None and phash:
            found.setdefault(case_id, []).append(phash)
    return found


def _same_hazard(case: Hazard, other: Hazard, mine: list[str], theirs: list[str]) -> str | None:
    if any(hamming(a, b) <= SAME_PHOTO_BITS for a in mine for b in theirs):
        return "照片几乎相同"
    same_enterprise = bool(case.enterprise) and case.enterprise == other.enterprise
    same_category = bool(_top(case) & _top(other))
    if not same_category:
        return None
    near = _distance(case, other)
    similar = text_similarity(case.text, other.text)
    if same_enterprise and (similar >= SIMILAR_TEXT or (near is not None and near <= SAME_PLACE_METRES)):
        return f"同一企业、同类隐患（文字相似度 {similar:.2f}）"
    if not case.enterprise and near is not None and near <= SAME_PLACE_METRES and similar >= SIMILAR_TEXT:
        return f"同一地点（相距 {near:.0f} 米）、同类隐患"
    return None


def _top(case: Hazard) -> set[str]:
    categories = (case.triage or {}).get("categories", [])
    return {c["id"] for c in categories[:2]}


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams: robust to word order and to the lack of spaces in Chinese."""
    grams_a, grams_b = _bigrams(a), _bigrams(b)
    if not grams_a or not grams_b:
        return 0.0
    return len(grams_a & grams_b) / len(grams_a | grams_b)


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if c.isalnum()]
    return {chars[i] + chars[i + 1] for i in range(len(chars) - 1)}


def _distance(a: Hazard, b: Hazard) -> float | None:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    assert a.latitude is not None and a.longitude is not None and b.latitude is not None and b.longitude is not None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))
