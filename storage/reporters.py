"""Reporters: find or create by openid, and the only way to get an openid back (audited)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from storage.db import insert_new
from storage.identity import IdentityVault
from storage.models import Case, IdentityAccess, OutboxMessage, Reporter, utcnow

_BY_DIGEST = select(Reporter).where(Reporter.digest == bindparam("digest"))  # built once (the hot path)
TOUCH_RESOLUTION = timedelta(minutes=1)


def reporter_for(session: Session, vault: IdentityVault, openid: str) -> Reporter:
    """The reporter row for this openid, created on first contact (safe against a concurrent first contact)."""
    digest = vault.digest(openid)
    found = session.scalars(_BY_DIGEST, {"digest": digest}).one_or_none()
    if found is not None:
        return found
    values = {"digest": digest, "sealed_openid": vault.seal(openid), "subscribed": True, "created_at": utcnow()}
    created = insert_new(session, Reporter, values, unique=("digest",))
    return created if created is not None else session.scalars(_BY_DIGEST, {"digest": digest}).one()


def touch_inbound(reporter: Reporter, at: datetime) -> None:
    """Remember the last time the reporter wrote: it opens the 48-hour customer-service window. To the minute: a
    burst of messages writes the row once, and a time up to a minute old only makes the window look shorter."""
    if reporter.last_inbound_at is None or at - reporter.last_inbound_at >= TOUCH_RESOLUTION:
        reporter.last_inbound_at = at


def reveal_openid(session: Session, vault: IdentityVault, reporter_id: int, purpose: str) -> str:
    """Unseal a reporter's openid for `purpose`, leaving a trace. Only the outbound gateway should call this."""
    reporter = session.get(Reporter, reporter_id)
    if reporter is None:
        raise LookupError(f"no reporter {reporter_id}")
    session.add(IdentityAccess(reporter_id=reporter_id, purpose=purpose))
    return vault.open(reporter.sealed_openid)


FINAL_STATUSES = ("closed", "rejected", "duplicate", "transferred")


def erase_departed(session: Session, before: datetime, limit: int = 200) -> int:
    """Forget who unfollowed before `before` and has no case still open: the sealed openid is wiped (the platform asks
    that a departed user's data be deleted), unsent messages to them are cancelled, their cases stay, anonymous."""
    still_open = select(Case.reporter_id).where(Case.status.not_in(FINAL_STATUSES))
    stmt = (
        select(Reporter)
        .where(
            Reporter.subscribed.is_(False),
            Reporter.unsubscribed_at < before,
            Reporter.sealed_openid != b"",
            Reporter.id.not_in(still_open),
        )
        .limit(limit)
    )
    erased = 0
    for reporter in session.scalars(stmt):
        reporter.sealed_openid = b""
        reporter.digest = f"erased:{reporter.id}"
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.reporter_id == reporter.id, OutboxMessage.status.in_(("pending", "held")))
            .values(status="cancelled", last_error="recipient's identity erased after they unfollowed")
        )
        erased += 1
    return erased
