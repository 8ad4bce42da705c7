"""The reporter's conversation: compose a draft from several messages, submit it, ask about cases.

States (drawn in report.md beside this file):

    idle --photo/text/voice/video/file/location--> drafting
    drafting --more of the same (window extended)--> drafting
    drafting --"提交" or the menu--> idle        (case created, reference + query code replied)
    drafting --window passes without a message--> idle (case created by the close_draft job, pushed; the workers
                                                        ask for that job once the window has passed)
    drafting --"取消"--> idle                     (draft dropped)
    drafting --message after the window passed--> drafting (old draft submitted first, a new one begun)

Everything here runs inside the request's (or the job's) transaction; the caller commits, then enqueues the jobs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from handlers import texts
from handlers.commands import Parsed
from handlers.inbound import MEDIA_KINDS, Inbound
from handlers.outcome import JobRequest, Outcome
from handlers.worktime import add_working_hours
from storage import cases as case_store
from storage import drafts as draft_store
from storage import media as media_store
from storage.drafts import DraftRecord
from storage.inbound import DraftMessage, Received, messages_of_draft
from storage.models import Case, Media
from storage.reporters import ReporterRef

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on phones
CODE_LENGTH = 8
REPORTER_ACTOR = "reporter"
ANSWER_MAX_CHARS = 40
DONT_KNOW = frozenset({"不知道", "不清楚", "不晓得", "不确定", "不知道是哪家"})
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class ReportRules:
    draft_window: timedelta
    reference_prefix: str
    timezone: tzinfo
    accept_working_hours: float = 8
    workday: tuple[time, time] = (time(8, 30), time(17, 30))
    objection_days: int = 10

    def accept_due(self, submitted: datetime) -> datetime:
        return add_working_hours(submitted, self.accept_working_hours, self.timezone, *self.workday)


@dataclass
class Conversation:
    """What one reporter's turn needs: the open transaction, who is writing, the rules and the time."""

    session: Session
    reporter: ReporterRef
    rules: ReportRules
    now: datetime
    code_digest: Callable[[str], str]

    @property
    def minutes(self) -> int:
        return max(1, round(self.rules.draft_window.total_seconds() / 60))


@dataclass(frozen=True)
class Submission:
    case: SubmittedCase
    code: str


@dataclass(frozen=True)
class SubmittedCase:
    id: int
    reference: str
    reporter_id: int


def add_to_draft(conv: Conversation, inbound: Inbound, message: Received, draft: DraftRecord | None) -> Outcome:
    """A photo, text, voice, video, file, link or location joins the reporter's open draft.

    `draft` is the reporter's open draft as the caller just read it with `open_draft(.., for_update=True)`, or None.
    """
    outcome = Outcome()
    prefix = ""
    if draft is not None and draft.expires_at <= conv.now:
        earlier = _submit_draft(conv.session, conv.rules, conv.code_digest, draft, conv.now, via="timeout")
        prefix = _submitted_text(earlier, auto=True) + "\n\n" if earlier else ""
        if earlier:
            outcome.then(JobRequest("triage_case", earlier.case.id))
        draft = None
    content = inbound.kind != "location"
    expires = conv.now + conv.rules.draft_window
    if draft is None:
        draft, started = draft_store.start_draft(
            conv.session, conv.reporter.id, conv.now, conv.rules.draft_window, content=content
        )
    else:
        draft, started = draft_store.add_item(conv.session, draft, expires, content=content), False
    return _joined(conv, inbound, message, draft, started, outcome, prefix)


def join_open_draft(conv: Conversation, inbound: Inbound, message: Received) -> Outcome | None:
    """The common case, in one statement: the reporter's open draft is within its window and the message joins it.
    None when no draft is open or its window has passed (`add_to_draft` then decides what happens)."""
    expires = conv.now + conv.rules.draft_window
    content = inbound.kind != "location"
    draft = draft_store.join_open_draft(conv.session, conv.reporter.id, conv.now, expires, content=content)
    if draft is None:
        return None
    return _joined(conv, inbound, message, draft, False, Outcome(), "")


def _joined(
    conv: Conversation,
    inbound: Inbound,
    message: Received,
    draft: DraftRecord,
    started: bool,
    outcome: Outcome,
    prefix: str,
) -> Outcome:
    """The message is part of `draft` now: its media are fetched, and the reply says how the draft stands."""
    message.draft_id = draft.id
    if inbound.is_media and inbound.media_id:
        media = Media(
            inbound_id=message.id,
            draft_id=draft.id,
            kind=inbound.kind,
            platform_media_id=inbound.media_id,
            created_at=conv.now,
        )
        conv.session.add(media)
        conv.session.flush()
        outcome.then(JobRequest("download_media", media.id))
    outcome.reply = prefix + _acknowledge(conv, draft, inbound, started)
    return outcome


