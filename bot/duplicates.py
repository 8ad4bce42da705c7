"""Is a new case the same hazard as an open one? Same enterprise and hazard with similar words or the same place,
or a near-identical photo. The earlier case keeps priority (first reporter); the new one is linked to it."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.media.photos import hamming
from storage.models import Case, Media

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


# Read as plain rows, not cases: there may be hundreds of candidates, and a mapped Case is many times the cost.
_COMPARED = (Case.id, Case.reference, Case.enterprise, Case.text, Case.triage, Case.latitude, Case.longitude)


def find_original(session: Session, case: Case, mine: list[str]) -> tuple[tuple[int, str], str] | None:
    """The earliest open case this one repeats (id and reference), with the reason in words; None when it is new.
    `mine` are the perceptual hashes of the case's photos.

    Candidates are narrowed in SQL (same enterprise, or nearby, or sharing a photo hash), so a large backlog of open
    cases costs an index lookup, not a scan.
    """
    recent = (
        Case.id < case.id,
        Case.status.in_(OPEN_STATUSES),
        Case.duplicate_of_id.is_(None),
        Case.submitted_at >= case.submitted_at - LOOKBACK,
    )
    by_photo = _photo_matches(session, mine, recent)
    clauses = []
    if case.enterprise:
        clauses.append(Case.enterprise == case.enterprise)
    if case.latitude is not None and case.longitude is not None:
        clauses.append(
            and_(
                Case.latitude.between(case.latitude - NEAR_DEGREES, case.latitude + NEAR_DEGREES),
                Case.longitude.between(case.longitude - NEAR_DEGREES, case.longitude + NEAR_DEGREES),
            )
        )
    if by_photo:
        clauses.append(Case.id.in_(by_photo))
    if not clauses:
        return None
    stmt = select(*_COMPARED).where(*recent, or_(*clauses)).order_by(Case.id).limit(CANDIDATES)
    candidates = session.execute(stmt).all()
    hashes = _phashes(session, [c.id for c in candidates]) if mine else {}  # photos match only photos
    for other in candidates:
        reason = _same_hazard(case, other, mine, hashes.get(other.id, []))
        if reason:
            return (other.id, other.reference), reason
    return None


def _photo_matches(session: Session, mine: list[str], recent: tuple[Any, ...]) -> list[int]:
    """Open cases with a photo within SAME_PHOTO_BITS of one of ours (hashes compared here: SQL has no popcount)."""
    if not mine:
        return []
    rows = session.execute(
        select(Media.case_id, Media.phash).join(Case, Case.id == Media.case_id).where(*recent, Media.phash.is_not(None))
    )
    return sorted(
        {cid for cid, ph in rows if cid is not None and ph and any(hamming(ph, m) <= SAME_PHOTO_BITS for m in mine)}
    )


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


def _phashes(session: Session, case_ids: list[int]) -> dict[int, list[str]]:
    rows = session.execute(
        select(Media.case_id, Media.phash).where(Media.case_id.in_(case_ids), Media.phash.is_not(None))
    )
    found: dict[int, list[str]] = {}
    for case_id, phash in rows:
        if case_id is not None and phash:
            found.setdefault(case_id, []).append(phash)
    return found


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
