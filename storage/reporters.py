"""Reporters: find or create by openid, and the only way to get an openid back (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from storage.db import insert_new
from storage.identity import IdentityVault
from storage.models import Case, IdentityAccess, OutboxMessage, Reporter, utcnow
from storage.prepared import Prepared

TOUCH_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ReporterRef:
    """A reporter as a conversation knows them: the pseudonymous id and the keyed digest, never the openid."""

    id: int
    digest: str
    last_inbound_at: datetime | None = None
    new: bool = False  # created by this transaction: no draft, case or message of theirs exists yet


# Every inbound message looks its sender up (the hot path: prepared statements).
_BY_DIGEST = Prepared(select(Reporter.id, Reporter.last_inbound_at).where(Reporter.digest == bindparam("digest")))
_TOUCH = Prepared(
    update(Reporter).where(Reporter.id == bindparam("reporter_id")).values(last_inbound_at=bindparam("at"))
)
_SUBSCRIPTION = Prepared(
    update(Reporter)
    .where(Reporter.id == bindparam("reporter_id"))
    .values(subscribed=bindparam("subscribed"), unsubscribed_at=bindparam("unsubscribed_at"))
)
_SEALED = Prepared(select(Reporter.sealed_openid).where(Reporter.id == bindparam("reporter_id")))
_AUDIT = Prepared(
    insert(IdentityAccess).values(
        reporter_id=bindparam("reporter_id"), purpose=bindparam("purpose"), at=bindparam("at")
    )
)


def reporter_for(session: Session, vault: IdentityVault, openid: str) -> ReporterRef:
    """The reporter for this openid, created on first contact (safe against a concurrent first contact)."""
    digest = vault.digest(openid)
    found = _BY_DIGEST.first(session, {"digest": digest})
    if found is None:
        return add_reporter(session, vault, openid, digest)
    return ReporterRef(found[0], digest, found[1])


def add_reporter(session: Session, vault: IdentityVault, openid: str, digest: str) -> ReporterRef:
    """Create the reporter that a look-up by `digest` (the openid's) just did not find. A concurrent first contact
    may have created it since: then that row is the one."""
    values = {
        "digest": digest,
        "sealed_openid": vault.seal(openid),
        "subscribed": True,
        "created_at": utcnow(),
        "last_inbound_at": None,
        "unsubscribed_at": None,
    }
    created = insert_new(session, Reporter, values, unique=("digest",))
    if created is not None:
        return ReporterRef(created, digest, new=True)
    found = _BY_DIGEST.first(session, {"digest": digest})
    if found is None:
        raise LookupError("a reporter that a concurrent first contact created is not there")
    return ReporterRef(found[0], digest, found[1])


def touch_inbound(session: Session, reporter: ReporterRef, at: datetime) -> None:
    """Remember the last time the reporter wrote: it opens the 48-hour customer-service window. To the minute: a
    burst of messages writes the row once, and a time up to a minute old only makes the window look shorter."""
    if reporter.last_inbound_at is None or at - reporter.last_inbound_at >= TOUCH_RESOLUTION:
        _TOUCH.run(session, {"reporter_id": reporter.id, "at": at})


def set_subscribed(session: Session, reporter_id: int, subscribed: bool, at: datetime) -> None:
    """The reporter followed the account (again), or unfollowed it at `at`."""
    values = {"reporter_id": reporter_id, "subscribed": subscribed, "unsubscribed_at": None if subscribed else at}
    _SUBSCRIPTION.run(session, values)


def sealed_openid_of(session: Session, reporter_id: int) -> bytes:
    """The reporter's openid, still sealed: for copying to a staff row when the same person binds as staff."""
    row = _SEALED.first(session, {"reporter_id": reporter_id})
    if row is None:
        raise LookupError(f"no reporter {reporter_id}")
    return bytes(row[0])


def reveal_openid(session: Session, vault: IdentityVault, reporter_id: int, purpose: str) -> str:
    """Unseal a reporter's openid for `purpose`, leaving a trace. Only the outbound gateway should call this."""
    sealed = sealed_openid_of(session, reporter_id)
    _AUDIT.run(session, {"reporter_id": reporter_id, "purpose": purpose, "at": utcnow()})
    return vault.open(sealed)


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