def answer_question(conv: Conversation, text: str) -> Outcome | None:
    """A short plain text right after the service asked "是哪家企业？" is the answer (when no draft is open)."""
    text = text.strip()
    if len(text) > ANSWER_MAX_CHARS or draft_store.open_draft(conv.session, conv.reporter.id) is not None:
        return None
    case = case_store.case_with_question(conv.session, conv.reporter.id, ("enterprise",), conv.now)
    if case is None:
        return None
    case.question = None
    if text.strip("。.!！ ") in DONT_KNOW:
        return Outcome(texts.ENTERPRISE_UNKNOWN_NOTED.format(reference=case.reference))
    case.enterprise_hint = text[:255]
    case.triage_status = "pending"
    reply = texts.ENTERPRISE_NOTED.format(reference=case.reference, answer=text)
    return Outcome(reply).then(JobRequest("triage_case", case.id, round=1))


def note_auto_location(conv: Conversation, message: Received) -> Outcome:
    """A LOCATION event (reported by the phone every few seconds) joins an open draft silently, else is ignored."""
    draft = draft_store.open_draft(conv.session, conv.reporter.id)
    if draft is not None and draft.expires_at > conv.now:
        message.draft_id = draft.id
    return Outcome()


def submit(conv: Conversation) -> Outcome:
    draft = draft_store.open_draft(conv.session, conv.reporter.id, for_update=True)
    if draft is None:
        return Outcome(texts.NOTHING_TO_SUBMIT)
    if not draft.contents:
        return Outcome(texts.NEEDS_CONTENT)
    done = _submit_draft(conv.session, conv.rules, conv.code_digest, draft, conv.now, via="command")
    assert done is not None
    return Outcome(_submitted_text(done, auto=False)).then(JobRequest("triage_case", done.case.id))


def cancel(conv: Conversation) -> Outcome:
    draft = draft_store.open_draft(conv.session, conv.reporter.id, for_update=True)
    if draft is None:
        return Outcome(texts.NOTHING_TO_CANCEL)
    draft_store.close_draft(conv.session, draft.id, "cancelled", conv.now)
    return Outcome(texts.CANCELLED)


def drop_draft(session: Session, reporter_id: int, now: datetime) -> None:
    """The reporter unfollowed: an unsubmitted draft is dropped (nothing was promised for it)."""
    draft = draft_store.open_draft(session, reporter_id, for_update=True)
    if draft is not None:
        draft_store.close_draft(session, draft.id, "cancelled", now)


def pending_hint(conv: Conversation) -> str | None:
    draft = draft_store.open_draft(conv.session, conv.reporter.id)
    if draft is None or draft.expires_at <= conv.now:
        return None
    return texts.DRAFT_PENDING.format(count=draft.items)


def close_expired(
    session: Session, rules: ReportRules, code_digest: Callable[[str], str], draft_id: int, now: datetime
) -> tuple[Submission | None, str | None]:
    """The close_draft job: submit the draft if its window has passed (else nothing: a reporter who wrote again
    meanwhile has moved its end, and the draft is asked for again then).

    Returns (submission, message to push).
    """
    draft = draft_store.draft_by_id(session, draft_id, for_update=True)
    if draft is None or draft.status != "open" or draft.expires_at > now:
        return None, None
    done = _submit_draft(session, rules, code_digest, draft, now, via="timeout")
    if done is None:
        return None, texts.LOCATION_ONLY_DROPPED
    return done, _submitted_text(done, auto=True)


def query(conv: Conversation, parsed: Parsed) -> Outcome:
    if parsed.reference is None:
        example = f"{conv.rules.reference_prefix}-{conv.now.astimezone(conv.rules.timezone):%Y%m%d}-0001"
        return Outcome(texts.QUERY_USAGE.format(example=example))
    case = case_store.find_case(conv.session, parsed.reference)
    allowed = case is not None and (
        case.reporter_id == conv.reporter.id
        or (parsed.code is not None and conv.code_digest(parsed.code) == case.query_code_digest)
    )
    if case is None or not allowed:
        return Outcome(texts.QUERY_NOT_FOUND.format(reference=parsed.reference))
    return Outcome(
        texts.QUERY_RESULT.format(
            reference=case.reference,
            submitted=_local(conv, case.submitted_at),
            status=texts.status_name(case.status),
            detail=texts.STATUS_DETAIL.get(case.status, ""),
        ).rstrip()
    )


def my_cases(conv: Conversation) -> Outcome:
    found = case_store.cases_of_reporter(conv.session, conv.reporter.id)
    if not found:
        return Outcome(texts.MY_CASES_EMPTY)
    lines = [texts.MY_CASES_HEADER]
    for case in found:
        lines.append(
            texts.MY_CASES_LINE.format(
                reference=case.reference,
                status=texts.status_name(case.status),
                submitted=_local(conv, case.submitted_at),
            )
        )
    lines.append(texts.MY_CASES_FOOTER)
    return Outcome("\n".join(lines))


