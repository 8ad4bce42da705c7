"""Turning decisions into outbox rows (same transaction) and the delivery jobs that follow the commit.

Every message to a person goes through here and then through the one gateway. Dedupe keys make repeated decisions
(a job run twice, a deadline scan every minute) queue each message once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from handlers.outcome import JobRequest
from storage.models import Case
from storage.outbox import add_message


class Recipient(Protocol):
    """A member of staff to write to: an `Inspector` row, or a `StaffMember` read for the purpose."""

    @property
    def id(self) -> int: ...


def to_reporter(session: Session, case: Case, body: str, now: datetime, key: str) -> list[JobRequest]:
    """A message to the case's reporter; `key` names the occasion (unique per case)."""
    queued = add_message(
        session, reporter_id=case.reporter_id, body=body, now=now, case_id=case.id, dedupe_key=f"case:{case.id}:{key}"
    )
    return [] if queued is None else [JobRequest("deliver_message", queued)]


def to_staff(
    session: Session,
    people: Iterable[Recipient],
    body: str,
    now: datetime,
    key: str,
    *,
    case: Case | None = None,
    images: Iterable[str] = (),
    priority: bool = False,
    expires_at: datetime | None = None,
) -> list[JobRequest]:
    """A message (and optional images, by stored media path) to each inspector; `key` unique per occasion."""
    jobs: list[JobRequest] = []
    paths = list(images)
    for person in people:
        parts = [("text", body, f"{key}:{person.id}")]
        parts += [("image", path, f"{key}:{person.id}:img{i}") for i, path in enumerate(paths)]
        for kind, content, dedupe in parts:
            queued = add_message(
                session,
                inspector_id=person.id,
                body=content,
                now=now,
                case_id=case.id if case else None,
                dedupe_key=dedupe[:160],
                kind=kind,
                priority=priority,
                expires_at=expires_at,
            )
            if queued is not None:
                jobs.append(JobRequest("deliver_message", queued, front=priority))
    return jobs
