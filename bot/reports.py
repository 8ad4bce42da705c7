"""Case views for the command line and, later, for inspectors: never the reporter's identity."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from handlers.texts import status_name
from storage.cases import events_of, find_case, list_cases
from storage.media import media_of_case
from storage.models import Case


def case_summary(case: Case) -> dict[str, Any]:
    triage = case.triage or {}
    categories = [c["id"] for c in triage.get("categories", [])][:3]
    return {
        "reference": case.reference,
        "status": case.status,
        "submitted_at": case.submitted_at.isoformat(),
        "section": case.section_id,
        "major": case.major,
        "categories": categories,
        "text": case.text[:60],
    }


def case_detail(session: Session, case: Case) -> dict[str, Any]:
    detail = case_summary(case)
    detail.update(
        {
            "text": case.text,
            "submitted_via": case.submitted_via,
            "place": case.place,
            "latitude": case.latitude,
            "longitude": case.longitude,
            "triage_status": case.triage_status,
            "triage": case.triage,
            "media": [
                {"kind": m.kind, "status": m.status, "path": m.path, "thumbnail": m.thumbnail_path, "error": m.error}
                for m in media_of_case(session, case.id)
            ],
            "events": [
                {"at": e.at.isoformat(), "actor": e.actor, "from": e.from_status, "to": e.to_status, "note": e.note}
                for e in events_of(session, case.id)
            ],
        }
    )
    return detail


def list_reports(session: Session, status: str | None, limit: int) -> list[dict[str, Any]]:
    return [case_summary(c) for c in list_cases(session, status=status, limit=limit)]


def show_report(session: Session, reference: str) -> dict[str, Any] | None:
    case = find_case(session, reference)
    return case_detail(session, case) if case else None


def format_detail(d: dict[str, Any]) -> str:
    lines = [
        f"{d['reference']}  {status_name(d['status'])}  提交于 {d['submitted_at']}（{d['submitted_via']}）",
        f"分派：{d['section'] or '未分派'}  可能重大隐患：{_yes_no(d['major'])}",
        f"类别：{', '.join(d['categories']) or '—'}",
        f"位置：{d['place'] or ''} {d['latitude'] or ''} {d['longitude'] or ''}".rstrip(),
        "内容：",
        *(f"  {line}" for line in (d["text"] or "（无文字）").splitlines()),
        "附件：",
        *(f"  {m['kind']} {m['status']} {m['path'] or ''} {m['error'] or ''}".rstrip() for m in d["media"]),
        "记录：",
        *(f"  {e['at']} {e['actor']} {e['from'] or '—'} → {e['to']} {e['note']}" for e in d["events"]),
    ]
    return "\n".join(lines)


def _yes_no(flag: bool | None) -> str:
    return "未研判" if flag is None else "是" if flag else "否"
