"""What a reporter says after submitting: answers to an inspector's question, whether the hazard is really gone,
and objections to a rejection. Each is read only when the service is waiting for it."""

from __future__ import annotations

from datetime import timedelta

from handlers import lifecycle, notify, texts
from handlers.commands import Parsed
from handlers.inbound import Inbound
from handlers.outcome import JobRequest, Outcome
from handlers.report import Conversation
from storage import cases as case_store
from storage import drafts as draft_store
from storage.inbound import Received
from storage.inspectors import staff_of
from storage.models import Case, Inspector, Media

EVIDENCE_WINDOW = timedelta(minutes=30)
ANSWER_MAX_CHARS = 500
NOT_FIXED = frozenset({"没有", "没有消除", "没消除", "还在", "还没有", "没整改", "没有整改", "没改", "否", "不是"})
FIXED = frozenset({"已消除", "消除了", "好了", "是", "是的", "已整改", "整改了", "没问题"})
SECTION_STAFF = ("inspector", "head")
REPORTER = "reporter"


def reply_to_service(conv: Conversation, inbound: Inbound, message: Received) -> Outcome | None:
    """The reporter's text or photo when the service is waiting for one; None when it is not (then: a new draft)."""
    if draft_store.open_draft(conv.session, conv.reporter.id) is not None:
        return None
    case = case_store.case_with_question(conv.session, conv.reporter.id, ("inspector", "confirm", "evidence"), conv.now)
    if case is None:
        return None
    if inbound.kind == "image" and inbound.media_id and case.question in ("inspector", "evidence"):
        return _evidence(conv, case, inbound, message)
    text = (inbound.content or "").strip().strip("。.!！~ ")
    if inbound.kind != "text" or not text:
        return None
    if case.question == "confirm":
        return _confirm(conv, case, text)
    if case.question == "inspector" and len(text) <= ANSWER_MAX_CHARS:
        return _relay(conv, case, text)
    return None


def _relay(conv: Conversation, case: Case, answer: str) -> Outcome:
    people = _askers(conv, case)
    case.question, case.question_expires_at = "evidence", conv.now + EVIDENCE_WINDOW  # photos may follow a while
    event_id = lifecycle.note(conv.session, case, actor=REPORTER, text=f"举报人回复：{answer}", at=conv.now)
    body = texts.REPORTER_ANSWER.format(reference=case.reference, answer=answer)
    jobs = notify.to_staff(conv.session, people, body, conv.now, f"event:{event_id}", case=case)
    return Outcome(texts.ANSWER_RELAYED, jobs)


def _evidence(conv: Conversation, case: Case, inbound: Inbound, message: Received) -> Outcome:
    assert inbound.media_id is not None
    media = Media(
        inbound_id=message.id,
        case_id=case.id,
        kind="image",
        platform_media_id=inbound.media_id,
        created_at=conv.now,
    )
    conv.session.add(media)
    conv.session.flush()
    event_id = lifecycle.note(conv.session, case, actor=REPORTER, text="举报人补充了照片", at=conv.now)
    body = texts.REPORTER_PHOTO.format(reference=case.reference)
    jobs = notify.to_staff(conv.session, _askers(conv, case), body, conv.now, f"event:{event_id}", case=case)
    return Outcome(texts.ANSWER_RELAYED, [JobRequest("download_media", media.id), *jobs])


def _askers(conv: Conversation, case: Case) -> list[notify.Recipient]:
    """The inspector who asked, if still active; else the section's staff."""
    asker = conv.session.get(Inspector, case.question_by) if case.question_by else None
    if asker is not None and asker.active:
        return [asker]
    return list(staff_of(conv.session, case.section_id, SECTION_STAFF))


def _confirm(conv: Conversation, case: Case, text: str) -> Outcome | None:
    if text in FIXED:
        case.question = None
        lifecycle.note(conv.session, case, actor=REPORTER, text="举报人确认隐患已消除", at=conv.now)
        return Outcome(texts.CONFIRM_THANKS.format(reference=case.reference))
    if text not in NOT_FIXED:
        return None
    moved = lifecycle.move(conv.session, case, "rectifying", actor=REPORTER, note="举报人反映隐患仍未消除", at=conv.now)
    case.question, case.question_expires_at = "evidence", conv.now + EVIDENCE_WINDOW
    body = texts.REPORTER_NOT_FIXED.format(reference=case.reference, detail="")
    people = staff_of(conv.session, case.section_id, SECTION_STAFF)
    jobs = notify.to_staff(conv.session, people, body, conv.now, f"event:{moved.event_id}", case=case, priority=True)
    return Outcome(texts.REOPENED_NOTICE.format(reference=case.reference), jobs)


def object_to(conv: Conversation, parsed: Parsed, objection_days: int) -> Outcome:
    """`异议 <编号> <理由>`: a rejected case is checked again if the reporter objects in time."""
    if parsed.reference is None:
        example = f"{conv.rules.reference_prefix}-{conv.now.astimezone(conv.rules.timezone):%Y%m%d}-0001"
        return Outcome(texts.OBJECTION_USAGE.format(example=example))
    case = case_store.find_case(conv.session, parsed.reference)
    if case is None or case.reporter_id != conv.reporter.id:
        return Outcome(texts.QUERY_NOT_FOUND.format(reference=parsed.reference))
    if case.status != "rejected":
        return Outcome(
            texts.OBJECTION_NOT_REJECTED.format(reference=case.reference, status=texts.status_name(case.status))
        )
    if case.rejected_at is None or conv.now - case.rejected_at > timedelta(days=objection_days):
        return Outcome(texts.OBJECTION_LATE.format(reference=case.reference, days=objection_days))
    reason = parsed.reason or "（未写理由）"
    moved = lifecycle.move(conv.session, case, "verifying", actor=REPORTER, note=f"举报人异议：{reason}", at=conv.now)
    people = staff_of(conv.session, case.section_id, SECTION_STAFF)
    body = texts.REPORTER_OBJECTED.format(reference=case.reference, reason=reason)
    jobs = notify.to_staff(conv.session, people, body, conv.now, f"event:{moved.event_id}", case=case, priority=True)
    return Outcome(moved.notice or "", jobs)
