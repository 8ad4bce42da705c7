"""Messages from inspectors, heads and leaders: their commands, their rectification photos, and binding by code.

Staff use the same account as workers: whatever is not a staff command falls through to the reporter's conversation,
so an inspector can report a hazard like anyone else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers import inspection, lifecycle, texts
from handlers.inbound import Inbound
from handlers.inspector_commands import parse_bind, parse_inspector
from handlers.outcome import JobRequest, Outcome
from storage.inbound import Received
from storage.inspectors import redeem_invitation
from storage.models import Case, Media
from storage.reporters import ReporterRef, sealed_openid_of


def handle_staff(desk: inspection.Desk, inbound: Inbound, message: Received) -> Outcome | None:
    if inbound.kind == "text":
        command = parse_inspector(inbound.content or "")
        return inspection.handle(desk, command) if command is not None else None
    if inbound.kind == "image" and inbound.media_id and _in_rectification(desk):
        return _rectification_photo(desk, inbound, message)
    return None


def _in_rectification(desk: inspection.Desk) -> bool:
    until = desk.inspector.context_until
    return desk.inspector.context_case_id is not None and until is not None and until > desk.now


def _rectification_photo(desk: inspection.Desk, inbound: Inbound, message: Received) -> Outcome:
    case = desk.session.get(Case, desk.inspector.context_case_id)
    assert case is not None and inbound.media_id is not None
    media = Media(
        inbound_id=message.id,
        case_id=case.id,
        kind="image",
        purpose="rectification",
        platform_media_id=inbound.media_id,
        created_at=desk.now,
    )
    desk.session.add(media)
    desk.session.flush()
    count = desk.session.scalar(
        select(func.count()).select_from(Media).where(Media.case_id == case.id, Media.purpose == "rectification")
    )
    lifecycle.note(desk.session, case, actor=desk.actor, text="上传整改照片", at=desk.now)
    reply = texts.RECTIFY_PHOTO_SAVED.format(reference=case.reference, count=count)
    return Outcome(reply, [JobRequest("download_media", media.id)])


def bind(
    session: Session,
    text: str,
    reporter: ReporterRef,
    now: datetime,
    code_digest: Callable[[str], str],
    section_names: dict[str, str],
) -> Outcome | None:
    """`绑定 <code>`: the sender becomes staff of the invitation's section. None when the text is not a bind."""
    code = parse_bind(text)
    if code is None:
        return None
    inspector = redeem_invitation(
        session, code_digest(code), reporter.digest, sealed_openid_of(session, reporter.id), now
    )
    if inspector is None:
        return Outcome(texts.BIND_FAILED)
    inspector.last_inbound_at = now
    section = section_names.get(inspector.section_id or "", inspector.section_id or "")
    return Outcome(texts.BOUND.format(section=section, role=texts.ROLE_NAMES.get(inspector.role, inspector.role)))