def new_query_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _submit_draft(
    session: Session,
    rules: ReportRules,
    code_digest: Callable[[str], str],
    draft: DraftRecord,
    now: datetime,
    via: str,
) -> Submission | None:
    """Turn the draft into a case (or drop it when it holds nothing but a location)."""
    messages = messages_of_draft(session, draft.id)
    if not any(_is_content(m) for m in messages):
        draft_store.close_draft(session, draft.id, "cancelled", now)
        return None
    code = new_query_code()
    reference = case_store.next_reference(session, rules.reference_prefix, now.astimezone(rules.timezone).date())
    # A transient holder of what the submission knows (place and photo facts fill it in); add_case inserts it.
    case = Case(
        reference=reference,
        reporter_id=draft.reporter_id,
        query_code_digest=code_digest(code),
        text=_case_text(messages),
        submitted_via=via,
        submitted_at=now,
        accept_due_at=rules.accept_due(now),
    )
    _set_place(case, messages)
    has_media = any(m.kind in MEDIA_KINDS for m in messages)
    if has_media:
        for media in media_store.media_of_draft(session, draft.id):
            if media.status == "stored" and media.kind == "image":
                apply_photo_facts(case, media.info.get("gps"), media.info.get("taken_at"), rules.timezone)
    actor = REPORTER_ACTOR if via != "timeout" else SYSTEM_ACTOR
    case_id = case_store.add_case(session, case, actor, f"via {via}")
    draft_store.close_draft(session, draft.id, "submitted", now, case_id=case_id)
    if has_media:
        media_store.attach_draft_media(session, draft.id, case_id)
    return Submission(SubmittedCase(case_id, reference, draft.reporter_id), code)


def _is_content(message: DraftMessage) -> bool:
    return message.kind not in {"location", "event"}


def _case_text(messages: list[DraftMessage]) -> str:
    parts: list[str] = []
    for message in messages:
        p = message.payload
        if message.kind == "text" and p.get("content"):
            parts.append(str(p["content"]).strip())
        elif message.kind == "voice" and p.get("recognition"):
            parts.append("[语音] " + str(p["recognition"]).strip())
        elif message.kind == "link":
            parts.append(" ".join(str(p[k]) for k in ("title", "description", "url") if p.get(k)))
        elif message.kind == "file" and p.get("title"):
            parts.append("[文件] " + str(p["title"]))
    return "\n".join(part for part in parts if part)


def _set_place(case: Case, messages: list[DraftMessage]) -> None:
    """The last location the reporter sent; else the last one the phone reported by itself."""
    explicit = [m.payload for m in messages if m.kind == "location"]
    automatic = [m.payload for m in messages if m.kind == "event"]
    for origin, source in (("reporter", explicit), ("phone", automatic)):
        if source:
            chosen = source[-1]
            case.latitude = chosen.get("latitude")
            case.longitude = chosen.get("longitude")
            case.place = (chosen.get("label") or "")[:255] or None
            case.location_source = origin
            return


def _acknowledge(conv: Conversation, draft: DraftRecord, inbound: Inbound, started: bool) -> str:
    if inbound.kind == "location":
        return texts.DRAFT_LOCATION.format(place=inbound.label or f"{inbound.latitude}, {inbound.longitude}")
    item = texts.ITEM_NAMES.get(inbound.kind, "内容")
    if started:
        return texts.DRAFT_STARTED.format(item=item, minutes=conv.minutes)
    return texts.DRAFT_ADDED.format(item=item, count=draft.items)


def _submitted_text(done: Submission, *, auto: bool) -> str:
    text = texts.SUBMITTED.format(reference=done.case.reference, code=done.code)
    return texts.AUTO_SUBMITTED_PREFIX + text if auto else text


def _local(conv: Conversation, at: datetime) -> str:
    return f"{at.astimezone(conv.rules.timezone):%Y-%m-%d %H:%M}"


def apply_photo_facts(case: Case, gps: list[float] | None, taken_at: str | None, tz: tzinfo) -> None:
    """A photo's GPS fills a case the reporter gave no place for; its capture time says when the hazard was seen."""
    if gps and case.latitude is None and case.location_source in (None, "photo"):
        case.latitude, case.longitude, case.location_source = gps[0], gps[1], "photo"
    if taken_at:
        seen = datetime.fromisoformat(taken_at)
        seen = seen.replace(tzinfo=tz) if seen.tzinfo is None else seen
        if case.observed_at is None or seen < case.observed_at:
            case.observed_at = seen
