"""An inspector's desk: the commands that move a case through the closed loop from a phone.

Each command is checked against the inspector's section and the case's state (handlers/lifecycle.py); each move
writes an event and tells the reporter in plain words, through the outbox, without the inspector ever seeing who the
reporter is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from handlers import lifecycle, notify, texts
from handlers.cards import case_card, category_names, current_deadline, local
from handlers.inspector_commands import Act, InspectorCommand
from handlers.outcome import JobRequest, Outcome
from storage import cases as case_store
from storage.inspectors import staff_of
from storage.models import Case, Inspector
from storage.stats import campaign_stats

RECTIFY_PHOTO_WINDOW = timedelta(minutes=10)
QUESTION_LIFETIME = timedelta(days=3)
SECTION_STAFF = ("inspector", "head")


@dataclass(frozen=True)
class DeskRules:
    timezone: tzinfo
    verify_days: int
    extension_max_days: int
    confirm_days: int
    reward_claim: str
    sections: dict[str, str] = field(default_factory=dict)  # id -> name


@dataclass
class Desk:
    session: Session
    inspector: Inspector
    rules: DeskRules
    now: datetime

    @property
    def actor(self) -> str:
        return f"inspector:{self.inspector.id}"

    def section_name(self, section_id: str | None) -> str:
        return self.rules.sections.get(section_id or "", section_id or "未分派")


class Refusal(Exception):
    """The command cannot be carried out; the message says why, in words the inspector can act on."""


def handle(desk: Desk, command: InspectorCommand) -> Outcome:
    if command.act is Act.HELP:
        return Outcome(texts.INSPECTOR_HELP)
    if command.act is Act.LIST:
        return _list(desk)
    if command.act is Act.STATS:
        return _stats(desk)
    assert command.reference is not None
    try:
        case = _case_for(desk, command.reference)
        return ACTIONS[command.act](desk, case, command.argument)
    except (Refusal, lifecycle.TransitionError) as exc:
        return Outcome(str(exc))


def _case_for(desk: Desk, reference: str) -> Case:
    case = case_store.find_case(desk.session, reference)
    if case is None:
        raise Refusal(texts.NOT_A_CASE.format(reference=reference))
    mine = desk.inspector.role == "leader" or case.section_id == desk.inspector.section_id
    if not mine:
        raise Refusal(
            texts.NOT_YOUR_SECTION.format(reference=case.reference, section=desk.section_name(case.section_id))
        )
    return case


def _need(argument: str, what: str, example: str) -> str:
    if not argument:
        raise Refusal(texts.NEEDS_ARGUMENT.format(what=what, example=example))
    return argument


def _moved(desk: Desk, case: Case, to_status: str, note: str, what: str) -> Outcome:
    moved = lifecycle.move(desk.session, case, to_status, actor=desk.actor, note=note, at=desk.now)
    jobs: list[JobRequest] = []
    if moved.notice:
        jobs = notify.to_reporter(desk.session, case, moved.notice, desk.now, f"event:{moved.event_id}")
    return Outcome(texts.DONE.format(reference=case.reference, what=what), jobs)


def _show(desk: Desk, case: Case, _arg: str) -> Outcome:
    text, _thumbnails = case_card(desk.session, case, desk.rules.timezone, title=texts.status_name(case.status))
    return Outcome(text)


def _accept(desk: Desk, case: Case, note: str) -> Outcome:
    outcome = _moved(desk, case, "accepted", note, "已受理")
    case.accepted_at = desk.now
    case.verify_due_at = desk.now + timedelta(days=desk.rules.verify_days)
    return outcome


def _verify(desk: Desk, case: Case, note: str) -> Outcome:
    return _moved(desk, case, "verifying", note, "进入核查")


def _reject(desk: Desk, case: Case, reason: str) -> Outcome:
    _need(reason, "理由", f"不予受理 {case.reference} 不属于本局职责")
    outcome = _moved(desk, case, "rejected", reason, "不予受理")
    case.rejected_at = desk.now
    return outcome


def _transfer(desk: Desk, case: Case, department: str) -> Outcome:
    _need(department, "接收部门", f"移交 {case.reference} 市场监督管理局")
    return _moved(desk, case, "transferred", department, f"已移交{department}")


def _duplicate(desk: Desk, case: Case, original_ref: str) -> Outcome:
    _need(original_ref, "原案件编号", f"重复 {case.reference} AQ-20260101-0001")
    original = _case_for(desk, original_ref.split()[0])  # the original must be one this inspector may see too
    if original.id == case.id:
        raise Refusal(texts.NOT_A_CASE.format(reference=original_ref))
    case.duplicate_of_id = original.id
    return _moved(desk, case, "duplicate", f"与 {original.reference} 为同一隐患", f"并入 {original.reference}")


def _reassign(desk: Desk, case: Case, target: str) -> Outcome:
    _need(target, "股室", f"转派 {case.reference} 商务股")
    wanted = target.strip()
    section = next((sid for sid, name in desk.rules.sections.items() if wanted in (sid, name)), None)
    if section is None:
        choices = "、".join(desk.rules.sections.values())
        raise Refusal(texts.UNKNOWN_SECTION.format(name=wanted, choices=choices))
    before = case.section_id
    case.section_id = section
    lifecycle.note(
        desk.session,
        case,
        actor=desk.actor,
        text=f"由{desk.section_name(before)}转派至{desk.section_name(section)}",
        at=desk.now,
    )
    jobs = announce(desk.session, case, desk.rules.timezone, desk.now, f"reassigned:{section}")
    return Outcome(texts.DONE.format(reference=case.reference, what=f"已转派{desk.section_name(section)}"), jobs)


def _deadline(desk: Desk, case: Case, text: str) -> Outcome:
    _need(text, "整改期限", f"期限 {case.reference} 2026-12-31")
    due = parse_deadline(text, desk.now, desk.rules.timezone)
    if due is None:
        raise Refusal(texts.BAD_DATE.format(text=text))
    if due <= desk.now:
        raise Refusal(texts.DATE_IN_PAST.format(date=local(due, desk.rules.timezone)))
    case.rectify_deadline = due
    if case.status == "rectifying":
        lifecycle.note(desk.session, case, actor=desk.actor, text=f"整改期限调整为 {due:%Y-%m-%d}", at=desk.now)
        return Outcome(
            texts.DONE.format(reference=case.reference, what=f"整改期限改为{local(due, desk.rules.timezone)}")
        )
    return _moved(desk, case, "rectifying", f"限期 {due:%Y-%m-%d} 前整改", "已限期整改")


def _extend(desk: Desk, case: Case, text: str) -> Outcome:
    match = re.match(
        r"^(\d{1,3})\s*[天日]?\s*(.*)$", _need(text, "延长天数和理由", f"延期 {case.reference} 30 需要检测报告")
    )
    if match is None or not match.group(2).strip():
        raise Refusal(
            texts.NEEDS_ARGUMENT.format(what="延长天数和理由", example=f"延期 {case.reference} 30 需要检测报告")
        )
    days, reason = int(match.group(1)), match.group(2).strip()
    if case.extended:
        raise Refusal(texts.EXTENSION_USED.format(reference=case.reference))
    if days < 1 or days > desk.rules.extension_max_days:
        raise Refusal(texts.EXTENSION_TOO_LONG.format(days=desk.rules.extension_max_days))
    if case.status not in ("accepted", "verifying") or case.verify_due_at is None:
        raise lifecycle.TransitionError(
            texts.CANNOT_MOVE.format(
                reference=case.reference,
                status=texts.status_name(case.status),
                target="延期",
                allowed="受理后核查期间延期",
            )
        )
    case.verify_due_at += timedelta(days=days)
    case.extended = True
    event_id = lifecycle.note(desk.session, case, actor=desk.actor, text=f"核查期限延长{days}天：{reason}", at=desk.now)
    body = texts.EXTENDED.format(
        reference=case.reference, due=f"{case.verify_due_at.astimezone(desk.rules.timezone):%Y-%m-%d}", reason=reason
    )
    jobs = notify.to_reporter(desk.session, case, body, desk.now, f"event:{event_id}")
    return Outcome(texts.DONE.format(reference=case.reference, what=f"核查期限延长{days}天"), jobs)


def _ask(desk: Desk, case: Case, question: str) -> Outcome:
    _need(question, "问题", f"问 {case.reference} 具体在哪个车间？")
    case.question, case.question_by, case.question_asked_at = "inspector", desk.inspector.id, desk.now
    case.question_expires_at = desk.now + QUESTION_LIFETIME
    event_id = lifecycle.note(desk.session, case, actor=desk.actor, text=f"向举报人提问：{question}", at=desk.now)
    body = texts.QUESTION_TO_REPORTER.format(reference=case.reference, question=question)
    jobs = notify.to_reporter(desk.session, case, body, desk.now, f"event:{event_id}")
    return Outcome(texts.DONE.format(reference=case.reference, what="问题已转给举报人"), jobs)


def _rectified(desk: Desk, case: Case, note: str) -> Outcome:
    _need(note, "整改情况", f"整改 {case.reference} 已更换配电箱并加锁")
    outcome = _moved(desk, case, "rectified", note, "整改情况已记录，10分钟内发送的照片将作为整改照片")
    desk.inspector.context_case_id = case.id
    desk.inspector.context_until = desk.now + RECTIFY_PHOTO_WINDOW
    return outcome


def _close(desk: Desk, case: Case, note: str) -> Outcome:
    outcome = _moved(desk, case, "closed", note or "隐患已消除", "已办结")
    case.closed_at = desk.now
    case.question, case.question_asked_at, case.question_by = "confirm", desk.now, None
    case.question_expires_at = desk.now + timedelta(days=desk.rules.confirm_days)
    return outcome


def _confirm_major(desk: Desk, case: Case, note: str) -> Outcome:
    case.major, case.major_confirmed = True, True
    case.reward_eligible = case.duplicate_of_id is None
    event_id = lifecycle.note(
        desk.session, case, actor=desk.actor, text=f"确认重大事故隐患 {note}".strip(), at=desk.now
    )
    jobs: list[JobRequest] = []
    if case.reward_eligible:
        body = texts.REWARD_ELIGIBLE.format(reference=case.reference, claim=desk.rules.reward_claim)
        jobs = notify.to_reporter(desk.session, case, body, desk.now, f"event:{event_id}")
    return Outcome(texts.DONE.format(reference=case.reference, what="已确认为重大事故隐患"), jobs)


def _clear_major(desk: Desk, case: Case, reason: str) -> Outcome:
    _need(reason, "理由", f"排除重大 {case.reference} 已核实不属于判定标准情形")
    case.major, case.major_confirmed, case.reward_eligible = False, False, False
    lifecycle.note(desk.session, case, actor=desk.actor, text=f"排除重大事故隐患：{reason}", at=desk.now)
    return Outcome(texts.DONE.format(reference=case.reference, what="已排除重大事故隐患标记"))


def _list(desk: Desk) -> Outcome:
    section = None if desk.inspector.role == "leader" else desk.inspector.section_id
    found = case_store.open_cases(desk.session, section, tuple(lifecycle.OPEN))
    if not found:
        return Outcome(texts.LIST_EMPTY)
    lines = [texts.LIST_HEADER.format(count=len(found))]
    for case in found:
        _kind, due = current_deadline(case)
        overdue = due is not None and due <= desk.now
        due_text = f" {'逾期' if overdue else '期限'}{local(due, desk.rules.timezone)}" if due else ""
        lines.append(
            texts.LIST_LINE.format(
                flag="⚠" if case.major else "",
                reference=case.reference,
                status=texts.status_name(case.status),
                categories=category_names(case),
                due=due_text,
            )
        )
    return Outcome("\n".join(lines))


def _stats(desk: Desk) -> Outcome:
    section = None if desk.inspector.role == "leader" else desk.inspector.section_id
    stats = campaign_stats(desk.session, desk.now, section_id=section)
    lines = [
        texts.STATS_HEADER.format(
            total=stats.total,
            open=stats.open,
            overdue=stats.overdue,
            major=stats.possibly_major_open,
            confirmed=stats.confirmed_major,
            closed=stats.closed,
            rate=f"{stats.closed_rate:.0%}",
            rewards=stats.reward_eligible,
        )
    ]
    for section_id, figures in sorted(stats.by_section.items()):
        lines.append(texts.STATS_SECTION.format(section=desk.section_name(section_id), **figures))
    if stats.top_categories:
        lines.append(texts.STATS_CATEGORIES.format(categories="、".join(f"{c}({n})" for c, n in stats.top_categories)))
    return Outcome("\n".join(lines))


ACTIONS: dict[Act, Callable[[Desk, Case, str], Outcome]] = {
    Act.SHOW: _show,
    Act.ACCEPT: _accept,
    Act.VERIFY: _verify,
    Act.REJECT: _reject,
    Act.TRANSFER: _transfer,
    Act.DUPLICATE: _duplicate,
    Act.REASSIGN: _reassign,
    Act.DEADLINE: _deadline,
    Act.EXTEND: _extend,
    Act.ASK: _ask,
    Act.RECTIFIED: _rectified,
    Act.CLOSE: _close,
    Act.CONFIRM_MAJOR: _confirm_major,
    Act.CLEAR_MAJOR: _clear_major,
}


def announce(session: Session, case: Case, tz: tzinfo, now: datetime, occasion: str) -> list[JobRequest]:
    """Send the case card (and photo thumbnails) to every inspector and head of the case's section."""
    people = staff_of(session, case.section_id, SECTION_STAFF)
    text, thumbnails = case_card(session, case, tz)
    return notify.to_staff(
        session,
        people,
        text,
        now,
        f"case:{case.id}:{occasion}",
        case=case,
        images=thumbnails,
        priority=bool(case.major),
    )


DATE_FORMS = (
    re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$"),
)
RELATIVE = re.compile(r"^(?P<n>\d{1,3})\s*(?:天|日)(?:内)?$")


def parse_deadline(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """'2026-12-31', '12月31日', '12/31' or '15天': the end of that local day."""
    text = text.strip().split()[0] if text.strip() else ""
    local_now = now.astimezone(tz)
    relative = RELATIVE.match(text)
    if relative:
        day = (local_now + timedelta(days=int(relative.group("n")))).date()
    else:
        found = None
        for form in DATE_FORMS:
            match = form.match(text)
            if match:
                parts = match.groupdict()
                year = int(parts.get("y") or local_now.year)
                try:
                    found = local_now.replace(year=year, month=int(parts["m"]), day=int(parts["d"])).date()
                except ValueError:
                    return None
                if parts.get("y") is None and found < local_now.date():
                    found = found.replace(year=year + 1)
                break
        if found is None:
            return None
        day = found
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)
