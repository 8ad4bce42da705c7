"""Deadline reminders, escalation of overdue cases and the morning digest, queued by the sweeper every 30 s.

Which deadline a case is held to depends on its state (`handlers.cards.current_deadline`): submitted → accept,
accepted/verifying → verify, rectifying → rectify. Before it passes, the section's inspectors and heads are reminded;
once it has passed, the section's heads (or, when it has none, the bureau's leaders) are told; some hours later the
leaders are. Every morning each inspector and head hears what their section has open.

Idempotent by construction: each message's dedupe key names the case, the deadline kind and the deadline itself
(`case:<id>:remind:<kind>:<unix time>:<inspector id>`), or the local date for a digest (`digest:<date>:<id>`), so a
scan every 30 s in every worker queues each message once, and a new deadline (an extension, a new rectification
date) gets its own messages. Keys already in the outbox are looked up first, so a long-overdue case costs one lookup
per scan rather than a failed insert per person.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.services import Services
from handlers import texts
from handlers.cards import current_deadline, local
from handlers.lifecycle import OPEN
from handlers.notify import Recipient, to_staff
from handlers.outcome import JobRequest
from storage.db import transaction
from storage.inspectors import all_inspectors, staff_of
from storage.models import Case, OutboxMessage

log = logging.getLogger(__name__)

COUNT_KEYS = ("reminders", "head_escalations", "leader_escalations", "digests")
SOON = timedelta(hours=48)  # "due within 48 h" in the digest
_KEY_CHUNK = 500  # dedupe keys per IN (...) lookup

SECTION_STAFF = ("inspector", "head")
HEADS = ("head",)
LEADERS = ("leader",)


@dataclass(frozen=True)
class _Notice:
    count: str  # one of COUNT_KEYS
    key: str  # the occasion; to_staff appends the recipient's id
    body: str
    people: list[Recipient]
    case: Case | None = None
    priority: bool = False
    expires_at: datetime | None = None  # a reminder after its deadline, or yesterday's digest, is not worth sending


@dataclass
class _Tally:
    open: int = 0
    major: int = 0
    overdue: int = 0
    soon: int = 0


@dataclass
class _Scan:
    session: Session
    settings: Settings
    now: datetime
    notices: list[_Notice] = field(default_factory=list)
    _staff: dict[tuple[str | None, tuple[str, ...]], list[Recipient]] = field(default_factory=dict)

    def staff(self, section_id: str | None, roles: tuple[str, ...]) -> list[Recipient]:
        """Active people of a section with these roles (any section when None), looked up once per scan."""
        key = (section_id, roles)
        if key not in self._staff:
            self._staff[key] = list(staff_of(self.session, section_id, roles))
        return self._staff[key]

    def section_of(self, case: Case) -> str:
        # A case triage could not route (or has not routed yet) belongs to the default section, as triage would do.
        return case.section_id or self.settings.routing.default_section

    def section_name(self, section_id: str) -> str:
        return next((s.name for s in self.settings.sections if s.id == section_id), section_id)

    # -- deadlines -----------------------------------------------------------------------------------------------

    def deadlines(self) -> None:
        d = self.settings.deadlines
        remind_before = timedelta(hours=d.remind_before_hours)
        escalate_after = timedelta(hours=d.escalate_leaders_after_hours)
        for case in cases_near_deadline(self.session, self.now + remind_before):
            kind, due = current_deadline(case)
            if kind is None or due is None or case.triage_status == "pending":
                continue  # not routed yet: its section is not known, and triage follows within seconds
            section = self.section_of(case)
            fields = {
                "reference": case.reference,
                "what": texts.DEADLINE_WHAT[kind],
                "due": local(due, self.settings.timezone),
                "status": texts.status_name(case.status),
                "section": self.section_name(section),
            }
            occasion = f"case:{case.id}:{{stage}}:{kind}:{int(due.timestamp())}"
            priority = bool(case.major)
            if self.now < due:
                if self.now >= due - lead_time(case, kind, due, remind_before):
                    self.notices.append(
                        _Notice(
                            "reminders",
                            occasion.format(stage="remind"),
                            texts.REMINDER.format(**fields),
                            self.staff(section, SECTION_STAFF),
                            case,
                            priority,
                            expires_at=due,
                        )
                    )
                continue
            heads = self.staff(section, HEADS) or self.staff(None, LEADERS)
            self.notices.append(
                _Notice(
                    "head_escalations",
                    occasion.format(stage="overdue-head"),
                    texts.OVERDUE_HEAD.format(**fields),
                    heads,
                    case,
                    priority,
                )
            )
            if self.now >= due + escalate_after:
                self.notices.append(
                    _Notice(
                        "leader_escalations",
                        occasion.format(stage="overdue-leaders"),
                        texts.OVERDUE_LEADER.format(**fields, hours=d.escalate_leaders_after_hours),
                        self.staff(None, LEADERS),
                        case,
                        priority,
                    )
                )

    # -- the morning digest --------------------------------------------------------------------------------------

    def digests(self) -> None:
        tz = self.settings.timezone
        local_now = self.now.astimezone(tz)
        if local_now.hour < self.settings.deadlines.digest_hour:
            return
        key = f"digest:{local_now.date().isoformat()}"
        people = [p for p in all_inspectors(self.session) if p.section_id is not None]
        sent = existing_keys(self.session, [f"{key}:{p.id}" for p in people])
        waiting = [p for p in people if f"{key}:{p.id}" not in sent]
        if not waiting:
            return
        # The digest tells the morning's state: a case that arrives in the afternoon does not make a section that
        # had nothing open get a "good morning" then (its card already went out when it was routed).
        morning = local_now.replace(hour=self.settings.deadlines.digest_hour, minute=0, second=0, microsecond=0)
        tallies = self.tallies(submitted_by=morning)
        for person in waiting:
            assert person.section_id is not None
            tally = tallies.get(person.section_id)
            if tally is None or tally.open == 0:
                continue
            body = texts.DIGEST.format(
                section=self.section_name(person.section_id),
                open=tally.open,
                major=tally.major,
                overdue=tally.overdue,
                soon=tally.soon,
            )
            end_of_day = morning.replace(hour=23, minute=59, second=59)
            self.notices.append(_Notice("digests", key, body, [person], expires_at=end_of_day))

    def tallies(self, submitted_by: datetime) -> dict[str, _Tally]:
        stmt = select(Case).where(Case.status.in_(sorted(OPEN)), Case.submitted_at <= submitted_by)
        out: dict[str, _Tally] = {}
        for case in self.session.scalars(stmt):
            tally = out.setdefault(self.section_of(case), _Tally())
            tally.open += 1
            tally.major += 1 if case.major else 0
            _, due = current_deadline(case)
            if due is not None:
                tally.overdue += 1 if due <= self.now else 0
                tally.soon += 1 if self.now < due <= self.now + SOON else 0
        return out

    # -- queueing ------------------------------------------------------------------------------------------------

    def queue(self) -> tuple[list[JobRequest], dict[str, int]]:
        """Outbox rows for every notice not already queued; the delivery jobs to submit after commit."""
        sent = existing_keys(self.session, [f"{n.key}:{p.id}" for n in self.notices for p in n.people])
        jobs: list[JobRequest] = []
        counts = dict.fromkeys(COUNT_KEYS, 0)
        for notice in self.notices:
            people = [p for p in notice.people if f"{notice.key}:{p.id}" not in sent]
            if not people:
                continue
            queued = to_staff(
                self.session,
                people,
                notice.body,
                self.now,
                notice.key,
                case=notice.case,
                priority=notice.priority,
                expires_at=notice.expires_at,
            )
            counts[notice.count] += len(queued)
            jobs += queued
        return jobs, counts


def cases_near_deadline(session: Session, horizon: datetime) -> Sequence[Case]:
    """Open cases whose present deadline is at or before `horizon` (reminder window, or already past)."""
    stmt = select(Case).where(
        or_(
            and_(Case.status == "submitted", Case.accept_due_at <= horizon),
            and_(Case.status.in_(("accepted", "verifying")), Case.verify_due_at <= horizon),
            and_(Case.status == "rectifying", Case.rectify_deadline <= horizon),
        )
    )
    return session.scalars(stmt.order_by(Case.id)).all()


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these outbox dedupe keys are already taken."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), _KEY_CHUNK):
        chunk = wanted[start : start + _KEY_CHUNK]
        stmt = select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
        found.update(k for k in session.scalars(stmt) if k is not None)
    return found


def scan(services: Services) -> dict[str, int]:
    """Queue the reminders, escalations and digests that are due and not yet queued; returns how many of each."""
    now = services.clock()
    with transaction(services.sessions) as session:
        run = _Scan(session, services.settings, now)
        run.deadlines()
        run.digests()
        jobs, counts = run.queue()
    if jobs:
        services.queue.submit(jobs)
        log.info("deadline messages queued", extra={"counts": counts})
    return counts


def lead_time(case: Case, kind: str, due: datetime, remind_before: timedelta) -> timedelta:
    """How long before a deadline to remind. A short deadline (accepting within 8 working hours may be only a few
    hours away) is reminded at half its span, not at once: a reminder seconds after the card helps nobody."""
    if kind == "accept":
        return min(remind_before, (due - case.submitted_at) / 2)
    return remind_before
